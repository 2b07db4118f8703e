//! [`Deployments`] over the CodeDeploy SDK client: learning a deployment's target the
//! ways AWS supports, and answering the hook execution.
//!
//! The hook event names only the deployment. `GetDeployment` of a deployment created
//! with an inline AppSpec (`revisionType: AppSpecContent`) answers the revision's type
//! and sha256, not its content (the CodeDeploy API reference's `RevisionLocation`, and
//! seek-oss/aws-codedeploy-hooks, whose tests model GetDeployment that way and which
//! reads the AppSpec through GetApplicationRevision). So the hook asks:
//!
//! 1. `ListDeploymentTargets` + `GetDeploymentTarget`: a Lambda deployment has one
//!    target whose `lambdaTarget.lambdaFunctionInfo` names the function, alias, current
//!    and target version (API reference: `LambdaTarget`, `LambdaFunctionInfo`);
//! 2. failing that, `GetDeployment` (application name and revision location) +
//!    `GetApplicationRevision`, whose `revision.string.content` (or
//!    `appSpecContent.content`) holds the AppSpec.
//!
//! Two independent reads: a deployment fails only when neither names the target.

use aws_sdk_codedeploy::types::{LambdaFunctionInfo, LifecycleEventStatus, RevisionLocation};
use thiserror::Error;

use super::{AwsError, Deployments, Reported};
use crate::appspec::{self, AppSpecError, LambdaTarget};
use crate::HookStatus;

/// Why a deployment's target could not be learnt.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TargetError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("deployment {deployment_id} lists no Lambda deployment target{detail}")]
    NoLambdaTarget { deployment_id: String, detail: String },
    #[error(
        "deployment {deployment_id} lists {count} Lambda deployment targets ({ids}); a Lambda deployment has exactly one"
    )]
    SeveralLambdaTargets { deployment_id: String, count: usize, ids: String },
    #[error("deployment {deployment_id}: target {target_id}'s lambdaFunctionInfo {problem}")]
    IncompleteTarget { deployment_id: String, target_id: String, problem: String },
    #[error("deployment {deployment_id} has no inline AppSpec (revision type {revision_type}); a Lambda deployment sends AppSpecContent")]
    NoAppSpec { deployment_id: String, revision_type: String },
    #[error("deployment {deployment_id}: {source}")]
    AppSpec { deployment_id: String, source: AppSpecError },
    #[error("deployment {deployment_id}: neither its deployment target nor its application revision names the function it shifts. From the target: {from_target}. From the revision: {from_revision}")]
    Neither { deployment_id: String, from_target: Box<TargetError>, from_revision: Box<TargetError> },
}

impl super::error::MayPass for TargetError {
    /// Only a failed call may pass; a target that does not say what it shifts will not.
    fn may_pass(&self) -> bool {
        matches!(self, TargetError::Aws(err) if err.transient)
    }
}

/// [`Deployments`] over the CodeDeploy SDK client.
#[derive(Debug, Clone)]
pub struct CodeDeployDeployments {
    client: aws_sdk_codedeploy::Client,
}

impl CodeDeployDeployments {
    pub fn new(client: aws_sdk_codedeploy::Client) -> Self {
        Self { client }
    }

    /// ListDeploymentTargets (every page), then GetDeploymentTarget of each id until the
    /// Lambda target; its `lambdaFunctionInfo` is the target.
    async fn target_from_deployment_target(&self, deployment_id: &str) -> Result<LambdaTarget, TargetError> {
        let mut ids = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_deployment_targets()
                .deployment_id(deployment_id)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(format!("listing the targets of deployment {deployment_id}"), &e))?;
            ids.extend(page.target_ids().iter().cloned());
            match page.next_token().filter(|t| !t.is_empty()) {
                Some(token) => next_token = Some(token.to_owned()),
                None => break,
            }
        }
        let mut found = Vec::new();
        for target_id in &ids {
            let out = self
                .client
                .get_deployment_target()
                .deployment_id(deployment_id)
                .target_id(target_id)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(format!("reading target {target_id} of deployment {deployment_id}"), &e)
                })?;
            if let Some(lambda) = out.deployment_target().and_then(|t| t.lambda_target()) {
                let traffic_since = lambda
                    .lifecycle_events()
                    .iter()
                    .find(|e| e.lifecycle_event_name() == Some("BeforeAllowTraffic"))
                    .and_then(|e| e.end_time())
                    .and_then(|t| std::time::SystemTime::try_from(*t).ok());
                found.push((target_id.clone(), (lambda.lambda_function_info().cloned(), traffic_since)));
            }
        }
        match found.as_slice() {
            [] => Err(TargetError::NoLambdaTarget {
                deployment_id: deployment_id.to_owned(),
                detail: if ids.is_empty() {
                    " (ListDeploymentTargets answered none)".to_owned()
                } else {
                    format!(" among {}", ids.join(", "))
                },
            }),
            [(target_id, (info, traffic_since))] => {
                from_function_info(deployment_id, target_id, info.as_ref(), *traffic_since)
            }
            several => Err(TargetError::SeveralLambdaTargets {
                deployment_id: deployment_id.to_owned(),
                count: several.len(),
                ids: several.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// GetDeployment for the application and the revision's location, then
    /// GetApplicationRevision for the AppSpec's content.
    async fn target_from_revision(&self, deployment_id: &str) -> Result<LambdaTarget, TargetError> {
        let out = self
            .client
            .get_deployment()
            .deployment_id(deployment_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(format!("reading deployment {deployment_id}"), &e))?;
        let info = out.deployment_info();
        let (Some(application), Some(revision)) =
            (info.and_then(|d| d.application_name()), info.and_then(|d| d.revision()))
        else {
            return Err(AwsError::new(
                format!("reading deployment {deployment_id}"),
                "GetDeployment answered no application name or revision",
            )
            .into());
        };
        // Should a service answer the content inline after all, no second call is needed.
        let content = match inline_content(revision) {
            Some(content) => content.to_owned(),
            None => {
                let answer = self
                    .client
                    .get_application_revision()
                    .application_name(application)
                    .revision(revision.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        AwsError::from_sdk(
                            format!("reading the application revision of deployment {deployment_id} ({application})"),
                            &e,
                        )
                    })?;
                match answer.revision().and_then(inline_content) {
                    Some(content) => content.to_owned(),
                    None => {
                        return Err(TargetError::NoAppSpec {
                            deployment_id: deployment_id.to_owned(),
                            revision_type: revision
                                .revision_type()
                                .map_or_else(|| "none".to_owned(), |t| t.as_str().to_owned()),
                        })
                    }
                }
            }
        };
        appspec::parse(&content)
            .map(|spec| spec.target)
            .map_err(|source| TargetError::AppSpec { deployment_id: deployment_id.to_owned(), source })
    }
}

/// The AppSpec text a revision location carries, if any (`string` is how
/// GetApplicationRevision answers an inline revision; `appSpecContent` how one is sent).
fn inline_content(revision: &RevisionLocation) -> Option<&str> {
    revision
        .app_spec_content()
        .and_then(|c| c.content())
        .or_else(|| revision.string().and_then(|s| s.content()))
        .filter(|c| !c.trim().is_empty())
}

/// A deployment target's `lambdaFunctionInfo` as the target, with the AppSpec's rules:
/// every field present, a function name (an ARN is reduced to it), a published target
/// version (not `$LATEST`).
fn from_function_info(
    deployment_id: &str,
    target_id: &str,
    info: Option<&LambdaFunctionInfo>,
    traffic_since: Option<std::time::SystemTime>,
) -> Result<LambdaTarget, TargetError> {
    let incomplete = |problem: String| TargetError::IncompleteTarget {
        deployment_id: deployment_id.to_owned(),
        target_id: target_id.to_owned(),
        problem,
    };
    let info = info.ok_or_else(|| incomplete("is missing".to_owned()))?;
    let field = |name: &str, value: Option<&str>| {
        value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| incomplete(format!("has no {name}")))
    };
    let name = field("functionName", info.function_name())?;
    let target = LambdaTarget {
        resource: target_id.to_owned(),
        function_name: appspec::function_name(&name)
            .ok_or_else(|| incomplete(format!("functionName {name:?} is not a function name or ARN")))?,
        alias: field("functionAlias", info.function_alias())?,
        current_version: field("currentVersion", info.current_version())?,
        target_version: field("targetVersion", info.target_version())?,
        traffic_since,
    };
    if !target.target_version.chars().all(|c| c.is_ascii_digit()) {
        return Err(incomplete(format!(
            "targetVersion is {:?}; it must be a published version number (not $LATEST)",
            target.target_version
        )));
    }
    Ok(target)
}

impl Deployments for CodeDeployDeployments {
    async fn target(&self, deployment_id: &str) -> Result<LambdaTarget, TargetError> {
        let from_target = match self.target_from_deployment_target(deployment_id).await {
            Ok(target) => return Ok(target),
            Err(err) => err,
        };
        tracing::warn!(error = %from_target, "the deployment target did not name the function: reading the application revision");
        self.target_from_revision(deployment_id).await.map_err(|from_revision| TargetError::Neither {
            deployment_id: deployment_id.to_owned(),
            from_target: Box::new(from_target),
            from_revision: Box::new(from_revision),
        })
    }

    async fn report(
        &self,
        deployment_id: &str,
        hook_execution_id: &str,
        status: HookStatus,
    ) -> Result<Reported, AwsError> {
        let answer = match status {
            HookStatus::Succeeded => LifecycleEventStatus::Succeeded,
            HookStatus::Failed => LifecycleEventStatus::Failed,
        };
        match self
            .client
            .put_lifecycle_event_hook_execution_status()
            .deployment_id(deployment_id)
            .lifecycle_event_hook_execution_id(hook_execution_id)
            .status(answer)
            .send()
            .await
        {
            Ok(_) => Ok(Reported::Accepted),
            // Also how a retry finds an earlier attempt that was applied but whose reply
            // was lost: CodeDeploy keeps the first answer.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_lifecycle_event_already_completed_exception()) => {
                Ok(Reported::AlreadyCompleted)
            }
            Err(e) => Err(AwsError::from_sdk(
                format!("reporting {status} for hook execution {hook_execution_id} of deployment {deployment_id}"),
                &e,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::MayPass;
    use super::*;

    #[test]
    fn only_a_transient_failed_call_may_pass() {
        assert!(TargetError::Aws(AwsError::transient("GetDeploymentTarget", "HTTP 500")).may_pass());
        assert!(!TargetError::Aws(AwsError::new("GetDeploymentTarget", "AccessDenied")).may_pass());
        let none = TargetError::NoLambdaTarget { deployment_id: "d-1".into(), detail: String::new() };
        assert!(!none.may_pass(), "a deployment without a Lambda target stays so");
    }
}
