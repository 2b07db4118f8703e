//! [`Alarms`] and [`Metrics`] over the CloudWatch SDK client.

use std::collections::BTreeMap;

use super::{Alarms, AwsError, ErrorQuery, Metrics};

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
    async fn error_sum(&self, query: &ErrorQuery) -> Result<f64, AwsError> {
        use aws_sdk_cloudwatch::types::{Dimension, Statistic};
        let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
        let out = self
            .client
            .get_metric_statistics()
            .namespace("AWS/Lambda")
            .metric_name("Errors")
            .dimensions(dimension("FunctionName", &query.function_name))
            .dimensions(dimension("Resource", &query.resource))
            .dimensions(dimension("ExecutedVersion", &query.executed_version))
            .start_time(query.start.into())
            .end_time(query.end.into())
            .period(query.period_seconds)
            .statistics(Statistic::Sum)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    format!("reading the Errors of {} version {}", query.resource, query.executed_version),
                    &e,
                )
            })?;
        Ok(out.datapoints().iter().filter_map(|d| d.sum()).sum())
    }
}
