//! CodeDeploy for the Lambda compute platform (JSON 1.1, `CodeDeploy_20141006.*`):
//! applications, deployment groups, deployment configs, tags, and deployments that
//! shift a function alias with hooks, alarms and automatic rollback.

pub mod appspec;
pub mod configs;
mod engine;
pub mod error;
pub mod store;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};

use crate::clock::Clock;
use crate::cloudwatch::CloudWatch;
use crate::upstream::Upstream;
use error::{invalid, validation, ApiError, ApiResult};
use store::{group_key, Application, CustomConfig, Deployment, DeploymentGroup, LifecycleEvent, Persistence, State};

pub const TARGET_PREFIX: &str = "CodeDeploy_20141006.";
const REGION: &str = "us-east-1";
const MAX_ALARMS: usize = 10;

pub struct CodeDeploy {
    state: Mutex<State>,
    persistence: Persistence,
    upstream: Upstream,
    clock: Clock,
    alarms: Arc<CloudWatch>,
}

fn new_id(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let tail: String = (0..len).map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char).collect();
    format!("{prefix}{tail}")
}

pub fn uuid() -> String {
    let hex = |n: usize| -> String { (0..n).map(|_| format!("{:x}", fastrand::u8(..16))).collect() };
    format!("{}-{}-{}-{}-{}", hex(8), hex(4), hex(4), hex(4), hex(12))
}

/// A required string field, with the service's own exception when it is missing.
fn required(body: &Value, field: &str, missing: &'static str) -> ApiResult<String> {
    match body.get(field) {
        None | Some(Value::Null) => Err(invalid(missing, format!("{field} is required"))),
        Some(Value::String(s)) if s.is_empty() => Err(invalid(missing, format!("{field} is required"))),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(serialization(field, "a string", other)),
    }
}

fn optional_str(body: &Value, field: &str) -> ApiResult<Option<String>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(serialization(field, "a string", other)),
    }
}

fn string_list(body: &Value, field: &str) -> ApiResult<Vec<String>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| serialization(field, "a list of strings", v)))
            .collect(),
        Some(other) => Err(serialization(field, "a list of strings", other)),
    }
}

fn serialization(field: &str, expected: &str, got: &Value) -> ApiError {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    invalid("SerializationException", format!("{field} must be {expected}, not {kind}"))
}

fn tag_list(value: Option<&Value>, field: &str) -> ApiResult<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let key = item
                    .get("Key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("InvalidTagException", format!("every {field} entry needs a Key")))?;
                tags.insert(key.to_owned(), item.get("Value").and_then(Value::as_str).unwrap_or_default().to_owned());
            }
        }
        Some(other) => return Err(serialization(field, "a list of {Key, Value}", other)),
    }
    Ok(tags)
}

fn application_arn(account: &str, name: &str) -> String {
    format!("arn:aws:codedeploy:{REGION}:{account}:application:{name}")
}

fn group_arn(account: &str, app: &str, group: &str) -> String {
    format!("arn:aws:codedeploy:{REGION}:{account}:deploymentgroup:{app}/{group}")
}

fn application_info(app: &Application) -> Value {
    json!({
        "applicationId": app.id,
        "applicationName": app.name,
        "createTime": app.create_time,
        "linkedToGitHub": false,
        "computePlatform": app.compute_platform,
    })
}

fn group_info(group: &DeploymentGroup) -> Value {
    let mut info = Map::new();
    // Lists AWS always returns, so that clients see no spurious difference.
    for key in ["ec2TagFilters", "onPremisesInstanceTagFilters", "autoScalingGroups", "triggerConfigurations"] {
        info.insert(key.into(), json!([]));
    }
    info.insert("outdatedInstancesStrategy".into(), json!("UPDATE"));
    info.insert("terminationHookEnabled".into(), json!(false));
    info.insert(
        "deploymentStyle".into(),
        json!({"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}),
    );
    info.extend(group.settings.clone());
    info.insert("applicationName".into(), json!(group.application));
    info.insert("deploymentGroupId".into(), json!(group.id));
    info.insert("deploymentGroupName".into(), json!(group.name));
    info.insert("deploymentConfigName".into(), json!(group.config_name()));
    info.insert("computePlatform".into(), json!("Lambda"));
    Value::Object(info)
}

fn predefined_config_id(name: &str) -> String {
    // Stable ids for the predefined configs, derived from the name.
    let sum: u64 = name.bytes().fold(1469598103934665603, |h, b| (h ^ u64::from(b)).wrapping_mul(1099511628211));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        sum >> 32,
        (sum >> 16) & 0xffff,
        sum & 0xfff,
        (sum >> 20) & 0xfff,
        sum & 0xffff_ffff_ffff
    )
}

fn config_info(name: &str, custom: Option<&CustomConfig>) -> Option<Value> {
    let (id, create_time, routing) = match custom {
        Some(c) => (c.id.clone(), c.create_time, c.traffic_routing.clone()),
        None => (predefined_config_id(name), 1_500_000_000.0, configs::predefined(name)?),
    };
    Some(json!({
        "deploymentConfigId": id,
        "deploymentConfigName": name,
        "createTime": create_time,
        "computePlatform": "Lambda",
        "trafficRoutingConfig": routing,
    }))
}

fn deployment_info(d: &Deployment) -> Value {
    let mut info = json!({
        "applicationName": d.application,
        "deploymentGroupName": d.group,
        "deploymentConfigName": d.config_name,
        "deploymentId": d.id,
        "revision": d.revision,
        "status": d.status,
        "createTime": d.create_time,
        "creator": d.creator,
        "computePlatform": "Lambda",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "autoRollbackConfiguration": d.auto_rollback,
        "deploymentStatusMessages": [],
    });
    let map = info.as_object_mut().expect("object literal");
    if let Some(t) = d.start_time {
        map.insert("startTime".into(), json!(t));
    }
    if let Some(t) = d.complete_time {
        map.insert("completeTime".into(), json!(t));
    }
    if let Some(text) = &d.description {
        map.insert("description".into(), json!(text));
    }
    if let Some((code, message)) = &d.error {
        map.insert("errorInformation".into(), json!({"code": code, "message": message}));
    }
    let mut rollback = Map::new();
    if let Some(id) = &d.rollback_deployment_id {
        rollback.insert("rollbackDeploymentId".into(), json!(id));
    }
    if let Some(id) = &d.rollback_triggering_deployment_id {
        rollback.insert("rollbackTriggeringDeploymentId".into(), json!(id));
    }
    if let Some(message) = &d.rollback_message {
        rollback.insert("rollbackMessage".into(), json!(message));
    }
    if !rollback.is_empty() {
        map.insert("rollbackInfo".into(), Value::Object(rollback));
    }
    info
}

fn target_id(d: &Deployment) -> Option<String> {
    d.spec.as_ref().map(|s| format!("{}:{}", s.function, s.alias))
}

fn target_info(account: &str, d: &Deployment) -> Option<Value> {
    let spec = d.spec.as_ref()?;
    let status = match d.status.as_str() {
        "Created" | "Queued" => "Pending",
        "InProgress" | "Baking" => "InProgress",
        "Stopped" | "Failed" => "Failed",
        other => other,
    };
    let events: Vec<Value> = d
        .events
        .iter()
        .map(|e| {
            let mut event = json!({"lifecycleEventName": e.name, "status": e.status});
            let map = event.as_object_mut().expect("object literal");
            if let Some(t) = e.start_time {
                map.insert("startTime".into(), json!(t));
            }
            if let Some(t) = e.end_time {
                map.insert("endTime".into(), json!(t));
            }
            if let Some(message) = &e.diagnostics {
                map.insert(
                    "diagnostics".into(),
                    json!({"errorCode": "ScriptFailed", "scriptName": e.hook_function.clone().unwrap_or_default(), "message": message, "logTail": ""}),
                );
            }
            event
        })
        .collect();
    Some(json!({
        "deploymentTargetType": "LambdaTarget",
        "lambdaTarget": {
            "deploymentId": d.id,
            "targetId": target_id(d),
            "targetArn": format!("arn:aws:lambda:{REGION}:{account}:function:{}:{}", spec.function, spec.alias),
            "status": status,
            "lastUpdatedAt": d.last_updated,
            "lifecycleEvents": events,
            "lambdaFunctionInfo": {
                "functionName": spec.function,
                "functionAlias": spec.alias,
                "currentVersion": spec.current_version,
                "targetVersion": spec.target_version,
                "targetVersionWeight": d.target_weight / 100.0,
            }
        }
    }))
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

    pub async fn handle(self: &Arc<Self>, account: &str, operation: &str, body: &[u8]) -> ApiResult<Value> {
        let body: Value = if body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(body)
                .map_err(|e| invalid("SerializationException", format!("the request body is not valid JSON: {e}")))?
        };
        if !body.is_object() {
            return Err(invalid("SerializationException", "the request body must be a JSON object"));
        }
        match operation {
            "CreateApplication" => self.create_application(account, &body),
            "GetApplication" => self.get_application(account, &body),
            "BatchGetApplications" => self.batch_get_applications(account, &body),
            "ListApplications" => Ok(self.read(|s| {
                json!({"applications": s.accounts.get(account).map(|a| a.applications.keys().cloned().collect::<Vec<_>>()).unwrap_or_default()})
            })),
            "UpdateApplication" => self.update_application(account, &body),
            "DeleteApplication" => self.delete_application(account, &body),
            "CreateDeploymentGroup" => self.create_group(account, &body),
            "GetDeploymentGroup" => self.get_group(account, &body),
            "BatchGetDeploymentGroups" => self.batch_get_groups(account, &body),
            "ListDeploymentGroups" => self.list_groups(account, &body),
            "UpdateDeploymentGroup" => self.update_group(account, &body),
            "DeleteDeploymentGroup" => self.delete_group(account, &body),
            "CreateDeploymentConfig" => self.create_config(account, &body),
            "GetDeploymentConfig" => self.get_config(account, &body),
            "ListDeploymentConfigs" => Ok(self.read(|s| {
                let mut names: Vec<String> = configs::PREDEFINED.iter().map(|n| (*n).to_owned()).collect();
                if let Some(a) = s.accounts.get(account) {
                    names.extend(a.configs.keys().cloned());
                }
                json!({"deploymentConfigsList": names})
            })),
            "DeleteDeploymentConfig" => self.delete_config(account, &body),
            "TagResource" => self.tag_resource(account, &body),
            "UntagResource" => self.untag_resource(account, &body),
            "ListTagsForResource" => self.list_tags(account, &body),
            "CreateDeployment" => self.create_deployment(account, &body),
            "GetDeployment" => {
                let id = deployment_id(&body)?;
                self.with_deployment(account, &id, |d| json!({"deploymentInfo": deployment_info(d)}))
            }
            "BatchGetDeployments" => self.batch_get_deployments(account, &body),
            "ListDeployments" => self.list_deployments(account, &body),
            "StopDeployment" => self.stop_deployment(account, &body),
            "ListDeploymentTargets" => {
                let id = deployment_id(&body)?;
                self.with_deployment(account, &id, |d| json!({"targetIds": target_id(d).into_iter().collect::<Vec<_>>()}))
            }
            "GetDeploymentTarget" => {
                let id = deployment_id(&body)?;
                let target = required(&body, "targetId", "DeploymentTargetIdRequiredException")?;
                let found = self.with_deployment(account, &id, |d| (target_id(d) == Some(target.clone())).then(|| target_info(account, d)).flatten())?;
                found
                    .map(|t| json!({"deploymentTarget": t}))
                    .ok_or_else(|| invalid("DeploymentTargetDoesNotExistException", format!("deployment {id} has no target {target}")))
            }
            "BatchGetDeploymentTargets" => {
                let id = deployment_id(&body)?;
                let wanted = string_list(&body, "targetIds")?;
                let targets = self.with_deployment(account, &id, |d| {
                    wanted.iter().map(|t| (target_id(d).as_deref() == Some(t.as_str())).then(|| target_info(account, d)).flatten()).collect::<Vec<_>>()
                })?;
                if targets.iter().any(Option::is_none) {
                    return Err(invalid("DeploymentTargetDoesNotExistException", format!("deployment {id} lacks some of the targets {wanted:?}")));
                }
                Ok(json!({"deploymentTargets": targets.into_iter().flatten().collect::<Vec<_>>()}))
            }
            "PutLifecycleEventHookExecutionStatus" => self.put_hook_status(account, &body),
            other => Err(ApiError::new("UnknownOperationException", format!("localcloud does not implement CodeDeploy operation {other}"))),
        }
    }

    fn create_application(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let name = required(body, "applicationName", "ApplicationNameRequiredException")?;
        validate_name(&name, "InvalidApplicationNameException", "applicationName")?;
        let platform = optional_str(body, "computePlatform")?.unwrap_or_else(|| "Server".into());
        if !["Server", "Lambda", "ECS"].contains(&platform.as_str()) {
            return Err(invalid(
                "InvalidComputePlatformException",
                format!("computePlatform must be Server, Lambda or ECS, not {platform}"),
            ));
        }
        let tags = tag_list(body.get("tags"), "tags")?;
        self.mutate(|state| {
            let a = state.account(account);
            if a.applications.contains_key(&name) {
                return Err(invalid("ApplicationAlreadyExistsException", format!("application {name} already exists")));
            }
            let app = Application {
                id: uuid(),
                name: name.clone(),
                create_time: Clock::now_epoch(),
                compute_platform: platform,
            };
            let id = app.id.clone();
            a.applications.insert(name.clone(), app);
            if !tags.is_empty() {
                a.tags.insert(application_arn(account, &name), tags);
            }
            Ok(json!({"applicationId": id}))
        })
    }

    fn app_exists(state: &State, account: &str, name: &str) -> ApiResult<()> {
        if state.accounts.get(account).is_some_and(|a| a.applications.contains_key(name)) {
            Ok(())
        } else {
            Err(invalid(
                "ApplicationDoesNotExistException",
                format!("no application named {name} in account {account}"),
            ))
        }
    }

    fn get_application(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let name = required(body, "applicationName", "ApplicationNameRequiredException")?;
        self.read(|s| {
            Self::app_exists(s, account, &name)?;
            Ok(json!({"application": application_info(&s.accounts[account].applications[&name])}))
        })
    }

    fn batch_get_applications(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let names = string_list(body, "applicationNames")?;
        self.read(|s| {
            let infos = names
                .iter()
                .map(|n| {
                    Self::app_exists(s, account, n)?;
                    Ok(application_info(&s.accounts[account].applications[n]))
                })
                .collect::<ApiResult<Vec<_>>>()?;
            Ok(json!({"applicationsInfo": infos}))
        })
    }

    fn update_application(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let name = required(body, "applicationName", "ApplicationNameRequiredException")?;
        let new_name = optional_str(body, "newApplicationName")?;
        self.mutate(|s| {
            Self::app_exists(s, account, &name)?;
            let Some(new_name) = new_name.filter(|n| *n != name) else { return Ok(json!({})) };
            validate_name(&new_name, "InvalidApplicationNameException", "newApplicationName")?;
            let a = s.account(account);
            if a.applications.contains_key(&new_name) {
                return Err(invalid(
                    "ApplicationAlreadyExistsException",
                    format!("application {new_name} already exists"),
                ));
            }
            let mut app = a.applications.remove(&name).expect("checked above");
            app.name = new_name.clone();
            a.applications.insert(new_name.clone(), app);
            let moved: Vec<String> = a.groups.keys().filter(|k| k.starts_with(&format!("{name}/"))).cloned().collect();
            for key in moved {
                let mut group = a.groups.remove(&key).expect("listed above");
                group.application = new_name.clone();
                a.groups.insert(group_key(&new_name, &group.name), group);
            }
            if let Some(tags) = a.tags.remove(&application_arn(account, &name)) {
                a.tags.insert(application_arn(account, &new_name), tags);
            }
            Ok(json!({}))
        })
    }

    fn delete_application(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let name = required(body, "applicationName", "ApplicationNameRequiredException")?;
        self.mutate(|s| {
            let a = s.account(account);
            a.applications.remove(&name);
            a.groups.retain(|k, _| !k.starts_with(&format!("{name}/")));
            a.tags.retain(|arn, _| {
                arn != &application_arn(account, &name) && !arn.contains(&format!(":deploymentgroup:{name}/"))
            });
            Ok(json!({}))
        })
    }

    /// Validates and collects a group's settings from a create or update request.
    fn group_settings(&self, account: &str, body: &Value, state: &State) -> ApiResult<Map<String, Value>> {
        let mut settings = Map::new();
        if let Some(name) = optional_str(body, "deploymentConfigName")? {
            let custom = state.accounts.get(account).and_then(|a| a.configs.get(&name));
            if custom.is_none() && configs::predefined(&name).is_none() {
                return Err(invalid(
                    "DeploymentConfigDoesNotExistException",
                    format!(
                        "no Lambda deployment config named {name} (predefined: {})",
                        configs::PREDEFINED.join(", ")
                    ),
                ));
            }
            settings.insert("deploymentConfigName".into(), json!(name));
        }
        if let Some(role) = optional_str(body, "serviceRoleArn")? {
            if !role.starts_with("arn:") {
                return Err(invalid("InvalidRoleException", format!("serviceRoleArn {role} is not a role ARN")));
            }
            settings.insert("serviceRoleArn".into(), json!(role));
        }
        if let Some(alarms) = body.get("alarmConfiguration").filter(|v| !v.is_null()) {
            let list = match alarms.get("alarms") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items.clone(),
                Some(other) => return Err(serialization("alarmConfiguration.alarms", "a list of {name}", other)),
            };
            if list.len() > MAX_ALARMS {
                return Err(invalid(
                    "AlarmsLimitExceededException",
                    format!("a deployment group takes at most {MAX_ALARMS} alarms, not {}", list.len()),
                ));
            }
            if list.iter().any(|a| a.get("name").and_then(Value::as_str).is_none_or(str::is_empty)) {
                return Err(invalid("InvalidAlarmConfigException", "every alarm in alarmConfiguration needs a name"));
            }
            for field in ["enabled", "ignorePollAlarmFailure"] {
                if let Some(v) = alarms.get(field).filter(|v| !v.is_null() && !v.is_boolean()) {
                    return Err(serialization(&format!("alarmConfiguration.{field}"), "a boolean", v));
                }
            }
            settings.insert("alarmConfiguration".into(), alarms.clone());
        }
        if let Some(rollback) = body.get("autoRollbackConfiguration").filter(|v| !v.is_null()) {
            for event in rollback.get("events").and_then(Value::as_array).into_iter().flatten() {
                if !matches!(
                    event.as_str(),
                    Some("DEPLOYMENT_FAILURE" | "DEPLOYMENT_STOP_ON_ALARM" | "DEPLOYMENT_STOP_ON_REQUEST")
                ) {
                    return Err(invalid(
                        "InvalidAutoRollbackConfigException",
                        format!("unknown rollback event {event} (use DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM, DEPLOYMENT_STOP_ON_REQUEST)"),
                    ));
                }
            }
            settings.insert("autoRollbackConfiguration".into(), rollback.clone());
        }
        if let Some(style) = body.get("deploymentStyle").filter(|v| !v.is_null()) {
            let kind = style.get("deploymentType").and_then(Value::as_str).unwrap_or("BLUE_GREEN");
            let option = style.get("deploymentOption").and_then(Value::as_str).unwrap_or("WITH_TRAFFIC_CONTROL");
            if (kind, option) != ("BLUE_GREEN", "WITH_TRAFFIC_CONTROL") {
                return Err(invalid(
                    "InvalidDeploymentStyleException",
                    format!("a Lambda deployment group is BLUE_GREEN with WITH_TRAFFIC_CONTROL, not {kind} / {option}"),
                ));
            }
            settings.insert("deploymentStyle".into(), style.clone());
        }
        for key in [
            "triggerConfigurations",
            "blueGreenDeploymentConfiguration",
            "loadBalancerInfo",
            "outdatedInstancesStrategy",
            "terminationHookEnabled",
        ] {
            if let Some(value) = body.get(key).filter(|v| !v.is_null()) {
                settings.insert(key.into(), value.clone());
            }
        }
        Ok(settings)
    }

    fn create_group(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let app = required(body, "applicationName", "ApplicationNameRequiredException")?;
        let name = required(body, "deploymentGroupName", "DeploymentGroupNameRequiredException")?;
        validate_name(&name, "InvalidDeploymentGroupNameException", "deploymentGroupName")?;
        required(body, "serviceRoleArn", "RoleRequiredException")?;
        let tags = tag_list(body.get("tags"), "tags")?;
        self.mutate(|s| {
            Self::app_exists(s, account, &app)?;
            let settings = self.group_settings(account, body, s)?;
            let a = s.account(account);
            let key = group_key(&app, &name);
            if a.groups.contains_key(&key) {
                return Err(invalid(
                    "DeploymentGroupAlreadyExistsException",
                    format!("application {app} already has a deployment group {name}"),
                ));
            }
            let group = DeploymentGroup { id: uuid(), application: app.clone(), name: name.clone(), settings };
            let id = group.id.clone();
            a.groups.insert(key, group);
            if !tags.is_empty() {
                a.tags.insert(group_arn(account, &app, &name), tags);
            }
            Ok(json!({"deploymentGroupId": id}))
        })
    }

    fn group<'a>(state: &'a State, account: &str, app: &str, name: &str) -> ApiResult<&'a DeploymentGroup> {
        Self::app_exists(state, account, app)?;
        state.accounts[account].groups.get(&group_key(app, name)).ok_or_else(|| {
            invalid("DeploymentGroupDoesNotExistException", format!("application {app} has no deployment group {name}"))
        })
    }

    fn get_group(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let app = required(body, "applicationName", "ApplicationNameRequiredException")?;
        let name = required(body, "deploymentGroupName", "DeploymentGroupNameRequiredException")?;
        self.read(|s| Ok(json!({"deploymentGroupInfo": group_info(Self::group(s, account, &app, &name)?)})))
    }

    fn batch_get_groups(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let app = required(body, "applicationName", "ApplicationNameRequiredException")?;
        let names = string_list(body, "deploymentGroupNames")?;
        self.read(|s| {
            Self::app_exists(s, account, &app)?;
            let infos: Vec<Value> =
                names.iter().filter_map(|n| Self::group(s, account, &app, n).ok().map(group_info)).collect();
            let missing: Vec<&String> = names.iter().filter(|n| Self::group(s, account, &app, n).is_err()).collect();
            let mut out = json!({"deploymentGroupsInfo": infos});
            if !missing.is_empty() {
                out["errorMessage"] = json!(format!("deployment groups not found: {missing:?}"));
            }
            Ok(out)
        })
    }

    fn list_groups(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let app = required(body, "applicationName", "ApplicationNameRequiredException")?;
        self.read(|s| {
            Self::app_exists(s, account, &app)?;
            let names: Vec<&String> =
                s.accounts[account].groups.values().filter(|g| g.application == app).map(|g| &g.name).collect();
            Ok(json!({"applicationName": app, "deploymentGroups": names}))
        })
    }

    fn update_group(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let app = required(body, "applicationName", "ApplicationNameRequiredException")?;
        let current = required(body, "currentDeploymentGroupName", "DeploymentGroupNameRequiredException")?;
        let new_name = optional_str(body, "newDeploymentGroupName")?;
        self.mutate(|s| {
            Self::group(s, account, &app, &current)?;
            let settings = self.group_settings(account, body, s)?;
            let a = s.account(account);
            let mut group = a.groups.remove(&group_key(&app, &current)).expect("checked above");
            if let Some(new_name) = new_name.filter(|n| *n != current) {
                if a.groups.contains_key(&group_key(&app, &new_name)) {
                    a.groups.insert(group_key(&app, &current), group);
                    return Err(invalid(
                        "DeploymentGroupAlreadyExistsException",
                        format!("application {app} already has a deployment group {new_name}"),
                    ));
                }
                if let Some(tags) = a.tags.remove(&group_arn(account, &app, &current)) {
                    a.tags.insert(group_arn(account, &app, &new_name), tags);
                }
                group.name = new_name;
            }
            group.settings.extend(settings);
            a.groups.insert(group_key(&app, &group.name), group);
            Ok(json!({"hooksNotCleanedUp": []}))
        })
    }

    fn delete_group(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let app = required(body, "applicationName", "ApplicationNameRequiredException")?;
        let name = required(body, "deploymentGroupName", "DeploymentGroupNameRequiredException")?;
        self.mutate(|s| {
            Self::app_exists(s, account, &app)?;
            let a = s.account(account);
            a.groups.remove(&group_key(&app, &name));
            a.tags.remove(&group_arn(account, &app, &name));
            Ok(json!({"hooksNotCleanedUp": []}))
        })
    }

    fn create_config(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let name = required(body, "deploymentConfigName", "DeploymentConfigNameRequiredException")?;
        validate_name(&name, "InvalidDeploymentConfigNameException", "deploymentConfigName")?;
        let platform = optional_str(body, "computePlatform")?.unwrap_or_else(|| "Server".into());
        if platform != "Lambda" {
            return Err(invalid(
                "InvalidComputePlatformException",
                format!("localcloud serves Lambda deployment configs only, not {platform}"),
            ));
        }
        let routing: configs::TrafficRoutingConfig = match body.get("trafficRoutingConfig") {
            None | Some(Value::Null) => {
                return Err(invalid(
                    "InvalidTrafficRoutingConfigurationException",
                    "a Lambda deployment config needs trafficRoutingConfig",
                ))
            }
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
                invalid("InvalidTrafficRoutingConfigurationException", format!("trafficRoutingConfig: {e}"))
            })?,
        };
        routing.validate()?;
        self.mutate(|s| {
            let a = s.account(account);
            if configs::predefined(&name).is_some()
                || name.starts_with("CodeDeployDefault.")
                || a.configs.contains_key(&name)
            {
                return Err(invalid(
                    "DeploymentConfigAlreadyExistsException",
                    format!("deployment config {name} already exists"),
                ));
            }
            let config = CustomConfig {
                id: uuid(),
                name: name.clone(),
                create_time: Clock::now_epoch(),
                compute_platform: platform,
                traffic_routing: routing,
            };
            let id = config.id.clone();
            a.configs.insert(name, config);
            Ok(json!({"deploymentConfigId": id}))
        })
    }

    fn get_config(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let name = required(body, "deploymentConfigName", "DeploymentConfigNameRequiredException")?;
        self.read(|s| {
            let custom = s.accounts.get(account).and_then(|a| a.configs.get(&name));
            config_info(&name, custom).map(|info| json!({"deploymentConfigInfo": info})).ok_or_else(|| {
                invalid("DeploymentConfigDoesNotExistException", format!("no deployment config named {name}"))
            })
        })
    }

    fn delete_config(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let name = required(body, "deploymentConfigName", "DeploymentConfigNameRequiredException")?;
        if configs::predefined(&name).is_some() {
            return Err(invalid("InvalidOperationException", format!("{name} is predefined and cannot be deleted")));
        }
        self.mutate(|s| {
            let a = s.account(account);
            if let Some(group) = a.groups.values().find(|g| g.config_name() == name) {
                return Err(invalid(
                    "DeploymentConfigInUseException",
                    format!("deployment group {} uses {name}", group.name),
                ));
            }
            a.configs.remove(&name);
            Ok(json!({}))
        })
    }

    fn resource_exists(s: &State, account: &str, arn: &str) -> bool {
        let Some(a) = s.accounts.get(account) else { return false };
        a.applications.keys().any(|n| application_arn(account, n) == arn)
            || a.groups.values().any(|g| group_arn(account, &g.application, &g.name) == arn)
    }

    fn tag_resource(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let arn = required(body, "ResourceArn", "ResourceArnRequiredException")?;
        let tags = tag_list(body.get("Tags"), "Tags")?;
        self.mutate(|s| {
            if !Self::resource_exists(s, account, &arn) {
                return Err(invalid(
                    "InvalidArnException",
                    format!("no application or deployment group with ARN {arn}"),
                ));
            }
            s.account(account).tags.entry(arn).or_default().extend(tags);
            Ok(json!({}))
        })
    }

    fn untag_resource(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let arn = required(body, "ResourceArn", "ResourceArnRequiredException")?;
        let keys = string_list(body, "TagKeys")?;
        self.mutate(|s| {
            if !Self::resource_exists(s, account, &arn) {
                return Err(invalid(
                    "InvalidArnException",
                    format!("no application or deployment group with ARN {arn}"),
                ));
            }
            if let Some(tags) = s.account(account).tags.get_mut(&arn) {
                for key in keys {
                    tags.remove(&key);
                }
            }
            Ok(json!({}))
        })
    }

    fn list_tags(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let arn = required(body, "ResourceArn", "ResourceArnRequiredException")?;
        self.read(|s| {
            if !Self::resource_exists(s, account, &arn) {
                return Err(invalid(
                    "InvalidArnException",
                    format!("no application or deployment group with ARN {arn}"),
                ));
            }
            let tags: Vec<Value> = s.accounts[account]
                .tags
                .get(&arn)
                .map(|t| t.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect())
                .unwrap_or_default();
            Ok(json!({"Tags": tags}))
        })
    }

    fn create_deployment(self: &Arc<Self>, account: &str, body: &Value) -> ApiResult<Value> {
        let app = required(body, "applicationName", "ApplicationNameRequiredException")?;
        let group_name = required(body, "deploymentGroupName", "DeploymentGroupNameRequiredException")?;
        let revision = body
            .get("revision")
            .filter(|v| !v.is_null())
            .ok_or_else(|| invalid("RevisionRequiredException", "revision is required"))?;
        let revision_type = revision.get("revisionType").and_then(Value::as_str).unwrap_or_default();
        if revision_type != "AppSpecContent" {
            return Err(invalid(
                "InvalidRevisionException",
                format!("a Lambda deployment takes revisionType AppSpecContent with the AppSpec inline, not {revision_type:?}"),
            ));
        }
        let content = revision.pointer("/appSpecContent/content").and_then(Value::as_str).ok_or_else(|| {
            invalid("InvalidRevisionException", "revision.appSpecContent.content must hold the AppSpec")
        })?;
        let sha = revision.pointer("/appSpecContent/sha256").and_then(Value::as_str);
        let spec = appspec::parse(content, sha)?;
        let description = optional_str(body, "description")?;
        let override_config = optional_str(body, "deploymentConfigName")?;
        let override_rollback = body.get("autoRollbackConfiguration").filter(|v| !v.is_null()).cloned();

        let id = self.mutate(|s| {
            let group = Self::group(s, account, &app, &group_name)?.clone();
            let config_name = override_config.unwrap_or_else(|| group.config_name());
            let routing = s
                .accounts
                .get(account)
                .and_then(|a| a.configs.get(&config_name))
                .map(|c| c.traffic_routing.clone())
                .or_else(|| configs::predefined(&config_name))
                .ok_or_else(|| {
                    invalid(
                        "DeploymentConfigDoesNotExistException",
                        format!("no deployment config named {config_name}"),
                    )
                })?;
            let a = s.account(account);
            if let Some(active) =
                a.deployments.values().find(|d| d.application == app && d.group == group_name && !d.is_finished())
            {
                return Err(invalid(
                    "DeploymentLimitExceededException",
                    format!(
                        "deployment group {group_name} already has an active deployment {}: one at a time",
                        active.id
                    ),
                ));
            }
            let now = Clock::now_epoch();
            let deployment = Deployment {
                id: new_id("d-", 9),
                account: account.to_owned(),
                application: app.clone(),
                group: group_name.clone(),
                config_name,
                traffic_routing: routing,
                status: "Created".into(),
                creator: "user".into(),
                description,
                revision: revision.clone(),
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
                events: ["BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]
                    .iter()
                    .map(|name| LifecycleEvent {
                        name: (*name).into(),
                        status: "Pending".into(),
                        start_time: None,
                        end_time: None,
                        hook_execution_id: None,
                        hook_function: None,
                        diagnostics: None,
                    })
                    .collect(),
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

    /// Looks a deployment up in the caller's account, then in any account (ids are
    /// unique, and a hook may call with its function's own credentials).
    fn with_deployment<R>(&self, account: &str, id: &str, f: impl FnOnce(&Deployment) -> R) -> ApiResult<R> {
        self.read(|s| {
            let found = s
                .accounts
                .get(account)
                .and_then(|a| a.deployments.get(id))
                .or_else(|| s.accounts.values().find_map(|a| a.deployments.get(id)));
            found.map(f).ok_or_else(|| invalid("DeploymentDoesNotExistException", format!("no deployment {id}")))
        })
    }

    fn batch_get_deployments(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let ids = string_list(body, "deploymentIds")?;
        if ids.len() > 25 {
            return Err(invalid("BatchLimitExceededException", "at most 25 deployment ids per call"));
        }
        let infos: Vec<Value> =
            ids.iter().filter_map(|id| self.with_deployment(account, id, deployment_info).ok()).collect();
        Ok(json!({"deploymentsInfo": infos}))
    }

    fn list_deployments(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let app = optional_str(body, "applicationName")?;
        let group = optional_str(body, "deploymentGroupName")?;
        let statuses = string_list(body, "includeOnlyStatuses")?;
        if group.is_some() && app.is_none() {
            return Err(invalid("ApplicationNameRequiredException", "deploymentGroupName needs applicationName"));
        }
        self.read(|s| {
            if let Some(app) = &app {
                Self::app_exists(s, account, app)?;
                if let Some(group) = &group {
                    Self::group(s, account, app, group)?;
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

    fn stop_deployment(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let id = deployment_id(body)?;
        let rollback = match body.get("autoRollbackEnabled") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(serialization("autoRollbackEnabled", "a boolean", other)),
        };
        self.mutate(|s| {
            let d = s
                .accounts
                .get_mut(account)
                .and_then(|a| a.deployments.get_mut(&id))
                .ok_or_else(|| invalid("DeploymentDoesNotExistException", format!("no deployment {id}")))?;
            if d.is_finished() {
                return Err(invalid("DeploymentAlreadyCompletedException", format!("deployment {id} is already {}", d.status)));
            }
            d.stop_requested = Some(rollback);
            Ok(json!({"status": "Pending", "statusMessage": "Stopping Pending. Stopping to schedule commands in the deployment instances"}))
        })
    }

    fn put_hook_status(&self, account: &str, body: &Value) -> ApiResult<Value> {
        let id = deployment_id(body)?;
        let execution =
            required(body, "lifecycleEventHookExecutionId", "LifecycleEventHookExecutionIdRequiredException")?;
        let status = required(body, "status", "InvalidLifecycleEventHookExecutionStatusException")?;
        if status != "Succeeded" && status != "Failed" {
            return Err(invalid(
                "InvalidLifecycleEventHookExecutionStatusException",
                format!("status must be Succeeded or Failed, not {status}"),
            ));
        }
        self.mutate(|s| {
            let in_account = s.accounts.get(account).is_some_and(|a| a.deployments.contains_key(&id));
            let d = if in_account { s.account(account).deployments.get_mut(&id) } else { s.find_deployment(&id) }
                .ok_or_else(|| invalid("DeploymentDoesNotExistException", format!("no deployment {id}")))?;
            let event =
                d.events.iter().find(|e| e.hook_execution_id.as_deref() == Some(execution.as_str())).ok_or_else(
                    || {
                        invalid(
                            "InvalidLifecycleEventHookExecutionIdException",
                            format!("deployment {id} has no hook execution {execution}"),
                        )
                    },
                )?;
            if event.status != "InProgress" || d.hook_answers.contains_key(&execution) {
                return Err(invalid(
                    "LifecycleEventAlreadyCompletedException",
                    format!("the {} hook of deployment {id} is already {}", event.name, event.status),
                ));
            }
            d.hook_answers.insert(execution.clone(), status);
            Ok(json!({"lifecycleEventHookExecutionId": execution}))
        })
    }
}

fn deployment_id(body: &Value) -> ApiResult<String> {
    let id = required(body, "deploymentId", "DeploymentIdRequiredException")?;
    if !id.starts_with("d-") || id.len() != 11 {
        return Err(invalid(
            "InvalidDeploymentIdException",
            format!("{id} is not a deployment id (d- and 9 characters)"),
        ));
    }
    Ok(id)
}

fn validate_name(name: &str, code: &'static str, field: &str) -> ApiResult<()> {
    if name.len() > 100 {
        return Err(invalid(code, format!("{field} is longer than 100 characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(validation(format!("{field} contains control characters")));
    }
    Ok(())
}
