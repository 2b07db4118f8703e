//! The deployer's one error type. Every variant says what is wrong and carries its fix
//! as a field; the edge (`commands`, `report`) renders both. Refusals are typed, so a
//! pipeline reads their kind and `retry_after` instead of parsing prose.

use std::path::PathBuf;

use serde::Serialize;

/// Exit codes, distinct per kind of outcome so a pipeline can tell them apart. They
/// are part of the interface (deployer/README.md, "Exit codes").
pub mod exit {
    pub const OK: i32 = 0;
    /// Unexpected failure talking to the cloud; nothing was left half-changed.
    pub const ERROR: i32 = 1;
    /// The release failed (alarm, hook, deployment) and was rolled back.
    pub const ROLLED_BACK: i32 = 2;
    /// Settings, release manifest or artifacts are wrong: fix the named file.
    pub const CONFIG: i32 = 3;
    /// Credentials are missing, expired, or for another account.
    pub const CREDENTIALS: i32 = 4;
    /// Refused by a safety rule: lock held, promotion not allowed, nothing to do.
    pub const REFUSED: i32 = 5;
    /// The environment's infrastructure is missing (function, alias, deployment group).
    pub const INFRASTRUCTURE: i32 = 6;
    /// `doctor` found something that would make a release fail (each finding names its fix).
    pub const DOCTOR: i32 = 7;
    /// Command-line usage error.
    pub const USAGE: i32 = 64;
}

/// Which safety rule refused. Pipelines branch on these (for example they wait for
/// `not_soaked` until `retry_after`), so the names are part of the JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// `deploy` into an environment that takes releases only by promotion.
    PromotionOnly,
    /// `promote --from` names another environment than the chain's.
    NotOnChain,
    /// `promote --to` an environment that promotes from nowhere.
    NoPromotionSource,
    /// The source environment has no release.
    NothingToPromote,
    /// The source's last change was a rollback.
    SourceRolledBack,
    /// The source's last release did not succeed.
    SourceFailed,
    /// The source's release has not run there long enough; see `retry_after`.
    NotSoaked,
    /// The artifact store lacks the release, or holds other bytes than the source ran.
    StoredArtifact,
    /// Another deployer holds the environment's release lock.
    LockHeld,
    /// An alias is split between two versions: a deployment is in flight or was cut off.
    AliasSplit,
    /// An alarm is already in ALARM, so any deployment would stop at once.
    AlarmFiring,
    /// A deployment group has a deployment this deployer did not start.
    ForeignDeployment,
    /// `$LATEST` changed under the release (someone else updated the function).
    ChangedMeanwhile,
    /// There is no release to roll back to, or the named one never succeeded here.
    NoRollbackTarget,
    /// `report` names a release the environment's ledger has no record of.
    UnknownRelease,
}

impl RefusalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PromotionOnly => "promotion_only",
            Self::UnknownRelease => "unknown_release",
            Self::NotOnChain => "not_on_chain",
            Self::NoPromotionSource => "no_promotion_source",
            Self::NothingToPromote => "nothing_to_promote",
            Self::SourceRolledBack => "source_rolled_back",
            Self::SourceFailed => "source_failed",
            Self::NotSoaked => "not_soaked",
            Self::StoredArtifact => "stored_artifact",
            Self::LockHeld => "lock_held",
            Self::AliasSplit => "alias_split",
            Self::AlarmFiring => "alarm_firing",
            Self::ForeignDeployment => "foreign_deployment",
            Self::ChangedMeanwhile => "changed_meanwhile",
            Self::NoRollbackTarget => "no_rollback_target",
        }
    }
}

/// A safety rule's "no": what it refused, how to get past it, and, when waiting is
/// the fix, from when on the same command would be accepted (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub problem: String,
    pub fix: String,
    pub retry_after_ms: Option<u64>,
}

impl Refusal {
    pub fn new(kind: RefusalKind, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { kind, problem: problem.into(), fix: fix.into(), retry_after_ms: None }
    }
}

/// What a failed AWS call was and what AWS said: the call, its error code, the HTTP
/// status, the request id and the attempts the SDK made, never "no message".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CloudFailure {
    /// The operation and its subject, e.g. `GetAlias etl-dev-load:live`.
    pub call: String,
    pub code: Option<String>,
    pub http_status: Option<u16>,
    pub request_id: Option<String>,
    pub attempts: Option<u32>,
    pub message: String,
}

impl std::fmt::Display for CloudFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: ", self.call)?;
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message)?,
            None => f.write_str(&self.message)?,
        }
        let mut details = Vec::new();
        if let Some(status) = self.http_status {
            details.push(format!("HTTP {status}"));
        }
        if let Some(id) = &self.request_id {
            details.push(format!("request id {id}"));
        }
        if let Some(n) = self.attempts {
            details.push(format!("{n} attempt{}", if n == 1 { "" } else { "s" }));
        }
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum DeployError {
    #[error("{}: {field}: {problem}", file.display())]
    Settings { file: PathBuf, field: String, problem: String, fix: String },

    #[error("unknown environment {name:?}: there is no {}", path.display())]
    UnknownEnvironment { name: String, path: PathBuf, fix: String },

    #[error("{}: {problem}", path.display())]
    Artifact { path: PathBuf, problem: String, fix: String },

    #[error("{problem}")]
    Credentials { problem: String, fix: String },

    #[error("{}", .0.problem)]
    Refused(Refusal),

    #[error("{problem}")]
    Infrastructure { problem: String, fix: String },

    /// Boxed: the failure's details would make every `Result` of the deployer large.
    #[error("{failure}")]
    Cloud { failure: Box<CloudFailure>, fix: String },

    #[error("cannot reach {endpoint}: {problem}")]
    Unreachable { endpoint: String, problem: String, fix: String },

    #[error("{problem}")]
    Internal { problem: String, fix: String },
}

impl DeployError {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Settings { .. } | Self::UnknownEnvironment { .. } | Self::Artifact { .. } => exit::CONFIG,
            Self::Credentials { .. } => exit::CREDENTIALS,
            Self::Refused(_) => exit::REFUSED,
            Self::Infrastructure { .. } => exit::INFRASTRUCTURE,
            Self::Cloud { .. } | Self::Unreachable { .. } | Self::Internal { .. } => exit::ERROR,
        }
    }

    /// How to get past it.
    pub fn fix(&self) -> &str {
        match self {
            Self::Settings { fix, .. }
            | Self::UnknownEnvironment { fix, .. }
            | Self::Artifact { fix, .. }
            | Self::Credentials { fix, .. }
            | Self::Infrastructure { fix, .. }
            | Self::Cloud { fix, .. }
            | Self::Unreachable { fix, .. }
            | Self::Internal { fix, .. } => fix,
            Self::Refused(r) => &r.fix,
        }
    }

    /// The kind, as the JSON report names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Settings { .. } => "settings",
            Self::UnknownEnvironment { .. } => "unknown_environment",
            Self::Artifact { .. } => "artifact",
            Self::Credentials { .. } => "credentials",
            Self::Refused(_) => "refused",
            Self::Infrastructure { .. } => "infrastructure",
            Self::Cloud { .. } => "cloud",
            Self::Unreachable { .. } => "unreachable",
            Self::Internal { .. } => "internal",
        }
    }

    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::Refused(r) => Some(r),
            _ => None,
        }
    }

    /// The error and its fix, as a person reads them.
    pub fn explained(&self) -> String {
        format!("{self}\n  fix: {}", self.fix())
    }

    pub fn settings(file: &std::path::Path, field: &str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::Settings { file: file.to_owned(), field: field.to_owned(), problem: problem.into(), fix: fix.into() }
    }

    pub fn artifact(path: &std::path::Path, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::Artifact { path: path.to_owned(), problem: problem.into(), fix: fix.into() }
    }

    pub fn credentials(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::Credentials { problem: problem.into(), fix: fix.into() }
    }

    pub fn infrastructure(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::Infrastructure { problem: problem.into(), fix: fix.into() }
    }

    pub fn refused(kind: RefusalKind, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::Refused(Refusal::new(kind, problem, fix))
    }

    pub fn cloud(failure: CloudFailure, fix: impl Into<String>) -> Self {
        Self::Cloud { failure: Box::new(failure), fix: fix.into() }
    }

    pub fn internal(problem: impl Into<String>) -> Self {
        Self::Internal {
            problem: problem.into(),
            fix: "this is a bug in the deployer: report it with the command and its output".into(),
        }
    }
}

impl From<Refusal> for DeployError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

/// The error and its sources on one line: SDK errors hide the useful part in sources.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

pub type Result<T, E = DeployError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_carries_its_fix_and_the_edge_joins_them() {
        let e = DeployError::settings(std::path::Path::new("environments/dev/deployer.yaml"), "region", "bad", "use x");
        assert_eq!(e.to_string(), "environments/dev/deployer.yaml: region: bad");
        assert_eq!(e.explained(), "environments/dev/deployer.yaml: region: bad\n  fix: use x");
        let r = DeployError::refused(RefusalKind::NotSoaked, "soaked 1m of 10m", "promote again after T");
        assert_eq!((r.exit_code(), r.kind(), r.fix()), (exit::REFUSED, "refused", "promote again after T"));
        assert_eq!(serde_json::to_value(RefusalKind::NotSoaked).unwrap(), "not_soaked");
        assert_eq!(RefusalKind::LockHeld.as_str(), serde_json::to_value(RefusalKind::LockHeld).unwrap());
    }

    #[test]
    fn a_cloud_failure_names_the_call_code_status_request_and_attempts() {
        let f = CloudFailure {
            call: "PutItem etl-dev-releases".into(),
            code: Some("ThrottlingException".into()),
            http_status: Some(400),
            request_id: Some("R1".into()),
            attempts: Some(3),
            message: "Rate exceeded".into(),
        };
        assert_eq!(
            f.to_string(),
            "PutItem etl-dev-releases: ThrottlingException: Rate exceeded (HTTP 400, request id R1, 3 attempts)"
        );
    }
}
