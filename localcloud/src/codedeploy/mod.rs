//! CodeDeploy for the Lambda compute platform (JSON 1.1, `CodeDeploy_20141006.*`):
//! applications, deployment groups, deployment configs, tags, and deployments that
//! shift a function alias with hooks, alarms and automatic rollback.
//!
//! Where things are: the API operations by resource ([`applications`], [`groups`],
//! [`deployment_configs`], [`deployments`], [`revisions`], [`targets`], [`tags`]),
//! the reply shapes AWS returns ([`shapes`]), the state and its file ([`store`]), typed states
//! ([`status`]), the AppSpec ([`appspec`]), traffic schedules ([`traffic`]) and the
//! engine that runs a deployment ([`engine`]).

mod applications;
pub mod appspec;
mod deployment_configs;
mod deployments;
mod engine;
mod groups;
mod names;
mod revisions;
mod shapes;
pub mod status;
pub mod store;
mod tags;
mod targets;
pub mod traffic;

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::api::{ApiError, ApiResult, Params};
use crate::clock::Clock;
use crate::cloudwatch::CloudWatch;
use crate::upstream::Upstream;
use store::{Persistence, State};

pub const TARGET_PREFIX: &str = "CodeDeploy_20141006.";

pub struct CodeDeploy {
    state: Mutex<State>,
    persistence: Persistence,
    upstream: Upstream,
    clock: Clock,
    alarms: Arc<CloudWatch>,
}

impl CodeDeploy {
    pub fn new(persistence: Persistence, upstream: Upstream, clock: Clock, alarms: Arc<CloudWatch>) -> Arc<Self> {
        let state = persistence.load();
        Arc::new(Self { state: Mutex::new(state), persistence, upstream, clock, alarms })
    }

    /// Reads the state under the lock.
    fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        let state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&state)
    }

    /// Changes the state under the lock and saves it before anyone sees the change.
    fn mutate<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let result = f(&mut state);
        self.persistence.save(&state);
        result
    }

    /// Empties every account (`make reset`).
    pub fn reset(&self) {
        self.mutate(|state| *state = State::default());
    }

    /// On start: deployments that were running when localcloud stopped are finished
    /// as Failed and their aliases returned to the version they started from.
    pub async fn recover(self: &Arc<Self>) {
        let interrupted: Vec<(String, String)> = self.read(|state| {
            state
                .accounts
                .iter()
                .flat_map(|(account, a)| {
                    a.deployments.values().filter(|d| !d.is_finished()).map(move |d| (account.clone(), d.id.clone()))
                })
                .collect()
        });
        for (account, id) in interrupted {
            engine::abandon(self, &account, &id).await;
        }
    }

    /// Answers one API call; `body` is its JSON request.
    pub async fn handle(self: &Arc<Self>, account: &str, operation: &str, body: &[u8]) -> ApiResult<Value> {
        let body: Value = if body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(body).map_err(|e| {
                ApiError::new("SerializationException", format!("the request body is not valid JSON: {e}"))
            })?
        };
        let input = Params::typed(&body);
        if !input.is_object() {
            return Err(ApiError::new("SerializationException", "the request body must be a JSON object"));
        }
        match operation {
            "CreateApplication" => self.create_application(account, &input),
            "GetApplication" => self.get_application(account, &input),
            "BatchGetApplications" => self.batch_get_applications(account, &input),
            "ListApplications" => Ok(self.list_applications(account)),
            "UpdateApplication" => self.update_application(account, &input),
            "DeleteApplication" => self.delete_application(account, &input),
            "CreateDeploymentGroup" => self.create_group(account, &input),
            "GetDeploymentGroup" => self.get_group(account, &input),
            "BatchGetDeploymentGroups" => self.batch_get_groups(account, &input),
            "ListDeploymentGroups" => self.list_groups(account, &input),
            "UpdateDeploymentGroup" => self.update_group(account, &input),
            "DeleteDeploymentGroup" => self.delete_group(account, &input),
            "CreateDeploymentConfig" => self.create_config(account, &input),
            "GetDeploymentConfig" => self.get_config(account, &input),
            "ListDeploymentConfigs" => Ok(self.list_configs(account)),
            "DeleteDeploymentConfig" => self.delete_config(account, &input),
            "TagResource" => self.tag_resource(account, &input),
            "UntagResource" => self.untag_resource(account, &input),
            "ListTagsForResource" => self.list_tags(account, &input),
            "CreateDeployment" => self.create_deployment(account, &input),
            "GetDeployment" => self.get_deployment(account, &input),
            "BatchGetDeployments" => self.batch_get_deployments(account, &input),
            "ListDeployments" => self.list_deployments(account, &input),
            "StopDeployment" => self.stop_deployment(account, &input),
            "GetApplicationRevision" => self.get_application_revision(account, &input),
            "PutLifecycleEventHookExecutionStatus" => self.put_hook_status(account, &input),
            "ListDeploymentTargets" => self.list_targets(account, &input),
            "GetDeploymentTarget" => self.get_target(account, &input),
            "BatchGetDeploymentTargets" => self.batch_get_targets(account, &input),
            other => Err(ApiError::new(
                "UnknownOperationException",
                format!("localcloud does not implement CodeDeploy operation {other}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr};

    use super::*;

    fn codedeploy() -> Arc<CodeDeploy> {
        // Nothing here starts a deployment, so nothing reaches ministack.
        let upstream = Upstream::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 9)));
        let clock = Clock::new(1.0);
        CodeDeploy::new(Persistence::in_memory(), upstream.clone(), clock, CloudWatch::new(upstream, clock, None))
    }

    async fn call(cd: &Arc<CodeDeploy>, operation: &str, body: Value) -> ApiResult<Value> {
        cd.handle("111111111111", operation, body.to_string().as_bytes()).await
    }

    #[tokio::test]
    async fn fields_of_the_wrong_type_are_refused_with_their_full_name() {
        let cd = codedeploy();
        call(&cd, "CreateApplication", json!({"applicationName": "etl", "computePlatform": "Lambda"})).await.unwrap();
        let group = json!({"applicationName": "etl", "deploymentGroupName": "g", "serviceRoleArn": "arn:aws:iam::1:role/r",
            "alarmConfiguration": {"enabled": true, "alarms": [{"name": "a"}, {"name": 7}]}});
        let err = call(&cd, "CreateDeploymentGroup", group).await.unwrap_err();
        assert_eq!(err.code, "SerializationException");
        assert_eq!(err.message, "alarmConfiguration.alarms[1].name must be a string, not a number");
        let err = call(&cd, "BatchGetApplications", json!({"applicationNames": ["etl", false]})).await.unwrap_err();
        assert_eq!(err.code, "SerializationException", "a non-string name is refused, not dropped");
        let err = call(&cd, "ListDeployments", json!({"includeOnlyStatuses": ["Sleeping"]})).await.unwrap_err();
        assert_eq!(err.code, "InvalidDeploymentStatusException");
    }
}
