//! [`Alarms`] over the CloudWatch SDK client.

use super::failure::send;
use super::SdkCloud;
use aws_sdk_cloudwatch::types::{HistoryItemType, ScanBy};

use crate::cloud::{AlarmChange, AlarmState, AlarmView, Alarms};
use crate::error::{DeployError, Result};

/// DescribeAlarms takes at most 100 names per call.
const NAMES_PER_CALL: usize = 100;

impl Alarms for SdkCloud {
    async fn describe(&self, names: &[String]) -> Result<Vec<AlarmView>> {
        let mut views = Vec::with_capacity(names.len());
        // No names would ask for every alarm in the account: ask nothing.
        for chunk in names.chunks(NAMES_PER_CALL) {
            let out = send!(
                self.ctx,
                "DescribeAlarms",
                self.cloudwatch.describe_alarms().set_alarm_names(Some(chunk.to_vec())).max_records(100)
            )
            .map_err(super::failure::Failed::into_error)?;
            for a in out.metric_alarms() {
                views.push(AlarmView {
                    name: a.alarm_name().unwrap_or_default().to_owned(),
                    state: AlarmState::parse(a.state_value().map(|s| s.as_str()).unwrap_or_default()),
                    reason: a.state_reason().unwrap_or_default().to_owned(),
                    metric: a.metric_name().map(str::to_owned),
                    threshold: a.threshold(),
                    value: a.state_reason_data().and_then(newest_datapoint),
                    function_dimension: a
                        .dimensions()
                        .iter()
                        .find(|d| d.name() == Some("FunctionName"))
                        .and_then(|d| d.value())
                        .map(str::to_owned),
                });
            }
        }
        if let Some(missing) = names.iter().find(|n| !views.iter().any(|v| &v.name == *n)) {
            return Err(DeployError::infrastructure(
                format!("alarm {missing} does not exist"),
                "apply the environment's Terraform, or remove it from the settings",
            ));
        }
        Ok(views)
    }

    async fn alarm_history(&self, name: &str, from_ms: u64, to_ms: u64) -> Result<Vec<AlarmChange>> {
        let at = |ms: u64| aws_smithy_types::DateTime::from_millis(i64::try_from(ms).unwrap_or(i64::MAX));
        let mut changes = Vec::new();
        let mut token = None;
        loop {
            let page = send!(
                self.ctx,
                format!("DescribeAlarmHistory {name}"),
                self.cloudwatch
                    .describe_alarm_history()
                    .alarm_name(name)
                    .history_item_type(HistoryItemType::StateUpdate)
                    .start_date(at(from_ms))
                    .end_date(at(to_ms))
                    .scan_by(ScanBy::TimestampAscending)
                    .max_records(100)
                    .set_next_token(token)
            )
            .map_err(super::failure::Failed::into_error)?;
            for item in page.alarm_history_items() {
                let at_ms = item.timestamp().and_then(|t| t.to_millis().ok()).and_then(|t| u64::try_from(t).ok());
                if let (Some(at_ms), Some((from, to))) = (at_ms, item.history_data().and_then(state_change)) {
                    changes.push(AlarmChange { alarm: name.to_owned(), at_ms, from, to });
                }
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        changes.sort_by_key(|c| c.at_ms);
        Ok(changes)
    }
}

/// The states before and after, from a StateUpdate's HistoryData (JSON with
/// `oldState.stateValue` and `newState.stateValue`); None for any other shape.
fn state_change(data: &str) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(data).ok()?;
    let state = |side: &str| v.get(side)?.get("stateValue")?.as_str().map(str::to_owned);
    Some((state("oldState")?, state("newState")?))
}

/// The newest value in CloudWatch's StateReasonData (`recentDatapoints`).
fn newest_datapoint(data: &str) -> Option<f64> {
    let v: serde_json::Value = serde_json::from_str(data).ok()?;
    v.get("recentDatapoints")?.as_array()?.iter().filter_map(serde_json::Value::as_f64).next_back()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_state_change_is_read_from_history_data() {
        let data = r#"{"version":"1.0","oldState":{"stateValue":"OK"},"newState":{"stateValue":"ALARM","stateReason":"Threshold Crossed"}}"#;
        assert_eq!(super::state_change(data), Some(("OK".into(), "ALARM".into())));
        assert_eq!(super::state_change(r#"{"version":"1.0","type":"Update"}"#), None, "a configuration update");
        assert_eq!(super::state_change("not json"), None);
    }

    #[test]
    fn the_newest_datapoint_is_read_from_state_reason_data() {
        let data = r#"{"version":"1.0","recentDatapoints":[0.0,3.0],"threshold":1.0}"#;
        assert_eq!(super::newest_datapoint(data), Some(3.0));
        assert_eq!(super::newest_datapoint("not json"), None);
    }
}
