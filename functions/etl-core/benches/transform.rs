//! The transform's figures: throughput on 1,000,000 realistic records on one core
//! (criterion), the same input through the plain-Python baseline in this folder, and
//! peak memory while streaming 1 GiB (measured in a child process so that the
//! in-memory benchmark input does not count). Targets: >= 300,000 records/s, >= 20x
//! the Python baseline, < 64 MiB resident for 1 GiB.

use std::io::{BufReader, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use etl_core::synthetic::{Generator, Stream};
use etl_core::{transform, Date, Format};

const RECORDS: usize = 1_000_000;
const MEMORY_CHILD: &str = "ETL_BENCH_MEMORY_CHILD";

fn date() -> Date {
    Date::parse("2026-11-22").expect("a valid date")
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:").map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
            })
        })
        .unwrap_or(0)
}

/// In the child: stream `bytes` of generated records through the transform into
/// sinks that discard, then report the peak resident set.
fn memory_child(bytes: u64) {
    let input = BufReader::with_capacity(64 * 1024, Stream::new(Generator::new(3, date(), Some(50)), bytes));
    let started = Instant::now();
    let stats =
        transform(Format::JsonLines, "bench", input, date(), std::io::sink(), std::io::sink()).expect("transform");
    println!("{} {} {}", peak_rss_kib(), stats.records_in, started.elapsed().as_secs_f64());
}

fn main() {
    if let Ok(bytes) = std::env::var(MEMORY_CHILD) {
        memory_child(bytes.parse().expect("a byte count"));
        return;
    }
    let input = Generator::new(1, date(), Some(50)).lines(RECORDS);
    let mut criterion =
        Criterion::default().sample_size(10).measurement_time(Duration::from_secs(20)).configure_from_args();
    let mut group = criterion.benchmark_group("transform");
    group.throughput(Throughput::Elements(RECORDS as u64));
    let mut out = Vec::with_capacity(input.len());
    let mut quarantine = Vec::new();
    group.bench_function("json_lines_1m_records", |b| {
        b.iter(|| {
            out.clear();
            quarantine.clear();
            transform(Format::JsonLines, "bench", input.as_bytes(), date(), &mut out, &mut quarantine)
                .expect("transform")
        });
    });
    group.finish();

    // The figures, measured once more outside criterion for the ratio.
    let started = Instant::now();
    let stats =
        transform(Format::JsonLines, "bench", input.as_bytes(), date(), &mut out, &mut quarantine).expect("transform");
    let rust_rate = stats.records_in as f64 / started.elapsed().as_secs_f64();

    let dir = std::env::temp_dir().join(format!("etl-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let source = dir.join("input.jsonl");
    std::fs::File::create(&source).and_then(|mut f| f.write_all(input.as_bytes())).expect("writing the input");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/baseline_transform.py");
    let python = Command::new("python3")
        .arg(script)
        .arg(&source)
        .arg(dir.join("curated.jsonl"))
        .arg(dir.join("quarantine.jsonl"))
        .output()
        .expect("running python3");
    let report: serde_json::Value = serde_json::from_slice(&python.stdout)
        .unwrap_or_else(|_| panic!("python said: {}", String::from_utf8_lossy(&python.stderr)));
    let python_rate = report["records_per_second"].as_f64().unwrap_or(f64::NAN);
    let same =
        report["good"].as_u64() == Some(stats.records_out) && report["quarantined"].as_u64() == Some(stats.quarantined);
    let _ = std::fs::remove_dir_all(&dir);

    let mut memory = Vec::new();
    for bytes in [256u64 << 20, 1 << 30] {
        let exe = std::env::current_exe().expect("this bench");
        let child = Command::new(exe).env(MEMORY_CHILD, bytes.to_string()).output().expect("the memory child");
        let text = String::from_utf8_lossy(&child.stdout);
        let fields: Vec<f64> = text.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        memory.push((
            bytes,
            fields.first().copied().unwrap_or(f64::NAN),
            fields.get(1).copied().unwrap_or(0.0),
            fields.get(2).copied().unwrap_or(f64::NAN),
        ));
    }

    println!();
    println!("transform figures ({RECORDS} records, {} quarantined):", stats.quarantined);
    println!("  etl-core          {:>12.0} records/s (one core; target >= 300000)", rust_rate);
    println!("  python baseline   {:>12.0} records/s (same input, same outputs: {same})", python_rate);
    println!("  ratio             {:>12.1}x (target >= 20x)", rust_rate / python_rate);
    for (bytes, rss_kib, records, seconds) in memory {
        println!(
            "  streaming {:>4} MiB: peak RSS {:>6.1} MiB over {:.0} records in {:.1} s (target < 64 MiB at 1 GiB)",
            bytes >> 20,
            rss_kib / 1024.0,
            records,
            seconds
        );
    }
}
