//! [`Metrics`] over CloudWatch: a version's invocations, errors and duration, from
//! Lambda's per-version metrics. Lambda counts an invoke through the alias under
//! (FunctionName, Resource=`<fn>:live`, ExecutedVersion) and an invoke of the version's
//! own ARN (the workflow's, which pins versions) under (FunctionName,
//! Resource=`<fn>:<version>`) (AWS Lambda Developer Guide, "Types of metrics for Lambda
//! functions": dimensions); both count here.

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};

use super::failure::send;
use super::SdkCloud;
use crate::cloud::{Metrics, VersionStats};
use crate::error::Result;
use crate::settings::ALIAS;

/// CloudWatch's standard resolution.
const PERIOD_S: i32 = 60;

impl Metrics for SdkCloud {
    async fn version_stats(&self, function: &str, version: &str, from_ms: u64, to_ms: u64) -> Result<VersionStats> {
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
                        .metric_stat(MetricStat::builder().metric(metric).period(PERIOD_S).stat(stat).build())
                        .return_data(true)
                        .build(),
                );
            }
        }
        let start = aws_smithy_types::DateTime::from_millis(i64::try_from(from_ms).unwrap_or(0));
        // A datapoint is stamped at its period's start: reach one period past `to`.
        let end =
            aws_smithy_types::DateTime::from_millis(i64::try_from(to_ms).unwrap_or(0) + i64::from(PERIOD_S) * 1000);
        let mut values: std::collections::BTreeMap<String, Vec<f64>> = std::collections::BTreeMap::new();
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
                values.entry(r.id().unwrap_or_default().to_owned()).or_default().extend(r.values());
            }
            next = page.next_token().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        // f64's Sum starts from -0.0: adding 0.0 reads an empty sum as 0, not "-0".
        let sum = |id: &str| values.get(id).map_or(0.0, |v| v.iter().sum::<f64>() + 0.0);
        let max = |id: &str| values.get(id).and_then(|v| v.iter().copied().reduce(f64::max));
        let (alias, own) = (sum("alias_invocations_sum"), sum("own_invocations_sum"));
        // Percentiles do not add: those of the larger set stand for the version.
        let set = if own > alias { "own" } else { "alias" };
        Ok(VersionStats {
            invocations: alias + own,
            errors: sum("alias_errors_sum") + sum("own_errors_sum"),
            p50_ms: max(&format!("{set}_duration_p50")),
            p99_ms: max(&format!("{set}_duration_p99")),
        })
    }
}
