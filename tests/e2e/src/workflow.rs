//! The ETL workflow of one environment on the local cloud, as the deployer's evidence
//! tests see it: recorded days in the raw bucket, executions and what they ran, and a
//! snapshot of what must not change (curated data, the run ledger).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use aws_sdk_sfn::types::ExecutionStatus;
use etl_core::synthetic::Generator;
use etl_core::time::Date;

/// The steps whose functions every successful run invokes (compensate runs only when
/// one fails).
pub const RUN_STEPS: [&str; 3] = ["extract", "transform", "load"];

/// One environment's workflow resources (the etl-workflow module, `etl-<env>`).
pub struct Workflow {
    pub env: String,
    pub account: String,
    pub s3: aws_sdk_s3::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl Workflow {
    pub async fn new(endpoint: &str, env: &str, account: &str) -> Self {
        let config = crate::account_config(endpoint, account).await;
        Self {
            env: env.to_owned(),
            account: account.to_owned(),
            s3: aws_sdk_s3::Client::new(&config),
            sfn: aws_sdk_sfn::Client::new(&config),
            ddb: aws_sdk_dynamodb::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
        }
    }

    pub fn bucket(&self, data: &str) -> String {
        format!("etl-{}-{data}-{}", self.env, self.account)
    }

    pub fn state_machine_arn(&self) -> String {
        format!("arn:aws:states:{}:{}:stateMachine:etl-{}-etl", crate::REGION, self.account, self.env)
    }

    pub fn release_table(&self) -> String {
        format!("etl-{}-releases", self.env)
    }

    /// Records `day` in the raw bucket: `objects` objects of `records` generated orders
    /// each, every 25th bad.
    pub async fn record_day(&self, day: &str, seed: u64, objects: usize, records: usize) -> Result<()> {
        let mut generator = Generator::new(seed, Date::parse(day).context("a YYYY-MM-DD day")?, Some(25));
        for part in 0..objects {
            let mut text = String::new();
            for _ in 0..records {
                generator.write_line(&mut text);
            }
            self.s3
                .put_object()
                .bucket(self.bucket("raw"))
                .key(format!("dt={day}/part-{part}.jsonl"))
                .body(text.into_bytes().into())
                .send()
                .await?;
        }
        Ok(())
    }

    /// Starts an execution named `name`; answers its ARN.
    pub async fn start(&self, name: &str, input: serde_json::Value) -> Result<String> {
        let out = self
            .sfn
            .start_execution()
            .state_machine_arn(self.state_machine_arn())
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .with_context(|| format!("starting {name}"))?;
        Ok(out.execution_arn().to_owned())
    }

    /// Waits until the execution leaves RUNNING; answers how it ended.
    pub async fn finished(&self, execution_arn: &str, within: Duration) -> Result<ExecutionStatus> {
        let deadline = Instant::now() + within;
        loop {
            let d = self.sfn.describe_execution().execution_arn(execution_arn).send().await?;
            if d.status() != &ExecutionStatus::Running {
                return Ok(d.status().clone());
            }
            ensure!(Instant::now() < deadline, "{execution_arn} is still running after {within:?}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Per step, the versions that ran the invocations of execution `name`, from the
    /// functions' log streams: Lambda names them `<date>/[<version>]<id>`, with the
    /// version that executed, and the functions log the execution's name.
    pub async fn executed_versions(&self, name: &str) -> Result<BTreeMap<String, BTreeSet<String>>> {
        let mut executed = BTreeMap::new();
        for step in RUN_STEPS.iter().chain(["compensate"].iter()) {
            let mut versions = BTreeSet::new();
            let mut token = None;
            loop {
                let page = self
                    .logs
                    .filter_log_events()
                    .log_group_name(format!("/aws/lambda/etl-{}-{step}", self.env))
                    .filter_pattern(format!("\"{name}\""))
                    .set_next_token(token.take())
                    .send()
                    .await?;
                versions.extend(
                    page.events()
                        .iter()
                        .filter(|e| e.message().is_some_and(|m| m.contains(name)))
                        .filter_map(|e| e.log_stream_name())
                        .filter_map(|stream| stream.split_once('[').and_then(|(_, rest)| rest.split_once(']')))
                        .map(|(version, _)| version.to_owned()),
                );
                match page.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                    _ => break,
                }
            }
            if !versions.is_empty() {
                executed.insert((*step).to_owned(), versions);
            }
        }
        Ok(executed)
    }

    /// What a replay must never change: every curated object outside `shadow/` (key and
    /// ETag) and every real run's item of the run ledger. Shadow runs write under
    /// `shadow/` and record themselves as `shadow-<run>`: that is their own ground.
    pub async fn production_state(&self) -> Result<BTreeMap<String, String>> {
        let mut state = BTreeMap::new();
        let mut pages = self.s3.list_objects_v2().bucket(self.bucket("curated")).into_paginator().send();
        while let Some(page) = pages.next().await {
            for object in page?.contents() {
                let key = object.key().unwrap_or_default();
                if key.starts_with("shadow/") {
                    continue;
                }
                state.insert(format!("curated/{key}"), object.e_tag().unwrap_or_default().to_owned());
            }
        }
        let mut pages = self.ddb.scan().table_name(format!("etl-{}-runs", self.env)).into_paginator().send();
        while let Some(page) = pages.next().await {
            for item in page?.items() {
                let run = item.get("run_id").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                if run.starts_with("shadow-") {
                    continue;
                }
                let sorted: BTreeMap<_, _> = item.iter().map(|(k, v)| (k.clone(), format!("{v:?}"))).collect();
                state.insert(format!("ledger/{run}"), format!("{sorted:?}"));
            }
        }
        Ok(state)
    }
}
