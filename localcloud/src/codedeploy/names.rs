//! Names and ARNs of CodeDeploy resources.

use crate::api::{ApiError, ApiResult};

pub const REGION: &str = "us-east-1";

pub fn application_arn(account: &str, name: &str) -> String {
    format!("arn:aws:codedeploy:{REGION}:{account}:application:{name}")
}

pub fn group_arn(account: &str, app: &str, group: &str) -> String {
    format!("arn:aws:codedeploy:{REGION}:{account}:deploymentgroup:{app}/{group}")
}

/// Application, group and config names: at most 100 characters, no control characters.
pub fn validate_name(name: &str, code: &'static str, field: &str) -> ApiResult<()> {
    if name.len() > 100 {
        return Err(ApiError::new(code, format!("{field} is longer than 100 characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::validation(format!("{field} contains control characters")));
    }
    Ok(())
}
