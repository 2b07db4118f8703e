//! Answering CodeDeploy until it has taken the answer. A hook execution left unanswered
//! keeps the deployment waiting an hour before CodeDeploy fails it (CodeDeploy user
//! guide, "AppSpec 'hooks' section for an AWS Lambda deployment"), so a throttled or
//! lost `PutLifecycleEventHookExecutionStatus` is tried again, beyond the SDK's own
//! attempts, until CodeDeploy takes it or the hook's own deadline nears.
//!
//! `LifecycleEventAlreadyCompletedException` counts as delivered: it is what a retry
//! sees when an earlier attempt was applied but its reply was lost, and what a retried
//! invoke sees after an earlier one answered. A refusal (denied, no such deployment or
//! hook execution) is final at once: trying again would only spend the time.

use std::time::Duration;

use tokio::time::Instant;

use crate::aws::{AwsError, Deployments, Reported};
use crate::HookStatus;

/// The pauses between calls: doubling from `first_pause` up to `max_pause`, each drawn
/// between half and all of its value so that hooks throttled together spread out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRetry {
    pub first_pause: Duration,
    pub max_pause: Duration,
}

/// Each call already spends the SDK's attempts and backoff ([`crate::aws::sdk`]); the
/// pauses between calls stay short so that more calls fit before the deadline.
pub const REPORT_RETRY: ReportRetry =
    ReportRetry { first_pause: Duration::from_millis(250), max_pause: Duration::from_secs(2) };

/// How an answer was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub reported: Reported,
    /// Calls made, the last one included.
    pub calls: u32,
}

/// Reports `status` until CodeDeploy takes it, a refusal, or `deadline`. Each call is
/// cut at the deadline; no pause runs past it.
pub async fn report_until(
    deployments: &impl Deployments,
    deployment_id: &str,
    hook_execution_id: &str,
    status: HookStatus,
    deadline: Instant,
    retry: ReportRetry,
) -> Result<Delivery, AwsError> {
    let mut pause = retry.first_pause;
    let mut calls = 0u32;
    loop {
        calls += 1;
        let answer =
            match tokio::time::timeout_at(deadline, deployments.report(deployment_id, hook_execution_id, status)).await
            {
                Ok(answer) => answer,
                Err(_) => Err(AwsError::transient(
                    format!("reporting {status} for hook execution {hook_execution_id} of deployment {deployment_id}"),
                    "no answer before the hook's own deadline",
                )),
            };
        let err = match answer {
            Ok(reported) => return Ok(Delivery { reported, calls }),
            Err(err) => err,
        };
        let jittered = pause.mul_f64(0.5 + fastrand::f64() / 2.0);
        if !err.transient || Instant::now() + jittered >= deadline {
            let why = if err.transient { "the hook's deadline was near" } else { "a refusal is final" };
            let calls = if calls == 1 { "1 call".to_owned() } else { format!("{calls} calls") };
            return Err(AwsError { detail: format!("{} (gave up after {calls}: {why})", err.detail), ..err });
        }
        tracing::warn!(
            call = calls,
            pause_ms = jittered.as_millis() as u64,
            error = %err,
            "CodeDeploy did not take the answer: trying again"
        );
        tokio::time::sleep(jittered).await;
        pause = (pause * 2).min(retry.max_pause);
    }
}
