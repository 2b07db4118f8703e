//! The SDK adapters and the whole hook against aws-smithy-mocks, answering as AWS
//! answers: the deployment's target from ListDeploymentTargets + GetDeploymentTarget (or
//! GetApplicationRevision), never from GetDeployment, whose answer for an inline AppSpec
//! carries only its sha256; the answer given to PutLifecycleEventHookExecutionStatus
//! (Failed on any error), through throttling and a lost reply; and the requests
//! post-traffic sends.

// Helpers and fakes outside #[test] functions may unwrap too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::operation::get_metric_statistics::GetMetricStatisticsOutput;
use aws_sdk_cloudwatch::types::{AlarmType, Datapoint, MetricAlarm, StateValue, Statistic};
use aws_sdk_codedeploy::config::http::HttpResponse;
use aws_sdk_codedeploy::operation::put_lifecycle_event_hook_execution_status::{
    PutLifecycleEventHookExecutionStatusError, PutLifecycleEventHookExecutionStatusOutput,
};
use aws_sdk_codedeploy::types::error::LifecycleEventAlreadyCompletedException;
use aws_sdk_codedeploy::types::LifecycleEventStatus;
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
use serde_json::json;

const DEPLOYMENT: &str = "d-ABCDEFGHI";
const TARGET_ID: &str = "etl-dev-extract:live";
const SMOKE_ARN: &str = "arn:aws:states:us-east-1:111111111111:stateMachine:etl-dev";

/// A real SDK client of `$krate` whose requests the given rules answer, with the hooks'
/// retry policy (attempts and mode as deployed; the pauses shortened for the tests).
macro_rules! client {
    ($krate:ident, [$($rule:expr),* $(,)?]) => {{
        #[allow(unused_mut)]
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        $(interceptor = interceptor.with_rule($rule);)*
        let config = $krate::Config::builder()
            .behavior_version($krate::config::BehaviorVersion::latest())
            .region($krate::config::Region::new("us-east-1"))
            .credentials_provider($krate::config::Credentials::new("111111111111", "secret", None, None, "test"))
            .retry_config(
                hooks::aws::sdk::retry_config()
                    .with_initial_backoff(Duration::from_millis(1))
                    .with_max_backoff(Duration::from_millis(5)),
            )
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .build();
        $krate::Client::from_conf(config)
    }};
}

/// An HTTP answer with a JSON body (CodeDeploy speaks JSON 1.1).
fn json_answer(status: u16, body: serde_json::Value) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", "req-1234")
        .body(aws_smithy_types::body::SdkBody::from(body.to_string()))
        .unwrap()
        .try_into()
        .unwrap()
}

/// A JSON 1.1 error answer, as AWS sends one.
fn json_error(status: u16, code: &str, message: &str) -> HttpResponse {
    json_answer(status, json!({"__type": code, "message": message}))
}

const APPSPEC_JSON: &str = r#"{"version": 0.0, "Resources": [{"extract": {"Type": "AWS::Lambda::Function",
  "Properties": {"Name": "etl-dev-extract", "Alias": "live", "CurrentVersion": "3", "TargetVersion": "4"}}}],
  "Hooks": [{"BeforeAllowTraffic": "etl-dev-pre-traffic"}, {"AfterAllowTraffic": "etl-dev-post-traffic"}]}"#;

const APPSPEC_YAML: &str = "version: 0.0\nResources:\n  - extract:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: etl-dev-extract\n        Alias: live\n        CurrentVersion: '3'\n        TargetVersion: '4'\n";

/// ListDeploymentTargets as AWS answers it for a Lambda deployment: one target id.
fn list_targets() -> Rule {
    mock!(aws_sdk_codedeploy::Client::list_deployment_targets)
        .match_requests(|r| r.deployment_id() == Some(DEPLOYMENT))
        .then_http_response(|| json_answer(200, json!({"targetIds": [TARGET_ID]})))
}

/// GetDeploymentTarget as the API reference shapes it (`LambdaTarget`, `LambdaFunctionInfo`).
fn get_target(function_info: serde_json::Value) -> Rule {
    get_target_in(function_info, json!([{"lifecycleEventName": "BeforeAllowTraffic", "status": "InProgress"}]))
}

/// The target as AfterAllowTraffic sees it: BeforeAllowTraffic ended ten minutes ago.
fn get_target_after_traffic() -> Rule {
    let ended = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 600;
    get_target_in(
        function_info(),
        json!([
            {"lifecycleEventName": "BeforeAllowTraffic", "status": "Succeeded", "startTime": ended - 5, "endTime": ended},
            {"lifecycleEventName": "AfterAllowTraffic", "status": "InProgress", "startTime": ended + 590}
        ]),
    )
}

fn get_target_in(function_info: serde_json::Value, lifecycle_events: serde_json::Value) -> Rule {
    mock!(aws_sdk_codedeploy::Client::get_deployment_target)
        .match_requests(|r| r.deployment_id() == Some(DEPLOYMENT) && r.target_id() == Some(TARGET_ID))
        .then_http_response(move || {
            json_answer(
                200,
                json!({"deploymentTarget": {
                    "deploymentTargetType": "LambdaTarget",
                    "lambdaTarget": {
                        "deploymentId": DEPLOYMENT,
                        "targetId": TARGET_ID,
                        "targetArn": "arn:aws:lambda:us-east-1:111111111111:function:etl-dev-extract:live",
                        "status": "InProgress",
                        "lastUpdatedAt": 1_700_000_000.0,
                        "lifecycleEvents": lifecycle_events,
                        "lambdaFunctionInfo": function_info
                    }
                }}),
            )
        })
}

fn function_info() -> serde_json::Value {
    json!({"functionName": "etl-dev-extract", "functionAlias": "live", "currentVersion": "3",
           "targetVersion": "4", "targetVersionWeight": 0.0})
}

/// GetDeployment as AWS answers it for an inline AppSpec: the revision's type and
/// sha256, no content. A hook that reads the AppSpec from here finds nothing.
fn get_deployment_as_aws() -> Rule {
    mock!(aws_sdk_codedeploy::Client::get_deployment)
        .match_requests(|r| r.deployment_id() == Some(DEPLOYMENT))
        .then_http_response(|| {
            json_answer(
                200,
                json!({"deploymentInfo": {
                    "applicationName": "etl-dev",
                    "deploymentGroupName": "etl-dev-extract",
                    "deploymentConfigName": "CodeDeployDefault.LambdaAllAtOnce",
                    "deploymentId": DEPLOYMENT,
                    "computePlatform": "Lambda",
                    "status": "InProgress",
                    "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
                    "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": "5e1f0c"}}
                }}),
            )
        })
}

/// GetApplicationRevision of that revision: the AppSpec as `revision.string.content`.
fn get_revision(appspec: &'static str) -> Rule {
    mock!(aws_sdk_codedeploy::Client::get_application_revision)
        .match_requests(|r| {
            r.application_name() == Some("etl-dev")
                && r.revision().and_then(|rev| rev.app_spec_content()).and_then(|c| c.sha256()) == Some("5e1f0c")
        })
        .then_http_response(move || {
            json_answer(
                200,
                json!({"applicationName": "etl-dev",
                       "revision": {"revisionType": "String", "string": {"content": appspec, "sha256": "5e1f0c"}},
                       "revisionInfo": {"description": "Application revision registered by Deployment ID: d-ABCDEFGHI"}}),
            )
        })
}

/// The deployment's target cannot be read (the role lacks the permission).
fn targets_denied() -> Rule {
    mock!(aws_sdk_codedeploy::Client::list_deployment_targets).then_http_response(|| {
        json_error(400, "AccessDeniedException", "not authorized to perform: codedeploy:ListDeploymentTargets")
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
    json!({"etl-dev-extract": {
        "events": [{"run_date": "2026-11-22"}, "{\"run_date\": \"2026-11-23\"}"],
        "max_duration_ms": 5000, "alarm_names": ["etl-dev-extract-errors"], "max_errors": 1,
        "error_window_seconds": 120, "min_invocations": 10, "evidence_required": true}})
}

/// GetMetricStatistics of one `AWS/Lambda` metric of etl-dev-extract version 4 under
/// one dimension set, over `window` seconds in one period, answering `sum`.
fn version_metric(metric: &'static str, dims: &'static [(&'static str, &'static str)], window: i64, sum: f64) -> Rule {
    mock!(aws_sdk_cloudwatch::Client::get_metric_statistics)
        .match_requests(move |r| {
            let asked: Vec<(&str, &str)> =
                r.dimensions().iter().map(|d| (d.name().unwrap_or(""), d.value().unwrap_or(""))).collect();
            let span = match (r.start_time(), r.end_time()) {
                (Some(start), Some(end)) => end.secs() - start.secs(),
                _ => -1,
            };
            r.namespace() == Some("AWS/Lambda")
                && r.metric_name() == Some(metric)
                && r.statistics() == [Statistic::Sum]
                && r.period() == Some(i32::try_from(window).unwrap())
                && (span - window).abs() <= 2
                && asked == dims
        })
        .then_output(move || {
            GetMetricStatisticsOutput::builder()
                .datapoints(Datapoint::builder().sum(sum).timestamp(DateTime::from_secs(0)).build())
                .build()
        })
}

const THROUGH_THE_ALIAS: &[(&str, &str)] =
    &[("FunctionName", "etl-dev-extract"), ("Resource", "etl-dev-extract:live"), ("ExecutedVersion", "4")];
const THROUGH_ITS_OWN_ARN: &[(&str, &str)] = &[("FunctionName", "etl-dev-extract"), ("Resource", "etl-dev-extract:4")];

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

// ---- the deployment's target ----

#[tokio::test]
async fn the_deployment_target_names_the_function_alias_and_versions() {
    let (list, target, read) = (list_targets(), get_target(function_info()), get_deployment_as_aws());
    let deployments = CodeDeployDeployments::new(client!(aws_sdk_codedeploy, [&list, &target, &read]));
    let found = deployments.target(DEPLOYMENT).await.unwrap();
    assert_eq!(
        (found.function_name.as_str(), found.alias.as_str(), found.current_version.as_str()),
        ("etl-dev-extract", "live", "3")
    );
    assert_eq!(found.target_version, "4");
    assert_eq!((list.num_calls(), target.num_calls()), (1, 1));
    assert_eq!(read.num_calls(), 0, "GetDeployment is not needed when the target answers");
}

#[tokio::test]
async fn the_application_revision_names_them_when_the_target_cannot_be_read_json_or_yaml() {
    for appspec in [APPSPEC_JSON, APPSPEC_YAML] {
        let (denied, read, revision) = (targets_denied(), get_deployment_as_aws(), get_revision(appspec));
        let deployments = CodeDeployDeployments::new(client!(aws_sdk_codedeploy, [&denied, &read, &revision]));
        let target = deployments.target(DEPLOYMENT).await.unwrap();
        assert_eq!(
            (target.function_name.as_str(), target.alias.as_str(), target.current_version.as_str()),
            ("etl-dev-extract", "live", "3")
        );
        assert_eq!(target.target_version, "4");
        assert_eq!((denied.num_calls(), read.num_calls(), revision.num_calls()), (1, 1, 1));
    }
}

#[tokio::test]
async fn get_deployment_alone_does_not_name_the_target() {
    // What a hook that reads the AppSpec from GetDeployment would be left with on AWS.
    let (denied, read) = (targets_denied(), get_deployment_as_aws());
    let revision_denied = mock!(aws_sdk_codedeploy::Client::get_application_revision).then_http_response(|| {
        json_error(400, "AccessDeniedException", "not authorized to perform: codedeploy:GetApplicationRevision")
    });
    let deployments = CodeDeployDeployments::new(client!(aws_sdk_codedeploy, [&denied, &read, &revision_denied]));
    let err = deployments.target(DEPLOYMENT).await.unwrap_err();
    let TargetError::Neither { from_target, from_revision, .. } = &err else { panic!("{err:?}") };
    assert!(from_target.to_string().contains("codedeploy:ListDeploymentTargets"), "{err}");
    assert!(from_revision.to_string().contains("codedeploy:GetApplicationRevision"), "{err}");
    assert!(err.to_string().contains("(HTTP 400, request id req-1234)"), "{err}");
}

#[tokio::test]
async fn an_incomplete_or_latest_target_is_refused_and_the_revision_read() {
    for (info, problem) in [
        (
            json!({"functionName": "etl-dev-extract", "functionAlias": "live", "currentVersion": "3"}),
            "has no targetVersion",
        ),
        (
            json!({"functionName": "etl-dev-extract", "functionAlias": "live", "currentVersion": "3", "targetVersion": "$LATEST"}),
            "not $LATEST",
        ),
    ] {
        let (list, target, read) = (list_targets(), get_target(info), get_deployment_as_aws());
        let broken = get_revision("version: 0.0\nResources: []\n");
        let deployments = CodeDeployDeployments::new(client!(aws_sdk_codedeploy, [&list, &target, &read, &broken]));
        let err = deployments.target(DEPLOYMENT).await.unwrap_err();
        assert!(err.to_string().contains(problem), "{problem}: {err}");
        assert!(err.to_string().contains("declares no resource of Type AWS::Lambda::Function"), "{err}");
    }
}

#[tokio::test]
async fn a_malformed_appspec_is_reported_failed() {
    let (denied, read) = (targets_denied(), get_deployment_as_aws());
    let revision = get_revision("version: 0.0\nResources: {not: [a list}\n");
    let failed = put_status(LifecycleEventStatus::Failed);
    let clients = Clients {
        codedeploy: client!(aws_sdk_codedeploy, [&denied, &read, &revision, &failed]),
        lambda: client!(aws_sdk_lambda, []),
        cloudwatch: client!(aws_sdk_cloudwatch, []),
        sfn: client!(aws_sdk_sfn, []),
    };
    let outcome = clients.run(Hook::PreTraffic, &config(Hook::PreTraffic, extract_checks(), false)).await;
    assert_eq!(outcome.status, "Failed");
    assert!(outcome.reason.contains("deployment d-ABCDEFGHI: the AppSpec"), "{}", outcome.reason);
    assert_eq!((revision.num_calls(), failed.num_calls()), (1, 1));
}

#[tokio::test]
async fn an_unreadable_deployment_is_reported_failed() {
    let missing_targets = mock!(aws_sdk_codedeploy::Client::list_deployment_targets)
        .then_http_response(|| json_error(400, "DeploymentDoesNotExistException", "no deployment d-ABCDEFGHI"));
    let missing = mock!(aws_sdk_codedeploy::Client::get_deployment)
        .then_http_response(|| json_error(400, "DeploymentDoesNotExistException", "no deployment d-ABCDEFGHI"));
    let deployments = CodeDeployDeployments::new(client!(aws_sdk_codedeploy, [&missing_targets, &missing]));
    let err = deployments.target(DEPLOYMENT).await.unwrap_err();
    assert!(
        matches!(&err, TargetError::Neither { from_revision, .. } if matches!(**from_revision, TargetError::Aws(_)))
    );
    let expected = "reading deployment d-ABCDEFGHI: DeploymentDoesNotExistException: no deployment d-ABCDEFGHI";
    assert!(err.to_string().contains(expected), "{err}");

    let failed = put_status(LifecycleEventStatus::Failed);
    let clients = Clients {
        codedeploy: client!(aws_sdk_codedeploy, [&missing_targets, &missing, &failed]),
        lambda: client!(aws_sdk_lambda, []),
        cloudwatch: client!(aws_sdk_cloudwatch, []),
        sfn: client!(aws_sdk_sfn, []),
    };
    let outcome = clients.run(Hook::PostTraffic, &config(Hook::PostTraffic, extract_checks(), true)).await;
    assert_eq!(outcome.status, "Failed");
    assert!(outcome.reason.contains(expected), "{}", outcome.reason);
    assert_eq!(failed.num_calls(), 1);
}

// ---- pre-traffic ----

#[tokio::test]
async fn pre_traffic_invokes_the_target_version_and_reports_a_function_error_as_failed() {
    let (list, target, read) = (list_targets(), get_target(function_info()), get_deployment_as_aws());
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
        codedeploy: client!(aws_sdk_codedeploy, [&list, &target, &read, &failed]),
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
    let (list, target, read) = (list_targets(), get_target(function_info()), get_deployment_as_aws());
    let ok = mock!(aws_sdk_lambda::Client::invoke)
        .match_requests(|r| r.qualifier() == Some("4"))
        .then_output(|| InvokeOutput::builder().status_code(200).payload(Blob::new("{}")).build());
    let succeeded = put_status(LifecycleEventStatus::Succeeded);
    let clients = Clients {
        codedeploy: client!(aws_sdk_codedeploy, [&list, &target, &read, &succeeded]),
        lambda: client!(aws_sdk_lambda, [&ok]),
        cloudwatch: client!(aws_sdk_cloudwatch, []),
        sfn: client!(aws_sdk_sfn, []),
    };
    let outcome = clients.run(Hook::PreTraffic, &config(Hook::PreTraffic, extract_checks(), false)).await;
    assert_eq!(outcome.status, "Succeeded", "{outcome:?}");
    assert_eq!((ok.num_calls(), succeeded.num_calls()), (2, 1));
    assert_eq!(outcome.target_version.as_deref(), Some("4"));
}

// ---- post-traffic ----

#[tokio::test]
async fn post_traffic_sends_the_expected_requests_and_reports_succeeded() {
    let (list, target, read) = (list_targets(), get_target_after_traffic(), get_deployment_as_aws());
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
    // Errors over the error window, invocations since BeforeAllowTraffic ended.
    let errors = version_metric("Errors", THROUGH_THE_ALIAS, 120, 1.0);
    let own_errors = version_metric("Errors", THROUGH_ITS_OWN_ARN, 120, 0.0);
    let invocations = version_metric("Invocations", THROUGH_THE_ALIAS, 600, 4.0);
    let own_invocations = version_metric("Invocations", THROUGH_ITS_OWN_ARN, 600, 8.0);
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
        codedeploy: client!(aws_sdk_codedeploy, [&list, &target, &read, &succeeded]),
        lambda: client!(aws_sdk_lambda, [&alias]),
        cloudwatch: client!(aws_sdk_cloudwatch, [&alarms, &errors, &own_errors, &invocations, &own_invocations]),
        sfn: client!(aws_sdk_sfn, [&start, &describe]),
    };
    let outcome = clients.run(Hook::PostTraffic, &config(Hook::PostTraffic, extract_checks(), true)).await;
    assert_eq!(outcome.status, "Succeeded", "{outcome:?}");
    assert_eq!([alias.num_calls(), alarms.num_calls(), start.num_calls(), describe.num_calls()], [1, 1, 1, 1]);
    let metric_calls = [&errors, &own_errors, &invocations, &own_invocations].map(|rule| rule.num_calls());
    assert_eq!(metric_calls, [1, 1, 1, 1], "each metric through the alias and the version's own ARN");
    assert!(outcome.reason.contains("reported 1 errors"), "{}", outcome.reason);
    assert!(outcome.reason.contains("served 12 invocations since traffic reached it"), "{}", outcome.reason);
    assert_eq!(succeeded.num_calls(), 1);
}

#[tokio::test]
async fn post_traffic_reports_failed_when_the_alias_is_split_and_an_alarm_is_missing() {
    let (list, target, read) = (list_targets(), get_target(function_info()), get_deployment_as_aws());
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
        codedeploy: client!(aws_sdk_codedeploy, [&list, &target, &read, &failed]),
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

// ---- the answer to CodeDeploy ----

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

fn throttled_report() -> HttpResponse {
    json_error(400, "ThrottlingException", "Rate exceeded")
}

#[tokio::test]
async fn a_throttled_report_is_retried_by_the_sdk_then_accepted() {
    // Four throttled attempts and the fifth accepted: within the SDK's attempts, one call.
    let report = mock!(aws_sdk_codedeploy::Client::put_lifecycle_event_hook_execution_status)
        .sequence()
        .http_response(throttled_report)
        .times(4)
        .output(|| PutLifecycleEventHookExecutionStatusOutput::builder().build())
        .build();
    let deployments = CodeDeployDeployments::new(client!(aws_sdk_codedeploy, [&report]));
    let reported = deployments.report(DEPLOYMENT, "hook-exec-1", hooks::HookStatus::Succeeded).await.unwrap();
    assert_eq!(reported, Reported::Accepted);
}

#[tokio::test]
async fn a_report_throttled_past_the_sdks_attempts_is_called_again_until_accepted() {
    // Five throttled attempts spend the SDK's retries for one call; the hook calls again.
    let (list, target, read) = (list_targets(), get_target(function_info()), get_deployment_as_aws());
    let report = mock!(aws_sdk_codedeploy::Client::put_lifecycle_event_hook_execution_status)
        .match_requests(|r| r.status() == Some(&LifecycleEventStatus::Succeeded))
        .sequence()
        .http_response(throttled_report)
        .times(hooks::aws::sdk::MAX_ATTEMPTS as usize)
        .output(|| PutLifecycleEventHookExecutionStatusOutput::builder().build())
        .build();
    let ok = mock!(aws_sdk_lambda::Client::invoke)
        .then_output(|| InvokeOutput::builder().status_code(200).payload(Blob::new("{}")).build());
    let clients = Clients {
        codedeploy: client!(aws_sdk_codedeploy, [&list, &target, &read, &report]),
        lambda: client!(aws_sdk_lambda, [&ok]),
        cloudwatch: client!(aws_sdk_cloudwatch, []),
        sfn: client!(aws_sdk_sfn, []),
    };
    let outcome = clients.run(Hook::PreTraffic, &config(Hook::PreTraffic, extract_checks(), false)).await;
    assert_eq!((outcome.status.as_str(), outcome.already_completed), ("Succeeded", false), "{outcome:?}");
    let attempts = hooks::aws::sdk::MAX_ATTEMPTS as usize + 1;
    assert_eq!(report.num_calls(), attempts, "the first call's attempts all throttled, then the second call's first");
}

#[tokio::test]
async fn a_reply_lost_after_codedeploy_took_the_answer_counts_as_reported() {
    // The answer was applied, but its reply was cut short. The SDK does not retry an
    // answer it cannot read; the hook calls again and finds the execution answered.
    let report = mock!(aws_sdk_codedeploy::Client::put_lifecycle_event_hook_execution_status)
        .sequence()
        .http_status(200, Some(r#"{"lifecycleEventHookExec"#.to_owned()))
        .http_response(|| {
            json_error(400, "LifecycleEventAlreadyCompletedException", "the hook execution is already Succeeded")
        })
        .build();
    let deployments = CodeDeployDeployments::new(client!(aws_sdk_codedeploy, [&report]));
    let cut = deployments.report(DEPLOYMENT, "hook-exec-1", hooks::HookStatus::Succeeded).await.unwrap_err();
    assert!(cut.transient && cut.to_string().contains("the answer could not be read"), "{cut}");

    let report = mock!(aws_sdk_codedeploy::Client::put_lifecycle_event_hook_execution_status)
        .sequence()
        .http_status(200, Some(r#"{"lifecycleEventHookExec"#.to_owned()))
        .http_response(|| {
            json_error(400, "LifecycleEventAlreadyCompletedException", "the hook execution is already Succeeded")
        })
        .build();
    let deployments = CodeDeployDeployments::new(client!(aws_sdk_codedeploy, [&report]));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let delivery = hooks::report::report_until(
        &deployments,
        DEPLOYMENT,
        "hook-exec-1",
        hooks::HookStatus::Succeeded,
        deadline,
        hooks::report::REPORT_RETRY,
    )
    .await
    .unwrap();
    assert_eq!(delivery, hooks::report::Delivery { reported: Reported::AlreadyCompleted, calls: 2 });
}

#[tokio::test]
async fn a_refused_report_is_not_transient() {
    let denied =
        mock!(aws_sdk_codedeploy::Client::put_lifecycle_event_hook_execution_status).then_http_response(|| {
            json_error(
                400,
                "AccessDeniedException",
                "not authorized to perform: codedeploy:PutLifecycleEventHookExecutionStatus",
            )
        });
    let deployments = CodeDeployDeployments::new(client!(aws_sdk_codedeploy, [&denied]));
    let err = deployments.report(DEPLOYMENT, "hook-exec-1", hooks::HookStatus::Failed).await.unwrap_err();
    assert!(!err.transient, "{err}");
    assert_eq!(denied.num_calls(), 1);
    assert!(err.to_string().contains("AccessDeniedException: not authorized"), "{err}");
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

#[tokio::test]
async fn an_invoke_that_was_throttled_is_judged_on_the_attempt_that_answered() {
    use hooks::aws::Versions;
    let throttled = mock!(aws_sdk_lambda::Client::invoke)
        .sequence()
        .http_response(|| {
            http::Response::builder()
                .status(429)
                .header("x-amzn-ErrorType", "TooManyRequestsException")
                .body(aws_smithy_types::body::SdkBody::from(r#"{"message":"Rate exceeded"}"#))
                .map(|r| HttpResponse::try_from(r).unwrap())
                .unwrap()
        })
        .times(3)
        .output(|| InvokeOutput::builder().status_code(200).payload(Blob::new(b"{}".to_vec())).build())
        .build();
    let versions = LambdaVersions::new(client!(aws_sdk_lambda, [&throttled]));
    let answer = versions
        .invoke("etl-dev-extract", "4", b"{}".to_vec(), Duration::from_secs(2))
        .await
        .expect("answered after the retries")
        .expect("within the limit");
    assert_eq!(answer.status_code, 200);
    assert_eq!(throttled.num_calls(), 4, "three throttled attempts, then the answer");
    let attempt = answer.answered_in.expect("the answering attempt is timed");
    assert!(attempt < Duration::from_secs(2), "{attempt:?}");
}
