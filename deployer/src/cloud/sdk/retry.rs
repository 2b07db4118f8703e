//! How the deployer's SDK clients ride through AWS's faults, and why.
//!
//! - **Standard mode, 8 attempts, backoff from 200 ms up to 10 s.** Lambda's and
//!   CodeDeploy's control planes throttle at a few requests per second per account, S3
//!   answers 503 SlowDown under load, and any call may meet a reset connection or a
//!   5xx. Eight attempts with jittered exponential backoff ride through a burst of
//!   several seconds; at a 19 % fault rate per request, a call still fails after all of
//!   them about once in 600,000. (Adaptive mode would also slow the calls that succeed.)
//! - **No retry quota.** The SDK's default token bucket (500 tokens, 5-14 per retry)
//!   protects a service from a fleet of clients retrying together; one deployer makes
//!   a bounded number of calls, and an exhausted bucket fails the next call at once,
//!   which in a restore would leave an alias split. So the bucket is unlimited.
//! - **Timeouts:** 5 s to connect, 60 s per attempt (an UpdateFunctionCode of a 50 MB
//!   zip over a slow link fits), so a hung connection is retried, never waited on
//!   forever.
//! - A retried call whose first attempt was applied (its answer lost) is reconciled by
//!   the engine where the call is not idempotent: see `engine/ship.rs` and
//!   `engine/reconcile.rs`.

use std::time::Duration;

use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

pub const MAX_ATTEMPTS: u32 = 8;

pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(10))
}

pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(60))
        .build()
}

/// One partition for all the deployer's clients, with no retry quota.
pub fn retry_partition() -> RetryPartition {
    RetryPartition::custom("deployer").token_bucket(TokenBucket::unlimited()).build()
}
