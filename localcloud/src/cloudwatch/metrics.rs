//! The metric operations: PutMetricData, GetMetricStatistics (with `pNN`),
//! GetMetricData (MetricStat queries; metric math is refused) and ListMetrics.

use super::metric_store::{dimensions, dimensions_out, periods, MetricKey, MetricStore};
use super::stats::{Point, Stat};
use super::wire::Out;
use super::CloudWatch;
use crate::api::{ApiError, ApiResult, Params};
use crate::clock::Clock;

fn required(input: &Params<'_>, field: &str) -> ApiResult<String> {
    input.required_str(field, "MissingParameter")
}

fn missing(field: &str) -> ApiError {
    ApiError::new("MissingParameter", format!("the parameter {field} is required"))
}

/// The metric a request (or a query's `Metric`) names.
fn metric_key(input: &Params<'_>) -> ApiResult<MetricKey> {
    Ok(MetricKey::new(
        &required(input, "Namespace")?,
        &required(input, "MetricName")?,
        dimensions(input, "Dimensions")?,
    ))
}

/// The datapoints of one `MetricDatum`: Value, Values with Counts, or StatisticValues.
fn datum_points(datum: &Params<'_>, name: &str, t: f64) -> ApiResult<Vec<Point>> {
    let mut points = Vec::new();
    if let Some(v) = datum.f64("Value")? {
        points.push(Point::value(t, v));
    }
    let counts = datum.numbers("Counts")?;
    for (i, v) in datum.numbers("Values")?.into_iter().enumerate() {
        let c = counts.get(i).copied().unwrap_or(1.0);
        points.push(Point { t, count: c, sum: v * c, min: v, max: v });
    }
    if let Some(s) = datum.object("StatisticValues")? {
        let field = |f: &str| {
            s.f64(f)?.ok_or_else(|| ApiError::new("MissingParameter", format!("StatisticValues.{f} is required")))
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
        return Err(ApiError::new(
            "InvalidParameterCombination",
            format!("metric {name} needs a Value, Values or StatisticValues"),
        ));
    }
    Ok(points)
}

impl CloudWatch {
    pub(super) fn put_metric_data(&self, account: &str, input: &Params<'_>) -> ApiResult<Out> {
        let namespace = required(input, "Namespace")?;
        if namespace.starts_with("AWS/") {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!("the namespace {namespace} is reserved for AWS services"),
            ));
        }
        if !input.has("MetricData") {
            return Err(missing("MetricData"));
        }
        let now = Clock::now_epoch();
        let mut parsed = Vec::new();
        for datum in input.objects("MetricData")? {
            let name = required(&datum, "MetricName")?;
            let dims = dimensions(&datum, "Dimensions")?;
            let t = datum.time("Timestamp")?.unwrap_or(now);
            let points = datum_points(&datum, &name, t)?;
            parsed.push((MetricKey::new(&namespace, &name, dims), datum.str("Unit")?, points));
        }
        let mut accounts = self.lock();
        let store = &mut accounts.entry(account.to_owned()).or_default().metrics;
        for (key, unit, points) in parsed {
            store.put(key, unit, points, now);
        }
        Ok(Out::map())
    }

    pub(super) fn get_metric_statistics(&self, store: &MetricStore, input: &Params<'_>) -> ApiResult<Out> {
        let key = metric_key(input)?;
        let start = input.time("StartTime")?.ok_or_else(|| missing("StartTime"))?;
        let end = input.time("EndTime")?.ok_or_else(|| missing("EndTime"))?;
        let period = input.i64("Period")?.ok_or_else(|| missing("Period"))?;
        let statistics = input.strings("Statistics")?;
        let extended = input.strings("ExtendedStatistics")?;
        if statistics.is_empty() && extended.is_empty() {
            return Err(ApiError::new("MissingParameter", "give Statistics or ExtendedStatistics"));
        }
        let width = self.width(period);
        let series = store.get(&key);
        let points = store.points(&key);
        let unit = series.and_then(|s| s.unit.clone()).unwrap_or_else(|| "None".into());
        let mut datapoints = Vec::new();
        for (t, inside) in periods(points, self.aligned_start(start, period), end, width) {
            let mut dp = Out::map().with("Timestamp", Out::Time(t)).with("Unit", Out::str(&unit));
            for s in &statistics {
                let stat = Stat::parse(s)
                    .ok_or_else(|| ApiError::new("InvalidParameterValue", format!("unknown statistic {s}")))?;
                dp = dp.with(s, Out::Num(stat.compute(inside).unwrap_or_default()));
            }
            if !extended.is_empty() {
                let mut ext = Out::map();
                for p in &extended {
                    let stat = Stat::parse(p).filter(|s| matches!(s, Stat::Percentile(_))).ok_or_else(|| {
                        ApiError::new("InvalidParameterValue", format!("unknown extended statistic {p}"))
                    })?;
                    ext = ext.with(p, Out::Num(stat.compute(inside).unwrap_or_default()));
                }
                dp = dp.with("ExtendedStatistics", ext);
            }
            datapoints.push(dp);
        }
        Ok(Out::map().with("Label", Out::str(key.name)).with("Datapoints", Out::List(datapoints)))
    }

    pub(super) fn get_metric_data(&self, store: &MetricStore, input: &Params<'_>) -> ApiResult<Out> {
        let start = input.time("StartTime")?.ok_or_else(|| missing("StartTime"))?;
        let end = input.time("EndTime")?.ok_or_else(|| missing("EndTime"))?;
        let ascending = input.str("ScanBy")?.as_deref() == Some("TimestampAscending");
        if !input.has("MetricDataQueries") {
            return Err(missing("MetricDataQueries"));
        }
        let mut results = Vec::new();
        for q in input.objects("MetricDataQueries")? {
            let id = required(&q, "Id")?;
            if q.has("Expression") {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    format!("query {id}: metric math expressions are not supported by localcloud"),
                ));
            }
            if q.bool("ReturnData")? == Some(false) {
                continue;
            }
            let stat_spec = q
                .object("MetricStat")?
                .ok_or_else(|| ApiError::new("MissingParameter", format!("query {id} needs MetricStat")))?;
            let metric = stat_spec
                .object("Metric")?
                .ok_or_else(|| ApiError::new("MissingParameter", format!("query {id} needs MetricStat.Metric")))?;
            let key = metric_key(&metric)?;
            let period = stat_spec
                .i64("Period")?
                .ok_or_else(|| ApiError::new("MissingParameter", format!("query {id} needs MetricStat.Period")))?;
            let stat_name = required(&stat_spec, "Stat")?;
            let stat = Stat::parse(&stat_name).ok_or_else(|| {
                ApiError::new("InvalidParameterValue", format!("query {id}: unknown Stat {stat_name}"))
            })?;
            let from = self.aligned_start(start, period);
            let mut values: Vec<(f64, f64)> = periods(store.points(&key), from, end, self.width(period))
                .filter_map(|(t, inside)| Some((t, stat.compute(inside)?)))
                .collect();
            if !ascending {
                values.reverse();
            }
            results.push(
                Out::map()
                    .with("Id", Out::str(id))
                    .with("Label", Out::str(q.str("Label")?.unwrap_or(key.name)))
                    .with("Timestamps", Out::List(values.iter().map(|(t, _)| Out::Time(*t)).collect()))
                    .with("Values", Out::List(values.iter().map(|(_, v)| Out::Num(*v)).collect()))
                    .with("StatusCode", Out::str("Complete")),
            );
        }
        Ok(Out::map().with("MetricDataResults", Out::List(results)).with("Messages", Out::List(Vec::new())))
    }
}

pub(super) fn list_metrics(store: &MetricStore, input: &Params<'_>) -> ApiResult<Out> {
    let namespace = input.str("Namespace")?;
    let name = input.str("MetricName")?;
    let mut filters: Vec<(String, Option<String>)> = Vec::new();
    for d in input.objects("Dimensions")? {
        if let Some(fname) = d.str("Name")? {
            filters.push((fname, d.str("Value")?));
        }
    }
    let metrics: Vec<Out> = store
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
                .with("Dimensions", dimensions_out(&k.dims))
        })
        .collect();
    Ok(Out::map().with("Metrics", Out::List(metrics)))
}
