//! Metric alarms: the alarm model and its reply shape, PutMetricAlarm, DescribeAlarms,
//! DescribeAlarmsForMetric, DeleteAlarms, SetAlarmState, Enable/DisableAlarmActions,
//! DescribeAlarmHistory and the alarm tag operations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::evaluation::{transition, Transition};
use super::metric_store::{dimensions, dimensions_out};
use super::state::{AlarmState, Comparison, TreatMissing};
use super::stats::Stat;
use super::wire::Out;
use super::{Account, CloudWatch, EVALUATION_TICK, REGION};
use crate::api::{ApiError, ApiResult, Params};
use crate::clock::Clock;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alarm {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub actions_enabled: bool,
    pub ok_actions: Vec<String>,
    pub alarm_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    pub metric_name: String,
    pub namespace: String,
    pub statistic: Option<String>,
    pub extended_statistic: Option<String>,
    pub dimensions: Vec<(String, String)>,
    pub period: i64,
    pub unit: Option<String>,
    pub evaluation_periods: i64,
    pub datapoints_to_alarm: Option<i64>,
    pub threshold: f64,
    pub comparison_operator: Comparison,
    pub treat_missing_data: Option<TreatMissing>,
    pub evaluate_low_sample_count_percentile: Option<String>,
    pub state: AlarmState,
    pub state_reason: String,
    pub state_reason_data: Option<String>,
    pub state_updated: f64,
    pub config_updated: f64,
    pub tags: BTreeMap<String, String>,
    /// After SetAlarmState, the state holds until the next period's evaluation (real epoch).
    pub held_until: Option<f64>,
}

impl Alarm {
    /// The `MetricAlarm` shape, complete so that Terraform plans no difference.
    fn out(&self) -> Out {
        let list = |items: &[String]| Out::List(items.iter().map(Out::str).collect());
        Out::map()
            .with("AlarmName", Out::str(&self.name))
            .with("AlarmArn", Out::str(&self.arn))
            .with_opt("AlarmDescription", self.description.as_ref().map(Out::str))
            .with("AlarmConfigurationUpdatedTimestamp", Out::Time(self.config_updated))
            .with("ActionsEnabled", Out::Bool(self.actions_enabled))
            .with("OKActions", list(&self.ok_actions))
            .with("AlarmActions", list(&self.alarm_actions))
            .with("InsufficientDataActions", list(&self.insufficient_data_actions))
            .with("StateValue", Out::str(self.state.as_str()))
            .with("StateReason", Out::str(&self.state_reason))
            .with_opt("StateReasonData", self.state_reason_data.as_ref().map(Out::str))
            .with("StateUpdatedTimestamp", Out::Time(self.state_updated))
            .with("StateTransitionedTimestamp", Out::Time(self.state_updated))
            .with("MetricName", Out::str(&self.metric_name))
            .with("Namespace", Out::str(&self.namespace))
            .with_opt("Statistic", self.statistic.as_ref().map(Out::str))
            .with_opt("ExtendedStatistic", self.extended_statistic.as_ref().map(Out::str))
            .with("Dimensions", dimensions_out(&self.dimensions))
            .with("Period", Out::Int(self.period))
            .with_opt("Unit", self.unit.as_ref().map(Out::str))
            .with("EvaluationPeriods", Out::Int(self.evaluation_periods))
            .with_opt("DatapointsToAlarm", self.datapoints_to_alarm.map(Out::Int))
            .with("Threshold", Out::Num(self.threshold))
            .with("ComparisonOperator", Out::str(self.comparison_operator.as_str()))
            .with_opt("TreatMissingData", self.treat_missing_data.map(|t| Out::str(t.as_str())))
            .with_opt(
                "EvaluateLowSampleCountPercentile",
                self.evaluate_low_sample_count_percentile.as_ref().map(Out::str),
            )
    }

    pub fn stat(&self) -> Stat {
        self.statistic.as_deref().or(self.extended_statistic.as_deref()).and_then(Stat::parse).unwrap_or(Stat::Average)
    }

    pub fn breaches(&self, value: f64) -> bool {
        self.comparison_operator.breaches(value, self.threshold)
    }

    /// TreatMissingData, `missing` when not set (CloudWatch's default).
    pub fn treat_missing(&self) -> TreatMissing {
        self.treat_missing_data.unwrap_or(TreatMissing::Missing)
    }
}

/// One entry of DescribeAlarmHistory.
#[derive(Debug, Clone)]
pub struct HistoryItem {
    pub alarm_name: String,
    pub timestamp: f64,
    pub old_state: AlarmState,
    pub new_state: AlarmState,
    pub reason: String,
}

/// The history kept per account (oldest dropped first).
pub const HISTORY_LIMIT: usize = 1000;

impl HistoryItem {
    fn out(&self) -> Out {
        Out::map()
            .with("AlarmName", Out::str(&self.alarm_name))
            .with("AlarmType", Out::str("MetricAlarm"))
            .with("Timestamp", Out::Time(self.timestamp))
            .with("HistoryItemType", Out::str("StateUpdate"))
            .with("HistorySummary", Out::str(format!("Alarm updated from {} to {}", self.old_state, self.new_state)))
            .with("HistoryData", Out::str(self.data()))
    }

    /// HistoryData of a StateUpdate: the states before and after as JSON text, in the
    /// shape CloudWatch gives (version 1.0, oldState and newState with stateValue and
    /// stateReason), which readers parse rather than the summary.
    fn data(&self) -> String {
        serde_json::json!({
            "version": "1.0",
            "oldState": {"stateValue": self.old_state.as_str()},
            "newState": {"stateValue": self.new_state.as_str(), "stateReason": self.reason},
        })
        .to_string()
    }
}

fn required(input: &Params<'_>, field: &str) -> ApiResult<String> {
    input.required_str(field, "MissingParameter")
}

/// `[{Key, Value}]` entries with a Key; others are left out.
fn tag_entries(input: &Params<'_>) -> ApiResult<Vec<(String, String)>> {
    let mut tags = Vec::new();
    for t in input.objects("Tags")? {
        if let Some(key) = t.str("Key")? {
            tags.push((key, t.str("Value")?.unwrap_or_default()));
        }
    }
    Ok(tags)
}

/// Period: 10, 20 or 30 seconds (high resolution) or a multiple of 60.
fn valid_period(period: i64) -> bool {
    period == 10 || period == 20 || period == 30 || (period >= 60 && period % 60 == 0)
}

impl CloudWatch {
    pub(super) fn put_metric_alarm(
        &self,
        account: &str,
        a: &mut Account,
        input: &Params<'_>,
        transitions: &mut Vec<Transition>,
    ) -> ApiResult<Out> {
        let name = required(input, "AlarmName")?;
        if !input.objects("Metrics")?.is_empty() {
            return Err(ApiError::new(
                "InvalidParameterCombination",
                "metric math alarms (Metrics) are not supported by localcloud: use MetricName and Namespace",
            ));
        }
        let metric_name = required(input, "MetricName")?;
        let namespace = required(input, "Namespace")?;
        let statistic = input.str("Statistic")?;
        let extended = input.str("ExtendedStatistic")?;
        match (&statistic, &extended) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(ApiError::new(
                    "InvalidParameterCombination",
                    "give exactly one of Statistic and ExtendedStatistic",
                ));
            }
            (Some(s), None) if !matches!(Stat::parse(s), Some(st) if !matches!(st, Stat::Percentile(_))) => {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    format!("Statistic {s} is not one of SampleCount, Average, Sum, Minimum, Maximum"),
                ));
            }
            (None, Some(p)) if !matches!(Stat::parse(p), Some(Stat::Percentile(_))) => {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    format!("ExtendedStatistic {p} is not a percentile such as p99"),
                ));
            }
            _ => {}
        }
        let period = input
            .i64("Period")?
            .ok_or_else(|| ApiError::new("MissingParameter", "the parameter Period is required"))?;
        if !valid_period(period) {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!("Period {period} must be 10, 20, 30 or a multiple of 60 seconds"),
            ));
        }
        let evaluation_periods = input
            .i64("EvaluationPeriods")?
            .ok_or_else(|| ApiError::new("MissingParameter", "the parameter EvaluationPeriods is required"))?;
        if evaluation_periods < 1 {
            return Err(ApiError::new("InvalidParameterValue", "EvaluationPeriods must be at least 1"));
        }
        let datapoints = input.i64("DatapointsToAlarm")?;
        if datapoints.is_some_and(|d| d < 1 || d > evaluation_periods) {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!("DatapointsToAlarm must be between 1 and EvaluationPeriods ({evaluation_periods})"),
            ));
        }
        let threshold = input
            .f64("Threshold")?
            .ok_or_else(|| ApiError::new("MissingParameter", "the parameter Threshold is required"))?;
        let comparison = Comparison::parse(&required(input, "ComparisonOperator")?)?;
        let missing = input.str("TreatMissingData")?.map(|t| TreatMissing::parse(&t)).transpose()?;
        let now = Clock::now_epoch();
        let previous = a.alarms.get(&name);
        let mut tags: BTreeMap<String, String> = previous.map(|p| p.tags.clone()).unwrap_or_default();
        tags.extend(tag_entries(input)?);
        let alarm = Alarm {
            arn: format!("arn:aws:cloudwatch:{REGION}:{account}:alarm:{name}"),
            description: input.str("AlarmDescription")?,
            actions_enabled: input.bool("ActionsEnabled")?.unwrap_or(true),
            ok_actions: input.strings("OKActions")?,
            alarm_actions: input.strings("AlarmActions")?,
            insufficient_data_actions: input.strings("InsufficientDataActions")?,
            metric_name,
            namespace,
            statistic,
            extended_statistic: extended,
            dimensions: dimensions(input, "Dimensions")?,
            period,
            unit: input.str("Unit")?,
            evaluation_periods,
            datapoints_to_alarm: datapoints,
            threshold,
            comparison_operator: comparison,
            treat_missing_data: missing,
            evaluate_low_sample_count_percentile: input.str("EvaluateLowSampleCountPercentile")?,
            state: previous.map_or(AlarmState::InsufficientData, |p| p.state),
            state_reason: previous
                .map_or_else(|| "Unchecked: Initial alarm creation".into(), |p| p.state_reason.clone()),
            state_reason_data: previous.and_then(|p| p.state_reason_data.clone()),
            state_updated: previous.map_or(now, |p| p.state_updated),
            config_updated: now,
            tags,
            held_until: None,
            name: name.clone(),
        };
        a.alarms.insert(name.clone(), alarm);
        self.evaluate_one(account, a, &name, now, transitions);
        Ok(Out::map())
    }

    pub(super) fn set_alarm_state(
        &self,
        account: &str,
        a: &mut Account,
        input: &Params<'_>,
        transitions: &mut Vec<Transition>,
    ) -> ApiResult<Out> {
        let name = required(input, "AlarmName")?;
        let state_text = required(input, "StateValue")?;
        let state = AlarmState::parse(&state_text).ok_or_else(|| {
            ApiError::new(
                "InvalidParameterValue",
                format!("StateValue {state_text} is not one of OK, ALARM, INSUFFICIENT_DATA"),
            )
        })?;
        let reason = required(input, "StateReason")?;
        let data = input.str("StateReasonData")?;
        if let Some(d) = &data {
            if serde_json::from_str::<serde_json::Value>(d).is_err() {
                return Err(ApiError::new("InvalidFormat", "StateReasonData must be JSON"));
            }
        }
        let now = Clock::now_epoch();
        let Account { alarms, history, .. } = a;
        let alarm =
            alarms.get_mut(&name).ok_or_else(|| ApiError::new("ResourceNotFound", format!("no alarm named {name}")))?;
        // As on AWS, the state holds until the next evaluation, one period later.
        let width = self.width(alarm.period);
        alarm.held_until = Some(now + width.max(EVALUATION_TICK.as_secs_f64() * 2.0));
        transition(account, alarm, state, reason, data, now, transitions, history);
        Ok(Out::map())
    }

    pub(super) fn set_actions_enabled(a: &mut Account, input: &Params<'_>, enabled: bool) -> ApiResult<Out> {
        for name in input.strings("AlarmNames")? {
            if let Some(alarm) = a.alarms.get_mut(&name) {
                alarm.actions_enabled = enabled;
            }
        }
        Ok(Out::map())
    }
}

pub(super) fn describe_alarms(a: &Account, input: &Params<'_>) -> ApiResult<Out> {
    let names = input.strings("AlarmNames")?;
    let prefix = input.str("AlarmNamePrefix")?;
    let state = input.str("StateValue")?;
    let action_prefix = input.str("ActionPrefix")?;
    let alarms: Vec<Out> = a
        .alarms
        .values()
        .filter(|al| names.is_empty() || names.contains(&al.name))
        .filter(|al| prefix.as_ref().is_none_or(|p| al.name.starts_with(p.as_str())))
        .filter(|al| state.as_ref().is_none_or(|s| s == al.state.as_str()))
        .filter(|al| {
            action_prefix.as_ref().is_none_or(|p| {
                al.alarm_actions
                    .iter()
                    .chain(&al.ok_actions)
                    .chain(&al.insufficient_data_actions)
                    .any(|x| x.starts_with(p.as_str()))
            })
        })
        .map(Alarm::out)
        .collect();
    Ok(Out::map().with("MetricAlarms", Out::List(alarms)).with("CompositeAlarms", Out::List(Vec::new())))
}

pub(super) fn describe_alarms_for_metric(a: &Account, input: &Params<'_>) -> ApiResult<Out> {
    let name = required(input, "MetricName")?;
    let namespace = required(input, "Namespace")?;
    let mut dims = dimensions(input, "Dimensions")?;
    dims.sort();
    let alarms: Vec<Out> = a
        .alarms
        .values()
        .filter(|al| al.metric_name == name && al.namespace == namespace)
        .filter(|al| {
            let mut own = al.dimensions.clone();
            own.sort();
            dims.is_empty() || own == dims
        })
        .map(Alarm::out)
        .collect();
    Ok(Out::map().with("MetricAlarms", Out::List(alarms)))
}

pub(super) fn delete_alarms(a: &mut Account, input: &Params<'_>) -> ApiResult<Out> {
    let names = input.strings("AlarmNames")?;
    if let Some(missing) = names.iter().find(|n| !a.alarms.contains_key(*n)) {
        return Err(ApiError::new("ResourceNotFound", format!("no alarm named {missing}")));
    }
    for name in names {
        a.alarms.remove(&name);
    }
    Ok(Out::map())
}

pub(super) fn describe_alarm_history(a: &Account, input: &Params<'_>) -> ApiResult<Out> {
    let name = input.str("AlarmName")?;
    // Only state changes are kept here: asking for another type finds none.
    let state_updates = input.str("HistoryItemType")?.is_none_or(|t| t == "StateUpdate");
    let (start, end) = (input.time("StartDate")?, input.time("EndDate")?);
    let max = input.i64("MaxRecords")?.unwrap_or(100);
    if !(1..=100).contains(&max) {
        return Err(ApiError::new("InvalidParameterValue", format!("MaxRecords {max} is not between 1 and 100")));
    }
    let skip = match input.str("NextToken")? {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| {
            ApiError::new("InvalidNextToken", format!("NextToken {token} is not one this service gave"))
        })?,
    };
    let mut items: Vec<&HistoryItem> = a
        .history
        .iter()
        .filter(|h| state_updates && name.as_ref().is_none_or(|n| *n == h.alarm_name))
        .filter(|h| start.is_none_or(|s| h.timestamp >= s) && end.is_none_or(|e| h.timestamp <= e))
        .collect();
    if input.str("ScanBy")?.as_deref() != Some("TimestampAscending") {
        items.reverse();
    }
    let page: Vec<Out> = items.iter().skip(skip).take(max as usize).map(|h| h.out()).collect();
    let mut out = Out::map().with("AlarmHistoryItems", Out::List(page));
    if skip + (max as usize) < items.len() {
        out = out.with("NextToken", Out::str((skip + max as usize).to_string()));
    }
    Ok(out)
}

/// TagResource, UntagResource and ListTagsForResource on an alarm ARN.
pub(super) fn tags(a: &mut Account, operation: &str, input: &Params<'_>) -> ApiResult<Out> {
    let arn = required(input, "ResourceARN")?;
    let alarm = a
        .alarms
        .values_mut()
        .find(|al| al.arn == arn)
        .ok_or_else(|| ApiError::new("ResourceNotFoundException", format!("no alarm with ARN {arn}")))?;
    match operation {
        "TagResource" => {
            alarm.tags.extend(tag_entries(input)?);
            Ok(Out::map())
        }
        "UntagResource" => {
            for k in input.strings("TagKeys")? {
                alarm.tags.remove(&k);
            }
            Ok(Out::map())
        }
        _ => Ok(Out::map().with(
            "Tags",
            Out::List(
                alarm
                    .tags
                    .iter()
                    .map(|(k, v)| Out::map().with("Key", Out::str(k)).with("Value", Out::str(v)))
                    .collect(),
            ),
        )),
    }
}
