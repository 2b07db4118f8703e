//! Alarm notifications: each state change is published to the SNS topics of the new
//! state's actions, in the JSON message format CloudWatch sends.

use super::evaluation::Transition;
use super::state::AlarmState;
use super::CloudWatch;
use crate::api::time::iso8601;

impl CloudWatch {
    /// Publishes each transition to the SNS topics of the new state's actions.
    pub(super) async fn announce(&self, transitions: Vec<Transition>) {
        for Transition { account, alarm, old_state } in transitions {
            tracing::info!(%account, alarm = %alarm.name, from = %old_state, to = %alarm.state, "alarm state changed");
            if !alarm.actions_enabled {
                continue;
            }
            let targets = match alarm.state {
                AlarmState::Alarm => &alarm.alarm_actions,
                AlarmState::Ok => &alarm.ok_actions,
                AlarmState::InsufficientData => &alarm.insufficient_data_actions,
            };
            for topic in targets.iter().filter(|t| t.starts_with("arn:aws:sns:")) {
                let topic_account = topic.split(':').nth(4).unwrap_or(&account).to_owned();
                let message = serde_json::json!({
                    "AlarmName": alarm.name,
                    "AlarmDescription": alarm.description,
                    "AWSAccountId": account,
                    "NewStateValue": alarm.state,
                    "NewStateReason": alarm.state_reason,
                    "StateChangeTime": iso8601(alarm.state_updated),
                    "Region": "US East (N. Virginia)",
                    "AlarmArn": alarm.arn,
                    "OldStateValue": old_state,
                    "Trigger": {
                        "MetricName": alarm.metric_name,
                        "Namespace": alarm.namespace,
                        "StatisticType": if alarm.statistic.is_some() { "Statistic" } else { "ExtendedStatistic" },
                        "Statistic": alarm.statistic.clone().or(alarm.extended_statistic.clone()).map(|s| s.to_uppercase()),
                        "Dimensions": alarm.dimensions.iter().map(|(n, v)| serde_json::json!({"name": n, "value": v})).collect::<Vec<_>>(),
                        "Period": alarm.period,
                        "EvaluationPeriods": alarm.evaluation_periods,
                        "ComparisonOperator": alarm.comparison_operator,
                        "Threshold": alarm.threshold,
                        "TreatMissingData": alarm.treat_missing(),
                    }
                });
                let subject: String =
                    format!("{}: \"{}\" in US East (N. Virginia)", alarm.state, alarm.name).chars().take(100).collect();
                if let Err(e) = self.upstream.sns_publish(&topic_account, topic, &subject, &message.to_string()).await {
                    tracing::warn!(%topic, error = %e, "could not publish the alarm notification");
                }
            }
        }
    }
}
