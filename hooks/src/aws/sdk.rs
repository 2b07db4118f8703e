//! The SDK configuration the hooks run with, chosen rather than inherited, and the SDK
//! adapters of every trait built from it.
//!
//! Retries. AWS throttles the CodeDeploy, Lambda and CloudWatch control planes at low
//! rates and answers 5xx now and then; a hook that fails on one such fault fails a
//! release for nothing. So:
//! - standard mode (exponential backoff with full jitter and a retry-token bucket, the
//!   AWS SDKs' documented default), not adaptive: adaptive's client-side rate limiter
//!   pays off for a client sending a sustained stream, while a hook makes a handful of
//!   calls per run, which a limiter would only delay;
//! - 5 attempts, not the default 3: at the fault mix issue 14 measured (about one
//!   attempt in six throttled, reset or answered 5xx), 3 attempts still lose about one
//!   call in 250 and a hook makes up to eight calls; 5 attempts lose about one in 10,000;
//! - throttling backoff from 500 ms (transient errors start at 50 ms under the SDK's
//!   retry behaviour 2.1), capped at 5 s instead of 20 s: a hook lives within its
//!   Lambda timeout (tens of seconds), and one 20 s pause could spend it.
//!
//! Timeouts. Connecting is bounded at 3 s. Each attempt of a CodeDeploy, CloudWatch or
//! Step Functions call is bounded at 10 s (they answer in well under a second; an
//! attempt that hangs is cut so the retry runs before the hook's deadline). Lambda
//! calls are not: Invoke runs the function, and pre-traffic bounds each invoke by the
//! function's `max_duration_ms` itself.
//!
//! The answer to CodeDeploy gets more than this: see [`crate::report`].

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use super::{
    CloudWatchAlarms, CloudWatchMetrics, CodeDeployDeployments, LambdaAliases, LambdaVersions, StepFunctionsExecutions,
};

/// Attempts per call, the first included.
pub const MAX_ATTEMPTS: u32 = 5;
/// The base of the exponential backoff after a throttling error.
pub const THROTTLING_BACKOFF: Duration = Duration::from_millis(500);
/// The longest pause between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The longest wait for a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest attempt of a control-plane call (CodeDeploy, CloudWatch, Step Functions).
pub const CONTROL_PLANE_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The hooks' retry configuration (see the module's notes for the reasons).
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(THROTTLING_BACKOFF)
        .with_max_backoff(MAX_BACKOFF)
}

/// The timeouts every client shares.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).build()
}

fn control_plane_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(CONTROL_PLANE_ATTEMPT_TIMEOUT)
        .build()
}

/// The environment's region and credentials with the hooks' retries and timeouts.
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .load()
        .await
}

/// The SDK adapters of every trait, from one shared SDK configuration.
#[derive(Debug, Clone)]
pub struct SdkClients {
    pub deployments: CodeDeployDeployments,
    pub versions: LambdaVersions,
    pub aliases: LambdaAliases,
    pub alarms: CloudWatchAlarms,
    pub metrics: CloudWatchMetrics,
    pub executions: StepFunctionsExecutions,
}

impl SdkClients {
    pub fn new(config: &SdkConfig) -> Self {
        let codedeploy =
            aws_sdk_codedeploy::config::Builder::from(config).timeout_config(control_plane_timeouts()).build();
        let cloudwatch =
            aws_sdk_cloudwatch::config::Builder::from(config).timeout_config(control_plane_timeouts()).build();
        let sfn = aws_sdk_sfn::config::Builder::from(config).timeout_config(control_plane_timeouts()).build();
        let lambda = aws_sdk_lambda::Client::new(config);
        let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(cloudwatch);
        Self {
            deployments: CodeDeployDeployments::new(aws_sdk_codedeploy::Client::from_conf(codedeploy)),
            versions: LambdaVersions::new(lambda.clone()),
            aliases: LambdaAliases::new(lambda),
            alarms: CloudWatchAlarms::new(cloudwatch.clone()),
            metrics: CloudWatchMetrics::new(cloudwatch),
            executions: StepFunctionsExecutions::new(aws_sdk_sfn::Client::from_conf(sfn)),
        }
    }
}
