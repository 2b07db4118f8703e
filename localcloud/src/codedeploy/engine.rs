//! Runs one deployment: validate against the alias, BeforeAllowTraffic, shift the
//! alias weights on the config's schedule, AfterAllowTraffic; watch the group's
//! alarms and stop requests throughout. Any failure returns the alias to the version
//! it started from before the deployment is reported finished, so no reader ever
//! sees a finished deployment with traffic split between versions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::store::{Deployment, LifecycleEvent};
use super::{new_id, uuid, CodeDeploy};
use crate::clock::Clock;
use crate::upstream::UpstreamError;

/// How often (real time) a running deployment looks at alarms, stop requests and hook answers.
const TICK: Duration = Duration::from_millis(100);
/// CodeDeploy fails a hook that has not answered within an hour.
const HOOK_LIMIT: Duration = Duration::from_secs(3600);

#[derive(Debug)]
struct Failure {
    status: &'static str,
    code: &'static str,
    message: String,
    /// The auto-rollback event this failure counts as.
    event: &'static str,
    /// Whether the alias may have been touched and must be restored.
    restore: bool,
}

impl Failure {
    fn failed(code: &'static str, message: String, restore: bool) -> Self {
        Self { status: "Failed", code, message, event: "DEPLOYMENT_FAILURE", restore }
    }
}

fn update(service: &CodeDeploy, account: &str, id: &str, f: impl FnOnce(&mut Deployment)) {
    service.mutate(|s| {
        if let Some(d) = s.account(account).deployments.get_mut(id) {
            f(d);
            d.last_updated = Clock::now_epoch();
        }
    });
}

fn set_event(service: &CodeDeploy, account: &str, id: &str, index: usize, f: impl FnOnce(&mut LifecycleEvent)) {
    update(service, account, id, |d| {
        if let Some(e) = d.events.get_mut(index) {
            f(e);
        }
    });
}

pub(super) async fn run(service: &Arc<CodeDeploy>, account: &str, id: &str) {
    let Some(deployment) = service.read(|s| s.accounts.get(account).and_then(|a| a.deployments.get(id)).cloned())
    else {
        return;
    };
    update(service, account, id, |d| {
        d.status = "InProgress".into();
        d.start_time = Some(Clock::now_epoch());
    });
    match drive(service, &deployment).await {
        Ok(()) => update(service, account, id, |d| {
            d.status = "Succeeded".into();
            d.complete_time = Some(Clock::now_epoch());
        }),
        Err(failure) => finish_failed(service, &deployment, failure).await,
    }
}

async fn drive(service: &Arc<CodeDeploy>, d: &Deployment) -> Result<(), Failure> {
    let spec = d
        .spec
        .clone()
        .ok_or_else(|| Failure::failed("INVALID_REVISION", "the deployment has no AppSpec".into(), false))?;
    let (account, upstream) = (d.account.as_str(), &service.upstream);
    let invalid = |message: String| Failure::failed("INVALID_LAMBDA_CONFIGURATION", message, false);
    if spec.current_version == "$LATEST" || spec.target_version == "$LATEST" {
        return Err(invalid(
            "$LATEST cannot be a CurrentVersion or TargetVersion: publish a version and name it".into(),
        ));
    }
    if spec.current_version == spec.target_version {
        return Err(invalid(format!(
            "TargetVersion {} is the CurrentVersion: there is nothing to shift",
            spec.target_version
        )));
    }
    let alias = upstream.get_alias(account, &spec.function, &spec.alias).await.map_err(|e| match e {
        UpstreamError::Status { status: 404, .. } => Failure::failed(
            "INVALID_LAMBDA_FUNCTION",
            format!("alias {} of function {} does not exist", spec.alias, spec.function),
            false,
        ),
        other => {
            Failure::failed("INTERNAL_ERROR", format!("reading alias {}:{}: {other}", spec.function, spec.alias), false)
        }
    })?;
    if alias.function_version != spec.current_version || alias.additional.is_some() {
        return Err(invalid(format!(
            "the alias {}:{} points to version {}{}, not CurrentVersion {}",
            spec.function,
            spec.alias,
            alias.function_version,
            alias.additional.as_ref().map(|(v, w)| format!(" with {:.0} % on {v}", w * 100.0)).unwrap_or_default(),
            spec.current_version
        )));
    }
    match upstream.version_exists(account, &spec.function, &spec.target_version).await {
        Ok(true) => {}
        Ok(false) => return Err(invalid(format!("function {} has no version {}", spec.function, spec.target_version))),
        Err(e) => {
            return Err(Failure::failed(
                "INTERNAL_ERROR",
                format!("reading version {}: {e}", spec.target_version),
                false,
            ))
        }
    }

    hook(service, d, 0, spec.before_allow_traffic.as_deref()).await?;

    set_event(service, account, &d.id, 1, |e| {
        e.status = "InProgress".into();
        e.start_time = Some(Clock::now_epoch());
    });
    for step in d.traffic_routing.schedule() {
        let result = if step.percent >= 100.0 {
            upstream.update_alias(account, &spec.function, &spec.alias, &spec.target_version, None).await
        } else {
            upstream
                .update_alias(
                    account,
                    &spec.function,
                    &spec.alias,
                    &spec.current_version,
                    Some((&spec.target_version, step.percent / 100.0)),
                )
                .await
        };
        result.map_err(|e| {
            Failure::failed(
                "INTERNAL_ERROR",
                format!("shifting {}:{} to {} %: {e}", spec.function, spec.alias, step.percent),
                true,
            )
        })?;
        update(service, account, &d.id, |dep| dep.target_weight = step.percent);
        tracing::info!(deployment = %d.id, function = %spec.function, percent = step.percent, "traffic shifted");
        watch(service, d, service.clock.real(step.wait), None).await?;
    }
    set_event(service, account, &d.id, 1, |e| {
        e.status = "Succeeded".into();
        e.end_time = Some(Clock::now_epoch());
    });

    hook(service, d, 2, spec.after_allow_traffic.as_deref()).await
}

/// Invokes a hook and waits for its answer (or the time limit), watching throughout.
async fn hook(service: &Arc<CodeDeploy>, d: &Deployment, index: usize, function: Option<&str>) -> Result<(), Failure> {
    let account = d.account.as_str();
    let Some(function) = function else {
        set_event(service, account, &d.id, index, |e| e.status = "Skipped".into());
        return Ok(());
    };
    let execution = uuid();
    let name = d.events[index].name.clone();
    set_event(service, account, &d.id, index, |e| {
        e.status = "InProgress".into();
        e.start_time = Some(Clock::now_epoch());
        e.hook_execution_id = Some(execution.clone());
        e.hook_function = Some(function.to_owned());
    });
    let event = json!({"DeploymentId": d.id, "LifecycleEventHookExecutionId": execution});
    if let Err(err) = service.upstream.invoke_event(account, function, &event).await {
        let message = format!("the {name} hook {function} could not be invoked: {err}");
        set_event(service, account, &d.id, index, |e| {
            e.status = "Failed".into();
            e.end_time = Some(Clock::now_epoch());
            e.diagnostics = Some(message.clone());
        });
        return Err(Failure::failed("HOOK_EXECUTION_FAILURE", message, index > 0));
    }
    let answer = watch(service, d, service.clock.real(HOOK_LIMIT), Some(&execution)).await?;
    let (status, failure) = match answer.as_deref() {
        Some("Succeeded") => ("Succeeded", None),
        Some(_) => ("Failed", Some(format!("the {name} hook {function} reported Failed"))),
        None => (
            "Failed",
            Some(format!(
                "the {name} hook {function} did not call PutLifecycleEventHookExecutionStatus within one hour"
            )),
        ),
    };
    set_event(service, account, &d.id, index, |e| {
        e.status = status.into();
        e.end_time = Some(Clock::now_epoch());
        e.diagnostics.clone_from(&failure);
    });
    match failure {
        None => Ok(()),
        Some(message) => Err(Failure::failed("HOOK_EXECUTION_FAILURE", message, index > 0)),
    }
}

/// Waits `duration` (real time) while checking stop requests and alarms each tick.
/// With `execution`, returns early with that hook's answer once it arrives.
async fn watch(
    service: &Arc<CodeDeploy>,
    d: &Deployment,
    duration: Duration,
    execution: Option<&str>,
) -> Result<Option<String>, Failure> {
    let deadline = Instant::now() + duration;
    let (alarms, ignore_poll_failure) = service
        .read(|s| {
            s.accounts
                .get(&d.account)
                .and_then(|a| a.groups.get(&super::group_key(&d.application, &d.group)))
                .map(|g| g.alarms())
        })
        .unwrap_or_default();
    let restore = execution.is_none() || d.events.iter().any(|e| e.name == "AllowTraffic" && e.status != "Pending");
    loop {
        let (stop, answer, shifted) = service.read(|s| {
            let dep = s.accounts.get(&d.account).and_then(|a| a.deployments.get(&d.id));
            (
                dep.and_then(|x| x.stop_requested),
                execution.and_then(|e| dep.and_then(|x| x.hook_answers.get(e).cloned())),
                dep.is_some_and(|x| x.target_weight > 0.0),
            )
        });
        let restore = restore || shifted;
        if let Some(rollback) = stop {
            let event = if rollback { "DEPLOYMENT_STOP_ON_REQUEST" } else { "" };
            return Err(Failure {
                status: "Stopped",
                code: "MANUAL_STOP",
                message: "the deployment was stopped by StopDeployment".into(),
                event,
                restore,
            });
        }
        if answer.is_some() {
            return Ok(answer);
        }
        if !alarms.is_empty() {
            let states = service.alarms.alarm_states(&d.account, &alarms);
            if let Some(name) = alarms.iter().find(|n| states.get(*n).map(String::as_str) == Some("ALARM")) {
                return Err(Failure {
                    status: "Stopped",
                    code: "ALARM_ACTIVE",
                    message: format!("alarm {name} is in ALARM: the deployment was stopped"),
                    event: "DEPLOYMENT_STOP_ON_ALARM",
                    restore,
                });
            }
            if let Some(missing) = alarms.iter().find(|n| !states.contains_key(*n)).filter(|_| !ignore_poll_failure) {
                return Err(Failure {
                    status: "Stopped",
                    code: "ALARM_ACTIVE",
                    message: format!(
                        "alarm {missing} could not be read (it does not exist) and ignorePollAlarmFailure is false"
                    ),
                    event: "DEPLOYMENT_STOP_ON_ALARM",
                    restore,
                });
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(TICK.min(deadline - now)).await;
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

async fn finish_failed(service: &Arc<CodeDeploy>, d: &Deployment, failure: Failure) {
    let spec = d.spec.clone();
    let mut message = failure.message.clone();
    if let (true, Some(spec)) = (failure.restore, &spec) {
        if let Err(err) = restore_alias(service, &d.account, &spec.function, &spec.alias, &spec.current_version).await {
            message.push_str(&format!(
                "; returning {}:{} to version {} failed: {err}",
                spec.function, spec.alias, spec.current_version
            ));
            tracing::error!(deployment = %d.id, %err, "could not restore the alias");
        }
    }
    let rolls_back = !failure.event.is_empty()
        && d.auto_rollback.get("enabled").and_then(serde_json::Value::as_bool) == Some(true)
        && d.auto_rollback
            .get("events")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|e| e.iter().any(|x| x.as_str() == Some(failure.event)));
    let now = Clock::now_epoch();
    service.mutate(|s| {
        let a = s.account(&d.account);
        let rollback_id = rolls_back.then(|| new_id("d-", 9));
        if let (Some(rollback_id), Some(original)) = (&rollback_id, a.deployments.get(&d.id)) {
            let mut rollback = original.clone();
            rollback.id.clone_from(rollback_id);
            rollback.creator = "autoRollback".into();
            rollback.status = "Succeeded".into();
            rollback.description = Some(format!("Rollback of {}", d.id));
            rollback.spec = spec.clone().map(|mut sp| {
                std::mem::swap(&mut sp.current_version, &mut sp.target_version);
                sp
            });
            rollback.create_time = now;
            rollback.start_time = Some(now);
            rollback.complete_time = Some(now);
            rollback.error = None;
            rollback.rollback_deployment_id = None;
            rollback.rollback_triggering_deployment_id = Some(d.id.clone());
            rollback.rollback_message = None;
            rollback.target_weight = 100.0;
            rollback.stop_requested = None;
            rollback.hook_answers.clear();
            rollback.last_updated = now;
            for event in &mut rollback.events {
                event.status = if event.name == "AllowTraffic" { "Succeeded" } else { "Skipped" }.into();
                event.start_time = Some(now);
                event.end_time = Some(now);
                event.hook_execution_id = None;
                event.diagnostics = None;
            }
            a.deployments.insert(rollback_id.clone(), rollback);
        }
        if let Some(dep) = a.deployments.get_mut(&d.id) {
            dep.status = failure.status.into();
            dep.error = Some((failure.code.into(), message.clone()));
            dep.complete_time = Some(now);
            dep.last_updated = now;
            if failure.restore {
                dep.target_weight = 0.0;
            }
            for event in &mut dep.events {
                match event.status.as_str() {
                    "InProgress" => {
                        event.status = "Failed".into();
                        event.end_time = Some(now);
                    }
                    "Pending" => event.status = "Skipped".into(),
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
pub(super) async fn abandon(service: &Arc<CodeDeploy>, account: &str, id: &str) {
    let Some(d) = service.read(|s| s.accounts.get(account).and_then(|a| a.deployments.get(id)).cloned()) else {
        return;
    };
    let validated = d.events.first().is_some_and(|e| e.status != "Pending");
    let version = d
        .spec
        .as_ref()
        .map(|s| format!("{}:{} was returned to version {}", s.function, s.alias, s.current_version))
        .unwrap_or_default();
    let failure = Failure {
        status: "Failed",
        code: "INTERNAL_ERROR",
        message: format!("localcloud stopped during this deployment; on restart the alias {version}"),
        event: "DEPLOYMENT_FAILURE",
        restore: validated,
    };
    finish_failed(service, &d, failure).await;
}
