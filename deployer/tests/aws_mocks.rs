//! The cloud layer and the ledger against aws-smithy-mocks: what each AWS answer
//! becomes (errors with the right exit code and fix, parsed states).

use aws_sdk_codedeploy::operation::get_deployment_group::GetDeploymentGroupError;
use aws_sdk_codedeploy::operation::stop_deployment::StopDeploymentError;
use aws_sdk_codedeploy::types::error::{DeploymentAlreadyCompletedException, DeploymentGroupDoesNotExistException};
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
use aws_sdk_lambda::types::AliasRoutingConfiguration;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use deployer::cloud::{Alarms, ArtifactStore, CodeDeploy, Lambda};
use deployer::engine::{store_release, Zips};
use deployer::error::{exit, DeployError};
use deployer::ledger::Ledger;
use deployer::release::{PackagePlan, FUNCTIONS, HOOKS, MANIFEST};

/// A client of `$sdk` whose answers are `rules`, in order.
macro_rules! client {
    ($sdk:ident, $rules:expr) => {
        client!($sdk, $rules, RuleMode::Sequential)
    };
    ($sdk:ident, $rules:expr, $mode:expr) => {{
        let mut interceptor = MockResponseInterceptor::new().rule_mode($mode);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        let config = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($sdk::config::Region::new("us-east-1"))
            .credentials_provider($sdk::config::Credentials::new("111111111111", "secret", None, None, "test"))
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .build();
        $sdk::Client::from_conf(config)
    }};
}

/// The error code the SDK's deserializer records for a modeled error.
fn code(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).build()
}

#[tokio::test]
async fn a_held_lock_names_its_holder_and_refuses() {
    let refused = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .message("held")
                .meta(code("ConditionalCheckFailedException"))
                .build(),
        )
    });
    let holder = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
        GetItemOutput::builder()
            .item("holder", AttributeValue::S("ci@runner-7:4242 (GitHub run 99)".into()))
            .item("since", AttributeValue::S("2026-11-23T09:00:00Z".into()))
            .item("expires", AttributeValue::N("1800000000".into()))
            .build()
    });
    let rules: [&Rule; 2] = [&refused, &holder];
    let ledger = Ledger {
        client: client!(aws_sdk_dynamodb, rules),
        table: "etl-prod-releases".into(),
        environment: "prod".into(),
    };
    let err = ledger.lock("me@here:1", std::time::Duration::from_secs(900)).await.expect_err("held by another");
    assert_eq!(err.exit_code(), exit::REFUSED);
    let text = err.to_string();
    assert!(
        text.contains("prod")
            && text.contains("ci@runner-7:4242 (GitHub run 99)")
            && text.contains("since 2026-11-23T09:00:00Z"),
        "{text}"
    );
    assert!(text.contains("expires 2027-01-15T08:00:00.000Z"), "{text}");
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
    let rules: [&Rule; 1] = [&put];
    let ledger = Ledger { client: client!(aws_sdk_dynamodb, rules), table: "t".into(), environment: "dev".into() };
    ledger.lock("me@here:1", std::time::Duration::from_secs(900)).await.expect("taken");
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
    let rules: [&Rule; 1] = [&missing];
    let cd = CodeDeploy(client!(aws_sdk_codedeploy, rules));
    let err = cd.check_group("etl-dev", "etl-dev-load").await.expect_err("missing");
    assert_eq!(err.exit_code(), exit::INFRASTRUCTURE);
    let text = err.to_string();
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
    let rules: [&Rule; 2] = [&done, &stopped];
    let cd = CodeDeploy(client!(aws_sdk_codedeploy, rules));
    assert!(!cd.stop("d-1").await.expect("already finished is fine"));
    assert!(cd.stop("d-2").await.expect("stopped with rollback"));
}

#[tokio::test]
async fn expired_and_refused_credentials_map_to_the_credentials_exit_code() {
    let expired = mock!(aws_sdk_sts::Client::get_caller_identity).then_error(|| {
        GetCallerIdentityError::generic(
            ErrorMetadata::builder()
                .code("ExpiredToken")
                .message("The security token included in the request is expired")
                .build(),
        )
    });
    let denied = mock!(aws_sdk_sts::Client::get_caller_identity).then_error(|| {
        GetCallerIdentityError::generic(
            ErrorMetadata::builder().code("InvalidClientTokenId").message("bad key").build(),
        )
    });
    let rules: [&Rule; 2] = [&expired, &denied];
    let sts = client!(aws_sdk_sts, rules);
    let err = DeployError::cloud("GetCallerIdentity", sts.get_caller_identity().send().await.expect_err("expired"));
    assert_eq!(err.exit_code(), exit::CREDENTIALS);
    assert!(err.to_string().contains("have expired") && err.to_string().contains("fix: refresh"), "{err}");
    let err = DeployError::cloud("GetCallerIdentity", sts.get_caller_identity().send().await.expect_err("denied"));
    assert_eq!(err.exit_code(), exit::CREDENTIALS);
    assert!(err.to_string().contains("refused"), "{err}");
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
    let rules: [&Rule; 1] = [&alias];
    let lambda = Lambda(client!(aws_sdk_lambda, rules));
    let state = lambda.alias("etl-dev-load", "live").await.expect("read");
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
    let rules: [&Rule; 2] = [&first, &second];
    let alarms = Alarms(client!(aws_sdk_cloudwatch, rules));
    let views = alarms.describe(&["etl-dev-load-errors".into()]).await.expect("one alarm");
    assert_eq!(
        (views[0].state.as_str(), views[0].value, views[0].function_dimension.as_deref()),
        ("ALARM", Some(5.0), Some("etl-dev-load"))
    );
    let err = alarms.describe(&["etl-dev-load-errors".into(), "etl-dev-load-typo".into()]).await.expect_err("missing");
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
fn recording_store() -> (ArtifactStore, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use aws_sdk_s3::operation::head_object::HeadObjectError;
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    let keys = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let missing = mock!(aws_sdk_s3::Client::head_object)
        .then_error(|| HeadObjectError::NotFound(aws_sdk_s3::types::error::NotFound::builder().build()));
    let sent = keys.clone();
    let put = mock!(aws_sdk_s3::Client::put_object).then_compute_output(move |req| {
        sent.lock().expect("keys").push(req.key().unwrap_or_default().to_owned());
        PutObjectOutput::builder().build()
    });
    let store =
        ArtifactStore { client: client!(aws_sdk_s3, [&missing, &put], RuleMode::MatchAny), bucket: "artifacts".into() };
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
    assert_eq!(keys.last().map(String::as_str), Some(ArtifactStore::key(&manifest.release_id, MANIFEST).as_str()));
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
