//! What both hook binaries share: JSON logs with the deployment id on every line, the
//! configuration (kept even when invalid, so it can be reported), the SDK clients, and
//! a handler that always answers CodeDeploy, generic over the traits of [`crate::aws`].

use std::time::{Duration, SystemTime};

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::appspec::LambdaTarget;
use crate::aws::{sdk, Alarms, Aliases, AwsError, Deployments, Executions, Metrics, Reported, SdkClients, Versions};
use crate::checks::{self, Services, Verdict};
use crate::config::{Config, ConfigError};
use crate::report::{self, REPORT_RETRY};
use crate::{Hook, HookStatus};

/// Time kept back from the Lambda deadline to report the verdict.
pub const REPORT_MARGIN: Duration = Duration::from_secs(5);

/// Time kept back from the Lambda deadline by the report's retries, so that a report
/// that could not be delivered is logged and the invoke fails (and Lambda's
/// asynchronous retry runs the hook again) rather than being cut off.
pub const REPORT_SAFETY: Duration = Duration::from_millis(500);

/// The event CodeDeploy invokes a hook with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct HookEvent {
    #[serde(rename = "DeploymentId")]
    pub deployment_id: String,
    #[serde(rename = "LifecycleEventHookExecutionId")]
    pub hook_execution_id: String,
}

/// What a hook decided and how CodeDeploy took it (also the Lambda's response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub deployment_id: String,
    pub status: String,
    pub reason: String,
    pub function: Option<String>,
    pub target_version: Option<String>,
    pub already_completed: bool,
}

/// JSON logs at `LOG_LEVEL` (default info), each line carrying the current span's fields.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOG_LEVEL").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Decides, within `budget`, logs the verdict in one line and reports it, trying again
/// until CodeDeploy takes it or the Lambda deadline (`budget` + [`REPORT_MARGIN`]) is
/// near. Every path ends in a report; only a report that could not be delivered is an
/// error (the Lambda then fails, and the asynchronous invoke is retried).
pub async fn run_hook<D, V, A, L, M, E>(
    hook: Hook,
    event: &HookEvent,
    config: Result<&Config, &ConfigError>,
    services: &Services<'_, D, V, A, L, M, E>,
    budget: Duration,
) -> Result<Outcome, AwsError>
where
    D: Deployments,
    V: Versions,
    A: Aliases,
    L: Alarms,
    M: Metrics,
    E: Executions,
{
    let started = tokio::time::Instant::now();
    let deadline = started + budget;
    let report_deadline = (deadline + REPORT_MARGIN).checked_sub(REPORT_SAFETY).unwrap_or(deadline);
    let (target, verdict) = decide(hook, event, config, services, deadline).await;
    let reason = verdict.reason();
    let field = |f: fn(&LambdaTarget) -> &str| target.as_ref().map_or("-", f).to_owned();
    let (function, alias, current_version, target_version) =
        (field(|t| &t.function_name), field(|t| &t.alias), field(|t| &t.current_version), field(|t| &t.target_version));
    let duration_ms = started.elapsed().as_millis() as u64;
    match verdict.status {
        HookStatus::Succeeded => tracing::info!(
            hook = hook.name(),
            lifecycle_event = hook.lifecycle_event(),
            status = "Succeeded",
            %function, %alias, %current_version, %target_version,
            checks_passed = verdict.passed.len(),
            duration_ms,
            reason = %reason,
            "verdict"
        ),
        HookStatus::Failed => tracing::error!(
            hook = hook.name(),
            lifecycle_event = hook.lifecycle_event(),
            status = "Failed",
            %function, %alias, %current_version, %target_version,
            checks_failed = verdict.failures.len(),
            duration_ms,
            reason = %reason,
            "verdict"
        ),
    }
    let delivery = match report::report_until(
        services.deployments,
        &event.deployment_id,
        &event.hook_execution_id,
        verdict.status,
        report_deadline,
        REPORT_RETRY,
    )
    .await
    {
        Ok(delivery) => delivery,
        Err(err) => {
            tracing::error!(status = verdict.status.as_str(), error = %err, "could not report the verdict to CodeDeploy");
            return Err(err);
        }
    };
    let reported = delivery.reported;
    match reported {
        Reported::Accepted => {
            tracing::info!(status = verdict.status.as_str(), calls = delivery.calls, "reported to CodeDeploy")
        }
        Reported::AlreadyCompleted => tracing::warn!(
            status = verdict.status.as_str(),
            calls = delivery.calls,
            "CodeDeploy had already taken an answer for this hook execution (a retried invoke, or an earlier call \
             whose reply was lost); it keeps the first"
        ),
    }
    Ok(Outcome {
        deployment_id: event.deployment_id.clone(),
        status: verdict.status.as_str().to_owned(),
        reason,
        function: target.as_ref().map(|t| t.function_name.clone()),
        target_version: target.as_ref().map(|t| t.target_version.clone()),
        already_completed: reported == Reported::AlreadyCompleted,
    })
}

async fn decide<D, V, A, L, M, E>(
    hook: Hook,
    event: &HookEvent,
    config: Result<&Config, &ConfigError>,
    services: &Services<'_, D, V, A, L, M, E>,
    deadline: tokio::time::Instant,
) -> (Option<LambdaTarget>, Verdict)
where
    D: Deployments,
    V: Versions,
    A: Aliases,
    L: Alarms,
    M: Metrics,
    E: Executions,
{
    let out_of_time = |what: &str| {
        Verdict::failed(format!(
            "{what} did not finish before the hook's own Lambda timeout (less {} s to report); \
             raise the hook function's timeout",
            REPORT_MARGIN.as_secs()
        ))
    };
    let config = match config {
        Ok(config) => config,
        Err(err) => return (None, Verdict::failed(format!("the hook's configuration is invalid: {err}"))),
    };
    let read_target =
        checks::through_faults("the deployment's target", || services.deployments.target(&event.deployment_id));
    let target = match tokio::time::timeout_at(deadline, read_target).await {
        Err(_) => return (None, out_of_time("reading the deployment")),
        Ok(Err(err)) => return (None, Verdict::failed(err.to_string())),
        Ok(Ok(target)) => target,
    };
    tracing::info!(
        function = %target.function_name,
        alias = %target.alias,
        current_version = %target.current_version,
        target_version = %target.target_version,
        "checking the deployment's target"
    );
    let checks = match config.checks_for(&target.function_name) {
        Ok(checks) => checks,
        Err(err) => return (Some(target), Verdict::failed(format!("the hook's configuration is incomplete: {err}"))),
    };
    let verdict = match hook {
        Hook::PreTraffic => {
            tokio::time::timeout_at(deadline, checks::pre_traffic(&target, checks, services.versions, deadline)).await
        }
        Hook::PostTraffic => {
            tokio::time::timeout_at(
                deadline,
                checks::post_traffic(&event.deployment_id, &target, checks, config.smoke.as_ref(), services),
            )
            .await
        }
    };
    let verdict = verdict.unwrap_or_else(|_| out_of_time("the checks"));
    (Some(target), verdict)
}

/// The longest a Lambda function runs (used when the runtime gives no deadline).
pub const LAMBDA_MAX_TIMEOUT: Duration = Duration::from_secs(900);

/// The time a hook may spend deciding: up to the Lambda deadline, less [`REPORT_MARGIN`].
pub fn budget(deadline: SystemTime, now: SystemTime) -> Duration {
    let remaining = if deadline <= SystemTime::UNIX_EPOCH {
        LAMBDA_MAX_TIMEOUT // no deadline given
    } else {
        deadline.duration_since(now).unwrap_or_default()
    };
    remaining.saturating_sub(REPORT_MARGIN)
}

/// The Lambda runtime loop of a hook binary.
pub async fn serve(hook: Hook) -> Result<(), lambda_runtime::Error> {
    init_logging();
    let config = Config::from_env(hook);
    match &config {
        Ok(config) => {
            for warning in &config.warnings {
                tracing::warn!(hook = hook.name(), "{warning}");
            }
        }
        Err(err) => tracing::error!(
            hook = hook.name(),
            variable = err.variable,
            error = %err,
            "the configuration is invalid: every deployment is reported Failed until it is fixed"
        ),
    }
    let clients = SdkClients::new(&sdk::load().await);
    let services = Services {
        deployments: &clients.deployments,
        versions: &clients.versions,
        aliases: &clients.aliases,
        alarms: &clients.alarms,
        metrics: &clients.metrics,
        executions: &clients.executions,
    };
    let (config, services) = (&config, &services);
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        let request_id = event.context.request_id.clone();
        let budget = budget(event.context.deadline(), SystemTime::now());
        let hook_event: HookEvent = match serde_json::from_value(event.payload) {
            Ok(hook_event) => hook_event,
            Err(err) => {
                // Without the ids there is nobody to answer: fail the invoke, loudly.
                tracing::error!(hook = hook.name(), %request_id, error = %err,
                    "the event is not a CodeDeploy hook event {{DeploymentId, LifecycleEventHookExecutionId}}");
                return Err(Diagnostic {
                    error_type: "InvalidHookEvent".into(),
                    error_message: format!("not a CodeDeploy lifecycle hook event: {err}"),
                });
            }
        };
        let span = tracing::info_span!(
            "hook",
            hook = hook.name(),
            deployment_id = %hook_event.deployment_id,
            hook_execution_id = %hook_event.hook_execution_id,
            %request_id,
        );
        // Boxed: the generic checks nest deeply enough that the compiler's layout of the
        // whole runtime future would exceed its recursion limit otherwise.
        let hook_run: std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>> =
            Box::pin(run_hook(hook, &hook_event, config.as_ref(), services, budget));
        hook_run
            .instrument(span)
            .await
            .map_err(|err| Diagnostic { error_type: "ReportFailed".into(), error_message: err.to_string() })
    }))
    .await
}
