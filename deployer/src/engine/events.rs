//! What the engine tells while it works, as typed events. The report layer decides
//! how (and whether) each is shown; the engine never formats for people.

use std::time::Duration;

use crate::cloud::{DeploymentStatus, LifecycleEvent};
use crate::error::DeployError;
use crate::ledger::{RecordKind, ReleaseRecord};

/// Receives the engine's events. Shared by reference, so the engine's methods take
/// `&self` and may run side by side.
pub trait Observer: Send + Sync {
    fn event(&self, event: Event<'_>);
}

/// One function's line while a release is watched.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionProgress {
    pub artifact: String,
    pub previous_version: String,
    pub target_version: String,
    pub status: DeploymentStatus,
    /// The share of traffic on the target (None when the alias could not be read).
    pub percent_on_target: Option<f64>,
    pub steps: Vec<LifecycleEvent>,
    /// The function's alarms that are not OK.
    pub alarms_not_ok: Vec<String>,
}

#[derive(Debug)]
pub enum Event<'a> {
    /// A release that an earlier deployer left in progress is restored first.
    UnfinishedFound {
        record: &'a ReleaseRecord,
    },
    /// A dead holder's lock (a process on this host that no longer exists) is taken over.
    LockTakenOver {
        holder: &'a str,
    },
    LockNotReleased {
        error: &'a DeployError,
    },
    ArtifactsVerified {
        bytes: usize,
        hashing: Duration,
    },
    ReleaseStarted {
        kind: RecordKind,
        release_id: &'a str,
        environment: &'a str,
        changed: usize,
        total: usize,
        deployment_config: &'a str,
    },
    HookUpdating {
        function: &'a str,
    },
    /// Versions published: (artifact, version).
    Published {
        versions: &'a [(String, String)],
    },
    /// A function whose alias was on `$LATEST` now points at its first version.
    Bootstrapped {
        function: &'a str,
        version: &'a str,
    },
    Progress {
        rows: &'a [FunctionProgress],
    },
    /// A poll failed; the watch goes on (`attempt` of the allowed consecutive ones).
    PollFailed {
        error: &'a DeployError,
        attempt: u32,
    },
    /// The lifecycle events of a deployment could not be read (shown, not fatal).
    StepsUnreadable {
        function: &'a str,
        error: &'a DeployError,
    },
    AllSucceeded {
        after: Duration,
    },
    Stopping {
        reason: &'a str,
    },
    StopFailed {
        deployment: &'a str,
        error: &'a DeployError,
    },
    RestoreRetry {
        function: &'a str,
        error: &'a DeployError,
    },
    Restored {
        after: Duration,
    },
    RestoreUnconfirmed {
        function: &'a str,
        environment: &'a str,
    },
    RollingBack {
        environment: &'a str,
        release_id: &'a str,
        changes: usize,
    },
    /// A canary or linear step ended and its evidence was judged.
    StepJudged {
        evidence: &'a crate::ledger::StepEvidence,
    },
    /// The shadow run on the new release started, over the day of the last real run.
    ShadowStarted {
        run_date: &'a str,
        execution: &'a str,
    },
    /// The shadow run's output was compared with production's (or could not be).
    ShadowCompared {
        diff: &'a crate::shadow::ShadowDiff,
    },
    /// The replay found no raw partition to run on, and replays synthetic records.
    ReplayWithoutInput {
        bucket: &'a str,
    },
    /// A dry run failed; `release` is the side it was pinned to ("new" or "old").
    ReplayFailed {
        execution: &'a str,
        release: &'static str,
    },
    /// The replay runs unpaired: the judge has no paired durations or outputs.
    ReplayUnpaired {
        state_machine: &'a str,
        reason: &'a str,
    },
    /// The routing record could not be written or removed (the workflow then invokes
    /// the `live` aliases).
    RoutingFailed {
        error: &'a DeployError,
    },
    NotInRelease {
        function: &'a str,
        release_id: &'a str,
    },
}

/// Ignores every event (tests, and commands that print nothing while they run).
pub struct Silent;

impl Observer for Silent {
    fn event(&self, _: Event<'_>) {}
}
