//! CloudWatch on the local cloud through the real SDK: per-version Lambda metrics
//! for invokes through an alias, read with GetMetricStatistics, GetMetricData and
//! ListMetrics; alarms evaluated by CloudWatch's rules; SNS notifications on
//! transitions delivered to an SQS queue.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{ensure, Context, Result};
use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, DimensionFilter, Metric, MetricDataQuery, MetricDatum, MetricStat, StateValue,
    Statistic,
};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::AliasRoutingConfiguration;
use e2e::{account_config, DEV};
use localcloud::testing::LocalCloud;

const DOUBLE: &str = env!("CARGO_BIN_EXE_fixture-double");
const FAIL: &str = env!("CARGO_BIN_EXE_fixture-fail");

fn dim(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

fn now() -> DateTime {
    DateTime::from(SystemTime::now())
}

fn secs_ago(s: u64) -> DateTime {
    DateTime::from(SystemTime::now() - Duration::from_secs(s))
}

async fn state(cw: &aws_sdk_cloudwatch::Client, name: &str) -> Result<String> {
    let out = cw.describe_alarms().alarm_names(name).send().await?;
    let alarm = out.metric_alarms().first().with_context(|| format!("alarm {name} exists"))?;
    Ok(alarm.state_value().map(|s| s.as_str().to_owned()).unwrap_or_default())
}

async fn wait_state(cw: &aws_sdk_cloudwatch::Client, name: &str, want: &str, limit: Duration) -> Result<Duration> {
    let started = Instant::now();
    loop {
        let current = state(cw, name).await?;
        if current == want {
            return Ok(started.elapsed());
        }
        ensure!(started.elapsed() < limit, "alarm {name} is {current}, not {want}, after {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sum_of(cw: &aws_sdk_cloudwatch::Client, metric: &str, dims: &[Dimension]) -> Result<f64> {
    let out = cw
        .get_metric_statistics()
        .namespace("AWS/Lambda")
        .metric_name(metric)
        .set_dimensions(Some(dims.to_vec()))
        .start_time(secs_ago(600))
        .end_time(DateTime::from(SystemTime::now() + Duration::from_secs(5)))
        .period(60)
        .statistics(Statistic::Sum)
        .send()
        .await?;
    Ok(out.datapoints().iter().filter_map(|d| d.sum()).sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_version_metrics_fire_an_alarm_that_notifies_sns() -> Result<()> {
    let cloud = LocalCloud::start_scaled("cw-versions", 60.0)?;
    let config = account_config(&cloud.endpoint(), DEV).await;
    let (lambda, cw) = (aws_sdk_lambda::Client::new(&config), aws_sdk_cloudwatch::Client::new(&config));
    let (sns, sqs) = (aws_sdk_sns::Client::new(&config), aws_sdk_sqs::Client::new(&config));
    e2e::lambda::two_versions(&lambda, "calc", DOUBLE, FAIL).await?;

    let topic = sns.create_topic().name("alarms").send().await?.topic_arn().context("topic arn")?.to_owned();
    let inbox = e2e::inbox::Inbox::subscribe(&sns, &sqs, &topic, "alarm-inbox").await?;

    let v2 = [dim("FunctionName", "calc"), dim("Resource", "calc:live"), dim("ExecutedVersion", "2")];
    cw.put_metric_alarm()
        .alarm_name("calc-v2-errors")
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .set_dimensions(Some(v2.to_vec()))
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .treat_missing_data("notBreaching")
        .alarm_actions(&topic)
        .send()
        .await?;
    wait_state(&cw, "calc-v2-errors", "OK", Duration::from_secs(3)).await?;

    let weights = HashMap::from([("2".to_owned(), 0.5)]);
    lambda
        .update_alias()
        .function_name("calc")
        .name("live")
        .function_version("1")
        .routing_config(AliasRoutingConfiguration::builder().set_additional_version_weights(Some(weights)).build())
        .send()
        .await?;
    let mut ran: HashMap<String, f64> = HashMap::new();
    for _ in 0..30 {
        let out = lambda
            .invoke()
            .function_name("calc")
            .qualifier("live")
            .payload(Blob::new(br#"{"n": 2}"#.to_vec()))
            .send()
            .await?;
        let version = out.executed_version().unwrap_or_default().to_owned();
        assert_eq!(out.function_error().is_some(), version == "2", "only the bad version fails");
        *ran.entry(version).or_default() += 1.0;
    }
    let (v1_runs, v2_runs) = (ran.get("1").copied().unwrap_or_default(), ran.get("2").copied().unwrap_or_default());
    assert!(v1_runs > 0.0 && v2_runs > 0.0, "both versions ran: {ran:?}");

    wait_state(&cw, "calc-v2-errors", "ALARM", Duration::from_secs(3)).await?;
    let alarm = cw.describe_alarms().alarm_names("calc-v2-errors").send().await?;
    let reason = alarm.metric_alarms()[0].state_reason().unwrap_or_default().to_owned();
    assert!(reason.contains("Threshold Crossed"), "{reason}");

    // Per-version metrics, as Lambda publishes them.
    let v1 = [dim("FunctionName", "calc"), dim("Resource", "calc:live"), dim("ExecutedVersion", "1")];
    assert_eq!(sum_of(&cw, "Invocations", &v1).await?, v1_runs);
    assert_eq!(sum_of(&cw, "Invocations", &v2).await?, v2_runs);
    assert_eq!(sum_of(&cw, "Errors", &v2).await?, v2_runs);
    assert_eq!(sum_of(&cw, "Errors", &v1).await?, 0.0);
    assert_eq!(sum_of(&cw, "Invocations", &[dim("FunctionName", "calc")]).await?, 30.0);

    let data = cw
        .get_metric_data()
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("errors")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/Lambda")
                                .metric_name("Errors")
                                .dimensions(dim("FunctionName", "calc"))
                                .dimensions(dim("Resource", "calc:live"))
                                .build(),
                        )
                        .period(60)
                        .stat("Sum")
                        .build(),
                )
                .build(),
        )
        .start_time(secs_ago(600))
        .end_time(DateTime::from(SystemTime::now() + Duration::from_secs(5)))
        .send()
        .await?;
    let values: f64 = data.metric_data_results()[0].values().iter().sum();
    assert_eq!(values, v2_runs, "GetMetricData agrees");

    let p99 = cw
        .get_metric_statistics()
        .namespace("AWS/Lambda")
        .metric_name("Duration")
        .dimensions(dim("FunctionName", "calc"))
        .start_time(secs_ago(600))
        .end_time(now())
        .period(3600)
        .extended_statistics("p99")
        .send()
        .await?;
    let p99 = p99
        .datapoints()
        .first()
        .and_then(|d| d.extended_statistics())
        .and_then(|e| e.get("p99"))
        .copied()
        .context("p99 Duration")?;
    assert!(p99 > 0.0, "p99 Duration {p99}");

    let listed = cw
        .list_metrics()
        .namespace("AWS/Lambda")
        .metric_name("Invocations")
        .dimensions(DimensionFilter::builder().name("FunctionName").value("calc").build())
        .send()
        .await?;
    let mut sets: Vec<Vec<String>> = listed
        .metrics()
        .iter()
        .map(|m| {
            m.dimensions()
                .iter()
                .map(|d| format!("{}={}", d.name().unwrap_or_default(), d.value().unwrap_or_default()))
                .collect()
        })
        .collect();
    sets.sort();
    assert_eq!(
        sets,
        [
            vec!["ExecutedVersion=1", "FunctionName=calc", "Resource=calc:live"],
            vec!["ExecutedVersion=2", "FunctionName=calc", "Resource=calc:live"],
            vec!["FunctionName=calc"],
            vec!["FunctionName=calc", "Resource=calc:live"],
        ]
    );

    // The ALARM transition reached the queue through SNS.
    let notification = inbox.wait_for(Duration::from_secs(10), |m| m["NewStateValue"] == "ALARM").await?;
    assert_eq!(notification["AlarmName"], "calc-v2-errors");
    assert_eq!(notification["Trigger"]["MetricName"], "Errors");

    // No more errors: with notBreaching, the alarm returns to OK once the period passes.
    wait_state(&cw, "calc-v2-errors", "OK", Duration::from_secs(5)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarms_follow_cloudwatch_evaluation_rules() -> Result<()> {
    let cloud = LocalCloud::start_scaled("cw-rules", 60.0)?;
    let cw = aws_sdk_cloudwatch::Client::new(&account_config(&cloud.endpoint(), DEV).await);
    let alarm = |name: &str, metric: &str, op: ComparisonOperator, threshold: f64, periods: i32, missing: &str| {
        cw.put_metric_alarm()
            .alarm_name(name)
            .namespace("ETL")
            .metric_name(metric)
            .period(60)
            .evaluation_periods(periods)
            .threshold(threshold)
            .comparison_operator(op)
            .treat_missing_data(missing)
    };
    alarm("two-of-three", "Lag", ComparisonOperator::GreaterThanThreshold, 5.0, 3, "missing")
        .datapoints_to_alarm(2)
        .statistic(Statistic::Average)
        .send()
        .await?;
    alarm("missing-breaches", "Nothing", ComparisonOperator::GreaterThanOrEqualToThreshold, 1.0, 1, "breaching")
        .statistic(Statistic::Sum)
        .send()
        .await?;
    alarm("missing-ignored", "Nothing", ComparisonOperator::GreaterThanOrEqualToThreshold, 1.0, 1, "ignore")
        .statistic(Statistic::Sum)
        .send()
        .await?;
    alarm("p99-latency", "Latency", ComparisonOperator::GreaterThanThreshold, 98.0, 1, "missing")
        .extended_statistic("p99")
        .send()
        .await?;
    alarm("avg-latency", "Latency", ComparisonOperator::GreaterThanThreshold, 98.0, 1, "missing")
        .statistic(Statistic::Average)
        .send()
        .await?;

    assert_eq!(state(&cw, "two-of-three").await?, "INSUFFICIENT_DATA");
    wait_state(&cw, "missing-breaches", "ALARM", Duration::from_secs(2)).await?;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(state(&cw, "missing-ignored").await?, "INSUFFICIENT_DATA", "ignore keeps the state");

    let put = |metric: &str, values: Vec<f64>| {
        cw.put_metric_data()
            .namespace("ETL")
            .metric_data(MetricDatum::builder().metric_name(metric).set_values(Some(values)).build())
            .send()
    };
    // One breaching period of three: below DatapointsToAlarm, so OK.
    put("Lag", vec![10.0]).await?;
    wait_state(&cw, "two-of-three", "OK", Duration::from_secs(2)).await?;
    // A second breaching period (periods are 1 s at scale 60): 2 of 3, ALARM.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    put("Lag", vec![10.0]).await?;
    wait_state(&cw, "two-of-three", "ALARM", Duration::from_secs(2)).await?;
    // Nothing for three periods: missing data, INSUFFICIENT_DATA.
    wait_state(&cw, "two-of-three", "INSUFFICIENT_DATA", Duration::from_secs(5)).await?;

    // p99 of 1..=100 is 99 (breaches 98); their average, 50.5, does not.
    put("Latency", (1..=100).map(f64::from).collect()).await?;
    wait_state(&cw, "p99-latency", "ALARM", Duration::from_secs(2)).await?;
    wait_state(&cw, "avg-latency", "OK", Duration::from_secs(2)).await?;

    // SetAlarmState holds until the next evaluation (one period), then the data decides again.
    cw.set_alarm_state().alarm_name("avg-latency").state_value(StateValue::Alarm).state_reason("drill").send().await?;
    put("Latency", (1..=100).map(f64::from).collect()).await?;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(state(&cw, "avg-latency").await?, "ALARM", "held for the period");
    tokio::time::sleep(Duration::from_millis(700)).await;
    put("Latency", (1..=100).map(f64::from).collect()).await?;
    wait_state(&cw, "avg-latency", "OK", Duration::from_secs(2)).await?;

    // Bad input: CloudWatch's error codes.
    let code = |e: aws_sdk_cloudwatch::Error| e.code().unwrap_or_default().to_owned();
    let both = alarm("bad", "X", ComparisonOperator::GreaterThanThreshold, 1.0, 1, "missing")
        .statistic(Statistic::Sum)
        .extended_statistic("p99")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(both.into()), "InvalidParameterCombination");
    let period = cw
        .put_metric_alarm()
        .alarm_name("bad")
        .namespace("ETL")
        .metric_name("X")
        .statistic(Statistic::Sum)
        .period(45)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(period.into()), "InvalidParameterValue");
    let reserved = cw
        .put_metric_data()
        .namespace("AWS/Lambda")
        .metric_data(MetricDatum::builder().metric_name("Errors").value(1.0).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(reserved.into()), "InvalidParameterValue");
    let unknown =
        cw.set_alarm_state().alarm_name("nope").state_value(StateValue::Ok).state_reason("x").send().await.unwrap_err();
    assert_eq!(code(unknown.into()), "ResourceNotFound");
    let missing = cw.delete_alarms().alarm_names("nope").send().await.unwrap_err();
    assert_eq!(code(missing.into()), "ResourceNotFound");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_invokes_count_as_throttles_not_invocations() -> Result<()> {
    let cloud = LocalCloud::start_scaled("cw-throttles", 60.0)?;
    let config = account_config(&cloud.endpoint(), DEV).await;
    // No retries: each throttled attempt counts, and we want exactly one.
    let lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&config)
            .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
            .build(),
    );
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    e2e::lambda::create_function(&lambda, "calc", DOUBLE, &[]).await?;
    lambda.invoke().function_name("calc").payload(Blob::new(br#"{"n": 1}"#.to_vec())).send().await?;
    lambda.put_function_concurrency().function_name("calc").reserved_concurrent_executions(0).send().await?;
    let throttled =
        lambda.invoke().function_name("calc").payload(Blob::new(br#"{"n": 1}"#.to_vec())).send().await.unwrap_err();
    assert!(throttled.into_service_error().is_too_many_requests_exception(), "reserved concurrency 0 throttles");
    let by_name = [dim("FunctionName", "calc")];
    assert_eq!(sum_of(&cw, "Throttles", &by_name).await?, 1.0);
    assert_eq!(sum_of(&cw, "Invocations", &by_name).await?, 1.0, "a throttled invoke is not an invocation");
    Ok(())
}
