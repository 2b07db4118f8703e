//! The SDK configuration the functions run with, chosen rather than inherited.
//!
//! Retries. S3 answers 503 SlowDown under load and DynamoDB throttles with
//! ProvisionedThroughputExceededException; connections drop. The state machine retries
//! a step that fails `Retryable` (3 attempts from 1 s, doubling), but that re-runs the
//! whole step (a Transform re-reads and re-transforms its batch), so the SDK absorbs
//! single faults first:
//! - standard mode (exponential backoff with full jitter and a retry-token bucket, the
//!   AWS SDKs' documented default), not adaptive: one invocation makes a few calls in
//!   sequence, where a client-side rate limiter would only add delay;
//! - 5 attempts, not the default 3: at the fault mix issue 14 measured (about one
//!   attempt in six throttled, reset or answered 5xx), a run of a few dozen calls
//!   would otherwise fall back on a step retry about one run in ten;
//! - throttling backoff from 1 s (S3's and DynamoDB's advice is to back off, not to
//!   hammer), capped at 10 s so that the five attempts fit well inside a function's
//!   timeout (300 s by default). Other transient errors start at 50 ms (retry
//!   behaviour 2.1).
//!
//! Timeouts. Connecting is bounded at 3 s. DynamoDB and SNS attempts at 5 s (single
//! small requests that answer in milliseconds; an attempt that hangs is cut and
//! retried). S3 attempts are not bounded: a batch upload of up to 64 MiB takes as long
//! as it takes.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Attempts per call, the first included.
pub const MAX_ATTEMPTS: u32 = 5;
/// The base of the exponential backoff after a throttling error.
pub const THROTTLING_BACKOFF: Duration = Duration::from_secs(1);
/// The longest pause between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// The longest wait for a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest attempt of a DynamoDB or SNS call.
pub const SMALL_CALL_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The functions' retry configuration (see the module's notes for the reasons).
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(THROTTLING_BACKOFF)
        .with_max_backoff(MAX_BACKOFF)
}

fn small_call_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(SMALL_CALL_ATTEMPT_TIMEOUT)
        .build()
}

/// The environment's region and credentials with the functions' retries and timeouts.
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).build())
        .load()
        .await
}

/// S3 with path-style addressing (bucket in the path: what the local cloud serves, and
/// valid on AWS for the functions' bucket names).
pub fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

pub fn dynamodb(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(config).timeout_config(small_call_timeouts()).build(),
    )
}

pub fn sns(config: &SdkConfig) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(config).timeout_config(small_call_timeouts()).build(),
    )
}
