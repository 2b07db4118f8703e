//! The deployer under AWS's faults: the local cloud answers 10 % of requests with the
//! service's throttling error, resets 3 % of connections, answers 3 % with an empty
//! 500 and drops the answer of 3 % after applying them. An all-at-once deploy, a
//! canary promotion, a rollback on an alarm, and a deployer killed mid-canary then
//! restored each reach the verdict they reach without faults, and no alias is ever
//! left split, and no record left in progress.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use e2e::deployer::{package_release, Deployer};
use e2e::releases::{expect, manifest_code, script, synthetic_traffic, wait_for_alarms_ok, Accounts};
use e2e::TEST;
use localcloud::testing::LocalCloud;

/// The fault mix of issue 14's measurement, seeded so a failure can be replayed.
const FAULTS: &str = "throttle=0.1,reset=0.03,error=0.03,lost_reply=0.03,seed=14";

/// The newest record of `env` is finished with `status`, and nothing is left in progress.
fn ledger_says(deployer: &Deployer, env: &str, status: &str) -> Result<()> {
    let history = deployer.run(&["history", "--env", env, "--limit", "5"])?;
    expect(&history, 0, &format!("history of {env}"))?;
    let releases = history.report["releases"].as_array().context("releases")?;
    ensure!(releases.first().is_some_and(|r| r["status"] == status), "{env}: {releases:#?}");
    ensure!(releases.iter().all(|r| r["status"] != "in_progress"), "{env}: {releases:#?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_reach_the_same_verdicts_under_faults() -> Result<()> {
    let cloud = LocalCloud::start_scaled("deployer-faults", 10.0)?;
    let dir = e2e::scratch_dir("deployer-faults-releases")?;
    let endpoint = cloud.endpoint();
    let dist = |name: &str| dir.join(name).to_string_lossy().into_owned();
    package_release(&dir.join("base"), "", &[])?;
    e2e::apply_environments_local(&cloud, &dir, || script(&cloud, &dir, "tf-local.sh", &["apply"]))?;
    let accounts = Accounts::new(&endpoint).await;
    let deployer = Deployer::new(&cloud);

    // Every environment runs the base release, with no faults yet.
    expect(&deployer.run(&["deploy", "--env", "dev", "--dist", &dist("base")])?, 0, "base in dev")?;
    expect(&deployer.run(&["promote", "--to", "test"])?, 0, "base in test")?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    expect(&deployer.run(&["promote", "--to", "prod"])?, 0, "base in prod")?;

    cloud.set_faults(FAULTS)?;

    // All at once, into dev.
    let good = package_release(&dir.join("good"), "good", &[])?;
    let run = deployer.run(&["deploy", "--env", "dev", "--dist", &dist("good")])?;
    accounts.expect(&run, 0, "the good release in dev under faults", "dev").await?;
    ensure!(run.outcome() == "succeeded", "{:#}", run.report);
    accounts.settled("dev").await?;
    ensure!(accounts.code("dev").await? == manifest_code(&good), "dev runs the good release's bytes");
    ledger_says(&deployer, "dev", "succeeded")?;

    // A canary promotion into test.
    let run = deployer.run(&["promote", "--to", "test"])?;
    accounts.expect(&run, 0, "the canary promotion to test under faults", "test").await?;
    accounts.settled("test").await?;
    ensure!(accounts.code("test").await? == manifest_code(&good), "test runs the same bytes");
    ledger_says(&deployer, "test", "succeeded")?;

    // A release that fails under traffic is rolled back on its alarm.
    package_release(&dir.join("bad"), "bad", &[("extract", "fixture-extract-live-fails")])?;
    expect(&deployer.run(&["deploy", "--env", "dev", "--dist", &dist("bad")])?, 0, "the bad release in dev")?;
    let test_good = accounts.settled("test").await?;
    let (stop, errors) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let traffic =
        synthetic_traffic(accounts.lambda["test"].clone(), "etl-test-extract".into(), stop.clone(), errors.clone());
    let run = deployer.run(&["promote", "--to", "test"])?;
    stop.store(true, Ordering::SeqCst);
    for t in traffic {
        t.await?;
    }
    accounts.expect(&run, 2, "the bad release in test under faults", "test").await?;
    ensure!(run.report["alarm"]["name"] == "etl-test-extract-errors", "{:#}", run.report);
    ensure!(accounts.settled("test").await? == test_good, "every function back on the good release");
    ledger_says(&deployer, "test", "rolled_back")?;

    // A deployer killed mid-canary in prod, then rollback restores every alias.
    let fixed = package_release(&dir.join("fixed"), "fixed", &[])?;
    expect(&deployer.run(&["deploy", "--env", "dev", "--dist", &dist("fixed")])?, 0, "the fixed release in dev")?;
    wait_for_alarms_ok(&endpoint, TEST, "etl-test-").await?;
    expect(&deployer.run(&["promote", "--to", "test"])?, 0, "the fixed release in test")?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let prod_before = accounts.settled("prod").await?;
    let mut first = deployer.spawn(&["promote", "--to", "prod"], &dir.join("killed.log"))?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if accounts.aliases("prod").await.is_ok_and(|a| a.values().any(|(_, w)| w.is_some())) {
            break;
        }
        ensure!(first.try_wait()?.is_none(), "ended early: {}", std::fs::read_to_string(dir.join("killed.log"))?);
        ensure!(Instant::now() < deadline, "prod's canary never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill()?;
    first.wait()?;
    let run = deployer.run(&["rollback", "--env", "prod"])?;
    accounts.expect(&run, 0, "rollback after the kill, under faults", "prod").await?;
    ensure!(run.outcome() == "restored", "{:#}", run.report);
    ensure!(accounts.settled("prod").await? == prod_before, "every prod alias restored");
    ledger_says(&deployer, "prod", "restored")?;
    ensure!(fixed["release_id"].is_string());

    let report = cloud.fault_report().context("the cloud reports its faults")?;
    ensure!(
        report.total.throttle > 0 && report.total.reset > 0 && report.total.error > 0 && report.total.lost_reply > 0,
        "every kind of fault was injected: {report:?}"
    );
    eprintln!("faults injected: {:?}", report.total);
    drop(cloud);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
