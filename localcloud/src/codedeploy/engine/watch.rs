//! Watching a running deployment: stop requests, the group's alarms (CodeDeploy
//! stops a deployment when one is in ALARM, or cannot be read unless
//! `ignorePollAlarmFailure`), and the hook answer it may be waiting for.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::finish::Failure;
use crate::cloudwatch::AlarmState;
use crate::codedeploy::status::{
    DeploymentStatus, HookAnswer, LifecycleEventName, LifecycleEventStatus, RollbackEvent,
};
use crate::codedeploy::store::{group_key, Deployment};
use crate::codedeploy::CodeDeploy;

/// How often (real time) a running deployment looks at alarms, stop requests and hook answers.
const TICK: Duration = Duration::from_millis(100);

/// Waits `duration` (real time) while checking stop requests and alarms each tick.
/// With `execution`, returns early with that hook's answer once it arrives.
pub(super) async fn watch(
    service: &Arc<CodeDeploy>,
    d: &Deployment,
    duration: Duration,
    execution: Option<&str>,
) -> Result<Option<HookAnswer>, Failure> {
    let deadline = Instant::now() + duration;
    let (alarms, ignore_poll_failure) = service
        .read(|s| {
            s.accounts
                .get(&d.account)
                .and_then(|a| a.groups.get(&group_key(&d.application, &d.group)))
                .map(|g| g.alarms())
        })
        .unwrap_or_default();
    let restore = execution.is_none()
        || d.event(LifecycleEventName::AllowTraffic).is_some_and(|e| e.status != LifecycleEventStatus::Pending);
    loop {
        let (stop, answer, shifted) = service.read(|s| {
            let dep = s.accounts.get(&d.account).and_then(|a| a.deployments.get(&d.id));
            (
                dep.and_then(|x| x.stop_requested),
                execution.and_then(|e| dep.and_then(|x| x.hook_answers.get(e).copied())),
                dep.is_some_and(|x| x.target_weight > 0.0),
            )
        });
        let restore = restore || shifted;
        if let Some(rollback) = stop {
            return Err(Failure {
                status: DeploymentStatus::Stopped,
                code: "MANUAL_STOP",
                message: "the deployment was stopped by StopDeployment".into(),
                event: rollback.then_some(RollbackEvent::DeploymentStopOnRequest),
                restore,
            });
        }
        if answer.is_some() {
            return Ok(answer);
        }
        if !alarms.is_empty() {
            let states = service.alarms.alarm_states(&d.account, &alarms);
            if let Some(name) = alarms.iter().find(|n| states.get(*n) == Some(&AlarmState::Alarm)) {
                return Err(Failure::stopped_on_alarm(
                    format!("alarm {name} is in ALARM: the deployment was stopped"),
                    restore,
                ));
            }
            if let Some(missing) = alarms.iter().find(|n| !states.contains_key(*n)).filter(|_| !ignore_poll_failure) {
                return Err(Failure::stopped_on_alarm(
                    format!(
                        "alarm {missing} could not be read (it does not exist) and ignorePollAlarmFailure is false"
                    ),
                    restore,
                ));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(TICK.min(deadline - now)).await;
    }
}
