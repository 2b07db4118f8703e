//! The SDK side of the seam against aws-smithy-mocks: what each AWS answer becomes
//! (errors with the right exit code, fix and details; parsed states), which requests
//! go out (target ids read from CodeDeploy, consistent ledger reads), the artifact
//! store's upload order, and the deploy role's refreshing credentials.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_codedeploy::operation::get_deployment_group::GetDeploymentGroupError;
use aws_sdk_codedeploy::operation::stop_deployment::StopDeploymentError;
use aws_sdk_codedeploy::types::error::{DeploymentAlreadyCompletedException, DeploymentGroupDoesNotExistException};
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_lambda::operation::get_alias::{GetAliasError, GetAliasOutput};
use aws_sdk_lambda::types::AliasRoutingConfiguration;
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use deployer::cloud::meter::CloudMeter;
use deployer::cloud::sdk::{Context, S3Store, SdkCloud};
use deployer::cloud::{artifact_key, Alarms, Deployments, Functions, Ledger, LifecycleStep, LockAttempt, Stop};
use deployer::engine::{store_release, Zips};
use deployer::error::{exit, DeployError};
use deployer::release::{PackagePlan, FUNCTIONS, HOOKS, MANIFEST};

/// A client of `$sdk` whose answers are `rules`, in order; retries quick.
macro_rules! client {
    ($sdk:ident, $rules:expr) => {
        client!($sdk, $rules, RuleMode::Sequential)
    };
    ($sdk:ident, $rules:expr, $mode:expr) => {{
        let mut interceptor = MockResponseInterceptor::new().rule_mode($mode);
        for rule in $rules.iter().copied() {
            interceptor = interceptor.with_rule(rule);
        }
        let config = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($sdk::config::Region::new("us-east-1"))
            .credentials_provider($sdk::config::Credentials::new("111111111111", "secret", None, None, "test"))
            .retry_config(
                aws_smithy_types::retry::RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(std::time::Duration::from_millis(1)),
            )
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .build();
        $sdk::Client::from_conf(config)
    }};
}

fn context() -> Context {
    Context { meter: CloudMeter::new(), endpoint: "AWS (us-east-1)".into() }
}

/// An environment whose Lambda, CodeDeploy, CloudWatch and DynamoDB answer as given.
fn cloud(lambda: &[&Rule], codedeploy: &[&Rule], cloudwatch: &[&Rule], dynamodb: &[&Rule]) -> SdkCloud {
    SdkCloud::from_clients(
        context(),
        client!(aws_sdk_lambda, lambda),
        client!(aws_sdk_codedeploy, codedeploy),
        client!(aws_sdk_cloudwatch, cloudwatch),
        client!(aws_sdk_dynamodb, dynamodb),
        "etl-prod-releases",
        "prod",
    )
}

/// The error code the SDK's deserializer records for a modeled error.
fn code(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).build()
}

#[tokio::test]
async fn a_held_lock_names_its_holder() {
    let refused = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .message("held")
                .meta(code("ConditionalCheckFailedException"))
                .build(),
        )
    });
    let holder = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| r.consistent_read() == Some(true))
        .then_output(|| {
            GetItemOutput::builder()
                .item("holder", AttributeValue::S("ci@runner-7:4242 (GitHub run 99)".into()))
                .item("since", AttributeValue::S("2026-11-23T09:00:00Z".into()))
                .item("expires", AttributeValue::N("1800000000".into()))
                .build()
        });
    let cloud = cloud(&[], &[], &[], &[&refused, &holder]);
    match cloud.try_lock("me@here:1", std::time::Duration::from_secs(900)).await.expect("read") {
        LockAttempt::Held(info) => {
            assert_eq!(info.holder, "ci@runner-7:4242 (GitHub run 99)");
            assert_eq!((info.since.as_str(), info.expires_s), ("2026-11-23T09:00:00Z", 1_800_000_000));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_free_lock_is_taken_with_one_conditional_write() {
    let put = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|r| {
            r.condition_expression() == Some("attribute_not_exists(pk) OR expires < :now OR holder = :me")
                && r.item().and_then(|i| i.get("holder")).and_then(|h| h.as_s().ok()).map(String::as_str)
                    == Some("me@here:1")
        })
        .then_output(|| aws_sdk_dynamodb::operation::put_item::PutItemOutput::builder().build());
    let cloud = cloud(&[], &[], &[], &[&put]);
    assert_eq!(
        cloud.try_lock("me@here:1", std::time::Duration::from_secs(900)).await.expect("taken"),
        LockAttempt::Taken
    );
}

#[tokio::test]
async fn ledger_reads_are_strongly_consistent() {
    let query = mock!(aws_sdk_dynamodb::Client::query)
        .match_requests(|r| r.consistent_read() == Some(true) && r.scan_index_forward() == Some(false))
        .then_output(|| aws_sdk_dynamodb::operation::query::QueryOutput::builder().build());
    let cloud = cloud(&[], &[], &[], &[&query]);
    assert!(cloud.records(None).await.expect("a consistent query").is_empty());
    assert_eq!(query.num_calls(), 1);
}

#[tokio::test]
async fn a_missing_deployment_group_is_missing_infrastructure_with_a_fix() {
    let missing = mock!(aws_sdk_codedeploy::Client::get_deployment_group).then_error(|| {
        GetDeploymentGroupError::DeploymentGroupDoesNotExistException(
            DeploymentGroupDoesNotExistException::builder()
                .message("No Deployment Group found for name: etl-dev-load")
                .meta(code("DeploymentGroupDoesNotExistException"))
                .build(),
        )
    });
    let cloud = cloud(&[], &[&missing], &[], &[]);
    let err = cloud.check_group("etl-dev", "etl-dev-load").await.expect_err("missing");
    assert_eq!(err.exit_code(), exit::INFRASTRUCTURE);
    let text = err.explained();
    assert!(
        text.contains("deployment group etl-dev-load of application etl-dev does not exist")
            && text.contains("fix: apply"),
        "{text}"
    );
}

#[tokio::test]
async fn stopping_a_finished_deployment_is_not_an_error() {
    let done = mock!(aws_sdk_codedeploy::Client::stop_deployment).then_error(|| {
        StopDeploymentError::DeploymentAlreadyCompletedException(
            DeploymentAlreadyCompletedException::builder()
                .message("done")
                .meta(code("DeploymentAlreadyCompletedException"))
                .build(),
        )
    });
    let stopped = mock!(aws_sdk_codedeploy::Client::stop_deployment)
        .match_requests(|r| r.auto_rollback_enabled() == Some(true))
        .then_output(|| aws_sdk_codedeploy::operation::stop_deployment::StopDeploymentOutput::builder().build());
    let cloud = cloud(&[], &[&done, &stopped], &[], &[]);
    assert_eq!(cloud.stop("d-1").await.expect("already finished is fine"), Stop::AlreadyFinished);
    assert_eq!(cloud.stop("d-2").await.expect("stopped with rollback"), Stop::Stopped);
}

#[tokio::test]
async fn the_lifecycle_is_read_through_the_target_id_codedeploy_lists() {
    let listed = mock!(aws_sdk_codedeploy::Client::list_deployment_targets)
        .match_requests(|r| r.deployment_id() == Some("d-7"))
        .then_output(|| {
            aws_sdk_codedeploy::operation::list_deployment_targets::ListDeploymentTargetsOutput::builder()
                .target_ids("etl-prod-load:live-target-from-codedeploy")
                .build()
        });
    let target = mock!(aws_sdk_codedeploy::Client::get_deployment_target)
        .match_requests(|r| r.target_id() == Some("etl-prod-load:live-target-from-codedeploy"))
        .then_output(|| {
            use aws_sdk_codedeploy::types::{DeploymentTarget, LambdaTarget, LifecycleEvent, LifecycleEventStatus};
            aws_sdk_codedeploy::operation::get_deployment_target::GetDeploymentTargetOutput::builder()
                .deployment_target(
                    DeploymentTarget::builder()
                        .lambda_target(
                            LambdaTarget::builder()
                                .lifecycle_events(
                                    LifecycleEvent::builder()
                                        .lifecycle_event_name("BeforeAllowTraffic")
                                        .status(LifecycleEventStatus::Succeeded)
                                        .build(),
                                )
                                .lifecycle_events(
                                    LifecycleEvent::builder()
                                        .lifecycle_event_name("AllowTraffic")
                                        .status(LifecycleEventStatus::InProgress)
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let cloud = cloud(&[], &[&listed, &target], &[], &[]);
    let steps = cloud.lifecycle("d-7").await.expect("read through the listed id");
    assert_eq!(
        steps.iter().map(|e| e.step.clone()).collect::<Vec<_>>(),
        vec![LifecycleStep::BeforeAllowTraffic, LifecycleStep::AllowTraffic]
    );
    assert_eq!((listed.num_calls(), target.num_calls()), (1, 1));
}

#[tokio::test]
async fn expired_and_refused_credentials_map_to_the_credentials_exit_code() {
    let expired = mock!(aws_sdk_lambda::Client::get_alias).then_error(|| {
        GetAliasError::generic(
            ErrorMetadata::builder()
                .code("ExpiredToken")
                .message("The security token included in the request is expired")
                .build(),
        )
    });
    let denied = mock!(aws_sdk_lambda::Client::get_alias).then_error(|| {
        GetAliasError::generic(ErrorMetadata::builder().code("InvalidClientTokenId").message("bad key").build())
    });
    let cloud = cloud(&[&expired, &denied], &[], &[], &[]);
    let err = cloud.alias("etl-prod-load", "live").await.expect_err("expired");
    assert_eq!(err.exit_code(), exit::CREDENTIALS);
    let text = err.explained();
    assert!(text.contains("have expired") && text.contains("fix: refresh"), "{text}");
    let err = cloud.alias("etl-prod-load", "live").await.expect_err("denied");
    assert_eq!(err.exit_code(), exit::CREDENTIALS);
    assert!(err.to_string().contains("refused"), "{err}");
}

#[tokio::test]
async fn a_failure_names_the_call_the_code_the_status_the_request_and_the_attempts() {
    let throttled = mock!(aws_sdk_lambda::Client::get_alias)
        .sequence()
        .http_response(|| {
            aws_smithy_runtime_api::http::Response::try_from(
                http::Response::builder()
                    .status(429)
                    .header("x-amzn-RequestId", "req-123")
                    .header("x-amzn-ErrorType", "TooManyRequestsException")
                    .body(SdkBody::from(r#"{"message":"Rate exceeded"}"#))
                    .expect("response"),
            )
            .expect("response")
        })
        .times(3)
        .build();
    let cloud = cloud(&[&throttled], &[], &[], &[]);
    let err = cloud.alias("etl-prod-load", "live").await.expect_err("throttled every time");
    assert_eq!(err.exit_code(), exit::ERROR);
    let DeployError::Cloud { failure, .. } = &err else { panic!("{err:?}") };
    assert_eq!(failure.call, "GetAlias etl-prod-load:live");
    assert_eq!(failure.code.as_deref(), Some("TooManyRequestsException"));
    assert_eq!((failure.http_status, failure.request_id.as_deref()), (Some(429), Some("req-123")));
    assert_eq!(failure.attempts, Some(3), "the SDK retried a throttled call");
    assert_eq!(failure.message, "Rate exceeded");
    let text = err.to_string();
    assert!(!text.contains("no message") && text.contains("3 attempts") && text.contains("HTTP 429"), "{text}");
}

#[tokio::test]
async fn a_split_alias_reads_as_primary_plus_weighted_version() {
    let alias = mock!(aws_sdk_lambda::Client::get_alias).then_output(|| {
        GetAliasOutput::builder()
            .function_version("3")
            .revision_id("rev-1")
            .routing_config(AliasRoutingConfiguration::builder().additional_version_weights("4", 0.1).build())
            .build()
    });
    let cloud = cloud(&[&alias], &[], &[], &[]);
    let state = cloud.alias("etl-dev-load", "live").await.expect("read");
    assert_eq!(state.version, "3");
    assert_eq!(state.additional, Some(("4".into(), 0.1)));
    assert_eq!(state.revision_id.as_deref(), Some("rev-1"));
    assert!(!state.settled_on("3") && !state.settled_on("4"));
}

#[tokio::test]
async fn an_alarm_that_does_not_exist_is_never_taken_for_ok() {
    let one = || {
        mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| {
            aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder()
                .metric_alarms(
                    aws_sdk_cloudwatch::types::MetricAlarm::builder()
                        .alarm_name("etl-dev-load-errors")
                        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
                        .state_reason("Threshold Crossed")
                        .state_reason_data(r#"{"recentDatapoints":[2.0,5.0]}"#)
                        .metric_name("Errors")
                        .threshold(1.0)
                        .dimensions(
                            aws_sdk_cloudwatch::types::Dimension::builder()
                                .name("FunctionName")
                                .value("etl-dev-load")
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
    };
    let (first, second) = (one(), one());
    let cloud = cloud(&[], &[], &[&first, &second], &[]);
    let views = cloud.describe(&["etl-dev-load-errors".into()]).await.expect("one alarm");
    assert_eq!(
        (views[0].state.as_str(), views[0].value, views[0].function_dimension.as_deref()),
        ("ALARM", Some(5.0), Some("etl-dev-load"))
    );
    let err = cloud.describe(&["etl-dev-load-errors".into(), "etl-dev-load-typo".into()]).await.expect_err("missing");
    assert_eq!(err.exit_code(), exit::INFRASTRUCTURE);
    assert!(err.to_string().contains("alarm etl-dev-load-typo does not exist"), "{err}");
}

/// A packaged release in a fresh folder, with `tamper` overwritten after packaging.
fn packaged_release(name: &str, tamper: &[&str]) -> (std::path::PathBuf, deployer::release::Manifest) {
    let dir = std::env::temp_dir().join(format!("deployer-mocks-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (bins, dist) = (dir.join("bins"), dir.join("dist"));
    std::fs::create_dir_all(&bins).expect("bins");
    for name in FUNCTIONS.iter().chain(HOOKS.iter()) {
        std::fs::write(bins.join(name), format!("#!/bin/sh\necho {name}\n").repeat(50)).expect("binary");
    }
    let manifest = deployer::release::package(&PackagePlan::new(&bins, &[]), &dist, "abc").expect("package");
    for artifact in tamper {
        std::fs::write(dist.join(format!("{artifact}.zip")), "not the packaged bytes").expect("tamper");
    }
    (dist, manifest)
}

/// An artifact store whose objects are all missing, recording the keys it is sent.
fn recording_store() -> (S3Store, Arc<Mutex<Vec<String>>>) {
    use aws_sdk_s3::operation::head_object::HeadObjectError;
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    let keys = Arc::new(Mutex::new(Vec::new()));
    let missing = mock!(aws_sdk_s3::Client::head_object)
        .then_error(|| HeadObjectError::NotFound(aws_sdk_s3::types::error::NotFound::builder().build()));
    let sent = keys.clone();
    let put = mock!(aws_sdk_s3::Client::put_object).then_compute_output(move |req| {
        sent.lock().expect("keys").push(req.key().unwrap_or_default().to_owned());
        PutObjectOutput::builder().build()
    });
    let store = S3Store::new(context(), client!(aws_sdk_s3, [&missing, &put], RuleMode::MatchAny), "artifacts");
    (store, keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_gets_every_checked_artifact_and_the_manifest_last() {
    let (dist, manifest) = packaged_release("store", &[]);
    let (store, keys) = recording_store();
    let (zips, _hashing) = store_release(&store, &manifest, Zips::verify(dist, &manifest)).await.expect("stored");
    assert_eq!(zips.keys().collect::<Vec<_>>(), manifest.artifacts.keys().collect::<Vec<_>>());
    let keys = keys.lock().expect("keys").clone();
    assert_eq!(keys.len(), manifest.artifacts.len() + 1, "{keys:?}");
    assert_eq!(keys.last().map(String::as_str), Some(artifact_key(&manifest.release_id, MANIFEST).as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_artifact_is_never_uploaded_and_the_manifest_never_follows() {
    // Two bad artifacts: the error names the first in the manifest's order, whichever
    // thread finished its check first.
    let (dist, manifest) = packaged_release("tampered", &["transform", "load"]);
    let (store, keys) = recording_store();
    let err = store_release(&store, &manifest, Zips::verify(dist, &manifest)).await.expect_err("tampered");
    assert_eq!(err.exit_code(), exit::CONFIG);
    assert!(err.to_string().contains("load.zip") && err.to_string().contains("does not match"), "{err}");
    let keys = keys.lock().expect("keys").clone();
    assert!(
        keys.iter().all(|k| !k.ends_with("load.zip") && !k.ends_with("transform.zip") && !k.ends_with(MANIFEST)),
        "{keys:?}"
    );
}

/// An STS and Lambda endpoint that hands out deploy-role credentials expiring
/// `lifetime` from now, counting the AssumeRole calls.
fn role_endpoint(
    lifetime: std::time::Duration,
    assumed: Arc<AtomicUsize>,
) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::test_util::infallible_client_fn(move |req| {
        let body = std::str::from_utf8(req.body().bytes().unwrap_or_default()).unwrap_or_default().to_owned();
        let xml = |inner: String| {
            http::Response::builder()
                .status(200)
                .header("content-type", "text/xml")
                .body(SdkBody::from(inner))
                .expect("response")
        };
        if body.contains("Action=AssumeRole") {
            let n = assumed.fetch_add(1, Ordering::SeqCst);
            let expires = aws_smithy_types::DateTime::from(std::time::SystemTime::now() + lifetime)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .expect("a date");
            xml(format!(
                "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>\
                 <Credentials><AccessKeyId>ASIA{n}</AccessKeyId><SecretAccessKey>s</SecretAccessKey>\
                 <SessionToken>t{n}</SessionToken><Expiration>{expires}</Expiration></Credentials>\
                 <AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId><Arn>arn:aws:sts::333333333333:assumed-role/deployer/s</Arn></AssumedRoleUser>\
                 </AssumeRoleResult></AssumeRoleResponse>"
            ))
        } else if body.contains("Action=GetCallerIdentity") {
            xml("<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
                 <Arn>arn:aws:sts::333333333333:assumed-role/deployer/s</Arn><UserId>AROA:s</UserId>\
                 <Account>333333333333</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"
                .into())
        } else {
            http::Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(SdkBody::from(r#"{"Name":"live","FunctionVersion":"4","RevisionId":"r"}"#))
                .expect("response")
        }
    })
}

async fn assume_roles(lifetime: std::time::Duration) -> usize {
    let assumed = Arc::new(AtomicUsize::new(0));
    let base = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("AKIATOOLING", "secret", None, None, "test"),
        ))
        .http_client(role_endpoint(lifetime, assumed.clone()))
        // As aws_config's loader does: one identity cache for every client.
        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
        .time_source(aws_smithy_async::time::SystemTimeSource::new())
        .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
        .build();
    let yaml = "environment: prod\naccount_id: \"333333333333\"\nregion: us-east-1\ndeploy_role: deployer\n\
                application: etl-prod\ndeployment_config: CodeDeployDefault.LambdaAllAtOnce\n\
                hooks: {pre_traffic: p, post_traffic: q}\nrelease_table: t\nartifact_bucket: b\n\
                functions: {load: {function_name: etl-prod-load}}\n";
    let settings =
        deployer::settings::Settings::parse(std::path::Path::new("prod.yaml"), "prod", yaml, false).expect("settings");
    let connection = deployer::connect::Connection::aws(true, CloudMeter::new());
    let cloud = connection.environment(&base, &settings, "deployer-test").await.expect("the role is assumed");
    for _ in 0..3 {
        assert_eq!(cloud.alias("etl-prod-load", "live").await.expect("a call as the role").version, "4");
    }
    assumed.load(Ordering::SeqCst)
}

#[tokio::test]
async fn the_deploy_roles_credentials_are_renewed_before_they_expire() {
    // A session that ends within the SDK's refresh window is assumed again for every
    // call, so a release never runs on expired credentials; an hour-long one is reused.
    let short = assume_roles(std::time::Duration::from_secs(5)).await;
    let long = assume_roles(std::time::Duration::from_secs(3600)).await;
    assert!(short >= 4, "renewed for each of the three calls after the first session: {short}");
    assert!(long <= 2, "reused while valid: {long}");
}

#[tokio::test]
async fn a_role_that_does_not_trust_the_caller_is_named_as_that() {
    let denied = aws_smithy_http_client::test_util::infallible_client_fn(|_req| {
        http::Response::builder()
            .status(403)
            .header("content-type", "text/xml")
            .body(SdkBody::from(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
                 <Code>AccessDenied</Code><Message>User: arn:aws:iam::444444444444:role/tooling is not authorized to perform: sts:AssumeRole</Message>\
                 </Error><RequestId>r-1</RequestId></ErrorResponse>",
            ))
            .expect("response")
    });
    let base = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("AKIATOOLING", "secret", None, None, "test"),
        ))
        .http_client(denied)
        .time_source(aws_smithy_async::time::SystemTimeSource::new())
        .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
        .build();
    let yaml = "environment: prod\naccount_id: \"333333333333\"\nregion: us-east-1\ndeploy_role: deployer\n\
                application: etl-prod\ndeployment_config: CodeDeployDefault.LambdaAllAtOnce\n\
                hooks: {pre_traffic: p, post_traffic: q}\nrelease_table: t\nartifact_bucket: b\n\
                functions: {load: {function_name: etl-prod-load}}\n";
    let settings = deployer::settings::Settings::parse(
        std::path::Path::new("environments/prod/deployer.yaml"),
        "prod",
        yaml,
        false,
    )
    .expect("settings");
    let err = deployer::connect::Connection::aws(true, CloudMeter::new())
        .environment(&base, &settings, "deployer-doctor-prod")
        .await
        .expect_err("not trusted");
    assert_eq!(err.exit_code(), exit::CREDENTIALS);
    let text = err.explained();
    assert!(
        text.contains("AssumeRole arn:aws:iam::333333333333:role/deployer: AccessDenied")
            && text.contains("not authorized to perform: sts:AssumeRole")
            && text.contains("trusts the caller")
            && text.contains("environments/prod/deployer.yaml"),
        "{text}"
    );
}

/// An environment whose IAM, Step Functions, CloudWatch Logs, CloudWatch, DynamoDB and
/// Lambda answer what `review` reads.
fn review_cloud(
    lambda: &[&Rule],
    cloudwatch: &[&Rule],
    dynamodb: &[&Rule],
    iam: &[&Rule],
    sfn: &[&Rule],
    logs: &[&Rule],
) -> SdkCloud {
    cloud(lambda, &[], cloudwatch, dynamodb)
        .with_iam(client!(aws_sdk_iam, iam))
        .with_workflow(
            client!(aws_sdk_sfn, sfn),
            aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::Config::builder().behavior_version(aws_sdk_s3::config::BehaviorVersion::latest()).build(),
            ),
        )
        .with_logs(client!(aws_sdk_cloudwatchlogs, logs))
}

#[tokio::test]
async fn review_reads_a_roles_url_encoded_policies_across_pages() {
    use aws_sdk_iam::operation::get_role::GetRoleOutput;
    use aws_sdk_iam::operation::get_role_policy::GetRolePolicyOutput;
    use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
    use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
    use deployer::cloud::Inventory;

    // IAM answers documents URL-encoded (RFC 3986).
    let trust = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%7D%5D%7D";
    let role = aws_sdk_iam::types::Role::builder()
        .path("/")
        .role_name("etl-prod-load")
        .role_id("AROAEXAMPLE")
        .arn("arn:aws:iam::333333333333:role/etl-prod-load")
        .create_date(aws_smithy_types::DateTime::from_secs(0))
        .assume_role_policy_document(trust)
        .build()
        .unwrap();
    let get_role = mock!(aws_sdk_iam::Client::get_role)
        .match_requests(|r| r.role_name() == Some("etl-prod-load"))
        .then_output(move || GetRoleOutput::builder().role(role.clone()).build());
    let first_page =
        mock!(aws_sdk_iam::Client::list_role_policies).match_requests(|r| r.marker().is_none()).then_output(|| {
            ListRolePoliciesOutput::builder().policy_names("etl-load").is_truncated(true).marker("m1").build().unwrap()
        });
    let second_page = mock!(aws_sdk_iam::Client::list_role_policies)
        .match_requests(|r| r.marker() == Some("m1"))
        .then_output(|| ListRolePoliciesOutput::builder().policy_names("extra").is_truncated(false).build().unwrap());
    let policy = |name: &'static str| {
        mock!(aws_sdk_iam::Client::get_role_policy).match_requests(move |r| r.policy_name() == Some(name)).then_output(
            move || {
                GetRolePolicyOutput::builder()
                    .role_name("etl-prod-load")
                    .policy_name(name)
                    .policy_document(format!("%7B%22Sid%22%3A%22{name}%22%7D"))
                    .build()
                    .unwrap()
            },
        )
    };
    let (load, extra) = (policy("etl-load"), policy("extra"));
    let attached = mock!(aws_sdk_iam::Client::list_attached_role_policies)
        .then_output(|| ListAttachedRolePoliciesOutput::builder().build());
    let cloud =
        review_cloud(&[], &[], &[], &[&get_role, &first_page, &second_page, &load, &extra, &attached], &[], &[]);
    let view = cloud.role("etl-prod-load").await.unwrap().expect("the role exists");
    assert_eq!(view.trust_policy, r#"{"Statement":[{"Effect":"Allow"}]}"#);
    assert_eq!(
        view.inline_policies,
        vec![
            ("etl-load".to_owned(), r#"{"Sid":"etl-load"}"#.to_owned()),
            ("extra".to_owned(), r#"{"Sid":"extra"}"#.to_owned())
        ],
        "both pages, each document decoded"
    );
    assert!(view.attached_policies.is_empty());
}

#[tokio::test]
async fn review_reads_a_missing_resource_as_absent_and_a_refusal_as_an_error() {
    use deployer::cloud::Inventory;
    let missing = |code_name: &'static str| ErrorMetadata::builder().code(code_name).message("not found").build();
    let dashboard = mock!(aws_sdk_cloudwatch::Client::get_dashboard).then_error(move || {
        aws_sdk_cloudwatch::operation::get_dashboard::GetDashboardError::generic(missing("ResourceNotFound"))
    });
    let policy = mock!(aws_sdk_lambda::Client::get_policy).then_error(move || {
        aws_sdk_lambda::operation::get_policy::GetPolicyError::generic(missing("ResourceNotFoundException"))
    });
    let table = mock!(aws_sdk_dynamodb::Client::describe_table).then_error(move || {
        aws_sdk_dynamodb::operation::describe_table::DescribeTableError::generic(missing("ResourceNotFoundException"))
    });
    let role = mock!(aws_sdk_iam::Client::get_role)
        .then_error(move || aws_sdk_iam::operation::get_role::GetRoleError::generic(missing("NoSuchEntity")));
    let machine = mock!(aws_sdk_sfn::Client::describe_state_machine).then_error(move || {
        aws_sdk_sfn::operation::describe_state_machine::DescribeStateMachineError::generic(missing(
            "StateMachineDoesNotExist",
        ))
    });
    let groups = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups).then_error(|| {
        aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsError::generic(
            ErrorMetadata::builder().code("AccessDeniedException").message("not authorized").build(),
        )
    });
    let cloud = review_cloud(&[&policy], &[&dashboard], &[&table], &[&role], &[&machine], &[&groups]);
    assert_eq!(cloud.dashboard("etl-prod").await.unwrap(), None);
    assert_eq!(cloud.function_policy("etl-prod-load").await.unwrap(), None);
    assert_eq!(cloud.table("etl-prod-runs").await.unwrap(), None);
    assert_eq!(cloud.role("etl-prod-load").await.unwrap(), None);
    assert_eq!(cloud.workflow("arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl").await.unwrap(), None);
    // A read the role may not make is not "absent": the review says it could not read.
    let denied = cloud.log_groups("/aws/lambda/etl-prod-").await.unwrap_err();
    assert_eq!(denied.exit_code(), exit::CREDENTIALS, "{denied}");
    assert!(denied.to_string().contains("DescribeLogGroups"), "{denied}");
}

#[tokio::test]
async fn an_execution_history_is_read_across_pages_into_states_and_task_answers() {
    use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
    use aws_sdk_sfn::types::{
        HistoryEvent, HistoryEventType, StateEnteredEventDetails, StateExitedEventDetails, TaskSucceededEventDetails,
    };
    use deployer::cloud::{HistoryKind, Workflow};

    let at = |ms: i64| aws_smithy_types::DateTime::from_millis(1_764_460_800_000 + ms);
    let event =
        |id: i64, ms: i64, kind: HistoryEventType| HistoryEvent::builder().id(id).timestamp(at(ms)).r#type(kind);
    let first = vec![
        event(1, 0, HistoryEventType::ExecutionStarted).build().unwrap(),
        event(2, 10, HistoryEventType::MapStateEntered)
            .state_entered_event_details(StateEnteredEventDetails::builder().name("Transform").build().unwrap())
            .build()
            .unwrap(),
    ];
    let second = vec![
        event(3, 250, HistoryEventType::TaskSucceeded)
            .task_succeeded_event_details(
                TaskSucceededEventDetails::builder()
                    .resource_type("lambda")
                    .resource("invoke")
                    .output(r#"{"Payload":{"batch_id":1}}"#)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap(),
        event(4, 260, HistoryEventType::MapStateExited)
            .state_exited_event_details(StateExitedEventDetails::builder().name("Transform").build().unwrap())
            .build()
            .unwrap(),
    ];
    let page_one = mock!(aws_sdk_sfn::Client::get_execution_history)
        .match_requests(|r| r.next_token().is_none() && r.max_results() == Some(1000))
        .then_output(move || {
            GetExecutionHistoryOutput::builder().set_events(Some(first.clone())).next_token("t1").build().unwrap()
        });
    let page_two = mock!(aws_sdk_sfn::Client::get_execution_history)
        .match_requests(|r| r.next_token() == Some("t1"))
        .then_output(move || GetExecutionHistoryOutput::builder().set_events(Some(second.clone())).build().unwrap());
    let cloud = review_cloud(&[], &[], &[], &[], &[&page_one, &page_two], &[]);
    let history =
        cloud.history("arn:aws:states:us-east-1:333333333333:execution:etl-prod-etl:replay-r-1").await.unwrap();
    let kinds: Vec<&HistoryKind> = history.iter().map(|e| &e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            &HistoryKind::Other,
            &HistoryKind::Entered { state: "Transform".into() },
            &HistoryKind::TaskSucceeded { output: r#"{"Payload":{"batch_id":1}}"#.into() },
            &HistoryKind::Exited { state: "Transform".into() },
        ],
        "both pages, in order"
    );
    assert_eq!(history[3].at_ms - history[1].at_ms, 250, "millisecond timestamps");
}
