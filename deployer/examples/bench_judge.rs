//! The judge's and the shadow diff's own costs, without the cloud: how long one step's
//! judgment takes once its figures are read, and how long the comparison of one day's
//! output takes for 10,000 and 1,000,000 records (0.1 % of them changed), with the
//! process's peak memory. Run: `cargo run --release --example bench_judge` or, in the
//! workspace's one debug build, `scripts/cargo-build.sh && target/debug/examples/bench_judge`.

use std::time::Instant;

use deployer::cloud::VersionStats;
use deployer::judge::paired::Pair;
use deployer::judge::{Judgment, Rule};
use deployer::shadow::diff::{compare, Output};
use deployer::shadow::Policy;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// `n` curated records in parts of 50,000, as Load writes them; every thousandth with
/// its amount rounded to whole units when `rounded`.
fn output(n: usize, rounded: bool) -> Output {
    let mut curated = Vec::new();
    let mut part = String::new();
    for i in 0..n {
        let amount = 1234 + (i % 9973) as u64;
        let amount = if rounded && i % 1000 == 0 { amount / 100 * 100 } else { amount };
        part.push_str(&format!(
            "{{\"idempotency_key\":\"{i:016x}\",\"order_id\":\"o-{i}\",\"customer_id\":\"c-{}\",\"occurred_at\":\"2026-11-21T10:00:00Z\",\"amount_minor\":{amount},\"currency\":\"EUR\",\"country\":\"DE\",\"status\":\"paid\",\"items\":3}}\n",
            i % 5000
        ));
        if (i + 1) % 50_000 == 0 {
            curated.push(std::mem::take(&mut part).into_bytes());
        }
    }
    if !part.is_empty() {
        curated.push(part.into_bytes());
    }
    Output { curated, quarantine: Vec::new() }
}

fn main() {
    let rule = Rule::default();
    let old = VersionStats { invocations: 5000.0, errors: 3.0, p50_ms: Some(180.0), p99_ms: Some(420.0) };
    let rounds = 100_000;
    let started = Instant::now();
    let mut failed = 0;
    for i in 0..rounds {
        let new =
            VersionStats { invocations: 500.0, errors: (i % 40) as f64, p50_ms: Some(190.0), p99_ms: Some(450.0) };
        if Judgment::of(&rule, &new, &old).verdict == deployer::judge::Verdict::Fail {
            failed += 1;
        }
    }
    let per = started.elapsed().as_secs_f64() / f64::from(rounds) * 1e6;
    println!("judge: {per:.2} us per step's judgment ({rounds} judgments, {failed} of them fail)");

    // With a step's paired replays weighed in: 8 pairs (a busy local step) and 200 (a
    // long canary step replaying many inputs; past the exact range of the rank test).
    for n in [8u32, 200] {
        let pairs: Vec<Pair> = (0..n)
            .map(|i| Pair {
                old_ms: 200.0 + f64::from(i % 17),
                new_ms: 230.0 + f64::from((i * 7) % 23),
                same_output: Some(i % 50 != 0),
            })
            .collect();
        let rounds = 20_000;
        let started = Instant::now();
        let mut failed = 0;
        for i in 0..rounds {
            let new = VersionStats {
                invocations: 500.0,
                errors: f64::from(i % 40),
                p50_ms: Some(190.0),
                p99_ms: Some(450.0),
            };
            if Judgment::of(&rule, &new, &old).with_pairs(&rule, &pairs, false).verdict
                == deployer::judge::Verdict::Fail
            {
                failed += 1;
            }
        }
        let per = started.elapsed().as_secs_f64() / f64::from(rounds) * 1e6;
        println!("judge with {n} paired replays: {per:.2} us per step's judgment ({rounds} judgments, {failed} of them fail)");
    }

    for n in [10_000usize, 1_000_000] {
        let production = output(n, false);
        let shadow = output(n, true);
        let bytes: usize = production.curated.iter().map(Vec::len).sum();
        let started = Instant::now();
        let diff = compare(&production, &shadow, &[], &Policy::default());
        let took = started.elapsed();
        println!(
            "shadow diff: {n} records ({:.0} MiB a side): {:.2} s; {} changed, verdict {}; peak RSS {:.0} MiB",
            bytes as f64 / 1048576.0,
            took.as_secs_f64(),
            diff.changed,
            diff.verdict.as_str(),
            peak_rss_mib()
        );
    }
}
