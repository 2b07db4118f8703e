//! A failed AWS call, said so that an operator can act on it: what was being done, the
//! service's error code and message, the HTTP status and request id when there was an
//! answer, or why there was none; and whether trying again may succeed.

use aws_sdk_codedeploy::operation::RequestId;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use thiserror::Error;

/// The SDK's error type (the same in every service crate).
pub use aws_sdk_codedeploy::error::SdkError;

/// A failed AWS call.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{action}: {detail}")]
pub struct AwsError {
    pub action: String,
    pub detail: String,
    /// Trying again may succeed: throttling, a 5xx, a timeout, a dropped connection or
    /// an unreadable answer. False for refusals (denied, not found, invalid).
    pub transient: bool,
}

/// The error codes AWS SDKs treat as throttling or transient, as the Rust SDK's own
/// retry classifier lists them (aws-runtime `retries::classifiers::THROTTLING_ERRORS`
/// and `TRANSIENT_ERRORS`), so that our retries agree with the SDK's.
const TRANSIENT_CODES: &[&str] = &[
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
    "EC2ThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// An error that may pass if the call is made again.
pub trait MayPass {
    fn may_pass(&self) -> bool;
}

impl MayPass for AwsError {
    fn may_pass(&self) -> bool {
        self.transient
    }
}

impl AwsError {
    /// A refusal: trying again will not help.
    pub fn new(action: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { action: action.into(), detail: detail.into(), transient: false }
    }

    /// A fault that may pass: trying again may succeed.
    pub fn transient(action: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { action: action.into(), detail: detail.into(), transient: true }
    }

    /// From an SDK error, after the SDK's own retries: `Code: message (HTTP 503,
    /// request id ...)` for a service error, why there was no answer otherwise.
    pub fn from_sdk<E>(action: impl Into<String>, err: &SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let (detail, transient) = match err {
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
                // A 2xx whose body could not be parsed: the request was applied, its
                // answer was cut short (the SDK reports that as an error without a code).
                if code.is_none() && status.is_some_and(|s| (200..300).contains(&s)) {
                    let status = status.unwrap_or(200);
                    return Self::transient(action, format!("the answer could not be read (HTTP {status}, {detail})"));
                }
                let transient =
                    code.is_some_and(|c| TRANSIENT_CODES.contains(&c)) || status.is_some_and(|s| s == 429 || s >= 500);
                (detail, transient)
            }
            SdkError::TimeoutError(_) => (format!("no answer in time: {}", error_chain(err)), true),
            SdkError::DispatchFailure(failure) => {
                let transient = failure.is_io() || failure.is_timeout();
                (format!("the request could not be sent: {}", error_chain(err)), transient)
            }
            // The request may have been applied; the answer was cut or unreadable.
            SdkError::ResponseError(_) => (format!("the answer could not be read: {}", error_chain(err)), true),
            _ => (error_chain(err), false),
        };
        Self { action: action.into(), detail, transient }
    }
}

/// An error and its sources, `: `-separated (no Debug dumps in reasons).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_skip_repeated_causes() {
        #[derive(Debug, Error)]
        #[error("outer")]
        struct Outer(#[source] Inner);
        #[derive(Debug, Error)]
        #[error("inner")]
        struct Inner;
        assert_eq!(error_chain(&Outer(Inner)), "outer: inner");
    }

    #[test]
    fn constructors_say_whether_to_try_again() {
        assert!(!AwsError::new("a", "AccessDeniedException").transient);
        assert!(AwsError::transient("a", "ThrottlingException").transient);
        assert_eq!(AwsError::new("reading x", "boom").to_string(), "reading x: boom");
    }
}
