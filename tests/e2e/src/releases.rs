//! What the release end-to-end tests share: the environments applied to a private
//! local cloud, each account's aliases and code, synthetic traffic, and the deployer's
//! verdicts.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use localcloud::testing::LocalCloud;
use serde_json::Value;

pub const FUNCTIONS: [&str; 4] = ["compensate", "extract", "load", "transform"];

/// Runs `scripts/<name>` against `cloud`, with Terraform's state and the base release
/// under `dir`.
pub fn script(cloud: &LocalCloud, dir: &Path, name: &str, args: &[&str]) -> Output {
    crate::script_command(&cloud.endpoint(), dir, name)
        .args(args)
        .env("DIST_DIR", dir.join("base"))
        .output()
        .expect("running a script")
}

/// Each environment's clients, acting in its account.
pub struct Accounts {
    pub lambda: BTreeMap<&'static str, aws_sdk_lambda::Client>,
    pub codedeploy: BTreeMap<&'static str, aws_sdk_codedeploy::Client>,
    pub logs: BTreeMap<&'static str, aws_sdk_cloudwatchlogs::Client>,
}

impl Accounts {
    /// Each function's alias in `env`: (version, extra routing weight if any).
    pub async fn aliases(&self, env: &str) -> Result<BTreeMap<String, (String, Option<f64>)>> {
        let mut out = BTreeMap::new();
        for f in FUNCTIONS {
            let a = self.lambda[env].get_alias().function_name(format!("etl-{env}-{f}")).name("live").send().await?;
            let weight = a
                .routing_config()
                .and_then(|r| r.additional_version_weights())
                .and_then(|w| w.values().next().copied());
            out.insert(
                f.to_owned(),
                (a.function_version().unwrap_or_default().to_owned(), weight.filter(|w| *w > 0.0)),
            );
        }
        Ok(out)
    }

    /// Each function's live version's CodeSha256 in `env`.
    pub async fn code(&self, env: &str) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for (f, (version, _)) in self.aliases(env).await? {
            let c = self.lambda[env]
                .get_function_configuration()
                .function_name(format!("etl-{env}-{f}"))
                .qualifier(version)
                .send()
                .await?;
            out.insert(f, c.code_sha256().unwrap_or_default().to_owned());
        }
        Ok(out)
    }
}

pub fn versions(aliases: &BTreeMap<String, (String, Option<f64>)>) -> BTreeMap<String, String> {
    aliases.iter().map(|(f, (v, _))| (f.clone(), v.clone())).collect()
}

pub fn manifest_code(release: &Value) -> BTreeMap<String, String> {
    FUNCTIONS
        .iter()
        .map(|f| {
            (
                f.to_string(),
                release["functions"]
                    .as_array()
                    .and_then(|a| a.iter().find(|x| x["name"] == *f))
                    .map(|x| x["code_sha256"].as_str().unwrap_or_default().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

pub fn expect(run: &crate::deployer::Run, code: i32, what: &str) -> Result<()> {
    ensure!(
        run.code == code,
        "{what}: exit {} (wanted {code})\nreport: {:#}\nstderr: {}",
        run.code,
        run.report,
        run.stderr
    );
    Ok(())
}

/// Invokes `function:live` through the local cloud's public endpoint (so weights and
/// per-version metrics apply) until stopped, counting function errors.
pub fn synthetic_traffic(
    lambda: aws_sdk_lambda::Client,
    function: String,
    stop: Arc<AtomicBool>,
    errors: Arc<AtomicU64>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..3)
        .map(|_| {
            let (lambda, function, stop, errors) = (lambda.clone(), function.clone(), stop.clone(), errors.clone());
            tokio::spawn(async move {
                let event = r#"{"run_date":"2026-02-01","dry_run":false,"inject_failure":null}"#;
                while !stop.load(Ordering::SeqCst) {
                    let out = lambda
                        .invoke()
                        .function_name(&function)
                        .qualifier("live")
                        .payload(event.as_bytes().to_vec().into())
                        .send()
                        .await;
                    if out.as_ref().map_or(true, |o| o.function_error().is_some()) {
                        errors.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect()
}

pub async fn wait_for_alarms_ok(cloud_endpoint: &str, account: &str, prefix: &str) -> Result<()> {
    let config = crate::observer_config(cloud_endpoint, account).await;
    let cw = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(&config)
            .retry_partition(deployer::cloud::sdk::retry::retry_partition())
            .build(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = cw.describe_alarms().alarm_name_prefix(prefix).send().await?;
        let bad: Vec<String> = out
            .metric_alarms()
            .iter()
            .filter(|a| a.state_value().map(|s| s.as_str()) == Some("ALARM"))
            .filter_map(|a| a.alarm_name().map(str::to_owned))
            .collect();
        if bad.is_empty() {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "alarms still in ALARM: {bad:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

impl Accounts {
    /// The clients of dev, test and prod on `endpoint`, configured as observers (see
    /// [`crate::observer_config`]).
    pub async fn new(endpoint: &str) -> Self {
        let mut accounts = Self { lambda: BTreeMap::new(), codedeploy: BTreeMap::new(), logs: BTreeMap::new() };
        for (env, account) in [("dev", crate::DEV), ("test", crate::TEST), ("prod", crate::PROD)] {
            let config = crate::observer_config(endpoint, account).await;
            let partition = deployer::cloud::sdk::retry::retry_partition;
            let lambda = aws_sdk_lambda::config::Builder::from(&config).retry_partition(partition()).build();
            let codedeploy = aws_sdk_codedeploy::config::Builder::from(&config).retry_partition(partition()).build();
            accounts.lambda.insert(env, aws_sdk_lambda::Client::from_conf(lambda));
            accounts.codedeploy.insert(env, aws_sdk_codedeploy::Client::from_conf(codedeploy));
            let logs = aws_sdk_cloudwatchlogs::config::Builder::from(&config).retry_partition(partition()).build();
            accounts.logs.insert(env, aws_sdk_cloudwatchlogs::Client::from_conf(logs));
        }
        accounts
    }

    /// [`expect`], with `env`'s hook log beside a failure: a release that failed on a
    /// hook carries only "the hook reported Failed" from CodeDeploy.
    pub async fn expect(&self, run: &crate::deployer::Run, code: i32, what: &str, env: &str) -> Result<()> {
        match expect(run, code, what) {
            Ok(()) => Ok(()),
            Err(err) => Err(err.context(format!("{env}'s traffic hooks logged:\n{}", self.hook_log(env).await))),
        }
    }

    /// What `env`'s traffic hooks logged at warning or above, their verdicts included
    /// (the hooks log JSON): why a hook failed a deployment, which CodeDeploy's answer
    /// does not say. Read for a test's failure message; a read that fails says so.
    pub async fn hook_log(&self, env: &str) -> String {
        let mut lines = Vec::new();
        for hook in ["pre-traffic", "post-traffic"] {
            let group = format!("/aws/lambda/etl-{env}-{hook}");
            let mut next = None;
            loop {
                let page =
                    self.logs[env].filter_log_events().log_group_name(&group).set_next_token(next.take()).send().await;
                let page = match page {
                    Ok(page) => page,
                    Err(err) => {
                        lines.push(format!(
                            "{group}: not read: {}",
                            aws_sdk_cloudwatchlogs::error::DisplayErrorContext(err)
                        ));
                        break;
                    }
                };
                let worth = |m: &&str| m.contains("\"verdict\"") || m.contains("\"WARN\"") || m.contains("\"ERROR\"");
                lines.extend(
                    page.events()
                        .iter()
                        .filter_map(|e| e.message())
                        .filter(worth)
                        .map(|m| format!("{hook}: {}", m.trim())),
                );
                match page.next_token() {
                    Some(token) if !page.events().is_empty() => next = Some(token.to_owned()),
                    _ => break,
                }
            }
        }
        lines.join("\n")
    }

    /// No alias of `env` is split between two versions.
    pub async fn settled(&self, env: &str) -> Result<BTreeMap<String, String>> {
        let aliases = self.aliases(env).await?;
        ensure!(aliases.values().all(|(_, w)| w.is_none()), "{env} has a split alias: {aliases:?}");
        Ok(versions(&aliases))
    }
}
