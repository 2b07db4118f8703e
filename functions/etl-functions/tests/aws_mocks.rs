//! The AWS adapters against aws-smithy-mocks: the ledger's conditional write and the
//! classification of service errors into Retryable and NonRetryable.

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::types::error::NoSuchKey;
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, Rule};
use etl_functions::aws::{DynamoLedger, ObjectStore, RunLedger, S3Store, Started};
use etl_functions::events::Run;

fn creds() -> aws_sdk_dynamodb::config::Credentials {
    aws_sdk_dynamodb::config::Credentials::new("111111111111", "secret", None, None, "test")
}

fn dynamodb(rules: &[&Rule]) -> aws_sdk_dynamodb::Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(aws_smithy_mocks::RuleMode::Sequential);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(creds())
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

fn s3(rules: &[&Rule]) -> aws_sdk_s3::Client {
    let mut interceptor = MockResponseInterceptor::new();
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(creds())
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn run() -> Run {
    Run {
        run_id: "orders-2026-11-22".into(),
        run_date: "2026-11-22".into(),
        execution_id: "e".into(),
        dry_run: false,
        inject_failure: None,
    }
}

#[tokio::test]
async fn a_second_start_answers_the_existing_run() {
    let refused = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().message("exists").build(),
        )
    });
    let existing = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| r.consistent_read() == Some(true))
        .then_output(|| GetItemOutput::builder().item("status", AttributeValue::S("SUCCEEDED".into())).build());
    let ledger = DynamoLedger::new(dynamodb(&[&refused, &existing]), "runs".into());
    assert_eq!(ledger.start(&run()).await.unwrap(), Started::Existing("SUCCEEDED".into()));
    assert_eq!((refused.num_calls(), existing.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_first_start_is_conditional() {
    let accepted = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|r| {
            r.condition_expression().is_some_and(|c| c.contains("attribute_not_exists(run_id)"))
                && r.item().is_some_and(|i| i.contains_key("expires_at"))
        })
        .then_output(|| aws_sdk_dynamodb::operation::put_item::PutItemOutput::builder().build());
    let ledger = DynamoLedger::new(dynamodb(&[&accepted]), "runs".into());
    assert_eq!(ledger.start(&run()).await.unwrap(), Started::New);
}

#[tokio::test]
async fn service_errors_are_classified() {
    let missing = mock!(aws_sdk_s3::Client::get_object).then_error(|| {
        // As parsed from a real reply: the code travels in the error's metadata.
        let meta = aws_smithy_types::error::ErrorMetadata::builder().code("NoSuchKey").message("gone").build();
        GetObjectError::NoSuchKey(NoSuchKey::builder().message("gone").meta(meta).build())
    });
    let store = S3Store::new(s3(&[&missing]));
    let err = store.open("raw", "dt=2026-11-22/a.jsonl").await.err().expect("an error");
    assert_eq!(err.error_type(), "NonRetryable");
    assert!(
        err.to_string().contains("s3://raw/dt=2026-11-22/a.jsonl") && err.to_string().contains("NoSuchKey"),
        "{err}"
    );

    let throttled = mock!(aws_sdk_s3::Client::get_object).then_http_response(|| {
        http::Response::builder()
            .status(503)
            .body(aws_smithy_types::body::SdkBody::from(
                "<Error><Code>SlowDown</Code><Message>slow down</Message></Error>",
            ))
            .unwrap()
            .try_into()
            .unwrap()
    });
    let store = S3Store::new(s3(&[&throttled]));
    let err = store.open("raw", "k.jsonl").await.err().expect("an error");
    assert_eq!(err.error_type(), "Retryable", "{err}");
}
