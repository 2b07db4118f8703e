//! A lifecycle hook: CodeDeploy invokes the hook function asynchronously with
//! `{DeploymentId, LifecycleEventHookExecutionId}` and waits for its
//! PutLifecycleEventHookExecutionStatus, failing the deployment after one hour.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::finish::Failure;
use super::{set_event, watch};
use crate::api::ids::uuid;
use crate::clock::Clock;
use crate::codedeploy::appspec::AppSpec;
use crate::codedeploy::status::{HookAnswer, LifecycleEventName, LifecycleEventStatus};
use crate::codedeploy::store::Deployment;
use crate::codedeploy::CodeDeploy;

/// CodeDeploy fails a hook that has not answered within an hour.
const HOOK_LIMIT: Duration = Duration::from_secs(3600);

/// Runs the AppSpec's hook for `event` (Skipped when it names none) and waits for its
/// answer, watching alarms and stop requests throughout.
pub(super) async fn run_hook(
    service: &Arc<CodeDeploy>,
    d: &Deployment,
    event: LifecycleEventName,
    spec: &AppSpec,
) -> Result<(), Failure> {
    let account = d.account.as_str();
    // After BeforeAllowTraffic, traffic may have moved: a failure must restore the alias.
    let restore = event != LifecycleEventName::BeforeAllowTraffic;
    let Some(function) = spec.hook_function(event) else {
        set_event(service, account, &d.id, event, |e| e.status = LifecycleEventStatus::Skipped);
        return Ok(());
    };
    let execution = uuid();
    set_event(service, account, &d.id, event, |e| {
        e.status = LifecycleEventStatus::InProgress;
        e.start_time = Some(Clock::now_epoch());
        e.hook_execution_id = Some(execution.clone());
        e.hook_function = Some(function.to_owned());
    });
    let payload = json!({"DeploymentId": d.id, "LifecycleEventHookExecutionId": execution});
    if let Err(err) = service.upstream.invoke_event(account, function, &payload).await {
        let message = format!("the {event} hook {function} could not be invoked: {err}");
        set_event(service, account, &d.id, event, |e| {
            e.status = LifecycleEventStatus::Failed;
            e.end_time = Some(Clock::now_epoch());
            e.diagnostics = Some(message.clone());
        });
        return Err(Failure::failed("HOOK_EXECUTION_FAILURE", message, restore));
    }
    let answer = watch::watch(service, d, service.clock.real(HOOK_LIMIT), Some(&execution)).await?;
    let (status, failure) = match answer {
        Some(HookAnswer::Succeeded) => (LifecycleEventStatus::Succeeded, None),
        Some(HookAnswer::Failed) => {
            (LifecycleEventStatus::Failed, Some(format!("the {event} hook {function} reported Failed")))
        }
        None => (
            LifecycleEventStatus::Failed,
            Some(format!(
                "the {event} hook {function} did not call PutLifecycleEventHookExecutionStatus within one hour"
            )),
        ),
    };
    set_event(service, account, &d.id, event, |e| {
        e.status = status;
        e.end_time = Some(Clock::now_epoch());
        e.diagnostics.clone_from(&failure);
    });
    match failure {
        None => Ok(()),
        Some(message) => Err(Failure::failed("HOOK_EXECUTION_FAILURE", message, restore)),
    }
}
