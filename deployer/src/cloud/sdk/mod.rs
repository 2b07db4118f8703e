//! The seam's AWS SDK implementation: one environment's clients, acting as its deploy
//! role, and the tooling account's artifact store. Each service's calls live in their
//! own file; every call goes through [`failure::send`], which meters and explains it.

mod cloudwatch;
mod codedeploy;
pub mod failure;
mod hook_logs;
mod inventory;
mod lambda;
mod ledger;
mod metrics;
mod permissions;
pub mod retry;
mod store;
mod workflow;

use std::time::Duration;

use aws_config::SdkConfig;

pub use store::S3Store;

use super::meter::CloudMeter;
use super::Pause;

/// What every adapter shares: the meter and the endpoint it talks to (for errors).
#[derive(Debug, Clone)]
pub struct Context {
    pub meter: CloudMeter,
    /// The local cloud's URL, or `AWS (<region>)`.
    pub endpoint: String,
}

/// One environment's AWS clients.
#[derive(Debug, Clone)]
pub struct SdkCloud {
    ctx: Context,
    lambda: aws_sdk_lambda::Client,
    codedeploy: aws_sdk_codedeploy::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    iam: aws_sdk_iam::Client,
    sfn: aws_sdk_sfn::Client,
    /// The environment's own buckets (the replay's raw partitions), not the tooling store.
    s3: aws_sdk_s3::Client,
    /// The log groups `review` reads and the release log the deployer writes.
    logs: aws_sdk_cloudwatchlogs::Client,
    /// The release ledger's table and the environment it belongs to.
    table: String,
    environment: String,
}

impl SdkCloud {
    pub fn new(config: &SdkConfig, ctx: Context, table: &str, environment: &str) -> Self {
        // The local cloud serves S3 by path, not by virtual host.
        let ctx_is_local = ctx.endpoint.starts_with("http://");
        // Every client retries as `retry` explains, in one partition with no retry quota.
        macro_rules! client {
            ($sdk:ident) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(config).retry_partition(retry::retry_partition()).build(),
                )
            };
        }
        Self::from_clients(
            ctx,
            client!(aws_sdk_lambda),
            client!(aws_sdk_codedeploy),
            client!(aws_sdk_cloudwatch),
            client!(aws_sdk_dynamodb),
            table,
            environment,
        )
        .with_iam(client!(aws_sdk_iam))
        .with_workflow(
            client!(aws_sdk_sfn),
            aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(config)
                    .force_path_style(ctx_is_local)
                    .retry_partition(retry::retry_partition())
                    .build(),
            ),
        )
        .with_logs(client!(aws_sdk_cloudwatchlogs))
    }

    /// The IAM client `doctor` simulates policies with (default: one from a default
    /// configuration, unused until `doctor` runs).
    pub fn with_iam(mut self, iam: aws_sdk_iam::Client) -> Self {
        self.iam = iam;
        self
    }

    /// The Step Functions and S3 clients the replay uses (same default as `with_iam`).
    pub fn with_workflow(mut self, sfn: aws_sdk_sfn::Client, s3: aws_sdk_s3::Client) -> Self {
        self.sfn = sfn;
        self.s3 = s3;
        self
    }

    /// The CloudWatch Logs client (same default as `with_iam`).
    pub fn with_logs(mut self, logs: aws_sdk_cloudwatchlogs::Client) -> Self {
        self.logs = logs;
        self
    }

    /// From clients built elsewhere (tests give mocked ones).
    pub fn from_clients(
        ctx: Context,
        lambda: aws_sdk_lambda::Client,
        codedeploy: aws_sdk_codedeploy::Client,
        cloudwatch: aws_sdk_cloudwatch::Client,
        dynamodb: aws_sdk_dynamodb::Client,
        table: &str,
        environment: &str,
    ) -> Self {
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::Config::builder().behavior_version(aws_sdk_iam::config::BehaviorVersion::latest()).build(),
        );
        let sfn = aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::Config::builder().behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest()).build(),
        );
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder().behavior_version(aws_sdk_s3::config::BehaviorVersion::latest()).build(),
        );
        let logs = aws_sdk_cloudwatchlogs::Client::from_conf(
            aws_sdk_cloudwatchlogs::Config::builder()
                .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
                .build(),
        );
        Self {
            ctx,
            lambda,
            codedeploy,
            cloudwatch,
            dynamodb,
            iam,
            sfn,
            s3,
            logs,
            table: table.to_owned(),
            environment: environment.to_owned(),
        }
    }
}

impl Pause for SdkCloud {
    async fn pause(&self, d: Duration) {
        self.ctx.meter.time(tokio::time::sleep(d)).await;
    }
}
