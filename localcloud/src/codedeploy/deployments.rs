//! Deployments: CreateDeployment (which starts the engine), GetDeployment,
//! BatchGetDeployments, ListDeployments, StopDeployment, and the hooks' answer,
//! PutLifecycleEventHookExecutionStatus.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::applications::app_exists;
use super::groups::find_group;
use super::shapes::deployment_info;
use super::status::{DeploymentStatus, HookAnswer, LifecycleEventStatus};
use super::store::Deployment;
use super::{appspec, engine, traffic, CodeDeploy};
use crate::api::ids;
use crate::api::{ApiError, ApiResult, Params};
use crate::clock::Clock;

/// BatchGetDeployments takes at most 25 ids.
const BATCH_LIMIT: usize = 25;

/// The request's `deploymentId`, checked for shape before any lookup.
pub(super) fn deployment_id(input: &Params<'_>) -> ApiResult<String> {
    let id = input.required_str("deploymentId", "DeploymentIdRequiredException")?;
    if !ids::is_deployment_id(&id) {
        return Err(ApiError::new(
            "InvalidDeploymentIdException",
            format!("{id} is not a deployment id (d- and 9 characters)"),
        ));
    }
    Ok(id)
}

fn no_deployment(id: &str) -> ApiError {
    ApiError::new("DeploymentDoesNotExistException", format!("no deployment {id}"))
}

impl CodeDeploy {
    /// Looks a deployment up in the caller's account, then in any account (ids are
    /// unique, and a hook may call with its function's own credentials).
    pub(super) fn with_deployment<R>(&self, account: &str, id: &str, f: impl FnOnce(&Deployment) -> R) -> ApiResult<R> {
        self.read(|s| {
            let found = s
                .accounts
                .get(account)
                .and_then(|a| a.deployments.get(id))
                .or_else(|| s.accounts.values().find_map(|a| a.deployments.get(id)));
            found.map(f).ok_or_else(|| no_deployment(id))
        })
    }

    pub(super) fn create_deployment(self: &Arc<Self>, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let app = input.required_str("applicationName", "ApplicationNameRequiredException")?;
        let group_name = input.required_str("deploymentGroupName", "DeploymentGroupNameRequiredException")?;
        let revision = input
            .object("revision")?
            .ok_or_else(|| ApiError::new("RevisionRequiredException", "revision is required"))?;
        let revision_type = revision.str("revisionType")?.unwrap_or_default();
        if revision_type != "AppSpecContent" {
            return Err(ApiError::new(
                "InvalidRevisionException",
                format!("a Lambda deployment takes revisionType AppSpecContent with the AppSpec inline, not {revision_type:?}"),
            ));
        }
        let inline = revision.object("appSpecContent")?;
        let content = match &inline {
            Some(block) => block.str("content")?,
            None => None,
        }
        .ok_or_else(|| {
            ApiError::new("InvalidRevisionException", "revision.appSpecContent.content must hold the AppSpec")
        })?;
        let sha = match &inline {
            Some(block) => block.str("sha256")?,
            None => None,
        };
        let spec = appspec::parse(&content, sha.as_deref())?;
        let description = input.str("description")?;
        let override_config = input.str("deploymentConfigName")?;
        let override_rollback = input.object("autoRollbackConfiguration")?.map(|p| p.value().clone());

        let id = self.mutate(|s| {
            let group = find_group(s, account, &app, &group_name)?.clone();
            let config_name = override_config.unwrap_or_else(|| group.config_name());
            let routing = s
                .accounts
                .get(account)
                .and_then(|a| a.configs.get(&config_name))
                .map(|c| c.traffic_routing.clone())
                .or_else(|| traffic::predefined(&config_name))
                .ok_or_else(|| {
                    ApiError::new(
                        "DeploymentConfigDoesNotExistException",
                        format!("no deployment config named {config_name}"),
                    )
                })?;
            let a = s.account(account);
            if let Some(active) =
                a.deployments.values().find(|d| d.application == app && d.group == group_name && !d.is_finished())
            {
                return Err(ApiError::new(
                    "DeploymentLimitExceededException",
                    format!(
                        "deployment group {group_name} already has an active deployment {}: one at a time",
                        active.id
                    ),
                ));
            }
            let now = Clock::now_epoch();
            let deployment = Deployment {
                id: ids::deployment_id(),
                account: account.to_owned(),
                application: app.clone(),
                group: group_name.clone(),
                config_name,
                traffic_routing: routing,
                status: DeploymentStatus::Created,
                creator: "user".into(),
                description,
                revision: revision.value().clone(),
                spec: Some(spec),
                create_time: now,
                start_time: None,
                complete_time: None,
                error: None,
                rollback_deployment_id: None,
                rollback_triggering_deployment_id: None,
                rollback_message: None,
                auto_rollback: override_rollback
                    .or_else(|| group.settings.get("autoRollbackConfiguration").cloned())
                    .unwrap_or_else(|| json!({"enabled": false, "events": []})),
                target_weight: 0.0,
                events: Deployment::pending_events(),
                stop_requested: None,
                hook_answers: BTreeMap::new(),
                last_updated: now,
            };
            let id = deployment.id.clone();
            a.deployments.insert(id.clone(), deployment);
            Ok(id)
        })?;
        let service = Arc::clone(self);
        let (account, run_id) = (account.to_owned(), id.clone());
        tokio::spawn(async move { engine::run(&service, &account, &run_id).await });
        Ok(json!({"deploymentId": id}))
    }

    pub(super) fn get_deployment(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let id = deployment_id(input)?;
        self.with_deployment(account, &id, |d| json!({"deploymentInfo": deployment_info(d)}))
    }

    pub(super) fn batch_get_deployments(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let ids = input.strings("deploymentIds")?;
        if ids.len() > BATCH_LIMIT {
            return Err(ApiError::new(
                "BatchLimitExceededException",
                format!("at most {BATCH_LIMIT} deployment ids per call"),
            ));
        }
        let infos: Vec<Value> =
            ids.iter().filter_map(|id| self.with_deployment(account, id, deployment_info).ok()).collect();
        Ok(json!({"deploymentsInfo": infos}))
    }

    pub(super) fn list_deployments(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let app = input.str("applicationName")?;
        let group = input.str("deploymentGroupName")?;
        let mut statuses = Vec::new();
        for text in input.strings("includeOnlyStatuses")? {
            statuses.push(DeploymentStatus::parse(&text).ok_or_else(|| {
                ApiError::new(
                    "InvalidDeploymentStatusException",
                    format!("{text} is not a deployment status (Created, Queued, InProgress, Baking, Succeeded, Failed, Stopped, Ready)"),
                )
            })?);
        }
        if group.is_some() && app.is_none() {
            return Err(ApiError::new("ApplicationNameRequiredException", "deploymentGroupName needs applicationName"));
        }
        self.read(|s| {
            if let Some(app) = &app {
                app_exists(s, account, app)?;
                if let Some(group) = &group {
                    find_group(s, account, app, group)?;
                }
            }
            let mut found: Vec<&Deployment> = s
                .accounts
                .get(account)
                .map(|a| {
                    a.deployments
                        .values()
                        .filter(|d| app.as_ref().is_none_or(|x| *x == d.application))
                        .filter(|d| group.as_ref().is_none_or(|x| *x == d.group))
                        .filter(|d| statuses.is_empty() || statuses.contains(&d.status))
                        .collect()
                })
                .unwrap_or_default();
            found.sort_by(|a, b| b.create_time.total_cmp(&a.create_time));
            Ok(json!({"deployments": found.iter().map(|d| &d.id).collect::<Vec<_>>()}))
        })
    }

    pub(super) fn stop_deployment(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let id = deployment_id(input)?;
        // Without autoRollbackEnabled, the group's auto-rollback settings decide.
        let rollback = input.bool("autoRollbackEnabled")?.unwrap_or(true);
        self.mutate(|s| {
            let d = s.accounts.get_mut(account).and_then(|a| a.deployments.get_mut(&id)).ok_or_else(|| no_deployment(&id))?;
            if d.is_finished() {
                return Err(ApiError::new(
                    "DeploymentAlreadyCompletedException",
                    format!("deployment {id} is already {}", d.status),
                ));
            }
            d.stop_requested = Some(rollback);
            Ok(json!({"status": "Pending", "statusMessage": "Stopping Pending. Stopping to schedule commands in the deployment instances"}))
        })
    }

    pub(super) fn put_hook_status(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let id = deployment_id(input)?;
        let execution =
            input.required_str("lifecycleEventHookExecutionId", "LifecycleEventHookExecutionIdRequiredException")?;
        let status = input.required_str("status", "InvalidLifecycleEventHookExecutionStatusException")?;
        let answer = HookAnswer::parse(&status).ok_or_else(|| {
            ApiError::new(
                "InvalidLifecycleEventHookExecutionStatusException",
                format!("status must be Succeeded or Failed, not {status}"),
            )
        })?;
        self.mutate(|s| {
            let in_account = s.accounts.get(account).is_some_and(|a| a.deployments.contains_key(&id));
            let d = if in_account { s.account(account).deployments.get_mut(&id) } else { s.find_deployment(&id) }
                .ok_or_else(|| no_deployment(&id))?;
            let event =
                d.events.iter().find(|e| e.hook_execution_id.as_deref() == Some(execution.as_str())).ok_or_else(
                    || {
                        ApiError::new(
                            "InvalidLifecycleEventHookExecutionIdException",
                            format!("deployment {id} has no hook execution {execution}"),
                        )
                    },
                )?;
            if event.status != LifecycleEventStatus::InProgress || d.hook_answers.contains_key(&execution) {
                return Err(ApiError::new(
                    "LifecycleEventAlreadyCompletedException",
                    format!("the {} hook of deployment {id} is already {}", event.name, event.status),
                ));
            }
            d.hook_answers.insert(execution.clone(), answer);
            Ok(json!({"lifecycleEventHookExecutionId": execution}))
        })
    }
}
