//! Finishing a deployment that did not succeed: return the alias to its starting
//! version, record the outcome, and create the rollback deployment that CodeDeploy
//! reports when the group rolls back on this kind of failure.

use std::sync::Arc;
use std::time::Duration;

use crate::api::ids;
use crate::clock::Clock;
use crate::codedeploy::status::{DeploymentStatus, LifecycleEventName, LifecycleEventStatus, RollbackEvent};
use crate::codedeploy::store::Deployment;
use crate::codedeploy::CodeDeploy;

/// Why a deployment ends without success.
#[derive(Debug)]
pub(super) struct Failure {
    pub status: DeploymentStatus,
    /// `errorInformation.code` (CodeDeploy's ErrorCode).
    pub code: &'static str,
    pub message: String,
    /// The auto-rollback event this failure counts as (none: a stop without rollback).
    pub event: Option<RollbackEvent>,
    /// Whether the alias may have been touched and must be restored.
    pub restore: bool,
}

impl Failure {
    pub fn failed(code: &'static str, message: String, restore: bool) -> Self {
        Self { status: DeploymentStatus::Failed, code, message, event: Some(RollbackEvent::DeploymentFailure), restore }
    }

    pub fn stopped_on_alarm(message: String, restore: bool) -> Self {
        Self {
            status: DeploymentStatus::Stopped,
            code: "ALARM_ACTIVE",
            message,
            event: Some(RollbackEvent::DeploymentStopOnAlarm),
            restore,
        }
    }
}

/// Returns the alias to `version` alone, retrying briefly: this is the step that
/// keeps an alias off a mix of versions.
async fn restore_alias(
    service: &CodeDeploy,
    account: &str,
    function: &str,
    alias: &str,
    version: &str,
) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 0..5u64 {
        match service.upstream.update_alias(account, function, alias, version, None).await {
            Ok(_) => return Ok(()),
            Err(err) => last = err.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
    }
    Err(last)
}

/// The finished record of the rollback deployment CodeDeploy creates for `original`:
/// a new id, the versions swapped, all traffic back on the starting version.
fn rollback_record(original: &Deployment, rollback_id: &str, now: f64) -> Deployment {
    let mut rollback = original.clone();
    rollback.id = rollback_id.to_owned();
    rollback.creator = "autoRollback".into();
    rollback.status = DeploymentStatus::Succeeded;
    rollback.description = Some(format!("Rollback of {}", original.id));
    rollback.spec = original.spec.clone().map(|mut sp| {
        std::mem::swap(&mut sp.current_version, &mut sp.target_version);
        sp
    });
    rollback.create_time = now;
    rollback.start_time = Some(now);
    rollback.complete_time = Some(now);
    rollback.error = None;
    rollback.rollback_deployment_id = None;
    rollback.rollback_triggering_deployment_id = Some(original.id.clone());
    rollback.rollback_message = None;
    rollback.target_weight = 100.0;
    rollback.stop_requested = None;
    rollback.hook_answers.clear();
    rollback.last_updated = now;
    for event in &mut rollback.events {
        event.status = if event.name == LifecycleEventName::AllowTraffic {
            LifecycleEventStatus::Succeeded
        } else {
            LifecycleEventStatus::Skipped
        };
        event.start_time = Some(now);
        event.end_time = Some(now);
        event.hook_execution_id = None;
        event.diagnostics = None;
    }
    rollback
}

pub(super) async fn finish_failed(service: &Arc<CodeDeploy>, d: &Deployment, failure: Failure) {
    let mut message = failure.message.clone();
    if let (true, Some(spec)) = (failure.restore, &d.spec) {
        if let Err(err) = restore_alias(service, &d.account, &spec.function, &spec.alias, &spec.current_version).await {
            message.push_str(&format!(
                "; returning {}:{} to version {} failed: {err}",
                spec.function, spec.alias, spec.current_version
            ));
            tracing::error!(deployment = %d.id, %err, "could not restore the alias");
        }
    }
    let rolls_back = failure.event.is_some_and(|event| d.rolls_back_on(event));
    let now = Clock::now_epoch();
    service.mutate(|s| {
        let a = s.account(&d.account);
        let rollback_id = rolls_back.then(ids::deployment_id);
        if let (Some(rollback_id), Some(original)) = (&rollback_id, a.deployments.get(&d.id)) {
            let rollback = rollback_record(original, rollback_id, now);
            a.deployments.insert(rollback_id.clone(), rollback);
        }
        if let Some(dep) = a.deployments.get_mut(&d.id) {
            dep.status = failure.status;
            dep.error = Some((failure.code.into(), message.clone()));
            dep.complete_time = Some(now);
            dep.last_updated = now;
            if failure.restore {
                dep.target_weight = 0.0;
            }
            for event in &mut dep.events {
                match event.status {
                    LifecycleEventStatus::InProgress => {
                        event.status = LifecycleEventStatus::Failed;
                        event.end_time = Some(now);
                    }
                    LifecycleEventStatus::Pending => event.status = LifecycleEventStatus::Skipped,
                    _ => {}
                }
            }
            if let Some(rollback_id) = rollback_id {
                dep.rollback_message =
                    Some(format!("Deployment {} rolled back by deployment {rollback_id}: {message}", d.id));
                dep.rollback_deployment_id = Some(rollback_id);
            }
        }
    });
    tracing::warn!(deployment = %d.id, code = failure.code, %message, rolled_back = rolls_back, "deployment {}", failure.status);
}

/// A deployment found unfinished at start-up: localcloud stopped while it ran.
pub(in crate::codedeploy) async fn abandon(service: &Arc<CodeDeploy>, account: &str, id: &str) {
    let Some(d) = service.read(|s| s.accounts.get(account).and_then(|a| a.deployments.get(id)).cloned()) else {
        return;
    };
    let validated =
        d.event(LifecycleEventName::BeforeAllowTraffic).is_some_and(|e| e.status != LifecycleEventStatus::Pending);
    let version = d
        .spec
        .as_ref()
        .map(|s| format!("{}:{} was returned to version {}", s.function, s.alias, s.current_version))
        .unwrap_or_default();
    let failure = Failure {
        message: format!("localcloud stopped during this deployment; on restart the alias {version}"),
        ..Failure::failed("INTERNAL_ERROR", String::new(), validated)
    };
    finish_failed(service, &d, failure).await;
}
