//! [`Alarms`] over the CloudWatch SDK client.

use super::failure::send;
use super::SdkCloud;
use crate::cloud::{AlarmState, AlarmView, Alarms};
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
}

/// The newest value in CloudWatch's StateReasonData (`recentDatapoints`).
fn newest_datapoint(data: &str) -> Option<f64> {
    let v: serde_json::Value = serde_json::from_str(data).ok()?;
    v.get("recentDatapoints")?.as_array()?.iter().filter_map(serde_json::Value::as_f64).next_back()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_newest_datapoint_is_read_from_state_reason_data() {
        let data = r#"{"version":"1.0","recentDatapoints":[0.0,3.0],"threshold":1.0}"#;
        assert_eq!(super::newest_datapoint(data), Some(3.0));
        assert_eq!(super::newest_datapoint("not json"), None);
    }
}
