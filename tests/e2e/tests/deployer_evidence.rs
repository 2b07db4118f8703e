//! Releases that suit a daily batch, on a private local cloud with time compressed
//! 10x (issue 15): test holds every canary step to three invocations of the new
//! version and replays its recorded days to bring them.
//!
//! - A good release passes on stated evidence, and executions started during its
//!   canary each run one release from first Task to last, split near the weight.
//! - A step with no traffic and evidence required stops on "no evidence" and rolls back.
//! - A release whose new transform fails on real records is rolled back by its replay.
//! - A release right but slower on the same inputs is stopped by the judge's paired
//!   replays (each input on both releases), with no error and no alarm.
//! - Nothing the replays do changes curated data or the run ledger.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use aws_sdk_codedeploy::types::{ComputePlatform, TimeBasedCanary, TrafficRoutingConfig, TrafficRoutingType};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sfn::types::ExecutionStatus;
use e2e::deployer::{package_release, Deployer};
use e2e::releases::{expect, script, Accounts};
use e2e::workflow::{Workflow, RUN_STEPS};
use e2e::TEST;
use localcloud::testing::workspace_root;
use localcloud::testing::LocalCloud;
use serde_json::{json, Value};

/// Executions started during the canary, each drawing its release.
const SPLIT: usize = 40;
/// The canary of the split: half the traffic, for 10 (compressed) minutes.
const HALF: (u32, u32) = (50, 10);

/// A copy of the environments' settings with test's deployment config and evidence
/// rule replaced (and its shadow run off unless `shadow`), for `--settings-dir`.
fn settings(dir: &Path, canary: Option<(u32, u32)>, evidence: Value, shadow: bool) -> Result<PathBuf> {
    let out = dir.join("settings");
    for env in ["dev", "test", "prod"] {
        let text = std::fs::read_to_string(workspace_root().join("environments").join(env).join("deployer.yaml"))?;
        let mut yaml: serde_yaml::Value = serde_yaml::from_str(&text)?;
        if env == "test" {
            if let Some((percentage, minutes)) = canary {
                yaml["deployment_config"] = serde_yaml::to_value(
                    json!({"type": "canary", "percentage": percentage, "interval_minutes": minutes}),
                )?;
            }
            yaml["local"]["evidence"] = serde_yaml::to_value(&evidence)?;
            if !shadow {
                if let Some(map) = yaml.as_mapping_mut() {
                    map.remove("shadow");
                }
            }
        }
        std::fs::create_dir_all(out.join(env))?;
        std::fs::write(out.join(env).join("deployer.yaml"), serde_yaml::to_string(&yaml)?)?;
    }
    Ok(out)
}

/// The routing item of test's release ledger, once its weight is `weight` per mille:
/// each function's old and new version.
async fn routing_at(w: &Workflow, weight: u32, within: Duration) -> Result<(Value, Value)> {
    let deadline = Instant::now() + within;
    loop {
        let item = w
            .ddb
            .get_item()
            .table_name(w.release_table())
            .key("pk", AttributeValue::S("routing".into()))
            .key("sk", AttributeValue::S("routing".into()))
            .consistent_read(true)
            .send()
            .await?;
        if let Some(item) = item.item() {
            let n = item.get("weight").and_then(|v| v.as_n().ok()).cloned().unwrap_or_default();
            if n == weight.to_string() {
                let versions = |side: &str| -> Value {
                    item.get(side)
                        .and_then(|v| v.as_m().ok())
                        .map(|m| m.iter().map(|(k, v)| (k.clone(), json!(v.as_s().ok()))).collect())
                        .unwrap_or_default()
                };
                return Ok((versions("old"), versions("new")));
            }
        }
        ensure!(Instant::now() < deadline, "the routing item never reached weight {weight}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates test's CodeDeploy config for a canary of `percentage` for `minutes`, as
/// `settings` names it.
async fn canary_config(accounts: &Accounts, (percentage, minutes): (u32, u32)) -> Result<()> {
    accounts.codedeploy["test"]
        .create_deployment_config()
        .deployment_config_name(format!("etl-test-canary-{percentage}pct-{minutes}min"))
        .compute_platform(ComputePlatform::Lambda)
        .traffic_routing_config(
            TrafficRoutingConfig::builder()
                .r#type(TrafficRoutingType::TimeBasedCanary)
                .time_based_canary(
                    TimeBasedCanary::builder()
                        .canary_percentage(percentage as i32)
                        .canary_interval(minutes as i32)
                        .build(),
                )
                .build(),
        )
        .send()
        .await?;
    Ok(())
}

/// The keys whose value differs between two production states, for a failure's message.
fn changed(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> String {
    let keys: std::collections::BTreeSet<_> = before.keys().chain(after.keys()).collect();
    let differ: Vec<_> = keys.into_iter().filter(|k| before.get(*k) != after.get(*k)).collect();
    format!("{differ:?}")
}

/// The report's evidence of `artifact`'s steps.
fn steps<'a>(report: &'a Value, artifact: &str) -> Vec<&'a Value> {
    report["evidence"].as_array().map(|e| e.iter().filter(|s| s["artifact"] == artifact).collect()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_steps_pass_on_evidence_and_executions_run_one_release() -> Result<()> {
    let cloud = LocalCloud::start_scaled("deployer-evidence", 10.0)?;
    let dir = e2e::scratch_dir("deployer-evidence")?;
    let endpoint = cloud.endpoint();
    let dist = |name: &str| dir.join(name).to_string_lossy().into_owned();
    package_release(&dir.join("base"), "", &[])?;
    e2e::apply_environments_local(&cloud, &dir, || script(&cloud, &dir, "tf-local.sh", &["apply"]))?;
    let accounts = Accounts::new(&endpoint).await;
    let test = Workflow::new(&endpoint, "test", TEST).await;
    let mut deployer = Deployer::new(&cloud);

    // The base release everywhere it goes (bootstrapped: no steps yet).
    expect(&deployer.run(&["deploy", "--env", "dev", "--dist", &dist("base")])?, 0, "base in dev")?;
    expect(&deployer.run(&["promote", "--to", "test"])?, 0, "base in test")?;

    // Two recorded days in test, and a real run of the first: the curated data and
    // run ledger the replays must leave alone.
    for (day, seed) in [("2026-11-20", 20), ("2026-11-21", 21)] {
        test.record_day(day, seed, 2, 60).await?;
    }
    let real = test
        .start("real-2026-11-20", json!({"run_date": "2026-11-20", "dry_run": false, "inject_failure": null}))
        .await?;
    ensure!(test.finished(&real, Duration::from_secs(180)).await? == ExecutionStatus::Succeeded, "the real run");
    let production = test.production_state().await?;
    ensure!(production.keys().any(|k| k.starts_with("curated/dt=2026-11-20/")), "{production:?}");
    ensure!(production.keys().any(|k| k.starts_with("ledger/")), "{production:?}");

    // --- A good release, replayed into evidence, split per execution. ---
    let (percentage, _) = HALF;
    canary_config(&accounts, HALF).await?;
    deployer.settings_dir =
        settings(&dir, Some(HALF), json!({"min_invocations": 3, "required": true, "traffic": "replay"}), true)?;
    package_release(&dir.join("good"), "good", &[])?;
    expect(&deployer.run(&["deploy", "--env", "dev", "--dist", &dist("good")])?, 0, "the good release in dev")?;
    let promotion = deployer.run_in_background(&["promote", "--to", "test"]);
    let (old, new) = routing_at(&test, percentage * 10, Duration::from_secs(120)).await?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis();
    let mut split = Vec::new();
    for i in 0..SPLIT {
        let name = format!("split-{i}-{stamp}");
        let input = json!({"run_date": "2026-11-21", "dry_run": true, "inject_failure": null});
        split.push((name.clone(), test.start(&name, input).await?));
    }
    let run = promotion.join().expect("the deployer's thread")?;
    expect(&run, 0, "the good release in test, on replayed evidence")?;
    let good_release = run.report["release_id"].as_str().unwrap_or_default().to_owned();
    let good_evidence = run.report["evidence"].clone();
    for artifact in RUN_STEPS {
        let judged = steps(&run.report, artifact);
        ensure!(!judged.is_empty(), "{artifact}'s step was judged: {:#}", run.report["evidence"]);
        for step in judged {
            ensure!(step["verdict"] == "passed" && step["step_percent"] == 50.0, "{artifact}: {step:#}");
            ensure!(step["new"]["invocations"].as_f64() >= Some(3.0), "{artifact}: {step:#}");
            ensure!(step["replay_source"] == "replay" && step["replay_executions"].as_u64() >= Some(3), "{step:#}");
        }
    }
    ensure!(steps(&run.report, "compensate").iter().all(|s| s["verdict"] == "exempt"), "{:#}", run.report);
    // Each replayed input also ran pinned to the old release: read from the two
    // executions' histories, every deterministic function answered the same.
    for artifact in RUN_STEPS {
        for step in steps(&run.report, artifact) {
            let paired = &step["judgment"]["paired"];
            ensure!(paired["pairs"].as_u64() >= Some(1), "{artifact}'s pairs: {step:#}");
            ensure!(
                paired["outputs_compared"] == paired["pairs"] && paired["outputs_differed"] == 0,
                "{artifact}: {paired:#}"
            );
            ensure!(paired["old_median_ms"].as_f64() > Some(0.0), "{artifact}'s state time: {paired:#}");
            ensure!(paired["verdict"] != "fail", "{artifact}: {paired:#}");
        }
    }

    // Each split execution ran one release, and about half ran the new one.
    let mut on_new = 0;
    for (name, arn) in &split {
        ensure!(test.finished(arn, Duration::from_secs(180)).await? == ExecutionStatus::Succeeded, "{name}");
        let ran = test.executed_versions(name).await?;
        ensure!(RUN_STEPS.iter().all(|s| ran.contains_key(*s)), "{name} ran every step: {ran:?}");
        let side = |versions: &Value| {
            RUN_STEPS.iter().all(|s| ran[*s].len() == 1 && ran[*s].contains(versions[*s].as_str().unwrap_or("?")))
        };
        match (side(&new), side(&old)) {
            (true, false) => on_new += 1,
            (false, true) => {}
            _ => anyhow::bail!("{name} mixed releases: ran {ran:?}; old {old}, new {new}"),
        }
    }
    // Binomial(40, 0.5): 9..=31 holds with probability above 0.9995.
    ensure!((9..=31).contains(&on_new), "{on_new} of {SPLIT} executions on the new release at weight 50 %");
    let after = test.production_state().await?;
    ensure!(after == production, "the replays and dry runs changed production data: {}", changed(&production, &after));
    let good = accounts.settled("test").await?;

    // --- No traffic, evidence required: the step stops on "no evidence". ---
    deployer.settings_dir =
        settings(&dir, None, json!({"min_invocations": 3, "required": true, "traffic": "none"}), true)?;
    package_release(&dir.join("quiet"), "quiet", &[])?;
    expect(&deployer.run(&["deploy", "--env", "dev", "--dist", &dist("quiet")])?, 0, "the quiet release in dev")?;
    let run = deployer.run(&["promote", "--to", "test"])?;
    expect(&run, 2, "a required step without traffic")?;
    ensure!(run.report["stop"]["kind"] == "no_evidence", "{:#}", run.report);
    ensure!(run.message().starts_with("no evidence"), "{}", run.message());
    ensure!(accounts.settled("test").await? == good, "every function back on the good release");

    // --- Replayed records break the new transform: the release is rolled back. ---
    // (The shadow run would stop it before any traffic: off here, so that the replays
    // are what catches it.)
    deployer.settings_dir =
        settings(&dir, None, json!({"min_invocations": 3, "required": true, "traffic": "replay"}), false)?;
    package_release(&dir.join("bad"), "bad", &[("transform", "fixture-transform-fails-on-data")])?;
    expect(&deployer.run(&["deploy", "--env", "dev", "--dist", &dist("bad")])?, 0, "the bad release in dev")?;
    let run = deployer.run(&["promote", "--to", "test"])?;
    expect(&run, 2, "a release that fails on replayed records")?;
    let transform = steps(&run.report, "transform");
    let failed_replays = transform.iter().any(|s| s["new"]["errors"].as_f64() > Some(0.0));
    ensure!(
        failed_replays || run.report["stop"]["kind"] == "alarm",
        "rolled back for the replays' errors: {:#}",
        run.report
    );
    ensure!(accounts.settled("test").await? == good, "every function back on the good release");
    let after = test.production_state().await?;
    ensure!(after == production, "the replays changed production data: {}", changed(&production, &after));

    // --- A release that quietly rounds amounts: no error, no alarm; the shadow run of
    // the last real day (2026-11-20) stops it before any traffic. ---
    deployer.settings_dir =
        settings(&dir, None, json!({"min_invocations": 3, "required": true, "traffic": "replay"}), true)?;
    package_release(&dir.join("rounds"), "rounds", &[("transform", "fixture-transform-rounds-amounts")])?;
    expect(
        &deployer.run(&["deploy", "--env", "dev", "--dist", &dist("rounds")])?,
        0,
        "dev has no real run to compare",
    )?;
    let run = deployer.run(&["promote", "--to", "test"])?;
    expect(&run, 2, "a release that changes curated amounts")?;
    ensure!(run.report["stop"]["kind"] == "shadow_diff", "{:#}", run.report);
    let diff = &run.report["shadow"].clone();
    let diff_release = run.report["release_id"].as_str().unwrap_or_default().to_owned();
    ensure!(diff["verdict"] == "fail" && diff["run_date"] == "2026-11-20", "{diff:#}");
    let (records, changed_records) = (diff["production_records"].as_u64(), diff["changed"].as_u64());
    ensure!(records.is_some_and(|n| n > 50) && changed_records.is_some_and(|n| n > 0), "{diff:#}");
    ensure!(
        diff["changed_fields"].as_object().map(|f| f.keys().collect::<Vec<_>>())
            == Some(vec![&"amount_minor".to_owned()]),
        "{diff:#}"
    );
    ensure!(diff["missing"] == 0 && diff["newly_quarantined"] == 0, "{diff:#}");
    let example = &diff["examples"][0]["fields"][0];
    let (amount_before, amount_after) =
        (example["production"].as_u64().unwrap_or(0), example["shadow"].as_u64().unwrap_or(0));
    ensure!(
        example["field"] == "amount_minor"
            && amount_after == amount_before / 100 * 100
            && amount_after != amount_before,
        "{example:#}"
    );
    ensure!(run.message().starts_with("the shadow run of 2026-11-20 on the new release changed"), "{}", run.message());
    ensure!(accounts.settled("test").await? == good, "no traffic moved: every function on the good release");
    let after = test.production_state().await?;
    ensure!(after == production, "the shadow run changed production data: {}", changed(&production, &after));

    // --- A release right and slow: its transform takes 600 ms more over the same
    // records. No error and no alarm (the p99 alarm is at 60 s); the paired replays,
    // each input on both releases, stop it at the end of its canary step. ---
    // The split's canary again: time for eight pairs even on a busy machine.
    deployer.settings_dir =
        settings(&dir, Some(HALF), json!({"min_invocations": 8, "required": false, "traffic": "replay"}), false)?;
    package_release(&dir.join("slow"), "slow", &[("transform", "fixture-transform-slow")])?;
    expect(&deployer.run(&["deploy", "--env", "dev", "--dist", &dist("slow")])?, 0, "the slow release in dev")?;
    let run = deployer.run(&["promote", "--to", "test"])?;
    expect(&run, 2, "a release slower on the same inputs")?;
    ensure!(run.report["stop"]["kind"] == "judged", "{:#}", run.report);
    let paired = steps(&run.report, "transform").last().map(|s| s["judgment"]["paired"].clone()).unwrap_or_default();
    ensure!(
        paired["duration_verdict"] == "fail" && paired["pairs"].as_u64() >= Some(7),
        "the transform's pairs: {paired:#}; stop {:#}; evidence {:#}; stderr {}",
        run.report["stop"],
        run.report["evidence"],
        run.stderr
    );
    ensure!(paired["median_ratio"].as_f64() > Some(1.5) && paired["p_value"].as_f64() < Some(0.01), "{paired:#}");
    ensure!(paired["outputs_differed"] == 0, "the same answers, only later: {paired:#}");
    // CloudWatch's live figures say the same, p99 against p99, but over a handful of
    // invocations a p99 is not judged (it would be their slowest, often a cold start);
    // each version's minutes are read for the rank test.
    let duration =
        steps(&run.report, "transform").last().map(|s| s["judgment"]["duration"].clone()).unwrap_or_default();
    ensure!(duration["verdict"] == "not_judged" && duration["p99_ratio"].as_f64() > Some(1.5), "{duration:#}");
    ensure!(duration["minutes"][0].as_u64() >= Some(1) && duration["minutes"][1].as_u64() >= Some(1), "{duration:#}");
    ensure!(run.message().contains("paired replays: median"), "{}", run.message());
    ensure!(accounts.settled("test").await? == good, "every function back on the good release");

    // --- The picture of each, from test's ledger, in a real browser. ---
    let page = dir.join("good.html");
    let run = deployer.run(&["report", &good_release, "--env", "test", "--html", &page.to_string_lossy()])?;
    expect(&run, 0, "the good release's report")?;
    let rendered = e2e::browser::render(&page, &dir)?;
    ensure!(rendered.script_errors.is_empty(), "script errors: {:?}", rendered.script_errors);
    ensure!(rendered.dom.contains("data-rendered=\"yes\""), "the page's script ran to its end");
    for step in good_evidence.as_array().into_iter().flatten() {
        let figure = |v: &Value| deployer::report::html::num(v.as_f64().unwrap_or(f64::NAN));
        let cell = format!(
            "v{}: {} / {} / ",
            step["new_version"].as_str().unwrap_or("?"),
            figure(&step["new"]["invocations"]),
            figure(&step["new"]["errors"])
        );
        ensure!(rendered.dom.contains(&cell), "the page shows the ledger's {cell:?}");
    }
    ensure!(rendered.dom.contains(&format!("Release {good_release} in test")), "the page's title");
    ensure!(rendered.dom.matches("<polyline").count() >= 3, "a weight timeline per function shifted");
    let page = dir.join("rounds.html");
    let rounds = diff["examples"][0]["order_id"].as_str().unwrap_or("?").to_owned();
    let release = diff_release.as_str();
    expect(&deployer.run(&["report", release, "--env", "test", "--html", &page.to_string_lossy()])?, 0, "report")?;
    let rendered = e2e::browser::render(&page, &dir)?;
    ensure!(rendered.script_errors.is_empty(), "script errors: {:?}", rendered.script_errors);
    let row = format!("<td>{rounds}</td><td>amount_minor</td><td>{amount_before}</td><td>{amount_after}</td>");
    ensure!(rendered.dom.contains(&row), "the changed record side by side: {row}");
    let missing = deployer.run(&["report", "r-nosuchrelease", "--env", "test"])?;
    ensure!(missing.report["refusal"]["kind"] == "unknown_release" && missing.code == 5, "{:#}", missing.report);

    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
