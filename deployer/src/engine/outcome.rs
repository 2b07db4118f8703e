//! What each command ends with, as data: the report layer renders these (text, JSON,
//! GitHub summary), and the exit code follows from them.

use std::path::PathBuf;

use crate::cloud::{AlarmView, AliasState, DeploymentStatus, LifecycleEvent, LifecycleStep, LockInfo};
use crate::error::{exit, DeployError};
use crate::ledger::{Change, ReleaseRecord};
use crate::release::Manifest;
use crate::settings::{Function, Strategy};

/// The one verdict of a release (deploy or promote).
#[derive(Debug)]
pub enum Verdict {
    Succeeded,
    /// Every function already ran this release.
    NoChanges,
    /// Stopped, and every function is back on its previous version.
    RolledBack,
    /// Stopped, and some function could not be confirmed restored.
    Failed,
    /// Failed before any traffic moved (the record says which functions it touched).
    Errored(DeployError),
}

#[derive(Debug)]
pub struct ReleaseOutcome {
    pub record: ReleaseRecord,
    pub verdict: Verdict,
    /// The alarm that stopped the release, if one did.
    pub alarm: Option<AlarmView>,
    /// The function the alarm belongs to.
    pub alarm_function: Option<String>,
}

/// One function in `plan`.
#[derive(Debug, Clone)]
pub struct PlannedFunction {
    pub function: Function,
    pub previous_version: String,
    pub code_sha256: String,
    pub change: Change,
    /// For a configuration change: what differs.
    pub configuration: Vec<String>,
    /// The alias is on `$LATEST`: the first release points it directly.
    pub bootstrap: bool,
}

/// What `deploy` (or `promote`) would do.
#[derive(Debug)]
pub struct PlanView {
    pub release_id: String,
    pub git_commit: String,
    pub deployment_config: String,
    pub strategy: Option<Strategy>,
    pub functions: Vec<PlannedFunction>,
    /// For an environment fed by promotion: where the release would come from.
    pub promotion: Option<PromotionSource>,
}

#[derive(Debug, Clone)]
pub struct PromotionSource {
    pub environment: String,
    /// The source's record of the release, as it succeeded there.
    pub record: ReleaseRecord,
}

/// A deployment in flight, as `status` shows it.
#[derive(Debug, Clone)]
pub struct DeploymentProgress {
    pub id: String,
    pub status: DeploymentStatus,
    pub steps: Vec<LifecycleEvent>,
}

impl DeploymentProgress {
    /// The step running now (or the last one reached).
    pub fn current_step(&self) -> Option<&LifecycleStep> {
        use crate::cloud::StepStatus;
        self.steps
            .iter()
            .find(|e| e.status == StepStatus::InProgress)
            .or_else(|| self.steps.iter().rev().find(|e| e.status != StepStatus::Pending))
            .map(|e| &e.step)
    }
}

/// A function that does not run what the ledger says it should.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// The version the newest finished record left it on.
    pub recorded: String,
    pub record_id: String,
    pub release_id: String,
}

#[derive(Debug, Clone)]
pub struct FunctionStatus {
    pub function: Function,
    pub alias: AliasState,
    pub deployment: Option<DeploymentProgress>,
    pub in_flight: Vec<String>,
    pub alarms: Vec<AlarmView>,
    /// Set when the alias is settled on another version than the ledger recorded.
    pub drift: Option<Drift>,
}

#[derive(Debug)]
pub struct StatusView {
    pub deployment_config: String,
    pub strategy: Option<Strategy>,
    pub functions: Vec<FunctionStatus>,
    /// The newest record (an in-progress one means a release runs, or its deployer died).
    pub newest: Option<ReleaseRecord>,
    pub lock: Option<LockInfo>,
    /// The first watched alarm in ALARM.
    pub firing: Option<AlarmView>,
}

impl StatusView {
    pub fn drifted(&self) -> impl Iterator<Item = &FunctionStatus> {
        self.functions.iter().filter(|f| f.drift.is_some())
    }
}

#[derive(Debug)]
pub enum RollbackOutcome {
    /// A release left unfinished was stopped and its functions restored.
    Restored(ReleaseRecord),
    /// The environment was returned to an earlier release; `unrestored` lists the
    /// functions that could not be confirmed.
    Returned { record: ReleaseRecord, unrestored: Vec<String> },
}

/// How one of `doctor`'s checks came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    /// Works, but not as it should be set up (said with the fix); not a failure.
    Warn,
    Fail,
}

/// One finding of `doctor`: what was checked, on what, and what to do about it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub subject: String,
    pub status: CheckStatus,
    pub detail: String,
    pub fix: Option<String>,
}

impl Finding {
    pub fn pass(check: &'static str, subject: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { check, subject: subject.into(), status: CheckStatus::Pass, detail: detail.into(), fix: None }
    }

    pub fn fail(
        check: &'static str,
        subject: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self { check, subject: subject.into(), status: CheckStatus::Fail, detail: detail.into(), fix: Some(fix.into()) }
    }

    pub fn warn(
        check: &'static str,
        subject: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self { status: CheckStatus::Warn, ..Self::fail(check, subject, detail, fix) }
    }

    pub fn status_label(&self) -> &'static str {
        match self.status {
            CheckStatus::Pass => "pass",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "FAIL",
        }
    }

    /// A check that could not be made: the error, as a failure with its fix.
    pub fn error(check: &'static str, subject: impl Into<String>, error: &DeployError) -> Self {
        Self::fail(check, subject, error.to_string(), error.fix())
    }
}

/// The end of any command.
#[derive(Debug)]
pub enum Outcome {
    Packaged {
        manifest: Manifest,
        manifest_path: PathBuf,
    },
    Planned(PlanView),
    Released(ReleaseOutcome),
    RolledBack(RollbackOutcome),
    Status(StatusView),
    History(Vec<ReleaseRecord>),
    Pruned(Vec<String>),
    Doctor(Vec<Finding>),
    Review(crate::review::Review),
    /// `report`: the release's record and where its picture was written.
    ReleaseReport {
        record: Box<ReleaseRecord>,
        html: PathBuf,
    },
}

impl Outcome {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Released(r) => match &r.verdict {
                Verdict::Succeeded | Verdict::NoChanges => exit::OK,
                Verdict::RolledBack => exit::ROLLED_BACK,
                Verdict::Failed => exit::ERROR,
                Verdict::Errored(e) => e.exit_code(),
            },
            Self::RolledBack(RollbackOutcome::Returned { unrestored, .. }) if !unrestored.is_empty() => exit::ERROR,
            Self::Doctor(findings) if findings.iter().any(|f| f.status == CheckStatus::Fail) => exit::DOCTOR,
            _ => exit::OK,
        }
    }
}
