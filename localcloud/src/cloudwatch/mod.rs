//! CloudWatch metrics and alarms owned by localcloud: per-version Lambda metrics for
//! every invoke that passes through, PutMetricData, GetMetricData,
//! GetMetricStatistics and ListMetrics, and metric alarms evaluated as CloudWatch
//! evaluates them on a real-time tick, publishing to SNS on each transition.
//!
//! Where things are: the metric store ([`metric_store`]) and its operations
//! ([`metrics`]), statistics ([`stats`]), alarms and their operations ([`alarms`]),
//! their states ([`state`]), evaluation ([`evaluation`]), notifications ([`notify`]),
//! and the three wire protocols ([`wire`]).

mod alarms;
mod evaluation;
pub mod metric_store;
mod metrics;
mod notify;
pub mod state;
pub mod stats;
pub mod wire;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::api::{ApiResult, Params};
use crate::clock::Clock;
use crate::upstream::Upstream;
use alarms::{Alarm, HistoryItem};
use metric_store::MetricStore;
pub use metric_store::{InvokeRecord, MetricKey};
pub use state::AlarmState;
use stats::Point;
use wire::Out;

const REGION: &str = "us-east-1";
/// How often (real time) every alarm is evaluated, whatever the time scale.
pub const EVALUATION_TICK: Duration = Duration::from_millis(250);

/// Operations after which the alarm definitions are saved.
const CHANGES_ALARMS: [&str; 7] = [
    "PutMetricAlarm",
    "DeleteAlarms",
    "SetAlarmState",
    "EnableAlarmActions",
    "DisableAlarmActions",
    "TagResource",
    "UntagResource",
];

/// One account's CloudWatch.
#[derive(Debug, Default)]
pub(crate) struct Account {
    metrics: MetricStore,
    alarms: BTreeMap<String, Alarm>,
    history: Vec<HistoryItem>,
}

pub struct CloudWatch {
    accounts: Mutex<HashMap<String, Account>>,
    upstream: Upstream,
    clock: Clock,
    persistence: Option<PathBuf>,
}

impl CloudWatch {
    pub fn new(upstream: Upstream, clock: Clock, persistence: Option<PathBuf>) -> Arc<Self> {
        let mut accounts: HashMap<String, Account> = HashMap::new();
        if let Some(path) = &persistence {
            if let Ok(bytes) = std::fs::read(path) {
                let saved: BTreeMap<String, BTreeMap<String, Alarm>> =
                    serde_json::from_slice(&bytes).unwrap_or_default();
                for (account, alarms) in saved {
                    accounts.entry(account).or_default().alarms = alarms;
                }
            }
        }
        Arc::new(Self { accounts: Mutex::new(accounts), upstream, clock, persistence })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Account>> {
        self.accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Alarm definitions survive a restart; datapoints do not (as metrics age out anyway).
    fn save(&self, accounts: &HashMap<String, Account>) {
        let Some(path) = &self.persistence else { return };
        let saved: BTreeMap<&String, &BTreeMap<String, Alarm>> = accounts.iter().map(|(k, a)| (k, &a.alarms)).collect();
        if let Ok(bytes) = serde_json::to_vec(&saved) {
            let tmp = path.with_extension("json.tmp");
            if std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path)).is_err() {
                tracing::error!(path = %path.display(), "could not save CloudWatch alarms");
            }
        }
    }

    pub fn reset(&self) {
        let mut accounts = self.lock();
        accounts.clear();
        self.save(&accounts);
    }

    /// The real-time width of a CloudWatch period.
    fn width(&self, period: i64) -> f64 {
        self.clock.real(Duration::from_secs(u64::try_from(period.max(1)).unwrap_or(60))).as_secs_f64()
    }

    /// A query's StartTime as CloudWatch reads it: rounded down to a whole minute, or
    /// for a period of 1, 5, 10, 20 or 30 s to that division of a minute (GetMetricData
    /// and GetMetricStatistics, StartTime; the older tiers for data past 15 days do not
    /// arise here). The datapoints of a window that starts mid-minute therefore include
    /// the whole of its first minute, as on AWS.
    fn aligned_start(&self, start: f64, period: i64) -> f64 {
        let unit = self.width(if period < 60 { period } else { 60 });
        if unit > 0.0 {
            (start / unit).floor() * unit
        } else {
            start
        }
    }

    pub fn put_points(&self, account: &str, key: MetricKey, unit: Option<String>, points: Vec<Point>) {
        self.lock().entry(account.to_owned()).or_default().metrics.put(key, unit, points, Clock::now_epoch());
    }

    /// Records one invoke's Lambda metrics (one lock: this runs on every invocation).
    pub fn record_invoke(&self, account: &str, invoke: &InvokeRecord) {
        self.lock().entry(account.to_owned()).or_default().metrics.record_invoke(invoke, Clock::now_epoch());
    }

    /// States of the named alarms in `account`; a name with no alarm is absent.
    pub fn alarm_states(&self, account: &str, names: &[String]) -> HashMap<String, AlarmState> {
        let accounts = self.lock();
        let Some(a) = accounts.get(account) else { return HashMap::new() };
        names.iter().filter_map(|n| a.alarms.get(n).map(|al| (n.clone(), al.state))).collect()
    }

    /// Handles an operation; None when localcloud does not own it (forward it).
    pub async fn handle(&self, account: &str, operation: &str, input: &Params<'_>) -> Option<ApiResult<Out>> {
        if operation == "PutMetricData" {
            return Some(self.put_metric_data(account, input));
        }
        let (result, transitions) = {
            let mut accounts = self.lock();
            let a = accounts.entry(account.to_owned()).or_default();
            let mut transitions = Vec::new();
            let result = match operation {
                "PutMetricAlarm" => self.put_metric_alarm(account, a, input, &mut transitions),
                "DescribeAlarms" => alarms::describe_alarms(a, input),
                "DescribeAlarmsForMetric" => alarms::describe_alarms_for_metric(a, input),
                "DeleteAlarms" => alarms::delete_alarms(a, input),
                "SetAlarmState" => self.set_alarm_state(account, a, input, &mut transitions),
                "EnableAlarmActions" => Self::set_actions_enabled(a, input, true),
                "DisableAlarmActions" => Self::set_actions_enabled(a, input, false),
                "DescribeAlarmHistory" => alarms::describe_alarm_history(a, input),
                "TagResource" | "UntagResource" | "ListTagsForResource" => alarms::tags(a, operation, input),
                "GetMetricStatistics" => self.get_metric_statistics(&a.metrics, input),
                "GetMetricData" => self.get_metric_data(&a.metrics, input),
                "ListMetrics" => metrics::list_metrics(&a.metrics, input),
                _ => return None,
            };
            if result.is_ok() && CHANGES_ALARMS.contains(&operation) {
                self.save(&accounts);
            }
            (result, transitions)
        };
        self.announce(transitions).await;
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr};

    use super::*;

    fn cloudwatch() -> Arc<CloudWatch> {
        // Nothing here reaches ministack: no alarm has actions.
        CloudWatch::new(Upstream::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 9))), Clock::new(1.0), None)
    }

    #[tokio::test]
    async fn a_query_form_alarm_reads_back_with_its_types() {
        let cw = cloudwatch();
        let (action, form) = wire::decode_query(
            "Action=PutMetricAlarm&AlarmName=errors&Namespace=AWS%2FLambda&MetricName=Errors&Statistic=Sum\
             &Period=60&EvaluationPeriods=2&DatapointsToAlarm=1&Threshold=1.5&ComparisonOperator=GreaterThanThreshold\
             &TreatMissingData=notBreaching&ActionsEnabled=false&OKActions=&AlarmActions.member.1=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At\
             &Dimensions.member.1.Name=FunctionName&Dimensions.member.1.Value=calc&Tags.member.1.Key=team&Tags.member.1.Value=etl",
        );
        assert_eq!(action.as_deref(), Some("PutMetricAlarm"));
        cw.handle("111111111111", "PutMetricAlarm", &Params::text(&form))
            .await
            .unwrap_or_else(|| Ok(Out::map()))
            .unwrap();
        let described = cw
            .handle("111111111111", "DescribeAlarms", &Params::typed(&serde_json::json!({"AlarmNames": ["errors"]})))
            .await
            .and_then(Result::ok)
            .map(|out| wire::render(wire::Protocol::Json, "DescribeAlarms", Ok(out)).body)
            .unwrap_or_default();
        let alarm: serde_json::Value = serde_json::from_slice(&described).unwrap_or_default();
        let alarm = &alarm["MetricAlarms"][0];
        assert_eq!(alarm["Period"], 60);
        assert_eq!(alarm["Threshold"], 1.5);
        assert_eq!(alarm["ActionsEnabled"], false);
        assert_eq!(alarm["OKActions"], serde_json::json!([]));
        assert_eq!(alarm["TreatMissingData"], "notBreaching");
        assert_eq!(alarm["StateValue"], "OK", "no data, treated as not breaching");
        assert_eq!(alarm["Dimensions"][0]["Value"], "calc");
        assert_eq!(cw.alarm_states("111111111111", &["errors".into()]).get("errors"), Some(&AlarmState::Ok));
    }

    /// Sums of `metric` per period from `start` (GetMetricData), as (timestamp, value).
    async fn sums(cw: &CloudWatch, start: f64, end: f64, period: i64) -> Vec<(f64, f64)> {
        let query = serde_json::json!({"StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending",
            "MetricDataQueries": [{"Id": "m", "MetricStat": {"Period": period, "Stat": "Sum",
                "Metric": {"Namespace": "etl", "MetricName": "Rows"}}}]});
        let out = cw.handle("1", "GetMetricData", &Params::typed(&query)).await.and_then(Result::ok);
        let body = out.map(|o| wire::render(wire::Protocol::Json, "GetMetricData", Ok(o)).body).unwrap_or_default();
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let result = &answer["MetricDataResults"][0];
        let times = result["Timestamps"].as_array().cloned().unwrap_or_default();
        let values = result["Values"].as_array().cloned().unwrap_or_default();
        times.iter().zip(&values).map(|(t, v)| (t.as_f64().unwrap_or(-1.0), v.as_f64().unwrap_or(-1.0))).collect()
    }

    #[tokio::test]
    async fn a_window_that_starts_mid_minute_reads_its_whole_first_minute_as_cloudwatch_rounds_it() {
        let cw = cloudwatch();
        let minute = (Clock::now_epoch() / 60.0).floor() * 60.0 - 180.0;
        let put = serde_json::json!({"Namespace": "etl", "MetricData": [
            {"MetricName": "Rows", "Timestamp": minute + 5.0, "Value": 1.0},
            {"MetricName": "Rows", "Timestamp": minute + 40.0, "Value": 2.0},
            {"MetricName": "Rows", "Timestamp": minute + 65.0, "Value": 4.0}]});
        cw.handle("1", "PutMetricData", &Params::typed(&put)).await.and_then(Result::ok).expect("stored");
        // 12:32:34 reads from 12:32:00: the point at :05 counts, stamped at the minute.
        assert_eq!(sums(&cw, minute + 34.0, minute + 120.0, 60).await, [(minute, 3.0), (minute + 60.0, 4.0)]);
        // A 10 s period rounds to the 10 s division: from :30, so :05 is out and :40 in.
        assert_eq!(sums(&cw, minute + 34.0, minute + 60.0, 10).await, [(minute + 40.0, 2.0)]);
        // An aligned start is kept as it is.
        assert_eq!(sums(&cw, minute + 60.0, minute + 120.0, 60).await, [(minute + 60.0, 4.0)]);
    }

    #[tokio::test]
    async fn a_json_field_of_the_wrong_type_is_a_serialization_error() {
        let cw = cloudwatch();
        let body = serde_json::json!({"AlarmName": "a", "Namespace": "N", "MetricName": "M", "Statistic": "Sum",
            "Period": "60", "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold"});
        let err = cw.handle("1", "PutMetricAlarm", &Params::typed(&body)).await.and_then(Result::err);
        assert_eq!(
            err.map(|e| (e.code, e.message)),
            Some(("SerializationException", "Period must be a whole number, not a string".into()))
        );
        let strings = serde_json::json!({"AlarmNames": ["a", 1]});
        let err = cw.handle("1", "DescribeAlarms", &Params::typed(&strings)).await.and_then(Result::err);
        assert_eq!(err.map(|e| e.code), Some("SerializationException"), "a non-string name is refused, not dropped");
        assert!(cw.handle("1", "PutDashboard", &Params::typed(&body)).await.is_none(), "not ours: forwarded");
    }

    #[tokio::test]
    async fn alarm_history_gives_each_state_change_as_cloudwatch_does_filtered_and_paged() {
        let cw = cloudwatch();
        let call = |op: &'static str, body: serde_json::Value| {
            let cw = cw.clone();
            async move {
                let out = cw.handle("1", op, &Params::typed(&body)).await.expect("ours").expect("answered");
                let body = wire::render(wire::Protocol::Json, op, Ok(out)).body;
                serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default()
            }
        };
        call(
            "PutMetricAlarm",
            serde_json::json!({"AlarmName": "errors", "Namespace": "N", "MetricName": "M",
            "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1,
            "ComparisonOperator": "GreaterThanThreshold", "ActionsEnabled": false}),
        )
        .await;
        let before = Clock::now_epoch();
        call("SetAlarmState", serde_json::json!({"AlarmName": "errors", "StateValue": "ALARM", "StateReason": "test"}))
            .await;
        call("SetAlarmState", serde_json::json!({"AlarmName": "errors", "StateValue": "OK", "StateReason": "back"}))
            .await;
        let all = call("DescribeAlarmHistory", serde_json::json!({"AlarmName": "errors"})).await;
        let items = all["AlarmHistoryItems"].as_array().cloned().unwrap_or_default();
        assert!(items.len() >= 2, "{all:#}");
        // Newest first; the change is read from HistoryData, as JSON.
        let data: serde_json::Value = serde_json::from_str(items[0]["HistoryData"].as_str().unwrap_or("{}")).unwrap();
        assert_eq!(
            (data["oldState"]["stateValue"].as_str(), data["newState"]["stateValue"].as_str()),
            (Some("ALARM"), Some("OK"))
        );
        assert_eq!(data["newState"]["stateReason"], "back");
        assert_eq!(items[0]["HistorySummary"], "Alarm updated from ALARM to OK");
        // From a date, oldest first, one at a time.
        let first = call(
            "DescribeAlarmHistory",
            serde_json::json!({"AlarmName": "errors", "HistoryItemType": "StateUpdate",
            "StartDate": before, "ScanBy": "TimestampAscending", "MaxRecords": 1}),
        )
        .await;
        assert_eq!(first["AlarmHistoryItems"].as_array().map(Vec::len), Some(1));
        let data: serde_json::Value =
            serde_json::from_str(first["AlarmHistoryItems"][0]["HistoryData"].as_str().unwrap_or("{}")).unwrap();
        assert_eq!(data["newState"]["stateValue"], "ALARM", "{first:#}");
        let token = first["NextToken"].as_str().unwrap_or_default().to_owned();
        let second = call(
            "DescribeAlarmHistory",
            serde_json::json!({"AlarmName": "errors", "StartDate": before,
            "ScanBy": "TimestampAscending", "MaxRecords": 1, "NextToken": token}),
        )
        .await;
        assert_eq!(second["AlarmHistoryItems"][0]["HistorySummary"], "Alarm updated from ALARM to OK");
        assert!(second.get("NextToken").is_none(), "{second:#}");
        let config = call(
            "DescribeAlarmHistory",
            serde_json::json!({"AlarmName": "errors", "HistoryItemType": "ConfigurationUpdate"}),
        )
        .await;
        assert_eq!(config["AlarmHistoryItems"], serde_json::json!([]));
        let later =
            call("DescribeAlarmHistory", serde_json::json!({"AlarmName": "errors", "EndDate": before - 3600.0})).await;
        assert_eq!(later["AlarmHistoryItems"], serde_json::json!([]));
    }
}
