//! Deployment groups: CreateDeploymentGroup, GetDeploymentGroup,
//! BatchGetDeploymentGroups, ListDeploymentGroups, UpdateDeploymentGroup,
//! DeleteDeploymentGroup, and the settings they validate.

use serde_json::{json, Map, Value};

use super::applications::app_exists;
use super::names::{group_arn, validate_name};
use super::shapes::group_info;
use super::status::RollbackEvent;
use super::store::{group_key, DeploymentGroup, State};
use super::tags::tag_list;
use super::traffic;
use super::CodeDeploy;
use crate::api::ids::uuid;
use crate::api::{ApiError, ApiResult, Params};

/// CodeDeploy takes at most 10 alarms per deployment group.
const MAX_ALARMS: usize = 10;

/// Settings stored as given and returned by GetDeploymentGroup.
const KEPT_AS_GIVEN: [&str; 5] = [
    "triggerConfigurations",
    "blueGreenDeploymentConfiguration",
    "loadBalancerInfo",
    "outdatedInstancesStrategy",
    "terminationHookEnabled",
];

/// The group `name` of application `app`, or the error CodeDeploy gives.
pub(super) fn find_group<'s>(state: &'s State, account: &str, app: &str, name: &str) -> ApiResult<&'s DeploymentGroup> {
    app_exists(state, account, app)?;
    state.accounts[account].groups.get(&group_key(app, name)).ok_or_else(|| {
        ApiError::new(
            "DeploymentGroupDoesNotExistException",
            format!("application {app} has no deployment group {name}"),
        )
    })
}

fn application_name(input: &Params<'_>) -> ApiResult<String> {
    input.required_str("applicationName", "ApplicationNameRequiredException")
}

/// Validates and collects a group's settings from a create or update request.
fn group_settings(account: &str, input: &Params<'_>, state: &State) -> ApiResult<Map<String, Value>> {
    let mut settings = Map::new();
    if let Some(name) = input.str("deploymentConfigName")? {
        let custom = state.accounts.get(account).and_then(|a| a.configs.get(&name));
        if custom.is_none() && traffic::predefined(&name).is_none() {
            return Err(ApiError::new(
                "DeploymentConfigDoesNotExistException",
                format!("no Lambda deployment config named {name} (predefined: {})", traffic::PREDEFINED.join(", ")),
            ));
        }
        settings.insert("deploymentConfigName".into(), json!(name));
    }
    if let Some(role) = input.str("serviceRoleArn")? {
        if !role.starts_with("arn:") {
            return Err(ApiError::new("InvalidRoleException", format!("serviceRoleArn {role} is not a role ARN")));
        }
        settings.insert("serviceRoleArn".into(), json!(role));
    }
    if let Some(alarms) = input.object("alarmConfiguration")? {
        let list = alarms.objects("alarms")?;
        if list.len() > MAX_ALARMS {
            return Err(ApiError::new(
                "AlarmsLimitExceededException",
                format!("a deployment group takes at most {MAX_ALARMS} alarms, not {}", list.len()),
            ));
        }
        for alarm in &list {
            if alarm.str("name")?.is_none_or(|n| n.is_empty()) {
                return Err(ApiError::new(
                    "InvalidAlarmConfigException",
                    "every alarm in alarmConfiguration needs a name",
                ));
            }
        }
        alarms.bool("enabled")?;
        alarms.bool("ignorePollAlarmFailure")?;
        settings.insert("alarmConfiguration".into(), alarms.value().clone());
    }
    if let Some(rollback) = input.object("autoRollbackConfiguration")? {
        rollback.bool("enabled")?;
        for event in rollback.strings("events")? {
            if RollbackEvent::parse(&event).is_none() {
                return Err(ApiError::new(
                    "InvalidAutoRollbackConfigException",
                    format!("unknown rollback event {event} (use DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM, DEPLOYMENT_STOP_ON_REQUEST)"),
                ));
            }
        }
        settings.insert("autoRollbackConfiguration".into(), rollback.value().clone());
    }
    if let Some(style) = input.object("deploymentStyle")? {
        let kind = style.str("deploymentType")?.unwrap_or_else(|| "BLUE_GREEN".into());
        let option = style.str("deploymentOption")?.unwrap_or_else(|| "WITH_TRAFFIC_CONTROL".into());
        if (kind.as_str(), option.as_str()) != ("BLUE_GREEN", "WITH_TRAFFIC_CONTROL") {
            return Err(ApiError::new(
                "InvalidDeploymentStyleException",
                format!("a Lambda deployment group is BLUE_GREEN with WITH_TRAFFIC_CONTROL, not {kind} / {option}"),
            ));
        }
        settings.insert("deploymentStyle".into(), style.value().clone());
    }
    for key in KEPT_AS_GIVEN {
        if let Some(value) = input.raw(key) {
            settings.insert(key.into(), value.clone());
        }
    }
    Ok(settings)
}

impl CodeDeploy {
    pub(super) fn create_group(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let app = application_name(input)?;
        let name = input.required_str("deploymentGroupName", "DeploymentGroupNameRequiredException")?;
        validate_name(&name, "InvalidDeploymentGroupNameException", "deploymentGroupName")?;
        input.required_str("serviceRoleArn", "RoleRequiredException")?;
        let tags = tag_list(input, "tags")?;
        self.mutate(|s| {
            app_exists(s, account, &app)?;
            let settings = group_settings(account, input, s)?;
            let a = s.account(account);
            let key = group_key(&app, &name);
            if a.groups.contains_key(&key) {
                return Err(ApiError::new(
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

    pub(super) fn get_group(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let app = application_name(input)?;
        let name = input.required_str("deploymentGroupName", "DeploymentGroupNameRequiredException")?;
        self.read(|s| Ok(json!({"deploymentGroupInfo": group_info(find_group(s, account, &app, &name)?)})))
    }

    pub(super) fn batch_get_groups(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let app = application_name(input)?;
        let names = input.strings("deploymentGroupNames")?;
        self.read(|s| {
            app_exists(s, account, &app)?;
            let infos: Vec<Value> =
                names.iter().filter_map(|n| find_group(s, account, &app, n).ok().map(group_info)).collect();
            let missing: Vec<&String> = names.iter().filter(|n| find_group(s, account, &app, n).is_err()).collect();
            let mut out = json!({"deploymentGroupsInfo": infos});
            if !missing.is_empty() {
                out["errorMessage"] = json!(format!("deployment groups not found: {missing:?}"));
            }
            Ok(out)
        })
    }

    pub(super) fn list_groups(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let app = application_name(input)?;
        self.read(|s| {
            app_exists(s, account, &app)?;
            let names: Vec<&String> =
                s.accounts[account].groups.values().filter(|g| g.application == app).map(|g| &g.name).collect();
            Ok(json!({"applicationName": app, "deploymentGroups": names}))
        })
    }

    pub(super) fn update_group(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let app = application_name(input)?;
        let current = input.required_str("currentDeploymentGroupName", "DeploymentGroupNameRequiredException")?;
        let new_name = input.str("newDeploymentGroupName")?;
        self.mutate(|s| {
            find_group(s, account, &app, &current)?;
            let settings = group_settings(account, input, s)?;
            let a = s.account(account);
            if let Some(new_name) = new_name.as_ref().filter(|n| **n != current) {
                if a.groups.contains_key(&group_key(&app, new_name)) {
                    return Err(ApiError::new(
                        "DeploymentGroupAlreadyExistsException",
                        format!("application {app} already has a deployment group {new_name}"),
                    ));
                }
            }
            let Some(mut group) = a.groups.remove(&group_key(&app, &current)) else {
                return Ok(json!({"hooksNotCleanedUp": []}));
            };
            if let Some(new_name) = new_name.filter(|n| *n != current) {
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

    pub(super) fn delete_group(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let app = application_name(input)?;
        let name = input.required_str("deploymentGroupName", "DeploymentGroupNameRequiredException")?;
        self.mutate(|s| {
            app_exists(s, account, &app)?;
            let a = s.account(account);
            a.groups.remove(&group_key(&app, &name));
            a.tags.remove(&group_arn(account, &app, &name));
            Ok(json!({"hooksNotCleanedUp": []}))
        })
    }
}
