//! Runs one deployment: validate against the alias, BeforeAllowTraffic, shift the
//! alias weights on the config's schedule, AfterAllowTraffic; watch the group's
//! alarms and stop requests throughout ([`watch`]). Any failure returns the alias to
//! the version it started from before the deployment is reported finished
//! ([`finish`]), so no reader ever sees a finished deployment with traffic split
//! between versions.

mod finish;
mod hooks;
mod watch;

use std::sync::Arc;

use super::status::{DeploymentStatus, LifecycleEventName, LifecycleEventStatus};
use super::store::{Deployment, LifecycleEvent};
use super::CodeDeploy;
use crate::clock::Clock;
use crate::upstream::UpstreamError;
pub(super) use finish::abandon;
use finish::{finish_failed, Failure};

/// Changes the stored deployment `id` and stamps its update time.
fn update(service: &CodeDeploy, account: &str, id: &str, f: impl FnOnce(&mut Deployment)) {
    service.mutate(|s| {
        if let Some(d) = s.account(account).deployments.get_mut(id) {
            f(d);
            d.last_updated = Clock::now_epoch();
        }
    });
}

/// Changes one lifecycle event of the stored deployment `id`.
fn set_event(
    service: &CodeDeploy,
    account: &str,
    id: &str,
    name: LifecycleEventName,
    f: impl FnOnce(&mut LifecycleEvent),
) {
    update(service, account, id, |d| {
        if let Some(e) = d.event_mut(name) {
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
        d.status = DeploymentStatus::InProgress;
        d.start_time = Some(Clock::now_epoch());
    });
    match drive(service, &deployment).await {
        Ok(()) => update(service, account, id, |d| {
            d.status = DeploymentStatus::Succeeded;
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

    hooks::run_hook(service, d, LifecycleEventName::BeforeAllowTraffic, &spec).await?;

    set_event(service, account, &d.id, LifecycleEventName::AllowTraffic, |e| {
        e.status = LifecycleEventStatus::InProgress;
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
        watch::watch(service, d, service.clock.real(step.wait), None).await?;
    }
    set_event(service, account, &d.id, LifecycleEventName::AllowTraffic, |e| {
        e.status = LifecycleEventStatus::Succeeded;
        e.end_time = Some(Clock::now_epoch());
    });

    hooks::run_hook(service, d, LifecycleEventName::AfterAllowTraffic, &spec).await
}
