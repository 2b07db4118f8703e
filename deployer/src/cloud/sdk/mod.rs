//! The seam's AWS SDK implementation: one environment's clients, acting as its deploy
//! role, and the tooling account's artifact store. Each service's calls live in their
//! own file; every call goes through [`failure::send`], which meters and explains it.

mod cloudwatch;
mod codedeploy;
pub mod failure;
mod lambda;
mod ledger;
mod store;

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
    /// The release ledger's table and the environment it belongs to.
    table: String,
    environment: String,
}

impl SdkCloud {
    pub fn new(config: &SdkConfig, ctx: Context, table: &str, environment: &str) -> Self {
        Self::from_clients(
            ctx,
            aws_sdk_lambda::Client::new(config),
            aws_sdk_codedeploy::Client::new(config),
            aws_sdk_cloudwatch::Client::new(config),
            aws_sdk_dynamodb::Client::new(config),
            table,
            environment,
        )
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
        Self {
            ctx,
            lambda,
            codedeploy,
            cloudwatch,
            dynamodb,
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
