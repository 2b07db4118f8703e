//! The final report of any command, built from the engine's typed outcome (or the
//! error): `--output json` prints it as is; text and Markdown render it. Its schema is
//! documented in deployer/README.md ("JSON report").

use serde::Serialize;

use crate::cloud::{AlarmView, LockInfo};
use crate::engine::{
    CheckStatus, Finding, FunctionStatus, Outcome, PlanView, ReleaseOutcome, RollbackOutcome, StatusView, Verdict,
};
use crate::error::{exit, DeployError};
use crate::ledger::{rfc3339, Change, ReleaseRecord, Status, StepEvidence, StopCause};
use crate::settings::{format_duration, Strategy};

/// v2: typed `refusal`, `error` and `stop`; per-function `change`, status fields; the
/// lock as an object. v1 fields keep their names and meaning.
pub const REPORT_SCHEMA: &str = "deployer.report/v2";

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub schema: &'static str,
    pub command: String,
    pub environment: Option<String>,
    pub source_environment: Option<String>,
    pub release_id: Option<String>,
    pub git_commit: Option<String>,
    /// succeeded, no_changes, changes, rolled_back, failed, restored, refused, error, ok
    pub outcome: String,
    pub exit_code: i32,
    /// For people; machines read the typed fields.
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<RefusalReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
    /// Why a release was stopped, as data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<StopCause>,
    pub alarm: Option<AlarmReport>,
    pub started_at: String,
    pub duration_ms: u64,
    /// Time spent waiting on the cloud (calls and polling pauses).
    pub cloud_wait_ms: u64,
    /// The deployer's own time: duration minus cloud waits.
    pub overhead_ms: u64,
    /// AWS calls made, and the retries the SDK spent on them (throttling, 5xx, resets).
    pub cloud_calls: u64,
    pub cloud_retries: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_config: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    pub functions: Vec<FunctionReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub releases: Vec<HistoryEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pruned: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<LockReport>,
    /// Each canary or linear step's evidence: per function, the new and old versions'
    /// invocations, errors and p50/p99 duration, the replay runs, the verdict.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<StepEvidence>,
    /// The differential shadow run before traffic: the counts, the changed fields and
    /// reasons, a few changed records side by side, the policy's verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<crate::shadow::ShadowDiff>,
    /// `doctor`'s findings: `{check, subject, status: pass|warn|fail, detail, fix}`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Finding>,
    /// `review`: `{lens, environment, account_id, git_commit, questions: [{id, title,
    /// items: [{id, level, practice, ticked, note, evidence: [{source, subject,
    /// detail}], to_meet}]}]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<crate::review::Review>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RefusalReport {
    pub kind: &'static str,
    pub message: String,
    pub fix: String,
    /// When the same command would be accepted (RFC 3339 and ms since the epoch).
    pub retry_after: Option<String>,
    pub retry_after_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ErrorReport {
    pub kind: &'static str,
    pub message: String,
    pub fix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct FunctionReport {
    pub name: String,
    pub function_name: String,
    pub previous_version: Option<String>,
    pub version: Option<String>,
    pub code_sha256: Option<String>,
    pub deployment_id: Option<String>,
    /// The function's verdict (a release), its plan (`will_change`, `unchanged`) or its
    /// state (`status`: `settled`, `split`, or the deployment's status and step).
    pub outcome: String,
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// For a configuration change: what differs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configuration: Vec<String>,
    /// For status: the alias right now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<AliasReport>,
    /// For status: the deployment's current step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// For status: the version the ledger recorded, when the alias moved away from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<AlarmReport>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AliasReport {
    /// The stable version (the alias's primary).
    pub version: String,
    /// The canary version and its weight while traffic is split.
    pub additional_version: Option<String>,
    pub additional_weight: Option<f64>,
    pub in_flight_deployments: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DriftReport {
    pub recorded_version: String,
    pub release_id: String,
    pub record_id: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlarmReport {
    pub name: String,
    pub state: &'static str,
    pub function_name: Option<String>,
    pub metric: Option<String>,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryEntry {
    pub record_id: String,
    pub release_id: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub git_commit: String,
    pub source_environment: Option<String>,
    pub started_at: String,
    pub duration_ms: Option<u64>,
    /// Why a release did not succeed (or what a rollback rolled back from).
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<StopCause>,
    pub deployment_config: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LockReport {
    pub holder: String,
    pub since: String,
    pub expires: String,
}

/// Timings of the run, from the edge.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub started_ms: u64,
    pub duration_ms: u64,
    pub cloud_wait_ms: u64,
    pub cloud_calls: u64,
    pub cloud_retries: u64,
}

impl Report {
    pub fn new(command: &str, environment: Option<&str>, timings: Timings) -> Self {
        Self {
            schema: REPORT_SCHEMA,
            command: command.to_owned(),
            environment: environment.map(str::to_owned),
            source_environment: None,
            release_id: None,
            git_commit: None,
            outcome: "succeeded".into(),
            exit_code: exit::OK,
            message: None,
            refusal: None,
            error: None,
            stop: None,
            alarm: None,
            started_at: rfc3339(timings.started_ms),
            duration_ms: timings.duration_ms,
            cloud_wait_ms: timings.cloud_wait_ms,
            overhead_ms: timings.duration_ms.saturating_sub(timings.cloud_wait_ms),
            cloud_calls: timings.cloud_calls,
            cloud_retries: timings.cloud_retries,
            deployment_config: None,
            strategy: None,
            functions: Vec::new(),
            releases: Vec::new(),
            pruned: Vec::new(),
            lock: None,
            evidence: Vec::new(),
            shadow: None,
            checks: Vec::new(),
            review: None,
        }
    }

    /// The report of a command that ended with `outcome`.
    pub fn of_outcome(mut self, outcome: &Outcome) -> Self {
        self.exit_code = outcome.exit_code();
        match outcome {
            Outcome::Packaged { manifest, manifest_path } => {
                self.release_id = Some(manifest.release_id.clone());
                self.git_commit = Some(manifest.git_commit.clone());
                self.message = Some(format!("wrote {}", manifest_path.display()));
                self.functions = manifest
                    .artifacts
                    .iter()
                    .map(|(name, a)| FunctionReport {
                        name: name.clone(),
                        function_name: a.file.clone(),
                        code_sha256: Some(a.code_sha256.clone()),
                        outcome: format!("{} bytes", a.size),
                        ..FunctionReport::default()
                    })
                    .collect();
            }
            Outcome::Planned(plan) => self.plan(plan),
            Outcome::Released(release) => self.release(release),
            Outcome::RolledBack(rollback) => self.rollback(rollback),
            Outcome::Status(status) => self.status(status),
            Outcome::History(records) => {
                self.outcome = "ok".into();
                self.releases = records.iter().map(history_entry).collect();
            }
            Outcome::Doctor(findings) => {
                let count = |s: CheckStatus| findings.iter().filter(|f| f.status == s).count();
                let (fail, warn) = (count(CheckStatus::Fail), count(CheckStatus::Warn));
                self.outcome = if fail == 0 { "ok" } else { "problems" }.into();
                self.message = Some(format!(
                    "{} checks: {} passed, {warn} warning(s), {fail} failed{}",
                    findings.len(),
                    count(CheckStatus::Pass),
                    if fail == 0 { "; ready for a release" } else { "; fix them before releasing" }
                ));
                self.checks.clone_from(findings);
            }
            Outcome::Review(review) => {
                let (ticked, total) = review.score();
                let unmet = review.unmet_required();
                self.outcome = "ok".into();
                self.git_commit = Some(review.git_commit.clone());
                self.message = Some(format!(
                    "{ticked} of {total} practices met{}",
                    if unmet.is_empty() {
                        ", every Required one among them".to_owned()
                    } else {
                        format!("; Required and not met: {}", unmet.join("; "))
                    }
                ));
                self.review = Some(review.clone());
            }
            Outcome::ReleaseReport { record, html } => {
                self.outcome = "ok".into();
                self.release_id = Some(record.release_id.clone());
                self.git_commit = Some(record.git_commit.clone());
                self.stop.clone_from(&record.stop);
                self.evidence.clone_from(&record.evidence);
                self.shadow.clone_from(&record.shadow);
                self.functions = record_functions(record);
                self.message = Some(format!("the release's picture: {}", html.display()));
            }
            Outcome::Pruned(pruned) => {
                self.message = Some("kept the newest versions of each function and every version in use".into());
                self.pruned.clone_from(pruned);
            }
        }
        self
    }

    /// The report of a command that failed with `error`.
    pub fn of_error(mut self, error: &DeployError) -> Self {
        self.set_error(error);
        self
    }

    fn set_error(&mut self, error: &DeployError) {
        self.exit_code = error.exit_code();
        self.outcome = if error.refusal().is_some() { "refused" } else { "error" }.into();
        self.message = Some(error.explained());
        match error {
            DeployError::Refused(r) => {
                self.refusal = Some(RefusalReport {
                    kind: r.kind.as_str(),
                    message: r.problem.clone(),
                    fix: r.fix.clone(),
                    retry_after: r.retry_after_ms.map(rfc3339),
                    retry_after_ms: r.retry_after_ms,
                })
            }
            other => self.error = Some(error_report(other)),
        }
    }

    fn plan(&mut self, plan: &PlanView) {
        let changes = plan.functions.iter().filter(|p| p.change != Change::None).count();
        self.release_id = Some(plan.release_id.clone());
        self.git_commit = Some(plan.git_commit.clone());
        self.outcome = if changes == 0 { "no_changes" } else { "changes" }.into();
        self.deployment_config = Some(plan.deployment_config.clone());
        self.strategy = plan.strategy;
        let how = plan.strategy.map_or_else(|| plan.deployment_config.clone(), |s| s.to_string());
        let mut message = format!("{changes} of {} functions would change, with {how}", plan.functions.len());
        if let Some(p) = &plan.promotion {
            self.source_environment = Some(p.environment.clone());
            message = format!(
                "would promote {} from {} (succeeded there {}): {message}",
                p.record.release_id,
                p.environment,
                p.record.finished_at.as_deref().unwrap_or(&p.record.started_at)
            );
        }
        self.message = Some(message);
        self.functions = plan
            .functions
            .iter()
            .map(|p| FunctionReport {
                name: p.function.artifact.clone(),
                function_name: p.function.function_name.clone(),
                previous_version: Some(p.previous_version.clone()),
                code_sha256: Some(p.code_sha256.clone()),
                outcome: match (p.change, p.bootstrap) {
                    (Change::None, _) => "unchanged",
                    (_, true) => "will_bootstrap",
                    _ => "will_change",
                }
                .into(),
                change: Some(p.change),
                configuration: p.configuration.clone(),
                ..FunctionReport::default()
            })
            .collect();
    }

    fn release(&mut self, release: &ReleaseOutcome) {
        let r = &release.record;
        self.release_id = Some(r.release_id.clone());
        self.git_commit = Some(r.git_commit.clone());
        self.source_environment.clone_from(&r.source_environment);
        self.deployment_config.clone_from(&r.deployment_config);
        self.stop.clone_from(&r.stop);
        self.evidence.clone_from(&r.evidence);
        self.shadow.clone_from(&r.shadow);
        self.functions = record_functions(r);
        self.alarm = release.alarm.as_ref().map(|a| alarm_report(a, release.alarm_function.clone()));
        match &release.verdict {
            Verdict::Succeeded => self.outcome = "succeeded".into(),
            Verdict::NoChanges => self.outcome = "no_changes".into(),
            Verdict::RolledBack | Verdict::Failed => {
                self.outcome =
                    if matches!(release.verdict, Verdict::RolledBack) { "rolled_back" } else { "failed" }.into();
                self.message.clone_from(&r.reason);
            }
            Verdict::Errored(error) => self.set_error(error),
        }
    }

    fn rollback(&mut self, rollback: &RollbackOutcome) {
        match rollback {
            RollbackOutcome::Restored(record) => {
                self.release_id = Some(record.release_id.clone());
                self.git_commit = Some(record.git_commit.clone());
                self.outcome = "restored".into();
                self.message = Some(format!(
                    "the unfinished release {} was stopped; every function is back on the version it had before",
                    record.release_id
                ));
                self.functions = record_functions(record);
            }
            RollbackOutcome::Returned { record, unrestored } => {
                self.release_id = Some(record.release_id.clone());
                self.git_commit = Some(record.git_commit.clone());
                self.functions = record_functions(record);
                if unrestored.is_empty() {
                    self.outcome = "succeeded".into();
                } else {
                    self.outcome = "failed".into();
                    self.message = Some(format!("could not restore {}", unrestored.join(", ")));
                }
            }
        }
    }

    fn status(&mut self, status: &StatusView) {
        self.outcome = "ok".into();
        self.deployment_config = Some(status.deployment_config.clone());
        self.strategy = status.strategy;
        self.functions = status.functions.iter().map(function_status).collect();
        self.lock = status.lock.as_ref().map(lock_report);
        self.alarm = status.firing.as_ref().map(|a| {
            alarm_report(
                a,
                status
                    .functions
                    .iter()
                    .find(|f| f.function.alarms.contains(&a.name))
                    .map(|f| f.function.function_name.clone()),
            )
        });
        let mut lines = Vec::new();
        if let Some(newest) = &status.newest {
            self.release_id = Some(newest.release_id.clone());
            self.git_commit = Some(newest.git_commit.clone());
            if newest.status == Status::InProgress {
                lines.push(format!(
                    "release {} is in progress (or its deployer died): started {} by {}; `deployer rollback --env {}` restores it",
                    newest.release_id,
                    newest.started_at,
                    newest.holder,
                    newest.environment
                ));
            } else {
                lines.push(format!(
                    "last release {} ({}) at {}",
                    newest.release_id,
                    newest.status.as_str(),
                    newest.started_at
                ));
            }
        }
        for f in status.drifted() {
            if let Some(d) = &f.drift {
                lines.push(format!(
                    "{}:{} is on version {}, but the ledger's last record ({}) left it on {}: it was moved outside the deployer",
                    f.function.function_name,
                    crate::settings::ALIAS,
                    f.alias.version,
                    d.release_id,
                    d.recorded
                ));
            }
        }
        self.message = (!lines.is_empty()).then(|| lines.join("\n"));
    }
}

fn error_report(error: &DeployError) -> ErrorReport {
    let mut report = ErrorReport {
        kind: error.kind(),
        message: error.to_string(),
        fix: error.fix().to_owned(),
        call: None,
        code: None,
        http_status: None,
        request_id: None,
        attempts: None,
    };
    if let DeployError::Cloud { failure, .. } = error {
        report.call = Some(failure.call.clone());
        report.code.clone_from(&failure.code);
        report.http_status = failure.http_status;
        report.request_id.clone_from(&failure.request_id);
        report.attempts = failure.attempts;
    }
    report
}

fn record_functions(record: &ReleaseRecord) -> Vec<FunctionReport> {
    record
        .functions
        .iter()
        .map(|(name, f)| FunctionReport {
            name: name.clone(),
            function_name: f.function_name.clone(),
            previous_version: Some(f.previous_version.clone()),
            version: f.version.clone(),
            code_sha256: Some(f.code_sha256.clone()),
            deployment_id: f.deployment_id.clone(),
            outcome: f.outcome.as_str().into(),
            duration_ms: f.duration_ms,
            change: Some(f.change),
            configuration: f.configuration.clone(),
            ..FunctionReport::default()
        })
        .collect()
}

fn function_status(f: &FunctionStatus) -> FunctionReport {
    let step = f.deployment.as_ref().and_then(|d| d.current_step()).map(|s| s.label().to_owned());
    let outcome = match (&f.deployment, f.alias.split()) {
        (Some(d), _) => format!("{} {}", d.status.as_str(), step.as_deref().unwrap_or_default()).trim().to_owned(),
        (None, Some(_)) => "split".into(),
        (None, None) => "settled".into(),
    };
    FunctionReport {
        name: f.function.artifact.clone(),
        function_name: f.function.function_name.clone(),
        version: Some(f.alias.version.clone()),
        deployment_id: f.in_flight.first().cloned(),
        outcome,
        alias: Some(AliasReport {
            version: f.alias.version.clone(),
            additional_version: f.alias.additional.as_ref().map(|(v, _)| v.clone()),
            additional_weight: f.alias.additional.as_ref().map(|(_, w)| *w),
            in_flight_deployments: f.in_flight.clone(),
        }),
        step,
        drift: f.drift.as_ref().map(|d| DriftReport {
            recorded_version: d.recorded.clone(),
            release_id: d.release_id.clone(),
            record_id: d.record_id.clone(),
        }),
        alarms: f.alarms.iter().map(|a| alarm_report(a, Some(f.function.function_name.clone()))).collect(),
        ..FunctionReport::default()
    }
}

pub(crate) fn alarm_report(a: &AlarmView, function: Option<String>) -> AlarmReport {
    AlarmReport {
        name: a.name.clone(),
        state: a.state.as_str(),
        function_name: function.or_else(|| a.function_dimension.clone()),
        metric: a.metric.clone(),
        value: a.value,
        threshold: a.threshold,
        reason: a.reason.clone(),
    }
}

fn lock_report(l: &LockInfo) -> LockReport {
    LockReport { holder: l.holder.clone(), since: l.since.clone(), expires: rfc3339(l.expires_s * 1000) }
}

fn history_entry(r: &ReleaseRecord) -> HistoryEntry {
    HistoryEntry {
        record_id: r.record_id.clone(),
        release_id: r.release_id.clone(),
        kind: r.kind.as_str(),
        status: r.status.as_str(),
        git_commit: r.git_commit.clone(),
        source_environment: r.source_environment.clone(),
        started_at: r.started_at.clone(),
        duration_ms: r.duration_ms,
        reason: r.reason.clone(),
        stop: r.stop.clone(),
        deployment_config: r.deployment_config.clone(),
    }
}

/// A duration for tables: `-` when unknown.
pub(crate) fn duration_cell(ms: Option<u64>) -> String {
    ms.map_or_else(|| "-".into(), |ms| format_duration(std::time::Duration::from_millis(ms)))
}
