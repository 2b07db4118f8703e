//! A release record as the ledger keeps it (JSON in DynamoDB). Fields are only ever
//! added, with defaults, so every deployer reads every record.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// 2: `deployment_config` and a typed `stop` cause; 1 records read the same.
pub const RECORD_SCHEMA: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Deploy,
    Promote,
    Rollback,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deploy => "deploy",
            Self::Promote => "promote",
            Self::Rollback => "rollback",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    InProgress,
    Succeeded,
    /// Failed and every function is back on its previous version.
    RolledBack,
    /// Failed and the restore could not be confirmed: `status` and `rollback` act on it.
    Failed,
    /// A deployer died mid-release; a later run restored the previous versions.
    Restored,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Succeeded => "succeeded",
            Self::RolledBack => "rolled_back",
            Self::Failed => "failed",
            Self::Restored => "restored",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunctionOutcome {
    Pending,
    Skipped,
    Deploying,
    Succeeded,
    /// The first release of a function whose alias was on `$LATEST`: pointed directly.
    Bootstrapped,
    RolledBack,
    Failed,
}

impl FunctionOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Skipped => "skipped",
            Self::Deploying => "deploying",
            Self::Succeeded => "succeeded",
            Self::Bootstrapped => "bootstrapped",
            Self::RolledBack => "rolled_back",
            Self::Failed => "failed",
        }
    }
}

/// What a release changes in one function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Nothing: the alias already runs this code and configuration.
    #[default]
    None,
    /// New code (perhaps with new configuration too).
    Code,
    /// Only the configuration of `$LATEST` differs from the live version's.
    Configuration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionRecord {
    pub function_name: String,
    pub previous_version: String,
    pub version: Option<String>,
    pub code_sha256: String,
    pub changed: bool,
    /// Why it changed; absent in schema 1 records.
    #[serde(default)]
    pub change: Change,
    /// For a configuration change: what differs, `memory 512 -> 1024`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configuration: Vec<String>,
    pub deployment_id: Option<String>,
    pub outcome: FunctionOutcome,
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookRecord {
    pub function_name: String,
    pub code_sha256: String,
    pub updated: bool,
}

/// Why a release was stopped, as data (the record's `reason` says it in words).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StopCause {
    /// An alarm went into ALARM.
    Alarm {
        alarm: String,
        function: Option<String>,
        metric: Option<String>,
        value: Option<f64>,
        threshold: Option<f64>,
    },
    /// A deployment failed or was stopped (a hook failed, CodeDeploy's own rollback).
    DeploymentFailed {
        function: String,
        deployment_id: String,
        status: String,
        message: String,
        /// The verdict of the hook that failed it, read from the hook's log (None: not a
        /// hook's failure, or its log had no verdict; records from before it lack it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hook: Option<crate::cloud::HookVerdict>,
    },
    /// A deployment could not be started.
    NotStarted { function: String, error: String },
    /// SIGINT / SIGTERM.
    Interrupted,
    /// The release lock expired and someone else took it.
    LockLost,
    /// The deployments could not be watched any more.
    WatchFailed { error: String },
    /// A canary or linear step ended before the new version served its minimum.
    NoEvidence { function: String, step_percent: f64, invocations: f64, min_invocations: u32 },
    /// The judge found the new version worse than the old over a step, beyond the
    /// environment's bounds.
    Judged { function: String, step_percent: f64, judgment: Box<crate::judge::Judgment> },
    /// The shadow run before traffic found the new release's output differs from
    /// production's beyond the policy, or the run failed.
    ShadowDiff { diff: Box<crate::shadow::ShadowDiff> },
}

/// How a step's evidence was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceVerdict {
    /// The new version served at least its minimum.
    Passed,
    /// It did not, and the environment does not require it: a warning.
    Warned,
    /// It did not, and the environment requires it: the release stopped.
    NoEvidence,
    /// The function has no minimum (it runs only when something fails).
    Exempt,
}

/// What one function's new and old versions served during one step of its shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepEvidence {
    pub artifact: String,
    pub function_name: String,
    /// The share of traffic on the new version during the step.
    pub step_percent: f64,
    pub started_at: String,
    pub ended_at: String,
    pub new_version: String,
    pub old_version: String,
    pub new: crate::cloud::VersionStats,
    pub old: crate::cloud::VersionStats,
    /// Dry runs of the workflow the deployer ran on the new release during the step.
    pub replay_executions: u32,
    /// Where the replay's input came from: the newest raw partitions or the generator.
    pub replay_source: Option<String>,
    pub min_invocations: u32,
    pub verdict: EvidenceVerdict,
    /// The judge's comparison of the new version with the old over the step (absent in
    /// records written before the judge).
    #[serde(default)]
    pub judgment: Option<crate::judge::Judgment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    pub schema: u32,
    pub record_id: String,
    pub release_id: String,
    pub git_commit: String,
    pub environment: String,
    pub kind: RecordKind,
    pub source_environment: Option<String>,
    pub status: Status,
    pub holder: String,
    pub started_at: String,
    pub started_ms: u64,
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub reason: Option<String>,
    /// For a rollback: the release it rolled back from (never chosen again by default).
    #[serde(default)]
    pub rolled_back_from: Option<String>,
    /// The CodeDeploy deployment config the release shifted with.
    #[serde(default)]
    pub deployment_config: Option<String>,
    #[serde(default)]
    pub stop: Option<StopCause>,
    /// Each step's evidence, in the order the steps ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<StepEvidence>,
    /// The differential shadow run before traffic, when the environment asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<crate::shadow::ShadowDiff>,
    /// Per artifact name.
    pub functions: BTreeMap<String, FunctionRecord>,
    pub hooks: BTreeMap<String, HookRecord>,
}

impl ReleaseRecord {
    /// A record that starts now.
    pub fn start(
        release_id: &str,
        git_commit: &str,
        environment: &str,
        kind: RecordKind,
        holder: &str,
        started_ms: u64,
    ) -> Self {
        Self {
            schema: RECORD_SCHEMA,
            record_id: format!("{started_ms:015}-{release_id}"),
            release_id: release_id.to_owned(),
            git_commit: git_commit.to_owned(),
            environment: environment.to_owned(),
            kind,
            source_environment: None,
            status: Status::InProgress,
            holder: holder.to_owned(),
            started_at: super::rfc3339(started_ms),
            started_ms,
            finished_at: None,
            duration_ms: None,
            reason: None,
            rolled_back_from: None,
            deployment_config: None,
            stop: None,
            evidence: Vec::new(),
            shadow: None,
            functions: BTreeMap::new(),
            hooks: BTreeMap::new(),
        }
    }

    /// Closes the record with its status.
    pub fn finish(&mut self, status: Status, finished_ms: u64) {
        self.status = status;
        self.finished_at = Some(super::rfc3339(finished_ms));
        self.duration_ms = Some(finished_ms.saturating_sub(self.started_ms));
    }

    pub fn finished_ms(&self) -> Option<u64> {
        self.duration_ms.map(|d| self.started_ms + d)
    }

    /// The version this record leaves `artifact` on, when it is known: a success's
    /// version, a rolled-back or restored release's previous one.
    pub fn resulting_version(&self, artifact: &str) -> Option<&str> {
        let f = self.functions.get(artifact)?;
        match self.status {
            Status::Succeeded => Some(f.version.as_deref().unwrap_or(&f.previous_version)),
            Status::RolledBack | Status::Restored => Some(&f.previous_version),
            Status::InProgress | Status::Failed => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_one_records_still_read() {
        let old = r#"{"schema":1,"record_id":"000000000000100-r-1","release_id":"r-1","git_commit":"c",
            "environment":"dev","kind":"deploy","source_environment":null,"status":"succeeded","holder":"h",
            "started_at":"t","started_ms":100,"finished_at":null,"duration_ms":5,"reason":null,
            "functions":{"load":{"function_name":"etl-dev-load","previous_version":"1","version":"2",
            "code_sha256":"x","changed":true,"deployment_id":null,"outcome":"succeeded","duration_ms":null}},
            "hooks":{}}"#;
        let r: ReleaseRecord = serde_json::from_str(old).unwrap();
        assert_eq!(r.functions["load"].change, Change::None, "unknown in schema 1");
        assert_eq!((&r.stop, &r.deployment_config, r.resulting_version("load")), (&None, &None, Some("2")));
        assert_eq!(r.finished_ms(), Some(105));
    }

    #[test]
    fn names_match_the_serialized_form() {
        for s in [Status::InProgress, Status::Succeeded, Status::RolledBack, Status::Failed, Status::Restored] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for k in [RecordKind::Deploy, RecordKind::Promote, RecordKind::Rollback] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        let all = [
            FunctionOutcome::Pending,
            FunctionOutcome::Skipped,
            FunctionOutcome::Deploying,
            FunctionOutcome::Succeeded,
            FunctionOutcome::Bootstrapped,
            FunctionOutcome::RolledBack,
            FunctionOutcome::Failed,
        ];
        for o in all {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
    }
}
