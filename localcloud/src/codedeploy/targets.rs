//! Deployment targets: ListDeploymentTargets, GetDeploymentTarget,
//! BatchGetDeploymentTargets. A Lambda deployment has one target, its function alias.

use serde_json::{json, Value};

use super::deployments::deployment_id;
use super::shapes::{deployment_target, target_id};
use super::CodeDeploy;
use crate::api::{ApiError, ApiResult, Params};

/// BatchGetDeploymentTargets takes at most 25 target ids (API reference).
const BATCH_LIMIT: usize = 25;

impl CodeDeploy {
    pub(super) fn list_targets(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let id = deployment_id(input)?;
        // targetFilters: {"TargetStatus": [...]} keeps the targets in those states;
        // ServerInstanceLabel (Blue/Green) concerns EC2 instances, not Lambda targets.
        let statuses = match input.object("targetFilters")? {
            Some(filters) => filters.strings("TargetStatus")?,
            None => Vec::new(),
        };
        self.with_deployment(account, &id, |d| {
            let status = serde_json::to_value(d.status.target_status()).unwrap_or_default();
            let keep = statuses.is_empty() || statuses.iter().any(|s| status == s.as_str());
            let ids: Vec<String> = target_id(d).into_iter().filter(|_| keep).collect();
            json!({"targetIds": ids})
        })
    }

    pub(super) fn get_target(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let id = deployment_id(input)?;
        let target = input.required_str("targetId", "DeploymentTargetIdRequiredException")?;
        let found = self.with_deployment(account, &id, |d| {
            (target_id(d).as_deref() == Some(target.as_str())).then(|| deployment_target(account, d)).flatten()
        })?;
        found.map(|t| json!({"deploymentTarget": t})).ok_or_else(|| {
            ApiError::new("DeploymentTargetDoesNotExistException", format!("deployment {id} has no target {target}"))
        })
    }

    pub(super) fn batch_get_targets(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let id = deployment_id(input)?;
        let wanted = input.strings("targetIds")?;
        if wanted.len() > BATCH_LIMIT {
            return Err(ApiError::new(
                "DeploymentTargetListSizeExceededException",
                format!("at most {BATCH_LIMIT} target ids per call, not {}", wanted.len()),
            ));
        }
        let targets = self.with_deployment(account, &id, |d| {
            wanted
                .iter()
                .map(|t| (target_id(d).as_deref() == Some(t.as_str())).then(|| deployment_target(account, d)).flatten())
                .collect::<Vec<_>>()
        })?;
        if targets.iter().any(Option::is_none) {
            return Err(ApiError::new(
                "DeploymentTargetDoesNotExistException",
                format!("deployment {id} lacks some of the targets {wanted:?}"),
            ));
        }
        Ok(json!({"deploymentTargets": targets.into_iter().flatten().collect::<Vec<_>>()}))
    }
}
