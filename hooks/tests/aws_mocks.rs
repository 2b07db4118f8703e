//! The SDK adapters and the whole hook against aws-smithy-mocks: GetDeployment and its
//! AppSpec, the answer given to PutLifecycleEventHookExecutionStatus (Failed on any
//! error), and the requests post-traffic sends.

// Helpers and fakes outside #[test] functions may unwrap too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::operation::get_metric_statistics::GetMetricStatisticsOutput;
use aws_sdk_cloudwatch::types::{AlarmType, Datapoint, MetricAlarm, StateValue, Statistic};
use aws_sdk_codedeploy::operation::get_deployment::{GetDeploymentError, GetDeploymentOutput};
use aws_sdk_codedeploy::operation::put_lifecycle_event_hook_execution_status::{
    PutLifecycleEventHookExecutionStatusError, PutLifecycleEventHookExecutionStatusOutput,
};
use aws_sdk_codedeploy::types::error::{DeploymentDoesNotExistException, LifecycleEventAlreadyCompletedException};
use aws_sdk_codedeploy::types::{AppSpecContent, DeploymentInfo, LifecycleEventStatus, RevisionLocation};
use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::types::{AliasRoutingConfiguration, InvocationType};
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use aws_sdk_sfn::types::error::ExecutionAlreadyExists;
use aws_sdk_sfn::types::ExecutionStatus;
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_types::{Blob, DateTime};
use hooks::aws::{
    CloudWatchAlarms, CloudWatchMetrics, CodeDeployDeployments, Deployments, Executions, LambdaAliases, LambdaVersions,
    Reported, StepFunctionsExecutions, TargetError,
};
use hooks::checks::Services;
use hooks::config::Config;
use hooks::runtime::{run_hook, HookEvent, Outcome};
use hooks::Hook;

const DEPLOYMENT: &str = "d-ABCDEFGHI";
const SMOKE_ARN: &str = "arn:aws:states:us-east-1:111111111111:stateMachine:etl-dev";

/// A real SDK client of `$krate` whose requests the given rules answer.
macro_rules! client {
    ($krate:ident, [$($rule:expr),* $(,)?]) => {{
        #[allow(unused_mut)]
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        $(interceptor = interceptor.with_rule($rule);)*
        let config = $krate::Config::builder()
            .behavior_version($krate::config::BehaviorVersion::latest())
            .region($krate::config::Region::new("us-east-1"))
            .credentials_provider($krate::config::Credentials::new("111111111111", "secret", None, None, "test"))
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .build();
        $krate::Client::from_conf(config)
    }};
}

const APPSPEC_JSON: &str = r#"{"version": 0.0, "Resources": [{"extract": {"Type": "AWS::Lambda::Function",
  "Properties": {"Name": "etl-dev-extract", "Alias": "live", "CurrentVersion": "3", "TargetVersion": "4"}}}],
  "Hooks": [{"BeforeAllowTraffic": "etl-dev-pre-traffic"}, {"AfterAllowTraffic": "etl-dev-post-traffic"}]}"#;

const APPSPEC_YAML: &str = "version: 0.0\nResources:\n  - extract:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: etl-dev-extract\n        Alias: live\n        CurrentVersion: '3'\n        TargetVersion: '4'\n";

fn get_deployment(appspec: &'static str) -> Rule {
    mock!(aws_sdk_codedeploy::Client::get_deployment)
        .match_requests(|r| r.deployment_id() == Some(DEPLOYMENT))
        .then_output(move || {
            GetDeploymentOutput::builder()
                .deployment_info(
                    DeploymentInfo::builder()
                        .deployment_id(DEPLOYMENT)
                        .revision(
                            RevisionLocation::builder()
                                .revision_type(aws_sdk_codedeploy::types::RevisionLocationType::AppSpecContent)
                                .app_spec_content(AppSpecContent::builder().content(appspec).build())
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
}

fn put_status(status: LifecycleEventStatus) -> Rule {
    mock!(aws_sdk_codedeploy::Client::put_lifecycle_event_hook_execution_status)
        .match_requests(move |r| {
            r.deployment_id() == Some(DEPLOYMENT)
                && r.lifecycle_event_hook_execution_id() == Some("hook-exec-1")
                && r.status() == Some(&status)
        })
        .then_output(|| {
            PutLifecycleEventHookExecutionStatusOutput::builder()
                .lifecycle_event_hook_execution_id("hook-exec-1")
                .build()
        })
}

fn config(hook: Hook, checks: serde_json::Value, smoke: bool) -> Config {
    let checks = checks.to_string();
    Config::from_lookup(hook, move |name| match name {
        "HOOK_CHECKS" => Some(checks.clone()),
        "SMOKE_STATE_MACHINE_ARN" if smoke => Some(SMOKE_ARN.to_owned()),
        "SMOKE_INPUT" => Some(r#"{"dry_run": true}"#.to_owned()),
        _ => None,
    })
    .unwrap()
}

fn extract_checks() -> serde_json::Value {
    serde_json::json!({"etl-dev-extract": {
        "events": [{"run_date": "2026-11-22"}, "{\"run_date\": \"2026-11-23\"}"],
        "max_duration_ms": 5000, "alarm_names": ["etl-dev-extract-errors"], "max_errors": 1,
        "error_window_seconds": 120}})
}

struct Clients {
    codedeploy: aws_sdk_codedeploy::Client,
    lambda: aws_sdk_lambda::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    sfn: aws_sdk_sfn::Client,
}

impl Clients {
    async fn run(self, hook: Hook, config: &Config) -> Outcome {
        let deployments = CodeDeployDeployments::new(self.codedeploy);
        let versions = LambdaVersions::new(self.lambda.clone());
        let aliases = LambdaAliases::new(self.lambda);
        let alarms = CloudWatchAlarms::new(self.cloudwatch.clone());
        let metrics = CloudWatchMetrics::new(self.cloudwatch);
        let executions = StepFunctionsExecutions::new(self.sfn);
        let services = Services {
            deployments: &deployments,
            versions: &versions,
            aliases: &aliases,
            alarms: &alarms,
            metrics: &metrics,
            executions: &executions,
        };
        let event = HookEvent { deployment_id: DEPLOYMENT.into(), hook_execution_id: "hook-exec-1".into() };
        run_hook(hook, &event, Ok(config), &services, Duration::from_secs(60)).await.unwrap()
    }
}

#[tokio::test]
async fn get_deployment_yields_the_appspec_target_json_or_yaml() {
    for appspec in [APPSPEC_JSON, APPSPEC_YAML] {
        let rule = get_deployment(appspec);
        let deployments = CodeDeployDeployments::new(client!(aws_sdk_codedeploy, [&rule]));
        let target = deployments.target(DEPLOYMENT).await.unwrap();
        assert_eq!(
            (target.function_name.as_str(), target.alias.as_str(), target.current_version.as_str()),
            ("etl-dev-extract", "live", "3")
        );
        assert_eq!(target.target_version, "4");
        assert_eq!(rule.num_calls(), 1);
    }
}

#[tokio::test]
async fn a_malformed_appspec_is_reported_failed() {
    let read = get_deployment("version: 0.0\nResources: {not: [a list}\n");
    let failed = put_status(LifecycleEventStatus::Failed);
    let clients = Clients {
        codedeploy: client!(aws_sdk_codedeploy, [&read, &failed]),
        lambda: client!(aws_sdk_lambda, []),
        cloudwatch: client!(aws_sdk_cloudwatch, []),
        sfn: client!(aws_sdk_sfn, []),
    };
    let outcome = clients.run(Hook::PreTraffic, &config(Hook::PreTraffic, extract_checks(), false)).await;
    assert_eq!(outcome.status, "Failed");
    assert!(outcome.reason.contains("deployment d-ABCDEFGHI: the AppSpec"), "{}", outcome.reason);
    assert_eq!((read.num_calls(), failed.num_calls()), (1, 1));
}

#[tokio::test]
async fn an_unreadable_deployment_is_reported_failed() {
    let missing = mock!(aws_sdk_codedeploy::Client::get_deployment).then_error(|| {
        let meta = aws_smithy_types::error::ErrorMetadata::builder()
            .code("DeploymentDoesNotExistException")
            .message("no deployment d-ABCDEFGHI")
            .build();
        GetDeploymentError::DeploymentDoesNotExistException(
            DeploymentDoesNotExistException::builder().message("no deployment d-ABCDEFGHI").meta(meta).build(),
        )
    });
    let deployments = CodeDeployDeployments::new(client!(aws_sdk_codedeploy, [&missing]));
    let err = deployments.target(DEPLOYMENT).await.unwrap_err();
    assert!(matches!(err, TargetError::Aws(_)));
    let expected = "reading deployment d-ABCDEFGHI: DeploymentDoesNotExistException: no deployment d-ABCDEFGHI";
    assert!(err.to_string().contains(expected), "{err}");

    let failed = put_status(LifecycleEventStatus::Failed);
    let clients = Clients {
        codedeploy: client!(aws_sdk_codedeploy, [&missing, &failed]),
        lambda: client!(aws_sdk_lambda, []),
        cloudwatch: client!(aws_sdk_cloudwatch, []),
        sfn: client!(aws_sdk_sfn, []),
    };
    let outcome = clients.run(Hook::PostTraffic, &config(Hook::PostTraffic, extract_checks(), true)).await;
    assert_eq!(outcome.status, "Failed");
    assert!(outcome.reason.contains(expected), "{}", outcome.reason);
    assert_eq!(failed.num_calls(), 1);
}

#[tokio::test]
async fn pre_traffic_invokes_the_target_version_and_reports_a_function_error_as_failed() {
    let read = get_deployment(APPSPEC_YAML);
    let ok = mock!(aws_sdk_lambda::Client::invoke)
        .match_requests(|r| {
            r.function_name() == Some("etl-dev-extract")
                && r.qualifier() == Some("4")
                && r.invocation_type() == Some(&InvocationType::RequestResponse)
                && r.payload().is_some_and(|p| p.as_ref() == br#"{"run_date":"2026-11-22"}"#)
        })
        .then_output(|| {
            InvokeOutput::builder().status_code(200).payload(Blob::new("{}")).executed_version("4").build()
        });
    let broken = mock!(aws_sdk_lambda::Client::invoke)
        .match_requests(|r| {
            r.qualifier() == Some("4") && r.payload().is_some_and(|p| p.as_ref() == br#"{"run_date":"2026-11-23"}"#)
        })
        .then_output(|| {
            InvokeOutput::builder()
                .status_code(200)
                .function_error("Unhandled")
                .payload(Blob::new(r#"{"errorType":"NonRetryable","errorMessage":"bucket raw is missing"}"#))
                .build()
        });
    let failed = put_status(LifecycleEventStatus::Failed);
    let clients = Clients {
        codedeploy: client!(aws_sdk_codedeploy, [&read, &failed]),
        lambda: client!(aws_sdk_lambda, [&ok, &broken]),
        cloudwatch: client!(aws_sdk_cloudwatch, []),
        sfn: client!(aws_sdk_sfn, []),
    };
    let outcome = clients.run(Hook::PreTraffic, &config(Hook::PreTraffic, extract_checks(), false)).await;
    assert_eq!(outcome.status, "Failed");
    assert!(outcome.reason.contains("NonRetryable: bucket raw is missing"), "{}", outcome.reason);
    assert_eq!((ok.num_calls(), broken.num_calls(), failed.num_calls()), (1, 1, 1));
}

#[tokio::test]
async fn pre_traffic_reports_succeeded_when_every_event_passes() {
    let read = get_deployment(APPSPEC_JSON);
    let ok = mock!(aws_sdk_lambda::Client::invoke)
        .match_requests(|r| r.qualifier() == Some("4"))
        .then_output(|| InvokeOutput::builder().status_code(200).payload(Blob::new("{}")).build());
    let succeeded = put_status(LifecycleEventStatus::Succeeded);
    let clients = Clients {
        codedeploy: client!(aws_sdk_codedeploy, [&read, &succeeded]),
        lambda: client!(aws_sdk_lambda, [&ok]),
        cloudwatch: client!(aws_sdk_cloudwatch, []),
        sfn: client!(aws_sdk_sfn, []),
    };
    let outcome = clients.run(Hook::PreTraffic, &config(Hook::PreTraffic, extract_checks(), false)).await;
    assert_eq!(outcome.status, "Succeeded", "{outcome:?}");
    assert_eq!((ok.num_calls(), succeeded.num_calls()), (2, 1));
}

#[tokio::test]
async fn post_traffic_sends_the_expected_requests_and_reports_succeeded() {
    let read = get_deployment(APPSPEC_JSON);
    let succeeded = put_status(LifecycleEventStatus::Succeeded);
    let alias = mock!(aws_sdk_lambda::Client::get_alias)
        .match_requests(|r| r.function_name() == Some("etl-dev-extract") && r.name() == Some("live"))
        .then_output(|| {
            GetAliasOutput::builder()
                .name("live")
                .function_version("4")
                .routing_config(AliasRoutingConfiguration::builder().build())
                .build()
        });
    let alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .match_requests(|r| {
            r.alarm_names() == ["etl-dev-extract-errors".to_owned()]
                && r.alarm_types().contains(&AlarmType::CompositeAlarm)
        })
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    MetricAlarm::builder().alarm_name("etl-dev-extract-errors").state_value(StateValue::Ok).build(),
                )
                .build()
        });
    let errors = mock!(aws_sdk_cloudwatch::Client::get_metric_statistics)
        .match_requests(|r| {
            let dims: Vec<(&str, &str)> =
                r.dimensions().iter().map(|d| (d.name().unwrap_or(""), d.value().unwrap_or(""))).collect();
            let window = match (r.start_time(), r.end_time()) {
                (Some(start), Some(end)) => end.secs() - start.secs(),
                _ => -1,
            };
            r.namespace() == Some("AWS/Lambda")
                && r.metric_name() == Some("Errors")
                && r.statistics() == [Statistic::Sum]
                && r.period() == Some(120)
                && window == 120
                && dims
                    == [
                        ("FunctionName", "etl-dev-extract"),
                        ("Resource", "etl-dev-extract:live"),
                        ("ExecutedVersion", "4"),
                    ]
        })
        .then_output(|| {
            GetMetricStatisticsOutput::builder()
                .datapoints(Datapoint::builder().sum(1.0).timestamp(DateTime::from_secs(0)).build())
                .build()
        });
    let start = mock!(aws_sdk_sfn::Client::start_execution)
        .match_requests(|r| {
            r.state_machine_arn() == Some(SMOKE_ARN)
                && r.name() == Some("hook-smoke-d-ABCDEFGHI")
                && r.input() == Some(r#"{"dry_run": true}"#)
        })
        .then_error(|| {
            // A retried hook finds the execution it started before.
            StartExecutionError::ExecutionAlreadyExists(ExecutionAlreadyExists::builder().message("exists").build())
        });
    let describe = mock!(aws_sdk_sfn::Client::describe_execution)
        .match_requests(|r| {
            r.execution_arn() == Some("arn:aws:states:us-east-1:111111111111:execution:etl-dev:hook-smoke-d-ABCDEFGHI")
        })
        .then_output(|| {
            DescribeExecutionOutput::builder()
                .execution_arn("arn:aws:states:us-east-1:111111111111:execution:etl-dev:hook-smoke-d-ABCDEFGHI")
                .state_machine_arn(SMOKE_ARN)
                .status(ExecutionStatus::Succeeded)
                .start_date(DateTime::from_secs(0))
                .build()
                .unwrap()
        });
    let clients = Clients {
        codedeploy: client!(aws_sdk_codedeploy, [&read, &succeeded]),
        lambda: client!(aws_sdk_lambda, [&alias]),
        cloudwatch: client!(aws_sdk_cloudwatch, [&alarms, &errors]),
        sfn: client!(aws_sdk_sfn, [&start, &describe]),
    };
    let outcome = clients.run(Hook::PostTraffic, &config(Hook::PostTraffic, extract_checks(), true)).await;
    assert_eq!(outcome.status, "Succeeded", "{outcome:?}");
    assert_eq!(
        [alias.num_calls(), alarms.num_calls(), errors.num_calls(), start.num_calls(), describe.num_calls()],
        [1, 1, 1, 1, 1]
    );
    assert_eq!(succeeded.num_calls(), 1);
}

#[tokio::test]
async fn post_traffic_reports_failed_when_the_alias_is_split_and_an_alarm_is_missing() {
    let read = get_deployment(APPSPEC_JSON);
    let failed = put_status(LifecycleEventStatus::Failed);
    let alias = mock!(aws_sdk_lambda::Client::get_alias).then_output(|| {
        GetAliasOutput::builder()
            .function_version("4")
            .routing_config(AliasRoutingConfiguration::builder().additional_version_weights("3", 0.9).build())
            .build()
    });
    let alarms =
        mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| DescribeAlarmsOutput::builder().build());
    let errors = mock!(aws_sdk_cloudwatch::Client::get_metric_statistics)
        .then_output(|| GetMetricStatisticsOutput::builder().build());
    let clients = Clients {
        codedeploy: client!(aws_sdk_codedeploy, [&read, &failed]),
        lambda: client!(aws_sdk_lambda, [&alias]),
        cloudwatch: client!(aws_sdk_cloudwatch, [&alarms, &errors]),
        sfn: client!(aws_sdk_sfn, []),
    };
    let outcome = clients.run(Hook::PostTraffic, &config(Hook::PostTraffic, extract_checks(), true)).await;
    assert_eq!(outcome.status, "Failed");
    for needle in ["still routes 90.0% to version 3", "alarm etl-dev-extract-errors does not exist"] {
        assert!(outcome.reason.contains(needle), "{needle}: {}", outcome.reason);
    }
    assert_eq!(failed.num_calls(), 1);
}

#[tokio::test]
async fn an_already_answered_hook_execution_is_not_an_error() {
    let done = mock!(aws_sdk_codedeploy::Client::put_lifecycle_event_hook_execution_status).then_error(|| {
        PutLifecycleEventHookExecutionStatusError::LifecycleEventAlreadyCompletedException(
            LifecycleEventAlreadyCompletedException::builder().message("already Succeeded").build(),
        )
    });
    let deployments = CodeDeployDeployments::new(client!(aws_sdk_codedeploy, [&done]));
    let reported = deployments.report(DEPLOYMENT, "hook-exec-1", hooks::HookStatus::Failed).await.unwrap();
    assert_eq!(reported, Reported::AlreadyCompleted);
}

#[tokio::test]
async fn a_smoke_execution_is_started_with_a_name_per_deployment() {
    let start = mock!(aws_sdk_sfn::Client::start_execution).then_output(|| {
        aws_sdk_sfn::operation::start_execution::StartExecutionOutput::builder()
            .execution_arn("arn:aws:states:us-east-1:111111111111:execution:etl-dev:hook-smoke-d-ABCDEFGHI")
            .start_date(DateTime::from_secs(0))
            .build()
            .unwrap()
    });
    let executions = StepFunctionsExecutions::new(client!(aws_sdk_sfn, [&start]));
    let arn = executions.start(SMOKE_ARN, "hook-smoke-d-ABCDEFGHI", "{}").await.unwrap();
    assert!(arn.ends_with(":execution:etl-dev:hook-smoke-d-ABCDEFGHI"), "{arn}");
}
