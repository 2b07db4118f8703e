//! CloudWatch metrics and alarms owned by localcloud: per-version Lambda metrics for
//! every invoke that passes through, PutMetricData, GetMetricData,
//! GetMetricStatistics and ListMetrics, and metric alarms evaluated as CloudWatch
//! evaluates them on a real-time tick, publishing to SNS on each transition.

pub mod stats;
pub mod wire;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Clock;
use crate::codedeploy::error::ApiError;
use crate::upstream::Upstream;
use stats::{Point, Stat};
use wire::Out;

const REGION: &str = "us-east-1";
/// How often (real time) every alarm is evaluated, whatever the time scale.
pub const EVALUATION_TICK: Duration = Duration::from_millis(250);
/// Datapoints older than this (real time) are dropped.
const RETENTION_SECS: f64 = 6.0 * 3600.0;
const COMPARISONS: [&str; 4] =
    ["GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"];
const MISSING: [&str; 4] = ["breaching", "notBreaching", "ignore", "missing"];

fn err(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message)
}

fn text(v: &Value, field: &str) -> Option<String> {
    match v.get(field)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn required(v: &Value, field: &str) -> Result<String, ApiError> {
    text(v, field)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| err("MissingParameter", format!("the parameter {field} is required")))
}

fn number(v: &Value, field: &str) -> Result<Option<f64>, ApiError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| err("InvalidParameterValue", format!("{field} must be a number, not {s:?}"))),
        Some(other) => Err(err("InvalidParameterValue", format!("{field} must be a number, not {other}"))),
    }
}

fn integer(v: &Value, field: &str) -> Result<Option<i64>, ApiError> {
    match number(v, field)? {
        Some(n) if n.fract() == 0.0 => Ok(Some(n as i64)),
        Some(n) => Err(err("InvalidParameterValue", format!("{field} must be a whole number, not {n}"))),
        None => Ok(None),
    }
}

fn boolean(v: &Value, field: &str) -> Result<Option<bool>, ApiError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(other) => Err(err("InvalidParameterValue", format!("{field} must be true or false, not {other}"))),
    }
}

fn strings(v: &Value, field: &str) -> Vec<String> {
    v.get(field)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn dimensions(v: &Value, field: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut dims = Vec::new();
    for d in v.get(field).and_then(Value::as_array).into_iter().flatten() {
        let name = text(d, "Name")
            .ok_or_else(|| err("InvalidParameterValue", format!("every entry of {field} needs a Name")))?;
        dims.push((name, text(d, "Value").unwrap_or_default()));
    }
    if dims.len() > 30 {
        return Err(err("InvalidParameterValue", format!("{field} takes at most 30 dimensions")));
    }
    Ok(dims)
}

fn dims_out(dims: &[(String, String)]) -> Out {
    Out::List(dims.iter().map(|(n, v)| Out::map().with("Name", Out::str(n)).with("Value", Out::str(v))).collect())
}

/// A metric's identity: namespace, name and its exact set of dimensions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricKey {
    pub namespace: String,
    pub name: String,
    pub dims: Vec<(String, String)>,
}

impl MetricKey {
    pub fn new(namespace: &str, name: &str, mut dims: Vec<(String, String)>) -> Self {
        dims.sort();
        Self { namespace: namespace.into(), name: name.into(), dims }
    }
}

/// A metric's datapoints, kept sorted by time so that a period is found by binary
/// search (alarms look at their series on every evaluation tick).
#[derive(Debug, Clone, Default)]
struct Series {
    unit: Option<String>,
    points: Vec<Point>,
}

impl Series {
    fn insert(&mut self, point: Point) {
        // Usually "now", so an append; PutMetricData may send older timestamps.
        let at = self.points.partition_point(|p| p.t <= point.t);
        self.points.insert(at, point);
    }

    fn drop_before(&mut self, horizon: f64) {
        let stale = self.points.partition_point(|p| p.t < horizon);
        self.points.drain(..stale);
    }
}

/// The points with `from <= t < to` of a time-sorted slice.
fn span(points: &[Point], from: f64, to: f64) -> &[Point] {
    let start = points.partition_point(|p| p.t < from);
    let end = points.partition_point(|p| p.t < to);
    &points[start..end.max(start)]
}

/// The points with `from < t <= to`: a period that ends at `to`, as alarms evaluate it.
fn span_ending(points: &[Point], from: f64, to: f64) -> &[Point] {
    let start = points.partition_point(|p| p.t <= from);
    let end = points.partition_point(|p| p.t <= to);
    &points[start..end.max(start)]
}

/// Consecutive periods of `width` from `start` until `end`, with their points (empty
/// periods left out): what GetMetricStatistics and GetMetricData report.
fn periods(points: &[Point], start: f64, end: f64, width: f64) -> impl Iterator<Item = (f64, &[Point])> {
    let count = if width > 0.0 && end > start { ((end - start) / width).ceil() as usize } else { 0 };
    (0..count)
        .map(move |i| start + width * i as f64)
        .map(move |t| (t, span(points, t, t + width)))
        .filter(|(_, p)| !p.is_empty())
}

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
    pub comparison_operator: String,
    pub treat_missing_data: Option<String>,
    pub evaluate_low_sample_count_percentile: Option<String>,
    pub state: String,
    pub state_reason: String,
    pub state_reason_data: Option<String>,
    pub state_updated: f64,
    pub config_updated: f64,
    pub tags: BTreeMap<String, String>,
    /// After SetAlarmState, the state holds until the next period's evaluation (real epoch).
    pub held_until: Option<f64>,
}

impl Alarm {
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
            .with("StateValue", Out::str(&self.state))
            .with("StateReason", Out::str(&self.state_reason))
            .with_opt("StateReasonData", self.state_reason_data.as_ref().map(Out::str))
            .with("StateUpdatedTimestamp", Out::Time(self.state_updated))
            .with("StateTransitionedTimestamp", Out::Time(self.state_updated))
            .with("MetricName", Out::str(&self.metric_name))
            .with("Namespace", Out::str(&self.namespace))
            .with_opt("Statistic", self.statistic.as_ref().map(Out::str))
            .with_opt("ExtendedStatistic", self.extended_statistic.as_ref().map(Out::str))
            .with("Dimensions", dims_out(&self.dimensions))
            .with("Period", Out::Int(self.period))
            .with_opt("Unit", self.unit.as_ref().map(Out::str))
            .with("EvaluationPeriods", Out::Int(self.evaluation_periods))
            .with_opt("DatapointsToAlarm", self.datapoints_to_alarm.map(Out::Int))
            .with("Threshold", Out::Num(self.threshold))
            .with("ComparisonOperator", Out::str(&self.comparison_operator))
            .with_opt("TreatMissingData", self.treat_missing_data.as_ref().map(Out::str))
            .with_opt(
                "EvaluateLowSampleCountPercentile",
                self.evaluate_low_sample_count_percentile.as_ref().map(Out::str),
            )
    }

    fn stat(&self) -> Stat {
        self.statistic.as_deref().or(self.extended_statistic.as_deref()).and_then(Stat::parse).unwrap_or(Stat::Average)
    }

    fn breaches(&self, value: f64) -> bool {
        match self.comparison_operator.as_str() {
            "GreaterThanOrEqualToThreshold" => value >= self.threshold,
            "GreaterThanThreshold" => value > self.threshold,
            "LessThanThreshold" => value < self.threshold,
            _ => value <= self.threshold,
        }
    }

    fn comparison_words(&self) -> &'static str {
        match self.comparison_operator.as_str() {
            "GreaterThanOrEqualToThreshold" => "greater than or equal to",
            "GreaterThanThreshold" => "greater than",
            "LessThanThreshold" => "less than",
            _ => "less than or equal to",
        }
    }
}

#[derive(Debug, Default)]
struct Account {
    metrics: BTreeMap<MetricKey, Series>,
    alarms: BTreeMap<String, Alarm>,
    history: Vec<Out>,
}

/// A state change to announce: (account, alarm snapshot, old state).
struct Transition {
    account: String,
    alarm: Alarm,
    old_state: String,
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

    pub fn put_points(&self, account: &str, key: MetricKey, unit: Option<String>, points: Vec<Point>) {
        let mut accounts = self.lock();
        let series = accounts.entry(account.to_owned()).or_default().metrics.entry(key).or_default();
        if unit.is_some() {
            series.unit = unit;
        }
        for point in points {
            series.insert(point);
        }
        series.drop_before(Clock::now_epoch() - RETENTION_SECS);
    }

    /// Records one invoke as Lambda does: Invocations, Errors, Duration, Throttles under
    /// (FunctionName), (FunctionName, Resource) and (FunctionName, Resource, ExecutedVersion).
    pub fn record_invoke(&self, account: &str, invoke: &InvokeRecord) {
        let now = Clock::now_epoch();
        let mut dim_sets = vec![vec![("FunctionName".to_owned(), invoke.function.clone())]];
        if let Some(q) = &invoke.qualifier {
            let resource = vec![
                ("FunctionName".to_owned(), invoke.function.clone()),
                ("Resource".to_owned(), format!("{}:{q}", invoke.function)),
            ];
            if let Some(v) = &invoke.executed_version {
                let mut with_version = resource.clone();
                with_version.push(("ExecutedVersion".to_owned(), v.clone()));
                dim_sets.push(with_version);
            }
            dim_sets.push(resource);
        }
        let mut metrics = vec![("Throttles", "Count", if invoke.throttled { 1.0 } else { 0.0 })];
        if !invoke.throttled {
            metrics.push(("Invocations", "Count", 1.0));
            metrics.push(("Errors", "Count", if invoke.error { 1.0 } else { 0.0 }));
            if let Some(ms) = invoke.duration_ms {
                metrics.push(("Duration", "Milliseconds", ms));
            }
        }
        // One lock for the whole invoke: this runs on every invocation.
        let mut accounts = self.lock();
        let store = &mut accounts.entry(account.to_owned()).or_default().metrics;
        for dims in dim_sets {
            for (name, unit, value) in &metrics {
                let series = store.entry(MetricKey::new("AWS/Lambda", name, dims.clone())).or_default();
                series.unit = Some((*unit).to_owned());
                series.insert(Point::value(now, *value));
                series.drop_before(now - RETENTION_SECS);
            }
        }
    }

    /// States of the named alarms in `account`; a name with no alarm is absent.
    pub fn alarm_states(&self, account: &str, names: &[String]) -> HashMap<String, String> {
        let accounts = self.lock();
        let Some(a) = accounts.get(account) else { return HashMap::new() };
        names.iter().filter_map(|n| a.alarms.get(n).map(|al| (n.clone(), al.state.clone()))).collect()
    }

    /// Handles an operation; None when localcloud does not own it (forward it).
    pub async fn handle(&self, account: &str, operation: &str, input: &Value) -> Option<Result<Out, ApiError>> {
        let (result, transitions) = {
            let mut accounts = self.lock();
            let a = accounts.entry(account.to_owned()).or_default();
            let mut transitions = Vec::new();
            let result = match operation {
                "PutMetricAlarm" => self.put_metric_alarm(account, a, input, &mut transitions),
                "DescribeAlarms" => Ok(describe_alarms(a, input)),
                "DescribeAlarmsForMetric" => describe_alarms_for_metric(a, input),
                "DeleteAlarms" => delete_alarms(a, input),
                "SetAlarmState" => self.set_alarm_state(account, a, input, &mut transitions),
                "EnableAlarmActions" | "DisableAlarmActions" => {
                    for name in strings(input, "AlarmNames") {
                        if let Some(alarm) = a.alarms.get_mut(&name) {
                            alarm.actions_enabled = operation == "EnableAlarmActions";
                        }
                    }
                    Ok(Out::map())
                }
                "DescribeAlarmHistory" => {
                    let name = text(input, "AlarmName");
                    let items: Vec<Out> = a
                        .history
                        .iter()
                        .rev()
                        .filter(|h| name.as_ref().is_none_or(|n| matches!(h, Out::Map(f) if f.iter().any(|(k, v)| k == "AlarmName" && *v == Out::str(n)))))
                        .cloned()
                        .collect();
                    Ok(Out::map().with("AlarmHistoryItems", Out::List(items)))
                }
                "TagResource" | "UntagResource" | "ListTagsForResource" => tags(a, operation, input),
                "PutMetricData" => {
                    drop(accounts);
                    return Some(self.put_metric_data(account, input));
                }
                "GetMetricStatistics" => self.get_metric_statistics(a, input),
                "GetMetricData" => self.get_metric_data(a, input),
                "ListMetrics" => Ok(list_metrics(a, input)),
                _ => return None,
            };
            if result.is_ok()
                && matches!(
                    operation,
                    "PutMetricAlarm"
                        | "DeleteAlarms"
                        | "SetAlarmState"
                        | "EnableAlarmActions"
                        | "DisableAlarmActions"
                        | "TagResource"
                        | "UntagResource"
                )
            {
                self.save(&accounts);
            }
            (result, transitions)
        };
        self.announce(transitions).await;
        Some(result)
    }

    fn put_metric_alarm(
        &self,
        account: &str,
        a: &mut Account,
        input: &Value,
        transitions: &mut Vec<Transition>,
    ) -> Result<Out, ApiError> {
        let name = required(input, "AlarmName")?;
        if input.get("Metrics").and_then(Value::as_array).is_some_and(|m| !m.is_empty()) {
            return Err(err(
                "InvalidParameterCombination",
                "metric math alarms (Metrics) are not supported by localcloud: use MetricName and Namespace",
            ));
        }
        let metric_name = required(input, "MetricName")?;
        let namespace = required(input, "Namespace")?;
        let statistic = text(input, "Statistic");
        let extended = text(input, "ExtendedStatistic");
        match (&statistic, &extended) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(err("InvalidParameterCombination", "give exactly one of Statistic and ExtendedStatistic"));
            }
            (Some(s), None) if !matches!(Stat::parse(s), Some(st) if !matches!(st, Stat::Percentile(_))) => {
                return Err(err(
                    "InvalidParameterValue",
                    format!("Statistic {s} is not one of SampleCount, Average, Sum, Minimum, Maximum"),
                ));
            }
            (None, Some(p)) if !matches!(Stat::parse(p), Some(Stat::Percentile(_))) => {
                return Err(err(
                    "InvalidParameterValue",
                    format!("ExtendedStatistic {p} is not a percentile such as p99"),
                ));
            }
            _ => {}
        }
        let period =
            integer(input, "Period")?.ok_or_else(|| err("MissingParameter", "the parameter Period is required"))?;
        if !(period == 10 || period == 20 || period == 30 || (period >= 60 && period % 60 == 0)) {
            return Err(err(
                "InvalidParameterValue",
                format!("Period {period} must be 10, 20, 30 or a multiple of 60 seconds"),
            ));
        }
        let evaluation_periods = integer(input, "EvaluationPeriods")?
            .ok_or_else(|| err("MissingParameter", "the parameter EvaluationPeriods is required"))?;
        if evaluation_periods < 1 {
            return Err(err("InvalidParameterValue", "EvaluationPeriods must be at least 1"));
        }
        let datapoints = integer(input, "DatapointsToAlarm")?;
        if datapoints.is_some_and(|d| d < 1 || d > evaluation_periods) {
            return Err(err(
                "InvalidParameterValue",
                format!("DatapointsToAlarm must be between 1 and EvaluationPeriods ({evaluation_periods})"),
            ));
        }
        let threshold = number(input, "Threshold")?
            .ok_or_else(|| err("MissingParameter", "the parameter Threshold is required"))?;
        let comparison = required(input, "ComparisonOperator")?;
        if !COMPARISONS.contains(&comparison.as_str()) {
            return Err(err(
                "InvalidParameterValue",
                format!("ComparisonOperator {comparison} is not one of {}", COMPARISONS.join(", ")),
            ));
        }
        let missing = text(input, "TreatMissingData");
        if missing.as_deref().is_some_and(|m| !MISSING.contains(&m)) {
            return Err(err(
                "InvalidParameterValue",
                format!("TreatMissingData must be one of {}", MISSING.join(", ")),
            ));
        }
        let now = Clock::now_epoch();
        let previous = a.alarms.get(&name);
        let mut tags: BTreeMap<String, String> = previous.map(|p| p.tags.clone()).unwrap_or_default();
        for t in input.get("Tags").and_then(Value::as_array).into_iter().flatten() {
            if let Some(k) = text(t, "Key") {
                tags.insert(k, text(t, "Value").unwrap_or_default());
            }
        }
        let alarm = Alarm {
            arn: format!("arn:aws:cloudwatch:{REGION}:{account}:alarm:{name}"),
            description: text(input, "AlarmDescription"),
            actions_enabled: boolean(input, "ActionsEnabled")?.unwrap_or(true),
            ok_actions: strings(input, "OKActions"),
            alarm_actions: strings(input, "AlarmActions"),
            insufficient_data_actions: strings(input, "InsufficientDataActions"),
            metric_name,
            namespace,
            statistic,
            extended_statistic: extended,
            dimensions: dimensions(input, "Dimensions")?,
            period,
            unit: text(input, "Unit"),
            evaluation_periods,
            datapoints_to_alarm: datapoints,
            threshold,
            comparison_operator: comparison,
            treat_missing_data: missing,
            evaluate_low_sample_count_percentile: text(input, "EvaluateLowSampleCountPercentile"),
            state: previous.map_or_else(|| "INSUFFICIENT_DATA".into(), |p| p.state.clone()),
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

    fn set_alarm_state(
        &self,
        account: &str,
        a: &mut Account,
        input: &Value,
        transitions: &mut Vec<Transition>,
    ) -> Result<Out, ApiError> {
        let name = required(input, "AlarmName")?;
        let state = required(input, "StateValue")?;
        if !["OK", "ALARM", "INSUFFICIENT_DATA"].contains(&state.as_str()) {
            return Err(err(
                "InvalidParameterValue",
                format!("StateValue {state} is not one of OK, ALARM, INSUFFICIENT_DATA"),
            ));
        }
        let reason = required(input, "StateReason")?;
        let data = text(input, "StateReasonData");
        if let Some(d) = &data {
            if serde_json::from_str::<Value>(d).is_err() {
                return Err(err("InvalidFormat", "StateReasonData must be JSON"));
            }
        }
        let width = {
            let alarm = a.alarms.get(&name).ok_or_else(|| err("ResourceNotFound", format!("no alarm named {name}")))?;
            self.width(alarm.period)
        };
        let now = Clock::now_epoch();
        let alarm = a.alarms.get_mut(&name).ok_or_else(|| err("ResourceNotFound", format!("no alarm named {name}")))?;
        // As on AWS, the state holds until the next evaluation, one period later.
        alarm.held_until = Some(now + width.max(EVALUATION_TICK.as_secs_f64() * 2.0));
        transition(account, alarm, &state, reason, data, now, transitions, &mut a.history);
        Ok(Out::map())
    }

    /// Evaluates every alarm of every account; announces transitions.
    pub async fn evaluate_all(&self) {
        let transitions = {
            let mut accounts = self.lock();
            let now = Clock::now_epoch();
            let mut transitions = Vec::new();
            for (account, a) in accounts.iter_mut() {
                let names: Vec<String> = a.alarms.keys().cloned().collect();
                for name in names {
                    self.evaluate_one(account, a, &name, now, &mut transitions);
                }
            }
            if !transitions.is_empty() {
                self.save(&accounts);
            }
            transitions
        };
        self.announce(transitions).await;
    }

    /// CloudWatch's rule: over the last EvaluationPeriods periods, ALARM when at least
    /// DatapointsToAlarm breach; missing periods treated per TreatMissingData.
    fn evaluate_one(&self, account: &str, a: &mut Account, name: &str, now: f64, transitions: &mut Vec<Transition>) {
        let Some(alarm) = a.alarms.get(name) else { return };
        if alarm.held_until.is_some_and(|t| now < t) {
            return;
        }
        let width = self.width(alarm.period);
        let n = usize::try_from(alarm.evaluation_periods).unwrap_or(1);
        let m = alarm.datapoints_to_alarm.map_or(n, |d| usize::try_from(d).unwrap_or(n));
        let key = MetricKey::new(&alarm.namespace, &alarm.metric_name, alarm.dimensions.clone());
        let points = a.metrics.get(&key).map(|s| s.points.as_slice()).unwrap_or_default();
        let stat = alarm.stat();
        // Periods end now: the newest period is the one still filling, so a breach is seen
        // within one evaluation tick.
        let values: Vec<Option<f64>> = (0..n)
            .map(|i| {
                let end = now - width * i as f64;
                stat.compute(span_ending(points, end - width, end))
            })
            .collect();
        let present: Vec<f64> = values.iter().flatten().copied().collect();
        let missing = n - present.len();
        let mut breaching = present.iter().filter(|v| alarm.breaches(**v)).count();
        let treat = alarm.treat_missing_data.as_deref().unwrap_or("missing");
        if treat == "breaching" {
            breaching += missing;
        }
        let shown: Vec<String> = present.iter().map(|v| format!("{v}")).collect();
        let (state, reason) = if breaching >= m {
            ("ALARM", format!(
                "Threshold Crossed: {breaching} out of the last {n} datapoints [{}] was {} the threshold ({}) (minimum {m} datapoints for OK -> ALARM transition).",
                shown.join(", "),
                alarm.comparison_words(),
                alarm.threshold
            ))
        } else if present.is_empty() && treat == "missing" {
            ("INSUFFICIENT_DATA", format!("Insufficient Data: {n} datapoints were unknown."))
        } else if present.is_empty() && treat == "ignore" {
            return;
        } else {
            (
                "OK",
                format!(
                    "Threshold Crossed: {} datapoints [{}] were not {} the threshold ({}).",
                    n - breaching,
                    shown.join(", "),
                    alarm.comparison_words(),
                    alarm.threshold
                ),
            )
        };
        if state == alarm.state {
            return;
        }
        let data = serde_json::json!({
            "version": "1.0",
            "queryDate": wire::iso8601(now),
            "statistic": alarm.statistic.clone().or(alarm.extended_statistic.clone()),
            "period": alarm.period,
            "recentDatapoints": present,
            "threshold": alarm.threshold,
            "evaluatedDatapoints": values.iter().map(|v| serde_json::json!({"value": v})).collect::<Vec<_>>(),
        })
        .to_string();
        if let Some(alarm) = a.alarms.get_mut(name) {
            alarm.held_until = None;
            transition(account, alarm, state, reason, Some(data), now, transitions, &mut a.history);
        }
    }

    /// Publishes each transition to the SNS topics of the new state's actions.
    async fn announce(&self, transitions: Vec<Transition>) {
        for Transition { account, alarm, old_state } in transitions {
            tracing::info!(%account, alarm = %alarm.name, from = %old_state, to = %alarm.state, "alarm state changed");
            if !alarm.actions_enabled {
                continue;
            }
            let targets = match alarm.state.as_str() {
                "ALARM" => &alarm.alarm_actions,
                "OK" => &alarm.ok_actions,
                _ => &alarm.insufficient_data_actions,
            };
            for topic in targets.iter().filter(|t| t.starts_with("arn:aws:sns:")) {
                let topic_account = topic.split(':').nth(4).unwrap_or(&account).to_owned();
                let message = serde_json::json!({
                    "AlarmName": alarm.name,
                    "AlarmDescription": alarm.description,
                    "AWSAccountId": account,
                    "NewStateValue": alarm.state,
                    "NewStateReason": alarm.state_reason,
                    "StateChangeTime": wire::iso8601(alarm.state_updated),
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
                        "TreatMissingData": alarm.treat_missing_data.clone().unwrap_or_else(|| "missing".into()),
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

    fn put_metric_data(&self, account: &str, input: &Value) -> Result<Out, ApiError> {
        let namespace = required(input, "Namespace")?;
        if namespace.starts_with("AWS/") {
            return Err(err(
                "InvalidParameterValue",
                format!("the namespace {namespace} is reserved for AWS services"),
            ));
        }
        let now = Clock::now_epoch();
        let data = input
            .get("MetricData")
            .and_then(Value::as_array)
            .ok_or_else(|| err("MissingParameter", "the parameter MetricData is required"))?;
        for datum in data {
            let name = required(datum, "MetricName")?;
            let dims = dimensions(datum, "Dimensions")?;
            let t = datum.get("Timestamp").and_then(wire::parse_time).unwrap_or(now);
            let mut points = Vec::new();
            if let Some(v) = number(datum, "Value")? {
                points.push(Point::value(t, v));
            }
            let values: Vec<f64> = datum
                .get("Values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
                .collect();
            let counts: Vec<f64> = datum
                .get("Counts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
                .collect();
            for (i, v) in values.iter().enumerate() {
                let c = counts.get(i).copied().unwrap_or(1.0);
                points.push(Point { t, count: c, sum: v * c, min: *v, max: *v });
            }
            if let Some(s) = datum.get("StatisticValues").filter(|v| v.is_object()) {
                let field = |f: &str| {
                    number(s, f).and_then(|v| {
                        v.ok_or_else(|| err("MissingParameter", format!("StatisticValues.{f} is required")))
                    })
                };
                points.push(Point {
                    t,
                    count: field("SampleCount")?,
                    sum: field("Sum")?,
                    min: field("Minimum")?,
                    max: field("Maximum")?,
                });
            }
            if points.is_empty() {
                return Err(err(
                    "InvalidParameterCombination",
                    format!("metric {name} needs a Value, Values or StatisticValues"),
                ));
            }
            self.put_points(account, MetricKey::new(&namespace, &name, dims), text(datum, "Unit"), points);
        }
        Ok(Out::map())
    }

    fn series<'a>(a: &'a Account, input: &Value) -> Result<(MetricKey, Option<&'a Series>), ApiError> {
        let key = MetricKey::new(
            &required(input, "Namespace")?,
            &required(input, "MetricName")?,
            dimensions(input, "Dimensions")?,
        );
        let series = a.metrics.get(&key);
        Ok((key, series))
    }

    fn get_metric_statistics(&self, a: &Account, input: &Value) -> Result<Out, ApiError> {
        let (key, series) = Self::series(a, input)?;
        let start = input
            .get("StartTime")
            .and_then(wire::parse_time)
            .ok_or_else(|| err("MissingParameter", "the parameter StartTime is required"))?;
        let end = input
            .get("EndTime")
            .and_then(wire::parse_time)
            .ok_or_else(|| err("MissingParameter", "the parameter EndTime is required"))?;
        let period =
            integer(input, "Period")?.ok_or_else(|| err("MissingParameter", "the parameter Period is required"))?;
        let statistics = strings(input, "Statistics");
        let extended = strings(input, "ExtendedStatistics");
        if statistics.is_empty() && extended.is_empty() {
            return Err(err("MissingParameter", "give Statistics or ExtendedStatistics"));
        }
        let width = self.width(period);
        let points = series.map(|s| s.points.as_slice()).unwrap_or_default();
        let unit = series.and_then(|s| s.unit.clone()).unwrap_or_else(|| "None".into());
        let mut datapoints = Vec::new();
        for (t, inside) in periods(points, start, end, width) {
            let mut dp = Out::map().with("Timestamp", Out::Time(t)).with("Unit", Out::str(&unit));
            for s in &statistics {
                let stat =
                    Stat::parse(s).ok_or_else(|| err("InvalidParameterValue", format!("unknown statistic {s}")))?;
                dp = dp.with(s, Out::Num(stat.compute(inside).unwrap_or_default()));
            }
            if !extended.is_empty() {
                let mut ext = Out::map();
                for p in &extended {
                    let stat = Stat::parse(p)
                        .filter(|s| matches!(s, Stat::Percentile(_)))
                        .ok_or_else(|| err("InvalidParameterValue", format!("unknown extended statistic {p}")))?;
                    ext = ext.with(p, Out::Num(stat.compute(inside).unwrap_or_default()));
                }
                dp = dp.with("ExtendedStatistics", ext);
            }
            datapoints.push(dp);
        }
        Ok(Out::map().with("Label", Out::str(key.name)).with("Datapoints", Out::List(datapoints)))
    }

    fn get_metric_data(&self, a: &Account, input: &Value) -> Result<Out, ApiError> {
        let start = input
            .get("StartTime")
            .and_then(wire::parse_time)
            .ok_or_else(|| err("MissingParameter", "the parameter StartTime is required"))?;
        let end = input
            .get("EndTime")
            .and_then(wire::parse_time)
            .ok_or_else(|| err("MissingParameter", "the parameter EndTime is required"))?;
        let ascending = text(input, "ScanBy").as_deref() == Some("TimestampAscending");
        let queries = input
            .get("MetricDataQueries")
            .and_then(Value::as_array)
            .ok_or_else(|| err("MissingParameter", "the parameter MetricDataQueries is required"))?;
        let mut results = Vec::new();
        for q in queries {
            let id = required(q, "Id")?;
            if q.get("Expression").is_some_and(|e| !e.is_null()) {
                return Err(err(
                    "InvalidParameterValue",
                    format!("query {id}: metric math expressions are not supported by localcloud"),
                ));
            }
            if boolean(q, "ReturnData")? == Some(false) {
                continue;
            }
            let stat_spec =
                q.get("MetricStat").ok_or_else(|| err("MissingParameter", format!("query {id} needs MetricStat")))?;
            let metric = stat_spec
                .get("Metric")
                .ok_or_else(|| err("MissingParameter", format!("query {id} needs MetricStat.Metric")))?;
            let (key, series) = Self::series(a, metric)?;
            let period = integer(stat_spec, "Period")?
                .ok_or_else(|| err("MissingParameter", format!("query {id} needs MetricStat.Period")))?;
            let stat_name = required(stat_spec, "Stat")?;
            let stat = Stat::parse(&stat_name)
                .ok_or_else(|| err("InvalidParameterValue", format!("query {id}: unknown Stat {stat_name}")))?;
            let points = series.map(|s| s.points.as_slice()).unwrap_or_default();
            let mut values: Vec<(f64, f64)> = periods(points, start, end, self.width(period))
                .filter_map(|(t, inside)| Some((t, stat.compute(inside)?)))
                .collect();
            if !ascending {
                values.reverse();
            }
            results.push(
                Out::map()
                    .with("Id", Out::str(id))
                    .with("Label", Out::str(text(q, "Label").unwrap_or(key.name)))
                    .with("Timestamps", Out::List(values.iter().map(|(t, _)| Out::Time(*t)).collect()))
                    .with("Values", Out::List(values.iter().map(|(_, v)| Out::Num(*v)).collect()))
                    .with("StatusCode", Out::str("Complete")),
            );
        }
        Ok(Out::map().with("MetricDataResults", Out::List(results)).with("Messages", Out::List(Vec::new())))
    }
}

/// What the front saw of one invoke.
#[derive(Debug, Clone)]
pub struct InvokeRecord {
    pub function: String,
    pub qualifier: Option<String>,
    pub executed_version: Option<String>,
    pub duration_ms: Option<f64>,
    pub error: bool,
    pub throttled: bool,
}

#[allow(clippy::too_many_arguments)]
fn transition(
    account: &str,
    alarm: &mut Alarm,
    state: &str,
    reason: String,
    data: Option<String>,
    now: f64,
    transitions: &mut Vec<Transition>,
    history: &mut Vec<Out>,
) {
    let old_state = std::mem::replace(&mut alarm.state, state.to_owned());
    alarm.state_reason = reason;
    alarm.state_reason_data = data;
    alarm.state_updated = now;
    history.push(
        Out::map()
            .with("AlarmName", Out::str(&alarm.name))
            .with("AlarmType", Out::str("MetricAlarm"))
            .with("Timestamp", Out::Time(now))
            .with("HistoryItemType", Out::str("StateUpdate"))
            .with("HistorySummary", Out::str(format!("Alarm updated from {old_state} to {state}"))),
    );
    if history.len() > 1000 {
        history.drain(..history.len() - 1000);
    }
    if old_state != state {
        transitions.push(Transition { account: account.to_owned(), alarm: alarm.clone(), old_state });
    }
}

fn describe_alarms(a: &Account, input: &Value) -> Out {
    let names = strings(input, "AlarmNames");
    let prefix = text(input, "AlarmNamePrefix");
    let state = text(input, "StateValue");
    let action_prefix = text(input, "ActionPrefix");
    let alarms: Vec<Out> = a
        .alarms
        .values()
        .filter(|al| names.is_empty() || names.contains(&al.name))
        .filter(|al| prefix.as_ref().is_none_or(|p| al.name.starts_with(p.as_str())))
        .filter(|al| state.as_ref().is_none_or(|s| *s == al.state))
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
    Out::map().with("MetricAlarms", Out::List(alarms)).with("CompositeAlarms", Out::List(Vec::new()))
}

fn describe_alarms_for_metric(a: &Account, input: &Value) -> Result<Out, ApiError> {
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

fn delete_alarms(a: &mut Account, input: &Value) -> Result<Out, ApiError> {
    let names = strings(input, "AlarmNames");
    if let Some(missing) = names.iter().find(|n| !a.alarms.contains_key(*n)) {
        return Err(err("ResourceNotFound", format!("no alarm named {missing}")));
    }
    for name in names {
        a.alarms.remove(&name);
    }
    Ok(Out::map())
}

fn tags(a: &mut Account, operation: &str, input: &Value) -> Result<Out, ApiError> {
    let arn = required(input, "ResourceARN")?;
    let alarm = a
        .alarms
        .values_mut()
        .find(|al| al.arn == arn)
        .ok_or_else(|| err("ResourceNotFoundException", format!("no alarm with ARN {arn}")))?;
    match operation {
        "TagResource" => {
            for t in input.get("Tags").and_then(Value::as_array).into_iter().flatten() {
                if let Some(k) = text(t, "Key") {
                    alarm.tags.insert(k, text(t, "Value").unwrap_or_default());
                }
            }
            Ok(Out::map())
        }
        "UntagResource" => {
            for k in strings(input, "TagKeys") {
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

fn list_metrics(a: &Account, input: &Value) -> Out {
    let namespace = text(input, "Namespace");
    let name = text(input, "MetricName");
    let filters: Vec<(String, Option<String>)> = input
        .get("Dimensions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| Some((text(d, "Name")?, text(d, "Value"))))
        .collect();
    let metrics: Vec<Out> = a
        .metrics
        .keys()
        .filter(|k| namespace.as_ref().is_none_or(|n| *n == k.namespace))
        .filter(|k| name.as_ref().is_none_or(|n| *n == k.name))
        .filter(|k| {
            filters.iter().all(|(fname, fvalue)| {
                k.dims.iter().any(|(n, v)| n == fname && fvalue.as_ref().is_none_or(|fv| fv == v))
            })
        })
        .map(|k| {
            Out::map()
                .with("Namespace", Out::str(&k.namespace))
                .with("MetricName", Out::str(&k.name))
                .with("Dimensions", dims_out(&k.dims))
        })
        .collect();
    Out::map().with("Metrics", Out::List(metrics))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_stay_sorted_and_periods_slice_them() {
        let mut series = Series::default();
        for t in [5.0, 1.0, 3.0, 3.0, 9.0] {
            series.insert(Point::value(t, t));
        }
        let times: Vec<f64> = series.points.iter().map(|p| p.t).collect();
        assert_eq!(times, [1.0, 3.0, 3.0, 5.0, 9.0], "late datapoints land in order");
        assert_eq!(span(&series.points, 3.0, 5.0).len(), 2, "[3, 5) holds both 3s, not 5");
        assert_eq!(span_ending(&series.points, 3.0, 5.0).len(), 1, "(3, 5] holds 5 only");
        let found: Vec<(f64, usize)> = periods(&series.points, 0.0, 10.0, 4.0).map(|(t, p)| (t, p.len())).collect();
        assert_eq!(found, [(0.0, 3), (4.0, 1), (8.0, 1)]);
        series.drop_before(4.0);
        assert_eq!(series.points.len(), 2);
    }
}
