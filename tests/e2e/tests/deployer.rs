//! The deployer end to end on a private local cloud with time compressed 10x:
//! environments/local applied to dev, test and prod, then releases through the real
//! binary: a good release dev -> test -> prod; a release that passes its checks but
//! fails under traffic, rolled back on its alarm; promotion refused after it; a
//! failing pre-traffic hook that never lets traffic shift; a second deployer refused
//! by the lock; a deployer killed mid-shift followed by a rollback that restores every
//! alias; rollback, history and prune; the Well-Architected review of prod and test,
//! each tick's evidence, and a tick that goes when its evidence does.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use e2e::deployer::{package_release, spawn_release_package, Deployer};
use e2e::releases::{
    expect, manifest_code, script, synthetic_traffic, versions, wait_for_alarms_ok, Accounts, FUNCTIONS,
};
use e2e::review::{item, items, unticked};
use e2e::{account_config, PROD, TEST};
use localcloud::testing::LocalCloud;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_move_through_dev_test_prod_and_bad_ones_roll_back() -> Result<()> {
    let cloud = LocalCloud::start_scaled("deployer", 10.0)?;
    // Not the cloud's own run folder (.run/tests/deployer-<pid>), which holds its pid
    // files and log.
    let dir: PathBuf = e2e::scratch_dir("deployer-releases")?;
    let endpoint = cloud.endpoint();

    // Terraform creates the functions from its placeholder, live on $LATEST; the base
    // release, packaged by the deployer, is the first one.
    let base = package_release(&dir.join("base"), "", &[])?;
    // The release packaging path (cargo-lambda, release profile, glibc 2.34) builds
    // while the environments are applied; its artifact ships near the end.
    let mut release_build = spawn_release_package(&dir.join("probe"))?;
    e2e::apply_environments_local(&cloud, &dir, || script(&cloud, &dir, "tf-local.sh", &["apply"]))?;
    let accounts = Accounts::new(&endpoint).await;
    let deployer = Deployer::new(&cloud);
    let dist = |name: &str| dir.join(name).to_string_lossy().into_owned();

    // doctor, before the first release into an account: everything checks out,
    // including (ministack's IAM simulator) every role's permissions.
    let doctor = deployer.run(&["doctor", "--env", "prod", "--dist", &dist("base")])?;
    expect(&doctor, 0, "doctor before the first release")?;
    let checks = doctor.report["checks"].as_array().context("checks")?;
    ensure!(checks.iter().all(|c| c["status"] == "pass"), "{checks:#?}");
    for check in ["deploy role", "deployment group", "alarm", "artifact fit", "release ledger", "permissions"] {
        ensure!(checks.iter().any(|c| c["check"] == check), "doctor checks {check}: {checks:#?}");
    }
    ensure!(
        checks.iter().filter(|c| c["check"] == "permissions").count() == 3,
        "the deploy role and both hooks' roles are simulated: {checks:#?}"
    );

    // Nothing to promote before anything was deployed.
    let run = deployer.run(&["promote", "--to", "test"])?;
    expect(&run, 5, "promote before any release")?;
    ensure!(run.message().contains("nothing to promote: dev has no releases"), "{}", run.message());
    // Deploying into an environment fed by promotion is refused.
    let run = deployer.run(&["deploy", "--env", "prod", "--dist", &dist("base")])?;
    expect(&run, 5, "deploy into prod")?;
    ensure!(run.message().contains("promote --to prod"), "{}", run.message());

    // The first release: every alias goes from $LATEST straight to its new version
    // (CodeDeploy cannot shift from $LATEST), recorded as bootstrapped.
    ensure!(accounts.aliases("dev").await?.values().all(|(v, _)| v == "$LATEST"), "Terraform publishes no version");
    let run = deployer.run(&["deploy", "--env", "dev", "--dist", &dist("base")])?;
    accounts.expect(&run, 0, "the first release", "dev").await?;
    ensure!(run.outcome() == "succeeded", "{:#}", run.report);
    for f in FUNCTIONS {
        ensure!(run.function(f).context("function in report")?["outcome"] == "bootstrapped", "{f}: {:#}", run.report);
    }
    ensure!(accounts.code("dev").await? == manifest_code(&base), "dev runs the base release's bytes");
    // The same release again changes nothing.
    let before = accounts.aliases("dev").await?;
    let run = deployer.run(&["deploy", "--env", "dev", "--dist", &dist("base")])?;
    accounts.expect(&run, 0, "deploying the base release again", "dev").await?;
    ensure!(run.outcome() == "no_changes", "{:#}", run.report);
    ensure!(accounts.aliases("dev").await? == before, "an unchanged release publishes nothing");
    ensure!(run.report["release_id"] == base["release_id"]);

    // A good release: dev, then test, then prod after test's soak.
    let good = package_release(&dir.join("good"), "good", &[])?;
    let run = deployer.run(&["deploy", "--env", "dev", "--dist", &dist("good")])?;
    accounts.expect(&run, 0, "deploying the good release to dev", "dev").await?;
    ensure!(run.outcome() == "succeeded", "{:#}", run.report);
    for f in FUNCTIONS {
        let fr = run.function(f).context("function in report")?;
        ensure!(fr["outcome"] == "succeeded" && fr["version"] != fr["previous_version"], "{f}: {fr}");
    }
    let dev_aliases = accounts.aliases("dev").await?;
    ensure!(dev_aliases.values().all(|(_, w)| w.is_none()), "settled: {dev_aliases:?}");
    ensure!(accounts.code("dev").await? == manifest_code(&good), "dev runs the good release's bytes");

    // A configuration change (as Terraform makes it: on $LATEST, publishing nothing)
    // reaches live only through a release, shifted like code.
    let lambda = &accounts.lambda["dev"];
    let live_load = dev_aliases["load"].0.clone();
    let memory = lambda.get_function_configuration().function_name("etl-dev-load").send().await?.memory_size();
    let raised = memory.unwrap_or(128) + 128;
    lambda.update_function_configuration().function_name("etl-dev-load").memory_size(raised).send().await?;
    let wanted = format!("memory {} -> {raised}", memory.unwrap_or(128));
    ensure!(accounts.aliases("dev").await?["load"].0 == live_load, "Terraform's change is not live yet");
    let plan = deployer.run(&["plan", "--env", "dev", "--dist", &dist("good")])?;
    let load = plan.function("load").context("load in the plan")?;
    ensure!(
        load["outcome"] == "will_change"
            && load["change"] == "configuration"
            && load["configuration"].as_array().is_some_and(|c| c.iter().any(|d| d == wanted.as_str())),
        "the plan names the configuration change: {load:#}"
    );
    let run = deployer.run(&["deploy", "--env", "dev", "--dist", &dist("good")])?;
    accounts.expect(&run, 0, "releasing the configuration change", "dev").await?;
    let load = run.function("load").context("load in the report")?;
    ensure!(
        load["change"] == "configuration" && load["outcome"] == "succeeded" && load["deployment_id"].is_string(),
        "shifted through CodeDeploy: {load:#}"
    );
    let now_live = accounts.aliases("dev").await?["load"].0.clone();
    ensure!(now_live != live_load, "a new version is live");
    let live_memory = lambda
        .get_function_configuration()
        .function_name("etl-dev-load")
        .qualifier(&now_live)
        .send()
        .await?
        .memory_size();
    ensure!(live_memory == Some(raised), "live runs the new configuration: {live_memory:?}");
    ensure!(
        ["extract", "transform", "compensate"]
            .iter()
            .all(|f| run.function(f).is_some_and(|r| r["outcome"] == "skipped")),
        "only load changed: {:#}",
        run.report
    );

    let run = deployer.run(&["promote", "--to", "test"])?;
    accounts.expect(&run, 0, "promoting to test", "test").await?;
    ensure!(
        run.report["release_id"] == good["release_id"] && run.report["source_environment"] == "dev",
        "{:#}",
        run.report
    );
    let run = deployer.run(&["promote", "--to", "prod"])?;
    expect(&run, 5, "promoting to prod before the soak")?;
    ensure!(run.message().contains("soaked in test"), "{}", run.message());
    tokio::time::sleep(Duration::from_secs(3)).await;
    // prod is fed by promotion: its plan is the promotion it would make, not dist/.
    let plan = deployer.run(&["plan", "--env", "prod"])?;
    expect(&plan, 0, "plan of prod")?;
    ensure!(
        plan.outcome() == "changes"
            && plan.report["release_id"] == good["release_id"]
            && plan.report["source_environment"] == "test"
            && plan.message().contains("would promote")
            && plan.report["strategy"]["type"] == "canary",
        "{:#}",
        plan.report
    );
    let prod_before = accounts.aliases("prod").await?;
    let run = deployer.run(&["promote", "--to", "prod"])?;
    accounts.expect(&run, 0, "promoting to prod", "prod").await?;
    let good_code = manifest_code(&good);
    for env in ["dev", "test", "prod"] {
        ensure!(accounts.code(env).await? == good_code, "{env} runs exactly the bytes that were packaged");
    }
    let prod_good = versions(&accounts.aliases("prod").await?);
    ensure!(prod_good != versions(&prod_before));

    // A bad release: extract passes its dry-run checks but fails real traffic. Dev has
    // no traffic and takes it; in test the canary meets synthetic traffic, the errors
    // alarm fires, and every function of the release goes back.
    package_release(&dir.join("bad"), "bad", &[("extract", "fixture-extract-live-fails")])?;
    let run = deployer.run(&["deploy", "--env", "dev", "--dist", &dist("bad")])?;
    accounts.expect(&run, 0, "the bad release in dev (no traffic there)", "dev").await?;
    let test_good = versions(&accounts.aliases("test").await?);
    let (stop, errors) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let traffic =
        synthetic_traffic(accounts.lambda["test"].clone(), "etl-test-extract".into(), stop.clone(), errors.clone());
    let run = deployer.run(&["promote", "--to", "test"])?;
    stop.store(true, Ordering::SeqCst);
    for t in traffic {
        t.await?;
    }
    accounts.expect(&run, 2, "the bad release in test", "test").await?;
    ensure!(run.outcome() == "rolled_back", "{:#}", run.report);
    ensure!(
        run.report["alarm"]["name"] == "etl-test-extract-errors",
        "rolled back on the errors alarm: {:#}",
        run.report
    );
    ensure!(
        run.report["alarm"]["function_name"] == "etl-test-extract"
            && run.report["alarm"]["value"].as_f64().is_some_and(|v| v >= 1.0),
        "{:#}",
        run.report["alarm"]
    );
    ensure!(
        run.message().contains("etl-test-extract-errors") && run.message().contains("etl-test-extract"),
        "{}",
        run.message()
    );
    ensure!(errors.load(Ordering::SeqCst) > 0, "the canary really served the bad version");
    // The judge's numbers for the step the alarm cut short, beside the alarm's: the new
    // version's errors against the old one's over the same window.
    let judged = run.report["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["artifact"] == "extract" && e["judgment"]["errors"]["new_errors"].as_u64() > Some(0))
        .cloned();
    ensure!(judged.is_some(), "the judge read the new version's errors: {:#}", run.report["evidence"]);
    // The release's page: CloudWatch's minutes of the canary for both versions of
    // extract, and its errors alarm going to ALARM, read back through the SDK.
    let bad_release = run.report["release_id"].as_str().unwrap_or_default().to_owned();
    let bad_extract = run.function("extract").context("in report")?["version"].as_str().unwrap_or("?").to_owned();
    let page = dir.join("bad.html");
    let report = deployer.run(&["report", &bad_release, "--env", "test", "--html", &page.to_string_lossy()])?;
    expect(&report, 0, "the bad release's page")?;
    let html = std::fs::read_to_string(&page)?;
    let extract = html.split("<section class=\"function\" id=\"fn-extract\">").nth(1).unwrap_or_default();
    ensure!(
        extract.contains(&format!("<polyline class=\"series\" data-version=\"{bad_extract}\"")),
        "the new extract's minutes: {extract}"
    );
    let alarm_row =
        extract.split("<tr").find(|row| row.contains("<td>etl-test-extract-errors</td>")).unwrap_or_default();
    ensure!(alarm_row.contains("&rarr; ALARM</td>"), "the alarm's change to ALARM: {extract}");
    ensure!(!html.contains("Not read from CloudWatch"), "every read answered: {html}");
    let after = accounts.aliases("test").await?;
    ensure!(
        versions(&after) == test_good && after.values().all(|(_, w)| w.is_none()),
        "every function back: {after:?} vs {test_good:?}"
    );
    for f in FUNCTIONS {
        ensure!(run.function(f).context("in report")?["outcome"] == "rolled_back", "{f}: {:#}", run.report);
    }

    // Promotion after a failed test release is refused, and prod is untouched.
    let run = deployer.run(&["promote", "--to", "prod"])?;
    expect(&run, 5, "promoting a failed release")?;
    ensure!(run.message().contains("did not succeed"), "{}", run.message());
    ensure!(versions(&accounts.aliases("prod").await?) == prod_good);

    // The Well-Architected review of prod and test, read from the applied environments
    // and this repository; an alarm unwired from a group unticks the rollout item.
    reviews(&deployer, &accounts, &endpoint, &dir, good["release_id"].as_str().unwrap_or_default()).await?;

    // A failing pre-traffic hook: transform fails its dry-run check, so no traffic
    // ever shifts and the release's other functions return too.
    let dev_bad = versions(&accounts.aliases("dev").await?);
    package_release(&dir.join("broken"), "broken", &[("transform", "fixture-fail")])?;
    let run = deployer.run(&["deploy", "--env", "dev", "--dist", &dist("broken")])?;
    accounts.expect(&run, 2, "a release whose pre-traffic hook fails", "dev").await?;
    ensure!(run.message().contains("etl-dev-transform"), "{}", run.message());
    // The hook's own verdict, read back from its log group: which check failed, beside
    // CodeDeploy's bare "reported Failed". The fixture's error also trips transform's
    // errors alarm; read in the same poll, the hook's failure comes first. Read a poll
    // earlier, the release stops on that alarm, and the hook's log still says Failed.
    let stop = &run.report["stop"];
    match stop["kind"].as_str() {
        Some("deployment_failed") => {
            let said = &stop["hook"];
            ensure!(
                said["hook"] == "etl-dev-pre-traffic"
                    && said["status"] == "Failed"
                    && said["reason"]
                        .as_str()
                        .is_some_and(|r| r.contains("etl-dev-transform:") && r.contains("function error")),
                "the pre-traffic hook's verdict: {stop:#}"
            );
            ensure!(run.message().contains("etl-dev-pre-traffic said: event "), "{}", run.message());
        }
        Some("alarm") => {
            ensure!(stop["alarm"] == "etl-dev-transform-errors", "{stop:#}");
            let log = accounts.hook_log("dev").await;
            ensure!(log.contains(r#""status":"Failed""#), "the pre-traffic hook failed it: {log}");
        }
        _ => anyhow::bail!("stopped on the hook or its alarm: {stop:#}"),
    }
    let id = run.function("transform").and_then(|f| f["deployment_id"].as_str()).context("deployment id")?.to_owned();
    // The target id is CodeDeploy's to choose: read it, never build it.
    let listed = accounts.codedeploy["dev"].list_deployment_targets().deployment_id(&id).send().await?;
    let target_id = listed.target_ids().first().context("a Lambda deployment has one target")?;
    let target =
        accounts.codedeploy["dev"].get_deployment_target().deployment_id(&id).target_id(target_id).send().await?;
    let events: BTreeMap<String, String> = target
        .deployment_target()
        .and_then(|t| t.lambda_target())
        .map(|t| {
            t.lifecycle_events()
                .iter()
                .map(|e| {
                    (
                        e.lifecycle_event_name().unwrap_or_default().to_owned(),
                        e.status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    ensure!(events.get("BeforeAllowTraffic").map(String::as_str) == Some("Failed"), "{events:?}");
    ensure!(
        !matches!(events.get("AllowTraffic").map(String::as_str), Some("InProgress" | "Succeeded")),
        "traffic never shifted: {events:?}"
    );
    ensure!(versions(&accounts.aliases("dev").await?) == dev_bad, "dev is where it was");

    // A fixed release goes to dev and test; its promotion to prod is then killed
    // mid-shift, a second deployer meanwhile is refused by the lock, and `rollback`
    // restores every alias.
    package_release(&dir.join("fixed"), "fixed", &[])?;
    wait_for_alarms_ok(&endpoint, e2e::DEV, "etl-dev-").await?;
    expect(&deployer.run(&["deploy", "--env", "dev", "--dist", &dist("fixed")])?, 0, "the fixed release in dev")?;
    wait_for_alarms_ok(&endpoint, TEST, "etl-test-").await?;
    expect(&deployer.run(&["promote", "--to", "test"])?, 0, "the fixed release in test")?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut first = deployer.spawn(&["promote", "--to", "prod"], &dir.join("killed.log"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let aliases = accounts.aliases("prod").await?;
        if aliases.values().any(|(_, w)| w.is_some()) {
            break;
        }
        ensure!(
            first.try_wait()?.is_none(),
            "the first deployer ended early: {}",
            std::fs::read_to_string(dir.join("killed.log"))?
        );
        ensure!(Instant::now() < deadline, "prod's canary never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = deployer.run(&["promote", "--to", "prod"])?;
    expect(&second, 5, "a second deployer during a release")?;
    ensure!(second.message().contains("held by") && second.message().contains("since"), "{}", second.message());
    first.kill()?;
    first.wait()?;
    let status = deployer.run(&["status", "--env", "prod"])?;
    expect(&status, 0, "status after the kill")?;
    ensure!(status.message().contains("in progress"), "status names the unfinished release: {:#}", status.report);
    ensure!(
        status.report["functions"].as_array().is_some_and(|fs| fs
            .iter()
            .any(|f| f["alias"]["in_flight_deployments"].as_array().is_some_and(|d| !d.is_empty()))),
        "status shows the in-flight deployments: {:#}",
        status.report
    );
    ensure!(status.report["strategy"]["type"] == "canary", "the strategy: {:#}", status.report);
    ensure!(
        status.report["functions"]
            .as_array()
            .is_some_and(|fs| fs.iter().any(|f| f["alias"]["additional_version"].is_string() && f["step"].is_string())),
        "stable and canary versions, and the step: {:#}",
        status.report
    );
    let run = deployer.run(&["rollback", "--env", "prod"])?;
    accounts.expect(&run, 0, "rollback after the kill", "prod").await?;
    ensure!(run.outcome() == "restored", "{:#}", run.report);
    let restored = accounts.aliases("prod").await?;
    ensure!(
        versions(&restored) == prod_good && restored.values().all(|(_, w)| w.is_none()),
        "every prod alias restored: {restored:?}"
    );

    // rollback of a finished release, history, prune.
    let run = deployer.run(&["rollback", "--env", "test"])?;
    accounts.expect(&run, 0, "rollback of test", "test").await?;
    ensure!(run.report["release_id"] == good["release_id"], "test goes back to the good release: {:#}", run.report);
    ensure!(accounts.code("test").await? == good_code);
    let history = deployer.run(&["history", "--env", "test"])?;
    expect(&history, 0, "history")?;
    let kinds: Vec<(String, String)> = history.report["releases"]
        .as_array()
        .context("releases")?
        .iter()
        .map(|r| {
            (r["kind"].as_str().unwrap_or_default().to_owned(), r["status"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    ensure!(
        kinds.first() == Some(&("rollback".into(), "succeeded".into()))
            && kinds.contains(&("promote".into(), "rolled_back".into())),
        "{kinds:?}"
    );
    let releases = history.report["releases"].as_array().context("releases")?;
    ensure!(releases.iter().all(|r| r["duration_ms"].is_u64()), "every release has its duration: {releases:#?}");
    ensure!(
        releases
            .iter()
            .filter(|r| r["status"] == "rolled_back")
            .all(|r| r["reason"].as_str().is_some_and(|m| m.contains("etl-test-extract-errors"))
                && r["stop"]["kind"] == "alarm"),
        "a rolled-back release says why: {releases:#?}"
    );
    let dev_now = versions(&accounts.aliases("dev").await?);
    let run = deployer.run(&["prune", "--env", "dev", "--keep", "1"])?;
    expect(&run, 0, "prune")?;
    ensure!(run.report["pruned"].as_array().is_some_and(|p| !p.is_empty()), "old versions deleted: {:#}", run.report);
    ensure!(versions(&accounts.aliases("dev").await?) == dev_now);
    for (f, v) in &dev_now {
        accounts.lambda["dev"]
            .get_function_configuration()
            .function_name(format!("etl-dev-{f}"))
            .qualifier(v)
            .send()
            .await
            .with_context(|| format!("{f}:{v} was kept"))?;
    }
    // A function built for Lambda by `deployer package --release` ships and runs.
    let built = release_build.wait()?;
    let probe = dir.join("probe");
    ensure!(built.success(), "deployer package --release: {}", std::fs::read_to_string(probe.join("package.log"))?);
    let manifest: Value = serde_json::from_slice(&std::fs::read(probe.join("release.json"))?)?;
    let compensate = &manifest["artifacts"]["compensate"];
    ensure!(
        compensate["profile"] == "release" && compensate["architecture"] == "x86_64",
        "release.json records how it was built: {compensate:#}"
    );
    let glibc = compensate["glibc"].as_str().context("the glibc it needs")?;
    let (major, minor) = glibc.split_once('.').context("x.y")?;
    ensure!((major.parse::<u32>()?, minor.parse::<u32>()?) <= (2, 34), "links against glibc <= 2.34: {glibc}");
    let debug_size = manifest["artifacts"]["extract"]["size"].as_u64().unwrap_or_default();
    ensure!(compensate["size"].as_u64().is_some_and(|s| s * 5 < debug_size), "stripped and small: {manifest:#}");
    let run = deployer.run(&["deploy", "--env", "dev", "--dist", &dist("probe")])?;
    accounts.expect(&run, 0, "deploying the release-built artifact", "dev").await?;
    let answer = accounts.lambda["dev"]
        .invoke()
        .function_name("etl-dev-compensate")
        .qualifier("live")
        .payload(br#"{"ping":1}"#.to_vec().into())
        .send()
        .await?;
    let answer: Value = serde_json::from_slice(answer.payload().map(|p| p.as_ref()).unwrap_or_default())?;
    ensure!(
        answer["probe"] == "lambda-probe" && answer["profile"] == "release" && answer["event"]["ping"] == 1,
        "{answer}"
    );
    let dev_now = versions(&accounts.aliases("dev").await?);

    // An alias moved outside the deployer (as with the AWS CLI) is drift, and status says so.
    let load = accounts.lambda["dev"].get_alias().function_name("etl-dev-load").name("live").send().await?;
    let recorded = dev_now["load"].clone();
    accounts.lambda["dev"]
        .update_alias()
        .function_name("etl-dev-load")
        .name("live")
        .function_version("$LATEST")
        .set_revision_id(load.revision_id().map(str::to_owned))
        .send()
        .await?;
    let status = deployer.run(&["status", "--env", "dev"])?;
    expect(&status, 0, "status after a hand-made change")?;
    ensure!(status.message().contains("moved outside the deployer"), "{:#}", status.report);
    let drifted = status.function("load").context("load")?;
    ensure!(drifted["drift"]["recorded_version"] == recorded.as_str(), "{drifted:#}");
    drop(cloud);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// `deployer review` on the applied environments: in prod every practice the local
/// cloud can show is ticked, each on the evidence it read (the two it cannot show stay
/// unticked, saying why); the release log holds the promotion; test's review shows its
/// rolled-back release; an alarm unwired from prod's extract group unticks the rollout
/// item until it is wired again.
async fn reviews(
    deployer: &Deployer,
    accounts: &Accounts,
    endpoint: &str,
    dir: &std::path::Path,
    good: &str,
) -> Result<()> {
    let markdown = dir.join("review-prod.md");
    let run = deployer.run(&["review", "--env", "prod", "--markdown", &markdown.to_string_lossy()])?;
    expect(&run, 0, "review of prod")?;
    let prod = items(&run.report)?;
    // The local cloud cannot report a state machine's tracing back (so Terraform leaves
    // it off there), and it runs the host's x86_64 binaries.
    ensure!(unticked(&prod) == ["ops1-tracing", "cost1-configuration"], "{:#?}", prod);
    ensure!(
        item(&prod, "ops1-tracing")?.note == "state machine etl-prod-etl: tracing off",
        "{:#?}",
        item(&prod, "ops1-tracing")?
    );
    ensure!(item(&prod, "ops1-tracing")?.evidence.contains("environment etl-prod-extract: X-Ray tracing Active"));
    ensure!(item(&prod, "cost1-configuration")?.note.contains("etl-prod-extract runs on x86_64"));
    let expect_evidence = [
        ("ops1-alarms", "environment etl-prod-extract: etl-prod-extract-errors on Errors (OK)"),
        ("ops1-alarms", "repository terraform/modules/etl-workflow/main.tf"),
        ("ops1-logging", "environment /aws/lambda/etl-prod-load: retention 365 days, KMS-encrypted; LOG_LEVEL info"),
        ("ops1-metrics", "environment dashboard etl-prod: per-version errors of etl-prod-transform: \"transform: errors by version\""),
        ("ops1-metrics", "environment dashboard etl-prod: current release: \"Current release\""),
        ("ops1-metrics", "environment dashboard etl-prod: records curated per run: \"Records per run: curated and quarantined\""),
        ("ops2-iac", "repository environments/prod: Terraform root (workload-account module), account 333333333333"),
        ("ops2-iac", "environment arn:aws:iam::333333333333:role/deployer: the review ran as it"),
        ("ops2-rollout", "environment CodeDeployDefault.LambdaCanary10Percent5Minutes: exists: canary 10% for 5m, then all"),
        ("ops2-rollout", "environment etl-prod/etl-prod-extract: 3 alarm(s) wired"),
        ("ops2-rollout", &format!("environment etl-prod-releases: last verdicts: {good} promote succeeded")),
        ("ops2-cicd", "repository .github/workflows/release.yml: deploy-dev (environment dev) -> promote-test (environment test) -> promote-prod (environment prod)"),
        ("ops2-cicd", &format!("environment etl-prod-releases: newest promotion: {good} from test (succeeded)")),
        ("rel1-concurrency", "environment etl-prod-etl: Map Transform: MaxConcurrency 4"),
        ("rel1-throttles", "environment etl-prod-load: etl-prod-load-throttles (OK)"),
        ("rel2-failures", "environment etl-prod-etl: Extract: catches States.ALL -> CompensateExtract"),
        ("rel2-idempotency", "environment etl-prod-runs: run ledger keyed by run_id"),
        ("rel2-saga", "environment etl-prod-etl: Load -> CompensateLoad -> RunFailed"),
        ("sec1-no-public", "environment etl-prod-extract: no resource-based policy"),
        ("sec1-scoped-callers", "environment etl-prod-etl-state-machine: etl-state-machine: lambda:InvokeFunction on the functions' versions and aliases only"),
        ("sec1-identity", "environment deployer: web identity only for repo:"),
        ("sec2-temporary-credentials", "environment etl-prod-transform: runs as arn:aws:iam::333333333333:role/etl-prod-transform"),
        ("sec2-least-privilege", "environment etl-prod-load: etl-prod-load's own role"),
        ("sec3-validate", "environment etl-prod-transform: quarantines into etl-prod-quarantine-333333333333"),
        ("sec3-dependencies", "repository scripts/test.sh: `make test` checks licenses, bans and sources"),
        ("perf1-capacity", "environment etl-prod-transform: 1024 MB"),
        ("perf1-orchestration", "etl-prod-transform:<the execution's release>"),
        ("cost1-logging", "environment /aws/vendedlogs/states/etl-prod-etl: retention 365 days"),
        ("cost1-patterns", "environment etl-prod-runs: billed per request"),
    ];
    for (id, needle) in expect_evidence {
        let i = item(&prod, id)?;
        ensure!(i.ticked && i.evidence.contains(needle), "{id}: {needle:?} not in its evidence:\n{}", i.evidence);
    }
    let text = std::fs::read_to_string(&markdown)?;
    for needle in [
        "## Well-Architected review: prod (account 333333333333)",
        "| ⬜ | Good | Use distributed tracing and code is instrumented with additional context | state machine etl-prod-etl: tracing off **To meet it:**",
        "| ✅ | Good | Use a rollout deployment mechanism |",
    ] {
        ensure!(text.contains(needle), "the Markdown review lacks {needle:?}:\n{text}");
    }

    // The release log holds prod's promotion, which the dashboard shows as current.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&account_config(endpoint, PROD).await);
    let events = logs.get_log_events().log_group_name("/etl-prod/releases").log_stream_name("deployer").send().await?;
    let verdicts: Vec<Value> =
        events.events().iter().filter_map(|e| e.message()).filter_map(|m| serde_json::from_str(m).ok()).collect();
    ensure!(
        verdicts.iter().any(|v| v["release_id"] == good
            && v["kind"] == "promote"
            && v["status"] == "succeeded"
            && v["source_environment"] == "test"),
        "the release log of prod: {verdicts:#?}"
    );

    // test: its last verdict is the bad release, rolled back on its alarm.
    let run = deployer.run(&["review", "--env", "test"])?;
    expect(&run, 0, "review of test")?;
    let test = items(&run.report)?;
    let rollout = item(&test, "ops2-rollout")?;
    ensure!(
        rollout.ticked && rollout.evidence.contains("promote rolled_back (alarm etl-test-extract-errors"),
        "{rollout:#?}"
    );
    ensure!(
        rollout.evidence.contains("environment etl-test-canary-10pct-1min: exists: canary 10% for 1m, then all"),
        "{rollout:#?}"
    );

    // Unwire prod's extract errors alarm: the rollout item goes, naming it; wire it back.
    let codedeploy = &accounts.codedeploy["prod"];
    let group = codedeploy
        .get_deployment_group()
        .application_name("etl-prod")
        .deployment_group_name("etl-prod-extract")
        .send()
        .await?;
    let wired =
        group.deployment_group_info().and_then(|g| g.alarm_configuration()).cloned().context("the group's alarms")?;
    let without: Vec<aws_sdk_codedeploy::types::Alarm> =
        wired.alarms().iter().filter(|a| a.name() != Some("etl-prod-extract-errors")).cloned().collect();
    let update = |alarms: Vec<aws_sdk_codedeploy::types::Alarm>| {
        codedeploy
            .update_deployment_group()
            .application_name("etl-prod")
            .current_deployment_group_name("etl-prod-extract")
            .alarm_configuration(
                aws_sdk_codedeploy::types::AlarmConfiguration::builder()
                    .enabled(wired.enabled())
                    .ignore_poll_alarm_failure(wired.ignore_poll_alarm_failure())
                    .set_alarms(Some(alarms))
                    .build(),
            )
            .send()
    };
    update(without).await?;
    let run = deployer.run(&["review", "--env", "prod"])?;
    expect(&run, 0, "review of prod with an alarm unwired")?;
    let after = items(&run.report)?;
    ensure!(unticked(&after) == ["ops1-tracing", "ops2-rollout", "cost1-configuration"], "{:#?}", unticked(&after));
    let rollout = item(&after, "ops2-rollout")?;
    ensure!(rollout.note == "etl-prod/etl-prod-extract: alarm(s) not wired: etl-prod-extract-errors", "{rollout:#?}");
    update(wired.alarms().to_vec()).await?;
    let run = deployer.run(&["review", "--env", "prod"])?;
    ensure!(item(&items(&run.report)?, "ops2-rollout")?.ticked, "wired again, ticked again: {:#}", run.report);
    Ok(())
}
