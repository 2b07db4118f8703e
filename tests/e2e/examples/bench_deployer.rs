//! The deployer's benchmark figures (run by scripts/bench-deployer.sh) on a private
//! local cloud with time compressed 60x:
//! 1. deployer overhead (its wall time minus time spent waiting on the cloud, as its
//!    JSON report accounts it) for an all-at-once release of 4 and of 40 functions
//!    (targets: under 2 s; 40 in at most twice the time of 4);
//! 2. from an alarm's ALARM to every alias of the release restored (target: under 2 s);
//! 3. `deployer --version` start-up (target: under 10 ms);
//! 4. 20 releases in a row while the cloud injects faults (10 % throttling, 3 % resets,
//!    3 % empty 500s, 3 % answers lost after the request was applied): how many
//!    succeed (target: 20 of 20, with no alias left split and no ledger record lost),
//!    the median overhead, and the retries the SDK spent.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use aws_sdk_codedeploy::types::{
    ComputePlatform, DeploymentOption, DeploymentStyle, DeploymentType, MinimumHealthyHosts, TimeBasedCanary,
    TrafficRoutingConfig, TrafficRoutingType,
};
use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use e2e::deployer::{deployer_bin, Deployer, Run};
use e2e::lambda::create_function;
use e2e::{account_config, DEV, TOOLING};
use localcloud::testing::{workspace_root, LocalCloud};

const BUCKET: &str = "bench-artifacts-444444444444";
const ALARM: &str = "bench-failures";

fn target_dir() -> PathBuf {
    deployer_bin().parent().expect("target/<profile>").to_path_buf()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Settings for a bench environment of `n` functions.
fn settings(dir: &Path, env: &str, n: usize, config: &str, alarms: bool) -> Result<()> {
    let mut text = format!(
        "environment: {env}\naccount_id: \"{DEV}\"\nregion: us-east-1\ndeploy_role: deployer\napplication: {env}\ndeployment_config: {config}\nhooks: {{pre_traffic: bench-pre, post_traffic: bench-post}}\nrelease_table: bench-releases\nartifact_bucket: {BUCKET}\nlocal: {{poll_interval: 100ms}}\nfunctions:\n"
    );
    for i in 0..n {
        let alarms = if alarms { format!("[{ALARM}]") } else { "[]".into() };
        text.push_str(&format!("  fn{i:02}: {{function_name: {env}-fn{i:02}, alarms: {alarms}}}\n"));
    }
    std::fs::create_dir_all(dir.join(env))?;
    std::fs::write(dir.join(env).join("deployer.yaml"), text)?;
    Ok(())
}

/// Packages a release of `n` functions (fixture-double with `marker` appended) plus hooks.
fn package(dir: &Path, n: usize, marker: &str) -> Result<PathBuf> {
    let bins = dir.join(format!("bins-{marker}"));
    std::fs::create_dir_all(&bins)?;
    let mut double = std::fs::read(target_dir().join("fixture-double"))?;
    double.extend_from_slice(format!("\nmarker:{marker}\n").as_bytes());
    let hook = std::fs::read(target_dir().join("fixture-hook"))?;
    let mut args: Vec<String> = Vec::new();
    for name in deployer::release::FUNCTIONS {
        std::fs::write(bins.join(name), &double)?;
    }
    for name in deployer::release::HOOKS {
        std::fs::write(bins.join(name), &hook)?;
    }
    std::fs::write(bins.join("fn"), &double)?;
    for i in 0..n {
        args.push("--bin".into());
        args.push(format!("fn{i:02}={}", bins.join("fn").display()));
    }
    let dist = dir.join(format!("dist-{marker}"));
    let out = Command::new(deployer_bin())
        .args(["--quiet", "package", "--no-build", "--bin-dir"])
        .arg(&bins)
        .arg("--dist")
        .arg(&dist)
        .args(&args)
        .output()?;
    ensure!(out.status.success(), "package: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&bins)?;
    Ok(dist)
}

/// The bench's folder, removed however the bench ends: a 40-function release of debug
/// binaries is hundreds of megabytes.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Cloud {
    lambda: aws_sdk_lambda::Client,
    codedeploy: aws_sdk_codedeploy::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

async fn set_up(cloud: &LocalCloud, c: &Cloud, envs: &[(&str, usize)]) -> Result<()> {
    let dev = account_config(&cloud.endpoint(), DEV).await;
    let tooling = account_config(&cloud.endpoint(), TOOLING).await;
    // ministack does not check that the deploy role exists: AssumeRole is enough.
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&tooling).force_path_style(true).build())
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await?;
    aws_sdk_dynamodb::Client::new(&dev)
        .create_table()
        .table_name("bench-releases")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder().attribute_name("pk").attribute_type(ScalarAttributeType::S).build()?,
        )
        .attribute_definitions(
            AttributeDefinition::builder().attribute_name("sk").attribute_type(ScalarAttributeType::S).build()?,
        )
        .key_schema(KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build()?)
        .key_schema(KeySchemaElement::builder().attribute_name("sk").key_type(KeyType::Range).build()?)
        .send()
        .await?;
    let hook = target_dir().join("fixture-hook").display().to_string();
    let double = target_dir().join("fixture-double").display().to_string();
    create_function(&c.lambda, "bench-pre", &hook, &[("HOOK_RESULT", "Succeeded")]).await?;
    create_function(&c.lambda, "bench-post", &hook, &[("HOOK_RESULT", "Succeeded")]).await?;
    c.cloudwatch
        .put_metric_alarm()
        .alarm_name(ALARM)
        .namespace("Bench")
        .metric_name("Failures")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await?;
    c.codedeploy
        .create_deployment_config()
        .deployment_config_name("benchcanary-canary-10pct-10min")
        .compute_platform(ComputePlatform::Lambda)
        .traffic_routing_config(
            TrafficRoutingConfig::builder()
                .r#type(TrafficRoutingType::TimeBasedCanary)
                .time_based_canary(TimeBasedCanary::builder().canary_percentage(10).canary_interval(10).build())
                .build(),
        )
        .minimum_healthy_hosts(MinimumHealthyHosts::builder().build())
        .send()
        .await
        .ok();
    for (env, n) in envs {
        c.codedeploy
            .create_application()
            .application_name(*env)
            .compute_platform(ComputePlatform::Lambda)
            .send()
            .await?;
        for i in 0..*n {
            let name = format!("{env}-fn{i:02}");
            create_function(&c.lambda, &name, &double, &[]).await?;
            let v = c.lambda.publish_version().function_name(&name).send().await?;
            c.lambda
                .create_alias()
                .function_name(&name)
                .name("live")
                .function_version(v.version().unwrap_or("1"))
                .send()
                .await?;
            c.codedeploy
                .create_deployment_group()
                .application_name(*env)
                .deployment_group_name(&name)
                .service_role_arn(format!("arn:aws:iam::{DEV}:role/codedeploy"))
                .deployment_style(
                    DeploymentStyle::builder()
                        .deployment_type(DeploymentType::BlueGreen)
                        .deployment_option(DeploymentOption::WithTrafficControl)
                        .build(),
                )
                .send()
                .await?;
        }
    }
    Ok(())
}

fn report(run: &Run) -> (f64, f64, f64) {
    let f = |k: &str| run.report[k].as_f64().unwrap_or(f64::NAN);
    (f("duration_ms"), f("cloud_wait_ms"), f("overhead_ms"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let cloud = LocalCloud::start_scaled("bench-deployer", 60.0)?;
    let dir = workspace_root().join(".run").join("bench").join(format!("deployer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let _scratch = Scratch(dir.clone());
    let dev = account_config(&cloud.endpoint(), DEV).await;
    // The bench reads the aliases between the releases under faults: its own client
    // rides through them as the deployer's do (ten attempts, no retry quota).
    let observer = aws_sdk_lambda::config::Builder::from(&dev)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(10))
        .retry_partition(deployer::cloud::sdk::retry::retry_partition())
        .build();
    let c = Cloud {
        lambda: aws_sdk_lambda::Client::from_conf(observer),
        codedeploy: aws_sdk_codedeploy::Client::new(&dev),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&dev),
    };
    let envs = [("bench4", 4), ("bench40", 40), ("benchcanary", 4)];
    eprintln!("setting up {} functions ...", envs.iter().map(|(_, n)| n).sum::<usize>());
    set_up(&cloud, &c, &envs).await?;
    let settings_dir = dir.join("settings");
    settings(&settings_dir, "bench4", 4, "CodeDeployDefault.LambdaAllAtOnce", false)?;
    settings(&settings_dir, "bench40", 40, "CodeDeployDefault.LambdaAllAtOnce", false)?;
    settings(&settings_dir, "benchcanary", 4, "{type: canary, percentage: 10, interval_minutes: 10}", true)?;
    let mut deployer = Deployer::new(&cloud);
    deployer.settings_dir = settings_dir;

    // 1. Overhead of all-at-once releases.
    println!("deployer overhead, all-at-once release (debug build; figures from its JSON report):");
    let mut medians = Vec::new();
    for (env, n) in [("bench4", 4usize), ("bench40", 40)] {
        let mut rows = Vec::new();
        for round in 0..5 {
            let dist = package(&dir, n, &format!("{env}-{round}"))?;
            let run = deployer.run(&["deploy", "--env", env, "--dist", &dist.display().to_string()])?;
            ensure!(run.code == 0, "deploy {env}: {:#}\n{}", run.report, run.stderr);
            ensure!(run.report["functions"].as_array().map(Vec::len) == Some(n));
            std::fs::remove_dir_all(&dist)?;
            rows.push(report(&run));
        }
        let overhead = median(rows.iter().map(|r| r.2).collect());
        println!(
            "  {n:>2} functions: overhead median {overhead:.0} ms (runs: {}), wall median {:.0} ms, cloud wait median {:.0} ms",
            rows.iter().map(|r| format!("{:.0}", r.2)).collect::<Vec<_>>().join(", "),
            median(rows.iter().map(|r| r.0).collect()),
            median(rows.iter().map(|r| r.1).collect())
        );
        medians.push(overhead);
    }
    println!("  40 / 4 overhead ratio: {:.2} (target <= 2)", medians[1] / medians[0].max(1.0));

    // 2. ALARM -> every alias restored, mid-canary.
    println!("alarm to restore (4-function canary release, time scale 60):");
    let mut restores = Vec::new();
    for round in 0..5 {
        let names: Vec<String> = (0..4).map(|i| format!("benchcanary-fn{i:02}")).collect();
        let mut before = Vec::new();
        for n in &names {
            before.push(
                c.lambda
                    .get_alias()
                    .function_name(n)
                    .name("live")
                    .send()
                    .await?
                    .function_version()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        let dist = package(&dir, 4, &format!("canary-{round}"))?;
        let log = dir.join(format!("canary-{round}.log"));
        let mut child =
            deployer.spawn(&["deploy", "--env", "benchcanary", "--dist", &dist.display().to_string()], &log)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut split = 0;
            for n in &names {
                let a = c.lambda.get_alias().function_name(n).name("live").send().await?;
                if a.routing_config().and_then(|r| r.additional_version_weights()).is_some_and(|w| !w.is_empty()) {
                    split += 1;
                }
            }
            if split == names.len() {
                break;
            }
            ensure!(child.try_wait()?.is_none(), "the deployer ended early: {}", std::fs::read_to_string(&log)?);
            ensure!(Instant::now() < deadline, "the canary never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        c.cloudwatch
            .put_metric_data()
            .namespace("Bench")
            .metric_data(aws_sdk_cloudwatch::types::MetricDatum::builder().metric_name("Failures").value(5.0).build())
            .send()
            .await?;
        let alarmed = loop {
            let a = c.cloudwatch.describe_alarms().alarm_names(ALARM).send().await?;
            if a.metric_alarms().first().and_then(|a| a.state_value()).map(|s| s.as_str()) == Some("ALARM") {
                break Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        loop {
            let mut restored = 0;
            for (n, v) in names.iter().zip(&before) {
                let a = c.lambda.get_alias().function_name(n).name("live").send().await?;
                let weights = a
                    .routing_config()
                    .and_then(|r| r.additional_version_weights())
                    .is_some_and(|w| w.values().any(|w| *w > 0.0));
                if a.function_version() == Some(v.as_str()) && !weights {
                    restored += 1;
                }
            }
            if restored == names.len() {
                break;
            }
            ensure!(alarmed.elapsed() < Duration::from_secs(30), "not restored after 30 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let ms = alarmed.elapsed().as_secs_f64() * 1000.0;
        let status = child.wait()?;
        ensure!(status.code() == Some(2), "the deployer should exit 2 (rolled back): {status}");
        std::fs::remove_dir_all(&dist)?;
        restores.push(ms);
        // Let the alarm return to OK before the next round.
        let wait = Instant::now();
        loop {
            let a = c.cloudwatch.describe_alarms().alarm_names(ALARM).send().await?;
            if a.metric_alarms().first().and_then(|a| a.state_value()).map(|s| s.as_str()) != Some("ALARM") {
                break;
            }
            ensure!(wait.elapsed() < Duration::from_secs(30), "the alarm stays in ALARM");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let max = restores.iter().copied().fold(0.0, f64::max);
    println!(
        "  ALARM -> all 4 aliases restored: median {:.0} ms, max {max:.0} ms over {} runs (target < 2000 ms)",
        median(restores.clone()),
        restores.len()
    );

    // 3. Start-up.
    let mut startups = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let out = Command::new(deployer_bin()).arg("--version").output()?;
        ensure!(out.status.success());
        startups.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "deployer --version start-up: median {:.1} ms, max {:.1} ms over 30 runs (target < 10 ms)",
        median(startups.clone()),
        startups.iter().copied().fold(0.0, f64::max)
    );

    // 4. Releases in a row under faults.
    let faults = "throttle=0.1,reset=0.03,error=0.03,lost_reply=0.03,seed=7";
    let before = deployer.run(&["history", "--env", "bench4", "--limit", "1000"])?;
    let records_before = before.report["releases"].as_array().map_or(0, Vec::len);
    cloud.set_faults(faults)?;
    let (mut succeeded, mut overheads, mut retries, mut split) = (0, Vec::new(), Vec::new(), 0);
    let rounds = 20;
    for round in 0..rounds {
        let dist = package(&dir, 4, &format!("faults-{round}"))?;
        let run = deployer.run(&["deploy", "--env", "bench4", "--dist", &dist.display().to_string()])?;
        std::fs::remove_dir_all(&dist)?;
        if run.code == 0 {
            succeeded += 1;
        } else {
            println!("  round {round}: exit {}: {}", run.code, run.message());
        }
        overheads.push(report(&run).2);
        retries.push(run.report["cloud_retries"].as_f64().unwrap_or(f64::NAN));
        for i in 0..4 {
            let a = c.lambda.get_alias().function_name(format!("bench4-fn{i:02}")).name("live").send().await?;
            if a.routing_config()
                .and_then(|r| r.additional_version_weights())
                .is_some_and(|w| w.values().any(|w| *w > 0.0))
            {
                split += 1;
            }
        }
    }
    let injected = cloud.set_faults("off")?;
    let after = deployer.run(&["history", "--env", "bench4", "--limit", "1000"])?;
    let records = after.report["releases"].as_array().map_or(0, Vec::len);
    println!("{rounds} releases in a row under faults ({faults}):");
    println!(
        "  {succeeded} of {rounds} succeeded (target {rounds}); {split} aliases left split; {} of {rounds} ledger records kept",
        records.saturating_sub(records_before)
    );
    println!(
        "  overhead median {:.0} ms; SDK retries per release median {:.0}, total {:.0}",
        median(overheads),
        median(retries.clone()),
        retries.iter().sum::<f64>()
    );
    println!(
        "  faults injected: {} of {} requests ({} throttled, {} reset, {} empty 500, {} answers lost)",
        injected.total.faults(),
        injected.total.requests,
        injected.total.throttle,
        injected.total.reset,
        injected.total.error,
        injected.total.lost_reply
    );
    drop(cloud);
    Ok(())
}
