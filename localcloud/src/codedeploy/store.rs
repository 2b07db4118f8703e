//! CodeDeploy's state per account, kept on disk in the run folder so that a restart
//! finds its deployments (and can return their aliases to a single version).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::appspec::AppSpec;
use super::status::{DeploymentStatus, HookAnswer, LifecycleEventName, LifecycleEventStatus, RollbackEvent};
use super::traffic::TrafficRoutingConfig;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub create_time: f64,
    pub compute_platform: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeploymentGroup {
    pub id: String,
    pub application: String,
    pub name: String,
    /// The group's settings as the API takes and returns them (camelCase keys:
    /// deploymentConfigName, serviceRoleArn, alarmConfiguration, ...).
    pub settings: serde_json::Map<String, Value>,
}

impl DeploymentGroup {
    pub fn config_name(&self) -> String {
        self.settings
            .get("deploymentConfigName")
            .and_then(Value::as_str)
            .unwrap_or("CodeDeployDefault.LambdaAllAtOnce")
            .to_owned()
    }

    /// Alarm names when alarm monitoring is on, and whether an unreadable alarm is ignored.
    pub fn alarms(&self) -> (Vec<String>, bool) {
        let Some(config) = self.settings.get("alarmConfiguration") else { return (Vec::new(), false) };
        if config.get("enabled").and_then(Value::as_bool) != Some(true) {
            return (Vec::new(), false);
        }
        let names = config
            .get("alarms")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.get("name")?.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        (names, config.get("ignorePollAlarmFailure").and_then(Value::as_bool).unwrap_or(false))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomConfig {
    pub id: String,
    pub name: String,
    pub create_time: f64,
    pub compute_platform: String,
    pub traffic_routing: TrafficRoutingConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LifecycleEvent {
    pub name: LifecycleEventName,
    pub status: LifecycleEventStatus,
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    pub hook_execution_id: Option<String>,
    pub hook_function: Option<String>,
    pub diagnostics: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    pub account: String,
    pub application: String,
    pub group: String,
    pub config_name: String,
    pub traffic_routing: TrafficRoutingConfig,
    pub status: DeploymentStatus,
    pub creator: String,
    pub description: Option<String>,
    pub revision: Value,
    pub spec: Option<AppSpec>,
    pub create_time: f64,
    pub start_time: Option<f64>,
    pub complete_time: Option<f64>,
    pub error: Option<(String, String)>,
    pub rollback_deployment_id: Option<String>,
    pub rollback_triggering_deployment_id: Option<String>,
    pub rollback_message: Option<String>,
    /// `autoRollbackConfiguration` as the API takes and returns it.
    pub auto_rollback: Value,
    /// The target version's current weight (0..100).
    pub target_weight: f64,
    /// One per [`LifecycleEventName`], in order.
    pub events: Vec<LifecycleEvent>,
    /// Set by StopDeployment: (autoRollbackEnabled).
    pub stop_requested: Option<bool>,
    /// Hook answers waiting for the engine, by hook execution id.
    pub hook_answers: BTreeMap<String, HookAnswer>,
    pub last_updated: f64,
}

impl Deployment {
    pub fn is_finished(&self) -> bool {
        self.status.is_finished()
    }

    /// The lifecycle events of a new deployment: all Pending.
    pub fn pending_events() -> Vec<LifecycleEvent> {
        LifecycleEventName::IN_ORDER
            .into_iter()
            .map(|name| LifecycleEvent {
                name,
                status: LifecycleEventStatus::Pending,
                start_time: None,
                end_time: None,
                hook_execution_id: None,
                hook_function: None,
                diagnostics: None,
            })
            .collect()
    }

    pub fn event(&self, name: LifecycleEventName) -> Option<&LifecycleEvent> {
        self.events.iter().find(|e| e.name == name)
    }

    pub fn event_mut(&mut self, name: LifecycleEventName) -> Option<&mut LifecycleEvent> {
        self.events.iter_mut().find(|e| e.name == name)
    }

    /// True when the deployment's auto-rollback configuration is enabled for `event`.
    pub fn rolls_back_on(&self, event: RollbackEvent) -> bool {
        self.auto_rollback.get("enabled").and_then(Value::as_bool) == Some(true)
            && self
                .auto_rollback
                .get("events")
                .and_then(Value::as_array)
                .is_some_and(|e| e.iter().any(|x| x.as_str() == Some(event.as_str())))
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Account {
    pub applications: BTreeMap<String, Application>,
    /// Keyed by `application/group`.
    pub groups: BTreeMap<String, DeploymentGroup>,
    pub configs: BTreeMap<String, CustomConfig>,
    pub deployments: BTreeMap<String, Deployment>,
    /// Resource ARN -> tags (Key -> Value).
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct State {
    pub accounts: BTreeMap<String, Account>,
}

impl State {
    pub fn account(&mut self, id: &str) -> &mut Account {
        self.accounts.entry(id.to_owned()).or_default()
    }

    pub fn find_deployment(&mut self, id: &str) -> Option<&mut Deployment> {
        self.accounts.values_mut().find_map(|a| a.deployments.get_mut(id))
    }
}

pub fn group_key(application: &str, group: &str) -> String {
    format!("{application}/{group}")
}

/// Where the state lives; writes are atomic (temporary file, then rename).
#[derive(Debug, Clone)]
pub struct Persistence {
    path: Option<PathBuf>,
}

impl Persistence {
    pub fn at(path: PathBuf) -> Self {
        Self { path: Some(path) }
    }

    pub fn in_memory() -> Self {
        Self { path: None }
    }

    pub fn load(&self) -> State {
        let Some(path) = &self.path else { return State::default() };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                tracing::error!(path = %path.display(), %err, "unreadable CodeDeploy state; starting empty");
                State::default()
            }),
            Err(_) => State::default(),
        }
    }

    pub fn save(&self, state: &State) {
        let Some(path) = &self.path else { return };
        let tmp = path.with_extension("json.tmp");
        let result = serde_json::to_vec(state)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(err) = result {
            tracing::error!(path = %path.display(), %err, "could not save CodeDeploy state");
        }
    }
}
