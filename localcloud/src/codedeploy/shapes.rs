//! The reply shapes CodeDeploy returns (`ApplicationInfo`, `DeploymentGroupInfo`,
//! `DeploymentConfigInfo`, `DeploymentInfo`, `DeploymentTarget`), built from the
//! stored state with AWS's field names.

use serde_json::{json, Map, Value};

use super::names::REGION;
use super::revisions;
use super::store::{Application, CustomConfig, Deployment, DeploymentGroup, LifecycleEvent};
use super::traffic;

pub fn application_info(app: &Application) -> Value {
    json!({
        "applicationId": app.id,
        "applicationName": app.name,
        "createTime": app.create_time,
        "linkedToGitHub": false,
        "computePlatform": app.compute_platform,
    })
}

pub fn group_info(group: &DeploymentGroup) -> Value {
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

/// Stable ids for the predefined configs, derived from the name.
fn predefined_config_id(name: &str) -> String {
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

/// A custom config, or the predefined one of that name; None if neither exists.
pub fn config_info(name: &str, custom: Option<&CustomConfig>) -> Option<Value> {
    let (id, create_time, routing) = match custom {
        Some(c) => (c.id.clone(), c.create_time, c.traffic_routing.clone()),
        None => (predefined_config_id(name), 1_500_000_000.0, traffic::predefined(name)?),
    };
    Some(json!({
        "deploymentConfigId": id,
        "deploymentConfigName": name,
        "createTime": create_time,
        "computePlatform": "Lambda",
        "trafficRoutingConfig": routing,
    }))
}

pub fn deployment_info(d: &Deployment) -> Value {
    let mut info = json!({
        "applicationName": d.application,
        "deploymentGroupName": d.group,
        "deploymentConfigName": d.config_name,
        "deploymentId": d.id,
        // Without the inline content: see `revisions`.
        "revision": revisions::summary(&d.revision),
        "status": d.status,
        "createTime": d.create_time,
        "creator": d.creator,
        "computePlatform": "Lambda",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "autoRollbackConfiguration": d.auto_rollback,
        "deploymentStatusMessages": [],
    });
    let Some(map) = info.as_object_mut() else { return info };
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

/// The id of a Lambda deployment's one target: `<function>:<alias>`.
///
/// No AWS source pins this format down: the API reference (BatchGetDeploymentTargets,
/// `targetIds`) says only that Lambda target ids are "the names of Lambda functions";
/// walkthroughs of `aws deploy get-deployment-target` for Lambda use `name:alias`,
/// the counterpart of the `<cluster>:<service>` ids ECS targets have (which CodeDeploy
/// enforces: "valid Id should be in format <cluster-name>:<service-name>",
/// awsdocs/amazon-ecs-developer-guide#112). Clients must treat it as opaque and take
/// it from ListDeploymentTargets, never build it.
pub fn target_id(d: &Deployment) -> Option<String> {
    d.spec.as_ref().map(|s| format!("{}:{}", s.function, s.alias))
}

fn lifecycle_event(e: &LifecycleEvent) -> Value {
    let mut event = json!({"lifecycleEventName": e.name, "status": e.status});
    let Some(map) = event.as_object_mut() else { return event };
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
}

/// The deployment's Lambda target (`DeploymentTarget` with a `LambdaTarget`), if it
/// has an AppSpec. Field names and types follow the SDK's service model
/// (`LambdaTarget`, `LambdaFunctionInfo`, `LifecycleEvent`).
pub fn deployment_target(account: &str, d: &Deployment) -> Option<Value> {
    let spec = d.spec.as_ref()?;
    Some(json!({
        "deploymentTargetType": "LambdaTarget",
        "lambdaTarget": {
            "deploymentId": d.id,
            "targetId": target_id(d),
            "targetArn": format!("arn:aws:lambda:{REGION}:{account}:function:{}:{}", spec.function, spec.alias),
            "status": d.status.target_status(),
            "lastUpdatedAt": d.last_updated,
            "lifecycleEvents": d.events.iter().map(lifecycle_event).collect::<Vec<_>>(),
            "lambdaFunctionInfo": {
                "functionName": spec.function,
                "functionAlias": spec.alias,
                "currentVersion": spec.current_version,
                "targetVersion": spec.target_version,
                // "The percentage of production traffic that the target version of a
                // Lambda function receives" (API reference, LambdaFunctionInfo): 0..100,
                // as ECS task sets report trafficWeight.
                "targetVersionWeight": d.target_weight,
            }
        }
    }))
}
