//! The AWS adapters against aws-smithy-mocks: the ledger's conditional write, settled
//! after a lost answer; the SDK's retries under throttling and 5xx; and the
//! classification of service errors into Retryable and NonRetryable.

// Helpers outside #[test] functions may unwrap too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
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

/// The functions' retry policy (attempts and mode as deployed; the pauses shortened for
/// the tests).
fn retries() -> aws_sdk_dynamodb::config::retry::RetryConfig {
    etl_functions::aws::sdk::retry_config()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
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
        .retry_config(retries())
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
        .retry_config(retries())
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn run() -> Run {
    Run {
        run_id: "orders-2026-11-22".into(),
        run_date: "2026-11-22".into(),
        execution_id: "exec-1".into(),
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

    // A 5xx without a body is still a transient fault, said with its status.
    let empty = mock!(aws_sdk_s3::Client::get_object).then_http_response(|| s3_error_without_body(500));
    let store = S3Store::new(s3(&[&empty]));
    let err = store.open("raw", "k.jsonl").await.err().expect("an error");
    assert_eq!(err.error_type(), "Retryable", "{err}");
    assert!(err.to_string().contains("HTTP 500") && !err.to_string().contains("no message"), "{err}");
}

fn s3_error_without_body(status: u16) -> aws_sdk_s3::config::http::HttpResponse {
    http::Response::builder().status(status).body(aws_smithy_types::body::SdkBody::empty()).unwrap().try_into().unwrap()
}

// ---- the ledger's conditional write after a lost answer ----

/// A DynamoDB (JSON 1.0) answer.
fn dynamo_answer(status: u16, body: &str) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-requestid", "req-42")
        .body(aws_smithy_types::body::SdkBody::from(body.to_owned()))
        .unwrap()
        .try_into()
        .unwrap()
}

fn dynamo_error(status: u16, code: &str, message: &str) -> HttpResponse {
    dynamo_answer(
        status,
        &serde_json::json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{code}"), "message": message})
            .to_string(),
    )
}

/// The start token each PutItem of the run carried (the rule sees the request once).
type Tokens = Arc<Mutex<Vec<String>>>;

fn capture_tokens(
    tokens: &Tokens,
) -> impl Fn(&aws_sdk_dynamodb::operation::put_item::PutItemInput) -> bool + Send + Sync {
    let tokens = tokens.clone();
    move |r| {
        if let Some(token) = r.item().and_then(|i| i.get("start_token")).and_then(|v| v.as_s().ok()) {
            tokens.lock().unwrap().push(token.clone());
        }
        true
    }
}

/// GetItem answering the run's item as stored: RUNNING, written by `execution` with the
/// token the start call sent (`ours`) or another one.
fn stored_item(tokens: &Tokens, execution: &'static str, ours: bool) -> Rule {
    let tokens = tokens.clone();
    mock!(aws_sdk_dynamodb::Client::get_item).match_requests(|r| r.consistent_read() == Some(true)).then_output(
        move || {
            let token = if ours { tokens.lock().unwrap().last().cloned().unwrap() } else { "someone-else".to_owned() };
            GetItemOutput::builder()
                .item("run_id", AttributeValue::S("orders-2026-11-22".into()))
                .item("status", AttributeValue::S("RUNNING".into()))
                .item("execution_id", AttributeValue::S(execution.into()))
                .item("start_token", AttributeValue::S(token))
                .build()
        },
    )
}

#[tokio::test]
async fn a_start_applied_whose_retry_fails_the_condition_is_ours() {
    // DynamoDB answers 500 ("may or may not have succeeded": it did); the SDK's retry
    // then fails the condition on the item the first attempt wrote.
    let tokens = Tokens::default();
    let put = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(capture_tokens(&tokens))
        .sequence()
        .http_response(|| dynamo_error(500, "InternalServerError", "Internal server error"))
        .http_response(|| dynamo_error(400, "ConditionalCheckFailedException", "The conditional request failed"))
        .build();
    let read = stored_item(&tokens, "exec-1", true);
    let ledger = DynamoLedger::new(dynamodb(&[&put, &read]), "runs".into());
    assert_eq!(ledger.start(&run()).await.unwrap(), Started::New);
    assert_eq!((put.num_calls(), read.num_calls()), (2, 1), "one retry, then one consistent read");
}

#[tokio::test]
async fn a_start_whose_answer_was_cut_short_is_read_back() {
    // The write applied and its answer arrived cut short: the SDK does not retry an
    // answer it cannot read; the ledger reads the item back and finds its own token.
    let tokens = Tokens::default();
    let put = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(capture_tokens(&tokens))
        .then_http_response(|| dynamo_answer(200, r#"{"Attribu"#));
    let read = stored_item(&tokens, "exec-1", true);
    let ledger = DynamoLedger::new(dynamodb(&[&put, &read]), "runs".into());
    assert_eq!(ledger.start(&run()).await.unwrap(), Started::New);
    assert_eq!((put.num_calls(), read.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_start_that_did_not_apply_is_retryable() {
    let tokens = Tokens::default();
    let put = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(capture_tokens(&tokens))
        .then_http_response(|| dynamo_error(500, "InternalServerError", "Internal server error"));
    let nothing = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build());
    let ledger = DynamoLedger::new(dynamodb(&[&put, &nothing]), "runs".into());
    let err = ledger.start(&run()).await.unwrap_err();
    assert_eq!(err.error_type(), "Retryable", "{err}");
    assert!(
        err.to_string().contains("InternalServerError: Internal server error (HTTP 500, request id req-42)"),
        "{err}"
    );
    let attempts = etl_functions::aws::sdk::MAX_ATTEMPTS as usize;
    assert_eq!((put.num_calls(), nothing.num_calls()), (attempts, 1), "every attempt, then a read");
}

#[tokio::test]
async fn a_start_retried_by_the_same_execution_resumes_the_run() {
    // Step Functions retried Extract after an attempt that recorded the run and failed
    // later (or lost its reply): the run is this execution's, under an older token.
    let tokens = Tokens::default();
    let put = mock!(aws_sdk_dynamodb::Client::put_item).match_requests(capture_tokens(&tokens)).then_error(|| {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().message("exists").build(),
        )
    });
    let read = stored_item(&tokens, "exec-1", false);
    let ledger = DynamoLedger::new(dynamodb(&[&put, &read]), "runs".into());
    assert_eq!(ledger.start(&run()).await.unwrap(), Started::Resumed);
}

#[tokio::test]
async fn a_start_finding_another_executions_run_answers_it() {
    for (execution_id, of_item) in [("exec-1", "exec-2"), ("manual", "manual")] {
        let tokens = Tokens::default();
        let put = mock!(aws_sdk_dynamodb::Client::put_item).match_requests(capture_tokens(&tokens)).then_error(|| {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().message("exists").build(),
            )
        });
        let read = stored_item(&tokens, of_item, false);
        let ledger = DynamoLedger::new(dynamodb(&[&put, &read]), "runs".into());
        let run = Run { execution_id: execution_id.into(), ..run() };
        assert_eq!(ledger.start(&run).await.unwrap(), Started::Existing("RUNNING".into()), "{execution_id}");
    }
}

#[tokio::test]
async fn a_throttled_start_is_retried_by_the_sdk_then_accepted() {
    let put = mock!(aws_sdk_dynamodb::Client::put_item)
        .sequence()
        .http_response(|| {
            dynamo_error(
                400,
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded",
            )
        })
        .times(4)
        .output(|| PutItemOutput::builder().build())
        .build();
    let ledger = DynamoLedger::new(dynamodb(&[&put]), "runs".into());
    assert_eq!(ledger.start(&run()).await.unwrap(), Started::New);
    assert_eq!(put.num_calls(), 5);
}

// ---- S3 under faults ----

fn s3_error(status: u16, code: &str) -> aws_sdk_s3::config::http::HttpResponse {
    http::Response::builder()
        .status(status)
        .header("x-amz-request-id", "s3-req-7")
        .body(aws_smithy_types::body::SdkBody::from(format!(
            "<Error><Code>{code}</Code><Message>{code}</Message></Error>"
        )))
        .unwrap()
        .try_into()
        .unwrap()
}

#[tokio::test]
async fn s3_writes_ride_through_slowdown_and_5xx() {
    let put = mock!(aws_sdk_s3::Client::put_object)
        .sequence()
        .http_response(|| s3_error(503, "SlowDown"))
        .times(2)
        .http_status(500, None)
        .output(|| aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build())
        .build();
    let copy = mock!(aws_sdk_s3::Client::copy_object)
        .sequence()
        .http_response(|| s3_error(503, "SlowDown"))
        .output(|| aws_sdk_s3::operation::copy_object::CopyObjectOutput::builder().build())
        .build();
    let store = S3Store::new(s3(&[&put, &copy]));
    store.put("staging", "batch-00000.jsonl", b"{}\n".to_vec()).await.unwrap();
    store.copy("staging", "batch-00000.jsonl", "curated", "part-00000.jsonl").await.unwrap();
    assert_eq!((put.num_calls(), copy.num_calls()), (4, 2));
}
