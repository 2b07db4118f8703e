//! Typed errors. Each maps to the Lambda error type the state machine matches:
//! `Retryable` is retried with backoff; the others go straight to the saga's Catch.

/// The error types the Step Functions Retry and Catch clauses name.
pub const RETRYABLE: &str = "Retryable";
pub const NON_RETRYABLE: &str = "NonRetryable";
pub const INVALID_INPUT: &str = "InvalidInput";
pub const CORRUPT_OBJECT: &str = "CorruptObject";

#[derive(Debug, thiserror::Error)]
pub enum EtlError {
    /// A transient failure (throttling, a 5xx, a timeout): try again.
    #[error("{0}")]
    Retryable(String),
    /// A failure that will not go away by retrying (missing bucket, denied access).
    #[error("{0}")]
    NonRetryable(String),
    /// The event itself is wrong (missing field, bad run date).
    #[error("{0}")]
    InvalidInput(String),
    /// An object that cannot be read as records (not UTF-8, truncated).
    #[error("{object}: {reason}")]
    CorruptObject { object: String, reason: String },
}

impl EtlError {
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Retryable(_) => RETRYABLE,
            Self::NonRetryable(_) => NON_RETRYABLE,
            Self::InvalidInput(_) => INVALID_INPUT,
            Self::CorruptObject { .. } => CORRUPT_OBJECT,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable(_))
    }
}
