//! The differential shadow run's time (issue 16), on a private local cloud, over a
//! recorded day of N records (the first argument; default 1,000,000, in objects of
//! 10,000): dev's real run of that day writes production's curated and quarantined
//! output, then `deployer deploy --env dev` of a new release runs its shadow run (the
//! whole workflow in dry-run on that day, pinned to the new release) and compares the
//! two record by record. Prints the time to record the day, the real run's time, the
//! shadow run's (the deployer's JSON report: `shadow.duration_ms`, run and diff) and
//! what it compared. Run by scripts/bench-shadow-run.sh.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use aws_sdk_sfn::types::ExecutionStatus;
use e2e::deployer::{package_release, Deployer};
use e2e::releases::{expect, script};
use e2e::workflow::Workflow;
use e2e::DEV;
use localcloud::testing::{workspace_root, LocalCloud};

const PER_OBJECT: usize = 10_000;
const DAY: &str = "2026-11-20";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let records: usize = std::env::args().nth(1).map_or(Ok(1_000_000), |a| a.parse()).context("N records")?;
    let objects = records.div_ceil(PER_OBJECT).max(1);
    let per_object = records / objects;
    let cloud = LocalCloud::start("bench-shadow-run")?;
    let dir = e2e::scratch_dir("bench-shadow-run")?;
    let endpoint = cloud.endpoint();
    let dist = |name: &str| dir.join(name).to_string_lossy().into_owned();
    package_release(&dir.join("base"), "", &[])?;
    e2e::apply_environments_local(&cloud, &dir, || script(&cloud, &dir, "tf-local.sh", &["apply"]))?;
    let mut deployer = Deployer::new(&cloud);
    // Dev's settings, with time for a shadow run of a large day.
    let settings = dir.join("settings");
    for env in ["dev", "test", "prod"] {
        let text = std::fs::read_to_string(workspace_root().join("environments").join(env).join("deployer.yaml"))?;
        let mut yaml: serde_yaml::Value = serde_yaml::from_str(&text)?;
        if env == "dev" {
            yaml["shadow"]["timeout"] = serde_yaml::Value::from("90m");
        }
        std::fs::create_dir_all(settings.join(env))?;
        std::fs::write(settings.join(env).join("deployer.yaml"), serde_yaml::to_string(&yaml)?)?;
    }
    deployer.settings_dir = settings;
    expect(&deployer.run(&["deploy", "--env", "dev", "--dist", &dist("base")])?, 0, "base in dev")?;

    let dev = Workflow::new(&endpoint, "dev", DEV).await;
    let t = Instant::now();
    dev.record_day(DAY, 7, objects, per_object).await?;
    let recorded = t.elapsed();
    let t = Instant::now();
    let real =
        dev.start("real", serde_json::json!({"run_date": DAY, "dry_run": false, "inject_failure": null})).await?;
    ensure!(dev.finished(&real, Duration::from_secs(5400)).await? == ExecutionStatus::Succeeded, "the real run");
    let real_run = t.elapsed();

    package_release(&dir.join("new"), "new", &[])?;
    let t = Instant::now();
    let run = deployer.run(&["deploy", "--env", "dev", "--dist", &dist("new")])?;
    let deploy = t.elapsed();
    expect(&run, 0, "the new release in dev, after its shadow run")?;
    let shadow = &run.report["shadow"];
    ensure!(matches!(shadow["verdict"].as_str(), Some("identical" | "pass")), "{shadow:#}");
    println!(
        "shadow run over {} records ({objects} objects of {per_object}), local cloud, this machine:",
        objects * per_object
    );
    println!("  recording the day (generate + PutObject): {:.1} s", recorded.as_secs_f64());
    println!("  the real run (Step Functions execution, wall): {:.1} s", real_run.as_secs_f64());
    println!(
        "  the shadow run (dry run of the whole workflow + diff, shadow.duration_ms): {:.1} s",
        shadow["duration_ms"].as_f64().unwrap_or(f64::NAN) / 1000.0
    );
    println!("  deployer deploy --env dev (wall, shadow run included): {:.1} s", deploy.as_secs_f64());
    println!(
        "  compared: {} production records, {} identical, {} changed, {} missing, {} newly quarantined",
        shadow["production_records"],
        shadow["identical"],
        shadow["changed"],
        shadow["missing"],
        shadow["newly_quarantined"]
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
