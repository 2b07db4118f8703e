//! [`Metrics`] over CloudWatch: a version's invocations, errors and duration, from
//! Lambda's per-version metrics. Lambda counts an invoke through the alias under
//! (FunctionName, Resource=`<fn>:live`, ExecutedVersion) and an invoke of the version's
//! own ARN (the workflow's, which pins versions) under (FunctionName,
//! Resource=`<fn>:<version>`) (AWS Lambda Developer Guide, "Types of metrics for Lambda
//! functions": dimensions); both count here.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};

use super::failure::send;
use super::SdkCloud;
use crate::cloud::{Metrics, SeriesPoint, VersionStats, VersionWindow, PERIOD_S};
use crate::error::Result;
use crate::settings::ALIAS;

/// Each query's datapoints: id -> (period start in ms, value).
type Answers = BTreeMap<String, Vec<(u64, f64)>>;

impl SdkCloud {
    /// Invocations, errors, p50 and p99 of `function`'s `version` per period, as
    /// counted through the alias (`alias_*`) and by the version's own ARN (`own_*`).
    async fn version_queries(&self, function: &str, version: &str, from_ms: u64, to_ms: u64) -> Result<Answers> {
        let period_s = PERIOD_S as i32;
        let dim = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
        let sets = [
            (
                "alias",
                vec![
                    dim("FunctionName", function),
                    dim("Resource", &format!("{function}:{ALIAS}")),
                    dim("ExecutedVersion", version),
                ],
            ),
            ("own", vec![dim("FunctionName", function), dim("Resource", &format!("{function}:{version}"))]),
        ];
        let mut queries = Vec::new();
        for (set, dims) in &sets {
            for (metric, stat) in [("Invocations", "Sum"), ("Errors", "Sum"), ("Duration", "p50"), ("Duration", "p99")]
            {
                let id = format!("{set}_{}_{}", metric.to_lowercase(), stat.to_lowercase());
                let metric = Metric::builder()
                    .namespace("AWS/Lambda")
                    .metric_name(metric)
                    .set_dimensions(Some(dims.clone()))
                    .build();
                queries.push(
                    MetricDataQuery::builder()
                        .id(id)
                        .metric_stat(MetricStat::builder().metric(metric).period(period_s).stat(stat).build())
                        .return_data(true)
                        .build(),
                );
            }
        }
        let start = aws_smithy_types::DateTime::from_millis(i64::try_from(from_ms).unwrap_or(0));
        // A datapoint is stamped at its period's start: reach one period past `to`.
        let end =
            aws_smithy_types::DateTime::from_millis(i64::try_from(to_ms).unwrap_or(0) + i64::from(period_s) * 1000);
        let mut answers = Answers::new();
        let mut next = None;
        loop {
            let page = send!(
                self.ctx,
                format!("GetMetricData AWS/Lambda {function}:{version}"),
                self.cloudwatch
                    .get_metric_data()
                    .set_metric_data_queries(Some(queries.clone()))
                    .start_time(start)
                    .end_time(end)
                    .set_next_token(next)
            )
            .map_err(super::failure::Failed::into_error)?;
            for r in page.metric_data_results() {
                let stamps = r.timestamps().iter().map(|t| t.to_millis().ok().and_then(|t| u64::try_from(t).ok()));
                answers
                    .entry(r.id().unwrap_or_default().to_owned())
                    .or_default()
                    .extend(stamps.zip(r.values()).filter_map(|(t, v)| Some((t?, *v))));
            }
            next = page.next_token().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        Ok(answers)
    }
}

/// The figures of the datapoints `keep` selects: sums of both sets' counts, and the
/// percentiles of the set that served more (percentiles do not add).
fn figures(answers: &Answers, keep: impl Fn(u64) -> bool) -> VersionStats {
    let values = |id: &str| answers.get(id).into_iter().flatten().filter(|(t, _)| keep(*t)).map(|(_, v)| *v);
    // f64's Sum starts from -0.0: adding 0.0 reads an empty sum as 0, not "-0".
    let sum = |id: &str| values(id).sum::<f64>() + 0.0;
    let max = |id: &str| values(id).reduce(f64::max);
    let (alias, own) = (sum("alias_invocations_sum"), sum("own_invocations_sum"));
    let set = if own > alias { "own" } else { "alias" };
    VersionStats {
        invocations: alias + own,
        errors: sum("alias_errors_sum") + sum("own_errors_sum"),
        p50_ms: max(&format!("{set}_duration_p50")),
        p99_ms: max(&format!("{set}_duration_p99")),
    }
}

impl Metrics for SdkCloud {
    async fn version_window(&self, function: &str, version: &str, from_ms: u64, to_ms: u64) -> Result<VersionWindow> {
        let answers = self.version_queries(function, version, from_ms, to_ms).await?;
        let stamps: BTreeSet<u64> = answers.values().flatten().map(|(t, _)| *t).collect();
        let minutes = stamps
            .into_iter()
            .map(|at_ms| {
                let f = figures(&answers, |t| t == at_ms);
                SeriesPoint { at_ms, invocations: f.invocations, errors: f.errors, p99_ms: f.p99_ms }
            })
            .filter(|p| p.invocations > 0.0)
            .collect();
        Ok(VersionWindow { total: figures(&answers, |_| true), minutes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_add_both_sets_counts_and_take_the_larger_sets_percentiles() {
        let answers: Answers = [
            ("alias_invocations_sum", vec![(0, 10.0), (60_000, 4.0)]),
            ("own_invocations_sum", vec![(0, 2.0)]),
            ("alias_errors_sum", vec![(60_000, 1.0)]),
            ("alias_duration_p99", vec![(0, 80.0), (60_000, 120.0)]),
            ("own_duration_p99", vec![(0, 900.0)]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let all = figures(&answers, |_| true);
        assert_eq!((all.invocations, all.errors, all.p99_ms), (16.0, 1.0, Some(120.0)));
        let first = figures(&answers, |t| t == 0);
        assert_eq!((first.invocations, first.errors, first.p99_ms), (12.0, 0.0, Some(80.0)));
        let none = figures(&Answers::new(), |_| true);
        assert_eq!((none.invocations.to_string(), none.p99_ms), ("0".to_owned(), None));
    }
}
