//! The release log: each finished release's verdict as one JSON event in the
//! environment's CloudWatch Logs group (`/<prefix>/releases`), which its dashboard
//! shows as the current release (the newest `succeeded` event) and the last
//! verdicts. The ledger stays the record; this is the view of it people watch.

use super::{ReleaseRecord, Status};
use crate::cloud::ReleaseLogEvent;

/// The event of a finished record (None while it is in progress).
pub fn release_log_event(record: &ReleaseRecord) -> Option<ReleaseLogEvent> {
    if record.status == Status::InProgress {
        return None;
    }
    let versions: serde_json::Map<String, serde_json::Value> = record
        .functions
        .iter()
        .map(|(artifact, f)| {
            let live = match record.status {
                Status::Succeeded => f.version.clone().unwrap_or_else(|| f.previous_version.clone()),
                _ => f.previous_version.clone(),
            };
            (artifact.clone(), live.into())
        })
        .collect();
    let message = serde_json::json!({
        "environment": record.environment,
        "release_id": record.release_id,
        "git_commit": record.git_commit,
        "kind": record.kind.as_str(),
        "status": record.status.as_str(),
        "source_environment": record.source_environment,
        "record_id": record.record_id,
        "started_at": record.started_at,
        "duration_ms": record.duration_ms,
        "reason": record.reason.as_deref().and_then(|r| r.lines().next()),
        "versions": versions,
    });
    Some(ReleaseLogEvent {
        timestamp_ms: record.started_ms + record.duration_ms.unwrap_or(0),
        message: message.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::RecordKind;

    #[test]
    fn a_finished_record_is_one_event_with_its_verdict_and_live_versions() {
        let mut record = ReleaseRecord::start("r-0123456789ab", "c0ffee", "prod", RecordKind::Promote, "me", 1_000);
        record.source_environment = Some("test".into());
        assert_eq!(release_log_event(&record), None, "nothing while in progress");
        record.status = Status::RolledBack;
        record.duration_ms = Some(500);
        record.reason = Some("alarm etl-prod-extract-errors is in ALARM\nmore".into());
        let event = release_log_event(&record).unwrap();
        assert_eq!(event.timestamp_ms, 1_500);
        let m: serde_json::Value = serde_json::from_str(&event.message).unwrap();
        assert_eq!(
            (m["release_id"].as_str(), m["status"].as_str(), m["kind"].as_str(), m["source_environment"].as_str()),
            (Some("r-0123456789ab"), Some("rolled_back"), Some("promote"), Some("test"))
        );
        assert_eq!(m["reason"], "alarm etl-prod-extract-errors is in ALARM", "the first line only");
    }
}
