//! What a traffic hook said about a deployment it failed. CodeDeploy records only that
//! the hook reported Failed; the hook writes its reasons to its own log group, one JSON
//! line per verdict (`hooks/src/runtime.rs`: `fields.message` "verdict", with `status`
//! and `reason`, and the deployment id on the line's span). The deployer reads that
//! line back, so a failed release names the check that failed it.

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A hook's verdict on one deployment, as it logged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookVerdict {
    /// The hook function's name.
    pub hook: String,
    /// Succeeded or Failed.
    pub status: String,
    /// The checks that failed (or passed), in the hook's words.
    pub reason: String,
}

/// Reads hooks' verdicts from their log groups (CloudWatch Logs FilterLogEvents).
pub trait HookLogs: Send + Sync {
    /// The last verdict `hook` logged on `deployment_id` since `since_ms`; None when it
    /// logged none (or its log group does not exist).
    fn hook_verdict(
        &self,
        hook: &str,
        deployment_id: &str,
        since_ms: u64,
    ) -> impl Future<Output = Result<Option<HookVerdict>>> + Send;
}

/// A Lambda function's log group.
pub fn log_group(function: &str) -> String {
    format!("/aws/lambda/{function}")
}

/// The verdict on `deployment_id` in one log line of `hook`, if the line is one.
pub fn verdict_in(hook: &str, line: &str, deployment_id: &str) -> Option<HookVerdict> {
    let value: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
    let fields = value.get("fields")?;
    let text = |v: &serde_json::Value, key: &str| v.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
    if text(fields, "message").as_deref() != Some("verdict") {
        return None;
    }
    let span = value.get("span")?;
    if text(span, "deployment_id").as_deref() != Some(deployment_id) {
        return None;
    }
    Some(HookVerdict { hook: hook.to_owned(), status: text(fields, "status")?, reason: text(fields, "reason")? })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAILED: &str = r#"{"level":"ERROR","fields":{"message":"verdict","hook":"post-traffic","lifecycle_event":"AfterAllowTraffic","status":"Failed","function":"etl-test-transform","checks_failed":1,"duration_ms":812,"reason":"alarm etl-test-transform-errors is in ALARM; skipped: smoke execution: earlier checks failed"},"span":{"hook":"post-traffic","deployment_id":"d-4T4WJVKIZ","hook_execution_id":"e1","request_id":"r1","name":"hook"}}"#;

    #[test]
    fn a_verdict_line_reads_back_with_its_reason() {
        let verdict = verdict_in("etl-test-post-traffic", FAILED, "d-4T4WJVKIZ").expect("a verdict");
        assert_eq!(verdict.status, "Failed");
        assert_eq!(verdict.hook, "etl-test-post-traffic");
        assert!(verdict.reason.starts_with("alarm etl-test-transform-errors is in ALARM"), "{verdict:?}");
    }

    #[test]
    fn other_lines_and_other_deployments_are_not_verdicts() {
        assert_eq!(verdict_in("h", FAILED, "d-OTHER"), None, "another deployment's verdict");
        let progress = FAILED.replace(r#""message":"verdict""#, r#""message":"invoked the target version""#);
        assert_eq!(verdict_in("h", &progress, "d-4T4WJVKIZ"), None, "not a verdict line");
        assert_eq!(verdict_in("h", "START RequestId: r1 Version: $LATEST", "d-4T4WJVKIZ"), None, "Lambda's own line");
        assert_eq!(verdict_in("h", "{\"fields\":{\"message\":\"verdict\"}}", "d-4T4WJVKIZ"), None, "no span");
    }
}
