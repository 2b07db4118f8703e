//! CodeDeploy's errors as the JSON protocol reports them: HTTP 400 with `__type`.

use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), status: 400 }
    }

    pub fn body(&self) -> String {
        json!({ "__type": self.code, "message": self.message }).to_string()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

pub fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message)
}

pub fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new("ValidationException", message)
}
