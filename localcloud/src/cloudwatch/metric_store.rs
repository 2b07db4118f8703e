//! The metric store of one account: series of datapoints keyed by namespace, name
//! and dimensions, kept sorted by time, aged out after six hours; and the Lambda
//! metrics an invoke through localcloud adds to it.

use std::collections::BTreeMap;

use super::stats::Point;
use super::wire::Out;
use crate::api::{ApiError, ApiResult, Params};
use crate::routing;

/// Datapoints older than this (real time) are dropped.
const RETENTION_SECS: f64 = 6.0 * 3600.0;
/// CloudWatch takes at most 30 dimensions per metric.
const MAX_DIMENSIONS: usize = 30;

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

/// A `Dimensions` list: `[{Name, Value}]`.
pub fn dimensions(input: &Params<'_>, field: &str) -> ApiResult<Vec<(String, String)>> {
    let mut dims = Vec::new();
    for d in input.objects(field)? {
        let name = d
            .str("Name")?
            .ok_or_else(|| ApiError::new("InvalidParameterValue", format!("every entry of {field} needs a Name")))?;
        dims.push((name, d.str("Value")?.unwrap_or_default()));
    }
    if dims.len() > MAX_DIMENSIONS {
        return Err(ApiError::new(
            "InvalidParameterValue",
            format!("{field} takes at most {MAX_DIMENSIONS} dimensions"),
        ));
    }
    Ok(dims)
}

pub fn dimensions_out(dims: &[(String, String)]) -> Out {
    Out::List(dims.iter().map(|(n, v)| Out::map().with("Name", Out::str(n)).with("Value", Out::str(v))).collect())
}

/// A metric's datapoints, kept sorted by time so that a period is found by binary
/// search (alarms look at their series on every evaluation tick).
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub unit: Option<String>,
    pub points: Vec<Point>,
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
pub fn span(points: &[Point], from: f64, to: f64) -> &[Point] {
    let start = points.partition_point(|p| p.t < from);
    let end = points.partition_point(|p| p.t < to);
    &points[start..end.max(start)]
}

/// The points with `from < t <= to`: a period that ends at `to`, as alarms evaluate it.
pub fn span_ending(points: &[Point], from: f64, to: f64) -> &[Point] {
    let start = points.partition_point(|p| p.t <= from);
    let end = points.partition_point(|p| p.t <= to);
    &points[start..end.max(start)]
}

/// Consecutive periods of `width` from `start` until `end`, with their points (empty
/// periods left out): what GetMetricStatistics and GetMetricData report.
pub fn periods(points: &[Point], start: f64, end: f64, width: f64) -> impl Iterator<Item = (f64, &[Point])> {
    let count = if width > 0.0 && end > start { ((end - start) / width).ceil() as usize } else { 0 };
    (0..count)
        .map(move |i| start + width * i as f64)
        .map(move |t| (t, span(points, t, t + width)))
        .filter(|(_, p)| !p.is_empty())
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

#[derive(Debug, Default)]
pub struct MetricStore {
    series: BTreeMap<MetricKey, Series>,
}

impl MetricStore {
    pub fn get(&self, key: &MetricKey) -> Option<&Series> {
        self.series.get(key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &MetricKey> {
        self.series.keys()
    }

    /// The points of `key`, time-sorted (empty when the metric has none).
    pub fn points(&self, key: &MetricKey) -> &[Point] {
        self.series.get(key).map(|s| s.points.as_slice()).unwrap_or_default()
    }

    pub fn put(&mut self, key: MetricKey, unit: Option<String>, points: Vec<Point>, now: f64) {
        let series = self.series.entry(key).or_default();
        if unit.is_some() {
            series.unit = unit;
        }
        for point in points {
            series.insert(point);
        }
        series.drop_before(now - RETENTION_SECS);
    }

    /// Records one invoke as Lambda does: Invocations, Errors, Duration, Throttles under
    /// (FunctionName); a qualified invoke also under (FunctionName, Resource=`fn:q`);
    /// an alias invoke also under (FunctionName, Resource, ExecutedVersion). Lambda
    /// developer guide, "Viewing metrics for Lambda functions": Resource is "a version
    /// or alias of a function", ExecutedVersion "a combination of alias and version",
    /// so an invoke of `fn:7` has no ExecutedVersion dimension.
    pub fn record_invoke(&mut self, invoke: &InvokeRecord, now: f64) {
        let mut dim_sets = vec![vec![("FunctionName".to_owned(), invoke.function.clone())]];
        if let Some(q) = &invoke.qualifier {
            let resource = vec![
                ("FunctionName".to_owned(), invoke.function.clone()),
                ("Resource".to_owned(), format!("{}:{q}", invoke.function)),
            ];
            if let Some(v) = invoke.executed_version.as_ref().filter(|_| routing::is_alias(q)) {
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
        for dims in dim_sets {
            for (name, unit, value) in &metrics {
                let series = self.series.entry(MetricKey::new("AWS/Lambda", name, dims.clone())).or_default();
                series.unit = Some((*unit).to_owned());
                series.insert(Point::value(now, *value));
                series.drop_before(now - RETENTION_SECS);
            }
        }
    }
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

    #[test]
    fn an_invoke_through_an_alias_lands_under_three_dimension_sets() {
        let mut store = MetricStore::default();
        let invoke = InvokeRecord {
            function: "calc".into(),
            qualifier: Some("live".into()),
            executed_version: Some("2".into()),
            duration_ms: Some(12.0),
            error: true,
            throttled: false,
        };
        store.record_invoke(&invoke, 100.0);
        let dims = |pairs: &[(&str, &str)]| pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        for set in [
            dims(&[("FunctionName", "calc")]),
            dims(&[("FunctionName", "calc"), ("Resource", "calc:live")]),
            dims(&[("FunctionName", "calc"), ("Resource", "calc:live"), ("ExecutedVersion", "2")]),
        ] {
            let errors = store.points(&MetricKey::new("AWS/Lambda", "Errors", set));
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].sum, 1.0);
        }
    }

    #[test]
    fn a_version_invoke_has_no_executed_version_dimension() {
        let mut store = MetricStore::default();
        for qualifier in [Some("7"), Some("$LATEST"), None] {
            let invoke = InvokeRecord {
                function: "calc".into(),
                qualifier: qualifier.map(str::to_owned),
                executed_version: Some(qualifier.unwrap_or("$LATEST").to_owned()),
                duration_ms: Some(3.0),
                error: false,
                throttled: false,
            };
            store.record_invoke(&invoke, 100.0);
        }
        let mut sets: Vec<Vec<String>> = store
            .keys()
            .filter(|k| k.name == "Invocations")
            .map(|k| k.dims.iter().map(|(n, v)| format!("{n}={v}")).collect())
            .collect();
        sets.sort();
        assert_eq!(
            sets,
            [
                vec!["FunctionName=calc"],
                vec!["FunctionName=calc", "Resource=calc:$LATEST"],
                vec!["FunctionName=calc", "Resource=calc:7"],
            ]
        );
        let all = MetricKey::new("AWS/Lambda", "Invocations", vec![("FunctionName".into(), "calc".into())]);
        assert_eq!(store.points(&all).len(), 3, "every invoke counts under the function");
    }
}
