//! environments/local on a private local cloud, through the same scripts `make demo`
//! uses: the functions Terraform creates hold the modules' placeholder and refuse to
//! run; the deployer's first release into dev ships the code. Then the ETL workflow
//! runs for real in the dev account: a day of raw data with bad records, a re-run that
//! changes nothing, and a failure injected into Load that Compensate undoes and alerts
//! on. Then a second plan with no changes; then one execution, one release: with a
//! routing record written by hand over two published versions of every function, each
//! execution's every Task runs the versions the record and the input's pin choose, and
//! without a record the live aliases. Then destroy.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sfn::types::ExecutionStatus;
use e2e::deployer::Deployer;
use e2e::inbox::Inbox;
use e2e::{account_config, succeeded, DEV, PROD, TOOLING};
use etl_core::synthetic::Generator;
use etl_core::Date;
use localcloud::testing::LocalCloud;

fn script(cloud: &LocalCloud, dir: &Path, name: &str, args: &[&str]) -> Output {
    e2e::script_command(&cloud.endpoint(), dir, name)
        .args(args)
        .env("DIST_DIR", dir.join("dist"))
        .output()
        .expect("running a script")
}

struct Clients {
    s3: aws_sdk_s3::Client,
    sfn: aws_sdk_sfn::Client,
    ddb: aws_sdk_dynamodb::Client,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
}

const RAW: &str = "etl-dev-raw-111111111111";
const CURATED: &str = "etl-dev-curated-111111111111";
const STAGING: &str = "etl-dev-staging-111111111111";
const QUARANTINE: &str = "etl-dev-quarantine-111111111111";

async fn run(
    c: &Clients,
    machine: &str,
    input: serde_json::Value,
) -> Result<aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput> {
    let started = c.sfn.start_execution().state_machine_arn(machine).input(input.to_string()).send().await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let d = c.sfn.describe_execution().execution_arn(started.execution_arn()).send().await?;
        if d.status() != &ExecutionStatus::Running {
            return Ok(d);
        }
        ensure!(Instant::now() < deadline, "the execution is still running after 120 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every object under `prefix` with its content.
async fn contents(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let listed = s3.list_objects_v2().bucket(bucket).prefix(prefix).send().await?;
    for object in listed.contents() {
        let key = object.key().unwrap_or_default().to_owned();
        let body = s3.get_object().bucket(bucket).key(&key).send().await?.body.collect().await?.into_bytes();
        out.insert(key, String::from_utf8_lossy(&body).into_owned());
    }
    Ok(out)
}

async fn ledger_status(c: &Clients, table: &str, run_id: &str) -> Result<String> {
    let item = c
        .ddb
        .get_item()
        .table_name(table)
        .key("run_id", AttributeValue::S(run_id.into()))
        .consistent_read(true)
        .send()
        .await?;
    Ok(item.item().and_then(|i| i.get("status")).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default())
}

const STEPS: [&str; 4] = ["extract", "transform", "load", "compensate"];
const RELEASES: &str = "etl-dev-releases";

/// The routing record the deployer keeps in the release ledger while a release is in
/// flight (terraform/modules/etl-workflow/README.md, "One execution, one release").
fn routing_record(
    release: &str,
    weight: u32,
    old: &BTreeMap<&str, String>,
    new: &BTreeMap<&str, String>,
) -> HashMap<String, AttributeValue> {
    let versions = |v: &BTreeMap<&str, String>| {
        AttributeValue::M(v.iter().map(|(f, n)| ((*f).to_owned(), AttributeValue::S(n.clone()))).collect())
    };
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S("routing".into())),
        ("sk".to_owned(), AttributeValue::S("routing".into())),
        ("release_id".to_owned(), AttributeValue::S(release.into())),
        ("record_id".to_owned(), AttributeValue::S(format!("{release}-routing"))),
        ("weight".to_owned(), AttributeValue::N(weight.to_string())),
        ("old".to_owned(), versions(old)),
        ("new".to_owned(), versions(new)),
    ])
}

/// What one execution ran.
#[derive(Debug)]
struct Ran {
    /// `$.versions` as the first Task (Extract) received it.
    chosen: serde_json::Value,
    /// Per function, the version of every invocation that carried this execution's id,
    /// read from the function's log streams: Lambda names them `<date>/[<version>]<id>`,
    /// the version that executed (an alias's target for an alias invoke).
    executed: BTreeMap<String, BTreeSet<String>>,
    /// Per Task that was scheduled, the FunctionName it asked for, where the history
    /// reports the Task's parameters (AWS does; the local cloud's emulator does not).
    asked: Vec<String>,
}

async fn what_ran(c: &Clients, logs: &aws_sdk_cloudwatchlogs::Client, execution_arn: &str, name: &str) -> Result<Ran> {
    let mut chosen = serde_json::Value::Null;
    let mut asked = Vec::new();
    let mut pages = c.sfn.get_execution_history().execution_arn(execution_arn).into_paginator().send();
    while let Some(page) = pages.next().await {
        for event in page?.events() {
            if let Some(entered) = event.state_entered_event_details() {
                if entered.name() == "Extract" {
                    let input: serde_json::Value = serde_json::from_str(entered.input().unwrap_or("{}"))?;
                    chosen = input["versions"].clone();
                }
            }
            if let Some(scheduled) = event.task_scheduled_event_details() {
                if let Ok(parameters) = serde_json::from_str::<serde_json::Value>(scheduled.parameters()) {
                    if let Some(function) = parameters["FunctionName"].as_str() {
                        asked.push(function.to_owned());
                    }
                }
            }
        }
    }
    let mut executed = BTreeMap::new();
    for step in STEPS {
        let found = logs
            .filter_log_events()
            .log_group_name(format!("/aws/lambda/etl-dev-{step}"))
            .filter_pattern(format!("\"{name}\""))
            .send()
            .await?;
        let versions: BTreeSet<String> = found
            .events()
            .iter()
            .filter(|e| e.message().is_some_and(|m| m.contains(name)))
            .filter_map(|e| e.log_stream_name())
            .filter_map(|stream| stream.split_once('[').and_then(|(_, rest)| rest.split_once(']')))
            .map(|(version, _)| version.to_owned())
            .collect();
        if !versions.is_empty() {
            executed.insert(step.to_owned(), versions);
        }
    }
    Ok(Ran { chosen, executed, asked })
}

/// Starts a dry run named `name` and waits for it.
async fn dry_run(
    c: &Clients,
    machine: &str,
    name: &str,
    input: serde_json::Value,
) -> Result<aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput> {
    let started = c.sfn.start_execution().state_machine_arn(machine).name(name).input(input.to_string()).send().await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let d = c.sfn.describe_execution().execution_arn(started.execution_arn()).send().await?;
        if d.status() != &ExecutionStatus::Running {
            return Ok(d);
        }
        ensure!(Instant::now() < deadline, "{name} is still running after 120 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs `input` as execution `name` and checks that every function it invoked ran
/// `expected` (function -> version), and no other version: one execution, one release.
#[allow(clippy::too_many_arguments)]
async fn runs_one_release(
    c: &Clients,
    logs: &aws_sdk_cloudwatchlogs::Client,
    machine: &str,
    name: &str,
    input: serde_json::Value,
    chosen: serde_json::Value,
    expected: &BTreeMap<&str, String>,
    invoked: &[&str],
) -> Result<()> {
    let done = dry_run(c, machine, name, input).await?;
    let ran = what_ran(c, logs, done.execution_arn(), name).await?;
    ensure!(ran.chosen == chosen, "{name}: chose {} instead of {chosen}", ran.chosen);
    let want: BTreeMap<String, BTreeSet<String>> =
        invoked.iter().map(|f| ((*f).to_owned(), BTreeSet::from([expected[f].clone()]))).collect();
    ensure!(ran.executed == want, "{name}: ran {:?}, not {want:?} ({:?})", ran.executed, done.status());
    for function in &ran.asked {
        let (unqualified, qualifier) = function.rsplit_once(':').context("a qualified FunctionName")?;
        let step = unqualified.rsplit_once("etl-dev-").map(|(_, s)| s).context("an ETL function")?;
        ensure!(
            chosen[step].as_str() == Some(qualifier),
            "{name}: a Task asked for {function}, not the chosen {step} {}",
            chosen[step]
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_environment_runs_the_etl_workflow_then_plans_clean_and_destroys() -> Result<()> {
    let cloud = LocalCloud::start("etl-workflow")?;
    let dir = e2e::scratch_dir("etl")?;
    succeeded("package-functions.sh", &script(&cloud, &dir, "package-functions.sh", &[]))?;
    e2e::apply_environments_local(&cloud, &dir, || script(&cloud, &dir, "tf-local.sh", &["apply"]))?;

    // The test's own reads ride through the faults injected during one run below.
    let dev = e2e::observer_config(&cloud.endpoint(), DEV).await;
    // Terraform created the functions from the placeholder, live on $LATEST: an invoke
    // says what to do instead of running anything. Tried in prod, which this test
    // never releases to: the failed invoke trips the function's errors alarm, and an
    // alarm in ALARM refuses a release until it clears.
    let prod = aws_sdk_lambda::Client::new(&account_config(&cloud.endpoint(), PROD).await);
    let alias = prod.get_alias().function_name("etl-prod-extract").name("live").send().await?;
    assert_eq!(alias.function_version(), Some("$LATEST"), "Terraform publishes no version");
    let refused = prod.invoke().function_name("etl-prod-extract").qualifier("live").send().await?;
    let payload = String::from_utf8_lossy(refused.payload().map(|p| p.as_ref()).unwrap_or_default()).into_owned();
    ensure!(
        refused.function_error().is_some() && payload.contains("not released yet: run deployer"),
        "the placeholder refuses to run: {payload}"
    );
    // The first release ships the code: every live alias goes from $LATEST to a version.
    let lambda = aws_sdk_lambda::Client::new(&dev);
    let dist = dir.join("dist").to_string_lossy().into_owned();
    let release = Deployer::new(&cloud).run(&["deploy", "--env", "dev", "--dist", &dist])?;
    ensure!(release.code == 0 && release.outcome() == "succeeded", "the first release: {:#}", release.report);
    for f in ["extract", "transform", "load", "compensate"] {
        let reported = release.function(f).with_context(|| format!("{f} in the report"))?;
        ensure!(reported["outcome"] == "bootstrapped", "{f}: {reported}");
        let alias = lambda.get_alias().function_name(format!("etl-dev-{f}")).name("live").send().await?;
        ensure!(alias.function_version().is_some_and(|v| v != "$LATEST"), "etl-dev-{f}:live is on a version");
    }
    let c = Clients {
        s3: aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&dev).force_path_style(true).build()),
        sfn: aws_sdk_sfn::Client::new(&dev),
        ddb: aws_sdk_dynamodb::Client::new(&dev),
        sns: aws_sdk_sns::Client::new(&dev),
        sqs: aws_sdk_sqs::Client::new(&dev),
    };

    // The tooling account's artifact store, encrypted with its CMK.
    let tooling = account_config(&cloud.endpoint(), TOOLING).await;
    let artifacts =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&tooling).force_path_style(true).build());
    let encryption = artifacts.get_bucket_encryption().bucket("artifacts-444444444444-us-east-1").send().await?;
    let rule = encryption
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default())
        .context("default encryption")?;
    assert_eq!(rule.sse_algorithm().as_str(), "aws:kms");

    let machine = c
        .sfn
        .list_state_machines()
        .send()
        .await?
        .state_machines()
        .iter()
        .find(|m| m.name() == "etl-dev-etl")
        .map(|m| m.state_machine_arn().to_owned())
        .context("the state machine exists in dev")?;

    // The alert topic, delivered to a queue the test reads.
    let topic = c
        .sns
        .list_topics()
        .send()
        .await?
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn())
        .find(|a| a.ends_with(":etl-dev-alerts"))
        .context("alert topic")?
        .to_owned();
    let inbox = Inbox::subscribe(&c.sns, &c.sqs, &topic, "etl-alerts-inbox").await?;

    // A day of raw data: three objects, every 25th record bad.
    let day = "2026-11-22";
    let mut generator = Generator::new(11, Date::parse(day).context("date")?, Some(25));
    let mut good = 0;
    for part in 0..3 {
        let mut text = String::new();
        for _ in 0..400 {
            if generator.write_line(&mut text) {
                good += 1;
            }
        }
        c.s3.put_object()
            .bucket(RAW)
            .key(format!("dt={day}/part-{part}.jsonl"))
            .body(text.into_bytes().into())
            .send()
            .await?;
    }
    let bad = 1200 - good;

    let first =
        run(&c, &machine, serde_json::json!({"run_date": day, "dry_run": false, "inject_failure": null})).await?;
    ensure!(first.status() == &ExecutionStatus::Succeeded, "the run failed: {:?} {:?}", first.error(), first.cause());
    let curated = contents(&c.s3, CURATED, &format!("dt={day}/")).await?;
    ensure!(curated.contains_key(&format!("dt={day}/_SUCCESS")), "the partition is complete: {:?}", curated.keys());
    let lines: Vec<serde_json::Value> = curated
        .iter()
        .filter(|(k, _)| k.ends_with(".jsonl"))
        .flat_map(|(_, v)| v.lines().map(|l| serde_json::from_str(l).unwrap_or_default()))
        .collect();
    let keys: HashSet<&str> = lines.iter().filter_map(|l| l["idempotency_key"].as_str()).collect();
    assert_eq!(lines.len(), good, "every good record is curated");
    assert_eq!(keys.len(), good, "exactly once");
    let quarantined: Vec<serde_json::Value> = contents(&c.s3, QUARANTINE, &format!("quarantine/dt={day}/"))
        .await?
        .values()
        .flat_map(|v| v.lines().map(|l| serde_json::from_str(l).unwrap_or_default()).collect::<Vec<_>>())
        .collect();
    assert_eq!(quarantined.len(), bad, "every bad record is quarantined");
    assert!(
        quarantined.iter().all(|q| q["reasons"].as_array().is_some_and(|r| !r.is_empty())),
        "each with its reasons"
    );
    assert_eq!(ledger_status(&c, "etl-dev-runs", "orders-2026-11-22").await?, "SUCCEEDED");

    // The same date again: the run is answered, nothing changes.
    let again =
        run(&c, &machine, serde_json::json!({"run_date": day, "dry_run": false, "inject_failure": null})).await?;
    ensure!(again.status() == &ExecutionStatus::Succeeded, "{:?}", again.cause());
    assert_eq!(contents(&c.s3, CURATED, &format!("dt={day}/")).await?, curated, "a re-run changes nothing");

    // A failure injected into Load: Compensate removes partial output, marks the run
    // failed, and the alert arrives.
    let other = "2026-11-23";
    let mut generator = Generator::new(12, Date::parse(other).context("date")?, Some(25));
    for part in 0..2 {
        c.s3.put_object()
            .bucket(RAW)
            .key(format!("dt={other}/part-{part}.jsonl"))
            .body(generator.lines(100).into_bytes().into())
            .send()
            .await?;
    }
    let failed =
        run(&c, &machine, serde_json::json!({"run_date": other, "dry_run": false, "inject_failure": "load"})).await?;
    assert_eq!(failed.status(), &ExecutionStatus::Failed);
    assert_eq!(failed.error(), Some("RunFailed"));
    assert!(contents(&c.s3, CURATED, &format!("dt={other}/")).await?.is_empty(), "no partial curated output");
    assert!(contents(&c.s3, STAGING, &format!("staging/dt={other}/")).await?.is_empty(), "no staged output");
    assert_eq!(ledger_status(&c, "etl-dev-runs", "orders-2026-11-23").await?, "FAILED");
    let alert = inbox.wait_for(Duration::from_secs(15), |m| m["run_id"] == "orders-2026-11-23").await?;
    assert_eq!(alert["failed_step"], "Load");
    assert!(alert["cause"].as_str().is_some_and(|c| c.contains("injected failure in load")), "{alert}");

    // A malformed date: Extract refuses it, Compensate alerts, nothing is written.
    let malformed =
        run(&c, &machine, serde_json::json!({"run_date": "22/11/2026", "dry_run": false, "inject_failure": null}))
            .await?;
    assert_eq!(malformed.status(), &ExecutionStatus::Failed);

    // A run while the local cloud injects faults into every call the functions make
    // (S3, DynamoDB and SNS reach it through localcloud): throttling, resets, empty
    // 500s, answers lost after the request applied. Every good record is still curated
    // exactly once, and `_SUCCESS` comes last.
    let faulty = "2026-11-24";
    let mut generator = Generator::new(13, Date::parse(faulty).context("date")?, Some(25));
    let mut good_under_faults = 0;
    for part in 0..3 {
        let mut text = String::new();
        for _ in 0..400 {
            if generator.write_line(&mut text) {
                good_under_faults += 1;
            }
        }
        c.s3.put_object()
            .bucket(RAW)
            .key(format!("dt={faulty}/part-{part}.jsonl"))
            .body(text.into_bytes().into())
            .send()
            .await?;
    }
    cloud.set_faults("throttle=0.1,reset=0.03,error=0.03,lost_reply=0.03,seed=21")?;
    let under_faults =
        run(&c, &machine, serde_json::json!({"run_date": faulty, "dry_run": false, "inject_failure": null})).await;
    let injected = cloud.set_faults("off")?;
    let under_faults = under_faults?;
    ensure!(
        under_faults.status() == &ExecutionStatus::Succeeded,
        "the run under faults failed: {:?} {:?}",
        under_faults.error(),
        under_faults.cause()
    );
    ensure!(injected.total.faults() > 0, "faults were injected: {injected:?}");
    let curated = contents(&c.s3, CURATED, &format!("dt={faulty}/")).await?;
    ensure!(curated.contains_key(&format!("dt={faulty}/_SUCCESS")), "complete: {:?}", curated.keys());
    let lines: Vec<serde_json::Value> = curated
        .iter()
        .filter(|(k, _)| k.ends_with(".jsonl"))
        .flat_map(|(_, v)| v.lines().map(|l| serde_json::from_str(l).unwrap_or_default()))
        .collect();
    let keys: HashSet<&str> = lines.iter().filter_map(|l| l["idempotency_key"].as_str()).collect();
    ensure!(lines.len() == good_under_faults, "every good record curated under faults: {}", lines.len());
    ensure!(keys.len() == good_under_faults, "exactly once under faults");
    assert_eq!(ledger_status(&c, "etl-dev-runs", &format!("orders-{faulty}")).await?, "SUCCEEDED");

    let plan = succeeded("tf-local.sh plan-check", &script(&cloud, &dir, "tf-local.sh", &["plan-check"]))?;
    assert!(plan.contains("no changes"), "{plan}");

    one_execution_runs_one_release(&c, &lambda, &aws_sdk_cloudwatchlogs::Client::new(&dev), &machine).await?;
    succeeded("tf-local.sh destroy", &script(&cloud, &dir, "tf-local.sh", &["destroy"]))?;
    assert!(c.sfn.list_state_machines().send().await?.state_machines().is_empty(), "destroy removed the workflow");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// With a routing record written by hand over two published versions of every
/// function, each execution's every Task runs the release the record's weight or the
/// input's pin chooses; without a record, the live aliases. Dry runs (shadow mode: they
/// read the day's real raw objects and write only under shadow/), so that every run goes
/// through Extract, the Map and Load.
async fn one_execution_runs_one_release(
    c: &Clients,
    lambda: &aws_sdk_lambda::Client,
    logs: &aws_sdk_cloudwatchlogs::Client,
    machine: &str,
) -> Result<()> {
    // The old release is what live serves; the new one a version published from a
    // configuration change (Lambda publishes nothing when nothing changed).
    let (mut old, mut new) = (BTreeMap::new(), BTreeMap::new());
    for step in STEPS {
        let function = format!("etl-dev-{step}");
        let live = lambda.get_alias().function_name(&function).name("live").send().await?;
        old.insert(step, live.function_version().context("live's version")?.to_owned());
        lambda.update_function_configuration().function_name(&function).description("routing check").send().await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while lambda.get_function_configuration().function_name(&function).send().await?.last_update_status()
            != Some(&aws_sdk_lambda::types::LastUpdateStatus::Successful)
        {
            ensure!(Instant::now() < deadline, "{function}'s update is not done after 30 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let published = lambda.publish_version().function_name(&function).send().await?;
        new.insert(step, published.version().context("the new version")?.to_owned());
        ensure!(new[step] != old[step], "{function}: a new version beside live's {}", old[step]);
    }
    let day = "2026-11-26";
    let mut generator = Generator::new(14, Date::parse(day).context("date")?, Some(25));
    for part in 0..2 {
        c.s3.put_object()
            .bucket(RAW)
            .key(format!("dt={day}/part-{part}.jsonl"))
            .body(generator.lines(50).into_bytes().into())
            .send()
            .await?;
    }
    let input = |pin: Option<&str>, fail: Option<&str>| {
        let mut v = serde_json::json!({"run_date": day, "dry_run": true, "inject_failure": fail});
        if let Some(pin) = pin {
            v["pin"] = pin.into();
        }
        v
    };
    let side = |route: &str, versions: &BTreeMap<&str, String>, id: &str| {
        let mut v = serde_json::json!({"id": id, "route": route});
        for (f, n) in versions {
            v[*f] = n.as_str().into();
        }
        v
    };
    let record = |weight| {
        c.ddb.put_item().table_name(RELEASES).set_item(Some(routing_record("r-routing", weight, &old, &new))).send()
    };
    let ran = ["extract", "transform", "load"];
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis();

    // All new, all old, and a pin either way against the weight.
    record(1000).await?;
    let all_new = side("new", &new, "r-routing");
    let all_old = side("old", &old, "r-routing");
    runs_one_release(c, logs, machine, &format!("weight-1000-{stamp}"), input(None, None), all_new.clone(), &new, &ran)
        .await?;
    runs_one_release(
        c,
        logs,
        machine,
        &format!("pin-old-{stamp}"),
        input(Some("old"), None),
        all_old.clone(),
        &old,
        &ran,
    )
    .await?;
    // A pin the state machine does not know is ignored: the weight decides.
    runs_one_release(
        c,
        logs,
        machine,
        &format!("pin-odd-{stamp}"),
        input(Some("both"), None),
        all_new.clone(),
        &new,
        &ran,
    )
    .await?;
    record(0).await?;
    runs_one_release(c, logs, machine, &format!("weight-0-{stamp}"), input(None, None), all_old, &old, &ran).await?;
    runs_one_release(
        c,
        logs,
        machine,
        &format!("pin-new-{stamp}"),
        input(Some("new"), None),
        all_new.clone(),
        &new,
        &ran,
    )
    .await?;
    // A failed run compensates on the same release.
    let failed = format!("pin-new-fails-{stamp}");
    runs_one_release(c, logs, machine, &failed, input(Some("new"), Some("load")), all_new, &new, &STEPS).await?;

    // No record: no release in flight, every Task invokes the live alias (whose
    // version is the old one).
    c.ddb
        .delete_item()
        .table_name(RELEASES)
        .key("pk", AttributeValue::S("routing".into()))
        .key("sk", AttributeValue::S("routing".into()))
        .send()
        .await?;
    let live = serde_json::json!({"id": "live", "route": "live", "extract": "live", "transform": "live", "load": "live", "compensate": "live"});
    runs_one_release(c, logs, machine, &format!("no-record-{stamp}"), input(Some("new"), None), live, &old, &ran)
        .await?;
    Ok(())
}
