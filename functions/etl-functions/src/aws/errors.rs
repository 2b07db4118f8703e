//! SDK errors as the typed ETL errors the state machine's Retry and Catch match:
//! throttling, 5xx, timeouts, dropped connections and unreadable answers are
//! `Retryable` (after the SDK's own attempts: see [`super::sdk`]); a missing bucket or
//! table, denied access or an invalid request is not. Each message names the call, the
//! service's code and message, the HTTP status and the request id.

use aws_sdk_s3::operation::RequestId;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use etl_core::EtlError;

/// The SDK's error type (the same in every service crate).
pub use aws_sdk_s3::error::SdkError;

/// The error codes AWS SDKs treat as throttling or transient, as the Rust SDK's own
/// retry classifier lists them (aws-runtime `retries::classifiers::THROTTLING_ERRORS`
/// and `TRANSIENT_ERRORS`), plus the 5xx codes S3 and DynamoDB send with a body.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Classifies an SDK error for the state machine's Retry and Catch.
pub fn classify<E>(what: &str, err: &SdkError<E>) -> EtlError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    match err {
        SdkError::ServiceError(service) => {
            let service = service.err();
            let code = service.code();
            let mut detail = match (code, service.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                (None, Some(message)) => format!("an error without a code: {message}"),
                (None, None) => "an error without a code or message".to_owned(),
            };
            let mut context = Vec::new();
            if let Some(status) = status.filter(|s| *s >= 300) {
                context.push(format!("HTTP {status}"));
            }
            if let Some(id) = err.request_id() {
                context.push(format!("request id {id}"));
            }
            if !context.is_empty() {
                detail.push_str(&format!(" ({})", context.join(", ")));
            }
            // A 2xx whose body could not be parsed: the request was applied, its answer
            // was cut short (the SDK reports that as an error without a code).
            let unreadable = code.is_none() && status.is_some_and(|s| (200..300).contains(&s));
            if unreadable {
                return EtlError::Retryable(format!(
                    "{what}: the answer could not be read (HTTP {}, {detail})",
                    status.unwrap_or(200)
                ));
            }
            let retryable =
                code.is_some_and(|c| RETRYABLE_CODES.contains(&c)) || status.is_some_and(|s| s == 429 || s >= 500);
            if retryable {
                EtlError::Retryable(format!("{what}: {detail}"))
            } else {
                EtlError::NonRetryable(format!("{what}: {detail}"))
            }
        }
        SdkError::TimeoutError(_) => EtlError::Retryable(format!("{what}: no answer in time ({})", error_chain(err))),
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
            EtlError::Retryable(format!("{what}: the request could not be sent ({})", error_chain(err)))
        }
        // The request may have been applied; its answer was cut or unreadable.
        SdkError::ResponseError(_) => {
            EtlError::Retryable(format!("{what}: the answer could not be read ({})", error_chain(err)))
        }
        _ => EtlError::NonRetryable(format!("{what}: {}", error_chain(err))),
    }
}

/// An error and its sources, `: `-separated.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
