//! The hooks' decisions, over the traits of [`crate::aws`]: what each hook checks and
//! whether the deployment may go on. No SDK types here, so every rule is tested with
//! in-memory fakes.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::appspec::LambdaTarget;
use crate::aws::{Alarms, Aliases, Executions, LambdaMetric, MayPass, Metrics, VersionMetricQuery, Versions};
use crate::config::{FunctionChecks, Smoke};
use crate::HookStatus;

/// The longest excerpt of a payload or cause quoted in a reason.
const EXCERPT_CHARS: usize = 400;

/// How many more times a check's call is made after it failed on a transient fault
/// with the SDK's own attempts spent, and the pause before the first of them (then
/// twice, three times as long). A fault that outlasts five attempts is rare but not
/// the release's doing: failing the deployment on it would roll back a good release.
/// The hook's deadline bounds it all.
pub const CALL_AGAIN: u32 = 3;
pub const CALL_AGAIN_PAUSE: Duration = Duration::from_secs(1);

/// `call`'s answer, made again up to [`CALL_AGAIN`] times while it fails on a
/// transient fault; a refusal (denied, not found, invalid) is answered at once.
pub async fn through_faults<T, E, F>(what: &str, mut call: impl FnMut() -> F) -> Result<T, E>
where
    E: MayPass + std::fmt::Display,
    F: std::future::Future<Output = Result<T, E>>,
{
    let mut again = 0;
    loop {
        match call().await {
            Err(err) if err.may_pass() && again < CALL_AGAIN => {
                again += 1;
                tracing::warn!(call = what, error = %err, again, "a transient fault outlasted the SDK's attempts: calling again");
                tokio::time::sleep(CALL_AGAIN_PAUSE * again).await;
            }
            answer => return answer,
        }
    }
}

/// The AWS services a hook uses: the SDK adapters, or fakes in tests.
pub struct Services<'a, D, V, A, L, M, E> {
    pub deployments: &'a D,
    pub versions: &'a V,
    pub aliases: &'a A,
    pub alarms: &'a L,
    pub metrics: &'a M,
    pub executions: &'a E,
}

impl<D, V, A, L, M, E> Clone for Services<'_, D, V, A, L, M, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D, V, A, L, M, E> Copy for Services<'_, D, V, A, L, M, E> {}

/// A hook's decision and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: HookStatus,
    /// Each check that failed, with its reason.
    pub failures: Vec<String>,
    /// Each check that passed, with what was seen.
    pub passed: Vec<String>,
    /// Checks not run, and why.
    pub skipped: Vec<String>,
}

impl Verdict {
    /// Failed when any check failed, Succeeded otherwise.
    pub fn from_checks(failures: Vec<String>, passed: Vec<String>, skipped: Vec<String>) -> Self {
        let status = if failures.is_empty() { HookStatus::Succeeded } else { HookStatus::Failed };
        Self { status, failures, passed, skipped }
    }

    /// Failed for one reason (a configuration error, an unreadable deployment ...).
    pub fn failed(reason: impl Into<String>) -> Self {
        Self::from_checks(vec![reason.into()], Vec::new(), Vec::new())
    }

    /// One line: the failures when Failed, what passed when Succeeded.
    pub fn reason(&self) -> String {
        let main = if self.failures.is_empty() { &self.passed } else { &self.failures };
        let mut parts = main.clone();
        parts.extend(self.skipped.iter().map(|s| format!("skipped: {s}")));
        parts.join("; ")
    }
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `errorType: errorMessage` of a Lambda error payload, or the payload itself.
fn function_error_detail(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        let field = |k: &str| value.get(k).and_then(serde_json::Value::as_str);
        if let (Some(kind), message) = (field("errorType"), field("errorMessage")) {
            return excerpt(&format!("{kind}: {}", message.unwrap_or("")));
        }
    }
    if text.trim().is_empty() {
        "no payload".to_owned()
    } else {
        excerpt(&text)
    }
}

fn millis(duration: Duration) -> u128 {
    duration.as_millis()
}

/// BeforeAllowTraffic: invoke the target version directly with each fixture event.
/// Fails on an invoke error, a function error, a non-2xx status, or an event slower
/// than `max_duration` twice running (each slow invoke is abandoned at the limit; the
/// second only when `deadline` leaves time for it). Every event is tried.
pub async fn pre_traffic(
    target: &LambdaTarget,
    checks: &FunctionChecks,
    versions: &impl Versions,
    deadline: Instant,
) -> Verdict {
    let (function, version) = (&target.function_name, &target.target_version);
    if checks.events.is_empty() {
        tracing::info!(function = %function, version = %version, "no fixture events configured: nothing to invoke");
        return Verdict::from_checks(
            Vec::new(),
            vec![format!("no fixture events configured for {function}: nothing to invoke")],
            Vec::new(),
        );
    }
    let limit = checks.max_duration;
    let (mut failures, mut passed) = (Vec::new(), Vec::new());
    for (index, event) in checks.events.iter().enumerate() {
        let at = format!("event {index}: {function}:{version}");
        let mut tried = invoke_once(&at, index, target, event, limit, versions).await;
        // One slow answer can be a fault's backoff inside the function (or a cold start
        // on a busy host); a version that is slow twice running is slow. An error is
        // not tried again.
        // Only with time for it: the hook's timeout is sized for one invoke per event.
        let time_left = deadline.saturating_duration_since(Instant::now()) > limit;
        if let (InvokeCheck::Slow(first), true) = (&tried, time_left) {
            tracing::warn!(event = index, function = %function, version = %version, reason = %first,
                "the target version answered slowly: invoking the event once more");
            tried = match invoke_once(&at, index, target, event, limit, versions).await {
                InvokeCheck::Passed(ms) => InvokeCheck::Passed(format!("{ms} on a second try ({first})")),
                InvokeCheck::Slow(second) => InvokeCheck::Failed(format!("{second}, and before that {first}")),
                failed => failed,
            };
        }
        match tried {
            InvokeCheck::Passed(ms) => passed.push(format!("{at} answered in {ms}")),
            InvokeCheck::Slow(reason) | InvokeCheck::Failed(reason) => failures.push(reason),
        }
    }
    Verdict::from_checks(failures, passed, Vec::new())
}

/// One invoke of a fixture event, judged.
enum InvokeCheck {
    /// It answered well within the limit: how long it took.
    Passed(String),
    /// It answered late, or not within the limit: why.
    Slow(String),
    /// It failed: an invoke error, a function error or a non-2xx status.
    Failed(String),
}

async fn invoke_once(
    at: &str,
    index: usize,
    target: &LambdaTarget,
    event: &serde_json::Value,
    limit: Duration,
    versions: &impl Versions,
) -> InvokeCheck {
    let (function, version) = (&target.function_name, &target.target_version);
    let started = Instant::now();
    // The budget is the function's: an attempt slower than `limit` is abandoned,
    // but the SDK's retries of a throttled or dropped attempt do not count.
    let answer = versions.invoke(function, version, event.to_string().into_bytes(), limit).await;
    let elapsed = match &answer {
        Ok(Some(invocation)) => invocation.answered_in.unwrap_or_else(|| started.elapsed()),
        _ => started.elapsed(),
    };
    let check = match answer {
        Ok(None) => InvokeCheck::Slow(format!("{at} did not answer within max_duration_ms {}", millis(limit))),
        Err(err) => InvokeCheck::Failed(format!("event {index}: {err}")),
        Ok(Some(invocation)) => {
            if let Some(kind) = &invocation.function_error {
                InvokeCheck::Failed(format!(
                    "{at} failed ({kind} function error): {}",
                    function_error_detail(&invocation.payload)
                ))
            } else if !(200..300).contains(&invocation.status_code) {
                InvokeCheck::Failed(format!("{at} answered with status {}", invocation.status_code))
            } else if elapsed > limit {
                InvokeCheck::Slow(format!(
                    "{at} took {} ms, more than max_duration_ms {}",
                    millis(elapsed),
                    millis(limit)
                ))
            } else {
                InvokeCheck::Passed(format!("{} ms", millis(elapsed)))
            }
        }
    };
    tracing::info!(
        event = index,
        function = %function,
        version = %version,
        duration_ms = millis(elapsed) as u64,
        ok = matches!(check, InvokeCheck::Passed(_)),
        "invoked the target version"
    );
    check
}

/// The metric period for an error window: whole minutes, rounded up, at least 60 s.
pub fn metric_period(window: Duration) -> u64 {
    window.as_secs().div_ceil(60).max(1) * 60
}

/// The smoke execution's name: unique per deployment, within Step Functions' rules
/// (at most 80 characters of letters, digits, `-` and `_`).
pub fn smoke_execution_name(deployment_id: &str) -> String {
    let clean: String = deployment_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect();
    format!("hook-smoke-{clean}").chars().take(80).collect()
}

/// AfterAllowTraffic, once all traffic has shifted: the alias points at the target
/// version alone, no named alarm is in ALARM or missing, the target version's errors
/// over the window are within budget, it served the evidence rule's invocations; then,
/// when all of that passed and a smoke state machine is configured, one execution of it
/// must SUCCEED.
pub async fn post_traffic<D, V, A, L, M, E>(
    deployment_id: &str,
    target: &LambdaTarget,
    checks: &FunctionChecks,
    smoke: Option<&Smoke>,
    services: &Services<'_, D, V, A, L, M, E>,
) -> Verdict
where
    A: Aliases,
    L: Alarms,
    M: Metrics,
    E: Executions,
{
    let (mut failures, mut passed, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    let mut record = |result: Result<String, String>| match result {
        Ok(seen) => passed.push(seen),
        Err(reason) => failures.push(reason),
    };
    record(check_alias(target, services.aliases).await);
    record(check_alarms(&checks.alarm_names, services.alarms).await);
    record(check_errors(target, checks, services.metrics).await);
    match check_evidence(target, checks, services.metrics).await {
        EvidenceCheck::NotAsked => skipped.push("evidence: no min_invocations for this function".to_owned()),
        EvidenceCheck::Enough(seen) => passed.push(seen),
        EvidenceCheck::ThinButNotRequired(warning) => {
            tracing::warn!(%warning, "the target version has less evidence than the rule asks");
            passed.push(warning);
        }
        EvidenceCheck::Missing(reason) => failures.push(reason),
    }
    match smoke {
        None => skipped.push("smoke execution: SMOKE_STATE_MACHINE_ARN is not set".to_owned()),
        Some(_) if !failures.is_empty() => skipped.push("smoke execution: earlier checks failed".to_owned()),
        Some(smoke) => {
            let result = run_smoke(deployment_id, smoke, services.executions).await;
            match result {
                Ok(seen) => passed.push(seen),
                Err(reason) => failures.push(reason),
            }
        }
    }
    Verdict::from_checks(failures, passed, skipped)
}

async fn check_alias(target: &LambdaTarget, aliases: &impl Aliases) -> Result<String, String> {
    let (function, alias, version) = (&target.function_name, &target.alias, &target.target_version);
    let routing = through_faults("GetAlias", || aliases.alias(function, alias)).await.map_err(|e| e.to_string())?;
    if &routing.version != version {
        return Err(format!(
            "alias {function}:{alias} points at version {}, not the target version {version}",
            routing.version
        ));
    }
    let split: Vec<String> = routing
        .additional_weights
        .iter()
        .filter(|(_, weight)| **weight > 0.0)
        .map(|(v, weight)| format!("{:.1}% to version {v}", weight * 100.0))
        .collect();
    if !split.is_empty() {
        return Err(format!("alias {function}:{alias} still routes {}", split.join(", ")));
    }
    Ok(format!("alias {function}:{alias} sends all traffic to version {version}"))
}

async fn check_alarms(names: &[String], alarms: &impl Alarms) -> Result<String, String> {
    if names.is_empty() {
        return Ok("no alarms configured".to_owned());
    }
    let states = through_faults("DescribeAlarms", || alarms.states(names)).await.map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for name in names {
        match states.get(name).map(String::as_str) {
            None => problems.push(format!("alarm {name} does not exist")),
            Some("ALARM") => problems.push(format!("alarm {name} is in ALARM")),
            Some(state) => seen.push(format!("{name} {state}")),
        }
    }
    if problems.is_empty() {
        Ok(format!("no alarm in ALARM ({})", seen.join(", ")))
    } else {
        Err(problems.join("; "))
    }
}

async fn check_errors(
    target: &LambdaTarget,
    checks: &FunctionChecks,
    metrics: &impl Metrics,
) -> Result<String, String> {
    let end = SystemTime::now();
    let window = checks.error_window;
    let query = version_query(target, LambdaMetric::Errors, end.checked_sub(window), end, window);
    let errors = through_faults("GetMetricData", || metrics.version_sum(&query)).await.map_err(|e| e.to_string())?;
    let summary = format!(
        "{} version {} reported {errors} errors in the last {} s (max_errors {})",
        target.function_name,
        target.target_version,
        window.as_secs(),
        checks.max_errors
    );
    if errors > checks.max_errors {
        Err(summary)
    } else {
        Ok(summary)
    }
}

/// What the evidence rule decided about the target version's invocations.
#[derive(Debug, Clone, PartialEq)]
pub enum EvidenceCheck {
    /// No minimum is set for the function.
    NotAsked,
    Enough(String),
    /// Too few, where the environment does not require evidence: a warning.
    ThinButNotRequired(String),
    /// Too few, where it does: the deployment fails.
    Missing(String),
}

/// The target version's invocations since traffic reached it (the end of
/// BeforeAllowTraffic; the error window where CodeDeploy did not say), against the
/// function's `min_invocations`. CloudWatch rounds the start down to the minute, so the
/// pre-traffic hook's own invokes can count when they fall in that minute.
pub async fn check_evidence(target: &LambdaTarget, checks: &FunctionChecks, metrics: &impl Metrics) -> EvidenceCheck {
    if checks.min_invocations == 0 {
        return EvidenceCheck::NotAsked;
    }
    let end = SystemTime::now();
    let (start, since) = match target.traffic_since {
        Some(t) => (Some(t), "since traffic reached it".to_owned()),
        None => (end.checked_sub(checks.error_window), format!("in the last {} s", checks.error_window.as_secs())),
    };
    let span = start.and_then(|s| end.duration_since(s).ok()).unwrap_or(checks.error_window);
    let query = version_query(target, LambdaMetric::Invocations, start, end, span);
    let counted = match through_faults("GetMetricData", || metrics.version_sum(&query)).await {
        Ok(n) => n,
        Err(e) => return EvidenceCheck::Missing(format!("could not count the invocations: {e}")),
    };
    let (function, version, min) = (&target.function_name, &target.target_version, checks.min_invocations);
    let summary = format!("{function} version {version} served {counted} invocations {since} (min_invocations {min})");
    if counted >= min as f64 {
        EvidenceCheck::Enough(summary)
    } else if checks.evidence_required {
        EvidenceCheck::Missing(format!("no evidence: {summary}; this environment requires it"))
    } else {
        EvidenceCheck::ThinButNotRequired(format!("thin evidence, not required here: {summary}"))
    }
}

fn version_query(
    target: &LambdaTarget,
    metric: LambdaMetric,
    start: Option<SystemTime>,
    end: SystemTime,
    span: Duration,
) -> VersionMetricQuery {
    VersionMetricQuery {
        metric,
        function_name: target.function_name.clone(),
        alias: target.alias.clone(),
        version: target.target_version.clone(),
        start: start.unwrap_or(SystemTime::UNIX_EPOCH),
        end,
        period_seconds: i32::try_from(metric_period(span)).unwrap_or(i32::MAX),
    }
}

async fn run_smoke(deployment_id: &str, smoke: &Smoke, executions: &impl Executions) -> Result<String, String> {
    let name = smoke_execution_name(deployment_id);
    // StartExecution with the same name and input answers the running execution: safe to
    // call again.
    let start = || executions.start(&smoke.state_machine_arn, &name, &smoke.input);
    let arn = through_faults("StartExecution", start).await.map_err(|e| e.to_string())?;
    tracing::info!(execution_arn = %arn, timeout_s = smoke.timeout.as_secs(), "started the smoke execution");
    let started = Instant::now();
    loop {
        let state =
            through_faults("DescribeExecution", || executions.describe(&arn)).await.map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        if state.status == "SUCCEEDED" {
            return Ok(format!("smoke execution {name} SUCCEEDED in {} s", elapsed.as_secs()));
        }
        if state.status != "RUNNING" {
            let detail = [state.error.as_deref(), state.cause.as_deref().map(excerpt).as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ");
            let detail = if detail.is_empty() { String::new() } else { format!(" ({detail})") };
            return Err(format!("smoke execution {arn} ended {}{detail}", state.status));
        }
        if elapsed >= smoke.timeout {
            return Err(format!(
                "smoke execution {arn} is still RUNNING after SMOKE_TIMEOUT_SECONDS {}",
                smoke.timeout.as_secs()
            ));
        }
        tracing::debug!(execution_arn = %arn, elapsed_s = elapsed.as_secs(), "smoke execution still running");
        tokio::time::sleep(smoke.poll_interval.min(smoke.timeout - elapsed)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_whole_minutes_of_at_least_one() {
        assert_eq!(metric_period(Duration::from_secs(1)), 60);
        assert_eq!(metric_period(Duration::from_secs(60)), 60);
        assert_eq!(metric_period(Duration::from_secs(90)), 120);
        assert_eq!(metric_period(Duration::from_secs(300)), 300);
    }

    #[test]
    fn smoke_names_are_valid_execution_names() {
        assert_eq!(smoke_execution_name("d-ABCDEFGHI"), "hook-smoke-d-ABCDEFGHI");
        assert_eq!(smoke_execution_name("d/1 2"), "hook-smoke-d-1-2");
        assert_eq!(smoke_execution_name(&"x".repeat(200)).len(), 80);
    }

    #[test]
    fn function_errors_are_quoted_briefly() {
        assert_eq!(
            function_error_detail(br#"{"errorType":"InvalidInput","errorMessage":"no run_date"}"#),
            "InvalidInput: no run_date"
        );
        assert_eq!(function_error_detail(b""), "no payload");
        assert!(function_error_detail("é".repeat(1000).as_bytes()).ends_with("..."));
    }
}
