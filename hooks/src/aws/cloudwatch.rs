//! [`Alarms`] and [`Metrics`] over the CloudWatch SDK client.

use std::collections::BTreeMap;

use super::{Alarms, AwsError, Metrics, VersionMetricQuery};

/// DescribeAlarms takes at most 100 names per call.
const ALARM_NAMES_PER_CALL: usize = 100;

/// [`Alarms`] over the CloudWatch SDK client (metric and composite alarms).
#[derive(Debug, Clone)]
pub struct CloudWatchAlarms {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchAlarms {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

impl Alarms for CloudWatchAlarms {
    async fn states(&self, names: &[String]) -> Result<BTreeMap<String, String>, AwsError> {
        use aws_sdk_cloudwatch::types::AlarmType;
        let mut states = BTreeMap::new();
        // No names would ask for every alarm in the account: ask nothing.
        for chunk in names.chunks(ALARM_NAMES_PER_CALL) {
            let mut pages = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .max_records(100)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| AwsError::from_sdk(format!("describing alarms {chunk:?}"), &e))?;
                let metric = page.metric_alarms().iter().map(|a| (a.alarm_name(), a.state_value()));
                let composite = page.composite_alarms().iter().map(|a| (a.alarm_name(), a.state_value()));
                for (name, state) in metric.chain(composite) {
                    if let Some(name) = name {
                        states.insert(name.to_owned(), state.map_or("UNKNOWN", |s| s.as_str()).to_owned());
                    }
                }
            }
        }
        Ok(states)
    }
}

/// [`Metrics`] over the CloudWatch SDK client.
#[derive(Debug, Clone)]
pub struct CloudWatchMetrics {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchMetrics {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

impl Metrics for CloudWatchMetrics {
    async fn version_sum(&self, query: &VersionMetricQuery) -> Result<f64, AwsError> {
        use aws_sdk_cloudwatch::types::{Dimension, Statistic};
        let mut total = 0.0;
        for dimensions in query.dimension_sets() {
            let out = self
                .client
                .get_metric_statistics()
                .namespace("AWS/Lambda")
                .metric_name(query.metric.name())
                .set_dimensions(Some(
                    dimensions
                        .iter()
                        .map(|(name, value)| Dimension::builder().name(*name).value(value).build())
                        .collect(),
                ))
                .start_time(query.start.into())
                .end_time(query.end.into())
                .period(query.period_seconds)
                .statistics(Statistic::Sum)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(
                        format!(
                            "reading the {} of {} version {} ({})",
                            query.metric.name(),
                            query.function_name,
                            query.version,
                            dimensions.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join(", ")
                        ),
                        &e,
                    )
                })?;
            total += out.datapoints().iter().filter_map(|d| d.sum()).sum::<f64>();
        }
        Ok(total)
    }
}
