//! The error an API request gets back: an AWS error code, a message that says what is
//! wrong and how to fix it, and the HTTP status. Each protocol renders it in its own
//! format (JSON `__type`, CBOR, query XML); see `cloudwatch::wire` and `proxy`.

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A client error (HTTP 400), as both services report bad requests.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), status: 400 }
    }

    /// CodeDeploy's generic input error.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }

    /// A request field of the wrong type. AWS's JSON protocols answer this with
    /// HTTP 400 `SerializationException` before any validation runs (the SDKs never
    /// send it; hand-written requests do), so both services answer it the same way.
    pub fn wrong_type(field: &str, expected: &str, got: &Value) -> Self {
        Self::new("SerializationException", format!("{field} must be {expected}, not {}", kind_of(got)))
    }

    /// The JSON protocols' error body.
    pub fn json_body(&self) -> String {
        json!({ "__type": self.code, "message": self.message }).to_string()
    }
}

/// How a JSON value's type reads in a message.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_are_serialization_errors_naming_the_field() {
        let err = ApiError::wrong_type("applicationName", "a string", &json!(5));
        assert_eq!((err.code, err.status), ("SerializationException", 400));
        assert_eq!(err.message, "applicationName must be a string, not a number");
        let body: Value = serde_json::from_str(&err.json_body()).unwrap_or_default();
        assert_eq!(body["__type"], "SerializationException");
    }
}
