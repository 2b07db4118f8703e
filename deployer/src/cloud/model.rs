//! What the deployer reads from AWS, reduced to what it decides on. The SDK adapter
//! and the in-memory cloud both answer in these types, so the release logic never sees
//! an SDK type.

use std::collections::BTreeMap;

use serde::Serialize;

/// An alias as the deployer sees it: primary version plus at most one weighted extra.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasState {
    pub version: String,
    pub additional: Option<(String, f64)>,
    pub revision_id: Option<String>,
}

impl AliasState {
    /// True when every invocation goes to `version`.
    pub fn settled_on(&self, version: &str) -> bool {
        self.version == version && self.additional.as_ref().is_none_or(|(_, w)| *w <= 0.0)
    }

    /// The extra version and its weight while traffic is split.
    pub fn split(&self) -> Option<(&str, f64)> {
        self.additional.as_ref().filter(|(_, w)| *w > 0.0).map(|(v, w)| (v.as_str(), *w))
    }

    /// The share of traffic on `version`, 0-100.
    pub fn percent_on(&self, version: &str) -> f64 {
        match &self.additional {
            Some((v, w)) if v == version => w * 100.0,
            Some((_, w)) if self.version == version => (1.0 - w) * 100.0,
            _ if self.version == version => 100.0,
            _ => 0.0,
        }
    }
}

/// Where the last update of a function's `$LATEST` stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateState {
    Successful,
    InProgress,
    Failed,
}

/// The parts of a function's configuration that a version freezes and that change how
/// it runs: a difference between `$LATEST` and the live version is a release of its own.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct FunctionConfig {
    pub memory_mb: Option<i32>,
    pub timeout_s: Option<i32>,
    pub ephemeral_storage_mb: Option<i32>,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub role: Option<String>,
    pub architectures: Vec<String>,
    pub layers: Vec<String>,
    pub environment: BTreeMap<String, String>,
    pub tracing: Option<String>,
}

impl FunctionConfig {
    /// Each setting that differs, as `name old -> new` (environment variables by name
    /// only: their values may be secrets).
    pub fn differences(&self, new: &FunctionConfig) -> Vec<String> {
        fn show<T: std::fmt::Debug>(v: &Option<T>) -> String {
            match v {
                Some(v) => format!("{v:?}").trim_matches('"').to_owned(),
                None => "-".into(),
            }
        }
        let mut out = Vec::new();
        let mut field = |name: &str, old: String, new: String| {
            if old != new {
                out.push(format!("{name} {old} -> {new}"));
            }
        };
        field("memory", show(&self.memory_mb), show(&new.memory_mb));
        field("timeout", show(&self.timeout_s), show(&new.timeout_s));
        field("ephemeral storage", show(&self.ephemeral_storage_mb), show(&new.ephemeral_storage_mb));
        field("runtime", show(&self.runtime), show(&new.runtime));
        field("handler", show(&self.handler), show(&new.handler));
        field("role", show(&self.role), show(&new.role));
        field("architectures", self.architectures.join(","), new.architectures.join(","));
        field("layers", self.layers.join(","), new.layers.join(","));
        field("tracing", show(&self.tracing), show(&new.tracing));
        let keys: std::collections::BTreeSet<&String> = self.environment.keys().chain(new.environment.keys()).collect();
        let changed: Vec<&str> = keys
            .into_iter()
            .filter(|k| self.environment.get(*k) != new.environment.get(*k))
            .map(String::as_str)
            .collect();
        if !changed.is_empty() {
            out.push(format!("environment {}", changed.join(",")));
        }
        out
    }
}

/// One version of a function (or `$LATEST`): its code and configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionState {
    pub code_sha256: String,
    pub revision_id: Option<String>,
    pub version: String,
    pub update: UpdateState,
    pub update_reason: Option<String>,
    pub config: FunctionConfig,
}

/// What PublishVersion answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub version: String,
    pub code_sha256: String,
}

/// CodeDeploy's deployment statuses (the API's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DeploymentStatus {
    Created,
    Queued,
    InProgress,
    Baking,
    Ready,
    Succeeded,
    Failed,
    Stopped,
}

impl DeploymentStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Stopped)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Queued => "Queued",
            Self::InProgress => "InProgress",
            Self::Baking => "Baking",
            Self::Ready => "Ready",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Stopped => "Stopped",
        }
    }

    /// Not finished: the statuses ListDeployments is asked for to find what is in flight.
    pub const UNFINISHED: [Self; 5] = [Self::Created, Self::Queued, Self::InProgress, Self::Baking, Self::Ready];
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentView {
    pub status: DeploymentStatus,
    pub error: Option<String>,
    /// CodeDeploy stopped it on one of its group's alarms (error code ALARM_ACTIVE),
    /// which can happen between two of the deployer's reads of the alarms.
    pub alarm_stop: bool,
    /// What the deployer wrote when it created it (how it finds its own after a lost answer).
    pub description: Option<String>,
}

/// What the deployer asks CodeDeploy to do for one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRequest {
    pub application: String,
    pub group: String,
    pub config: String,
    pub function: String,
    pub alias: String,
    pub current_version: String,
    pub target_version: String,
    pub pre_traffic_hook: String,
    pub post_traffic_hook: String,
    pub description: String,
}

impl DeploymentRequest {
    /// The inline AppSpec (version 0.0) CodeDeploy takes for a Lambda deployment.
    pub fn appspec(&self) -> String {
        serde_json::json!({
            "version": 0.0,
            "Resources": [{
                "function": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Name": self.function,
                        "Alias": self.alias,
                        "CurrentVersion": self.current_version,
                        "TargetVersion": self.target_version
                    }
                }
            }],
            "Hooks": [{"BeforeAllowTraffic": self.pre_traffic_hook}, {"AfterAllowTraffic": self.post_traffic_hook}]
        })
        .to_string()
    }
}

/// The steps of a Lambda deployment, in the order CodeDeploy runs them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum LifecycleStep {
    Start,
    BeforeAllowTraffic,
    AllowTraffic,
    AfterAllowTraffic,
    End,
    Other(String),
}

impl LifecycleStep {
    pub fn parse(name: &str) -> Self {
        match name {
            "Start" => Self::Start,
            "BeforeAllowTraffic" => Self::BeforeAllowTraffic,
            "AllowTraffic" => Self::AllowTraffic,
            "AfterAllowTraffic" => Self::AfterAllowTraffic,
            "End" => Self::End,
            other => Self::Other(other.to_owned()),
        }
    }

    /// How an operator calls the step.
    pub fn label(&self) -> &str {
        match self {
            Self::Start => "start",
            Self::BeforeAllowTraffic => "pre-traffic hook",
            Self::AllowTraffic => "traffic shift",
            Self::AfterAllowTraffic => "post-traffic hook",
            Self::End => "end",
            Self::Other(name) => name,
        }
    }
}

/// A lifecycle event's status (the API's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StepStatus {
    Pending,
    InProgress,
    Succeeded,
    Failed,
    Skipped,
    Unknown,
}

impl StepStatus {
    pub fn parse(name: &str) -> Self {
        match name {
            "Pending" => Self::Pending,
            "InProgress" => Self::InProgress,
            "Succeeded" => Self::Succeeded,
            "Failed" => Self::Failed,
            "Skipped" => Self::Skipped,
            _ => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::InProgress => "InProgress",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Skipped => "Skipped",
            Self::Unknown => "Unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LifecycleEvent {
    pub step: LifecycleStep,
    pub status: StepStatus,
}

/// How StopDeployment went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Stopped,
    /// It had finished already (DeploymentAlreadyCompletedException).
    AlreadyFinished,
}

/// CloudWatch's alarm states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AlarmState {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl AlarmState {
    pub fn parse(name: &str) -> Self {
        match name {
            "OK" => Self::Ok,
            "ALARM" => Self::Alarm,
            _ => Self::InsufficientData,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Alarm => "ALARM",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmView {
    pub name: String,
    pub state: AlarmState,
    pub reason: String,
    pub metric: Option<String>,
    pub threshold: Option<f64>,
    /// The newest datapoint that drove the state, from StateReasonData.
    pub value: Option<f64>,
    pub function_dimension: Option<String>,
}

/// A deployment group's safety wiring, as CodeDeploy holds it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupView {
    pub alarms: Vec<String>,
    pub alarms_enabled: bool,
    /// True lets an alarm CodeDeploy cannot read pass as OK.
    pub ignore_poll_alarm_failure: bool,
    pub rollback_enabled: bool,
    /// `DEPLOYMENT_FAILURE`, `DEPLOYMENT_STOP_ON_ALARM`, `DEPLOYMENT_STOP_ON_REQUEST`.
    pub rollback_events: Vec<String>,
}

/// IAM's simulated verdict on one action against one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: String,
    pub resource: String,
    pub allowed: bool,
    /// `allowed`, `implicitDeny`, `explicitDeny`.
    pub decision: String,
}

/// What CloudWatch says one version of a function served over a window.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct VersionStats {
    pub invocations: f64,
    pub errors: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// The period of a version's minute-by-minute figures: CloudWatch's standard resolution.
pub const PERIOD_S: u32 = 60;

/// What CloudWatch says one version served over a window: the window's figures and
/// the same period by period.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VersionWindow {
    pub total: VersionStats,
    /// Periods of [`PERIOD_S`], oldest first; periods with no invocation are absent.
    pub minutes: Vec<SeriesPoint>,
}

/// One period of a version's figures.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SeriesPoint {
    /// The period's start, ms since the epoch.
    pub at_ms: u64,
    pub invocations: f64,
    pub errors: f64,
    pub p99_ms: Option<f64>,
}

/// An alarm's change of state (DescribeAlarmHistory's StateUpdate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmChange {
    pub alarm: String,
    pub at_ms: u64,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`, as CloudWatch names them.
    pub from: String,
    pub to: String,
}

/// Where a Step Functions execution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionState {
    Running,
    Succeeded,
    /// Failed, timed out or aborted.
    Failed,
}

/// One event of an execution's history, as far as the paired replays read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEvent {
    /// When it happened, ms since the epoch.
    pub at_ms: u64,
    pub kind: HistoryKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryKind {
    /// A state was entered (`TaskStateEntered`, `MapStateEntered`, ...).
    Entered { state: String },
    /// A state was left.
    Exited { state: String },
    /// A Task's answer (`TaskSucceeded`: for `lambda:invoke`, the function's `Payload`
    /// beside the call's metadata), JSON text.
    TaskSucceeded { output: String },
    /// Anything else.
    Other,
}

/// The release the workflow's executions draw from while a release shifts: the
/// state machine reads it once per execution (see the etl-workflow module's README).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Routing {
    pub release_id: String,
    pub record_id: String,
    /// The share of executions on the new release, per mille.
    pub weight_per_mille: u32,
    /// Artifact name -> version, before and after the release.
    pub old: std::collections::BTreeMap<String, String>,
    pub new: std::collections::BTreeMap<String, String>,
}

/// Who holds an environment's release lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockInfo {
    pub holder: String,
    pub since: String,
    pub expires_s: u64,
}

/// What a conditional write of the lock found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockAttempt {
    Taken,
    Held(LockInfo),
    /// The write was refused, but by the time the holder was read the lock was gone.
    Contended,
}

/// What a lock renewal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    Renewed,
    /// Someone else holds it now (ours expired and was taken over).
    Lost,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_shares() {
        let split = AliasState { version: "3".into(), additional: Some(("4".into(), 0.1)), revision_id: None };
        assert!((split.percent_on("4") - 10.0).abs() < 1e-9);
        assert!((split.percent_on("3") - 90.0).abs() < 1e-9);
        assert!(!split.settled_on("3"));
        assert_eq!(split.split(), Some(("4", 0.1)));
        let whole = AliasState { version: "4".into(), additional: None, revision_id: None };
        assert!(whole.settled_on("4") && (whole.percent_on("4") - 100.0).abs() < 1e-9 && whole.percent_on("3") == 0.0);
        assert_eq!(whole.split(), None);
    }

    #[test]
    fn the_appspec_names_the_alias_versions_and_hooks() {
        let request = DeploymentRequest {
            application: "etl-dev".into(),
            group: "g".into(),
            config: "c".into(),
            function: "etl-dev-load".into(),
            alias: "live".into(),
            current_version: "3".into(),
            target_version: "4".into(),
            pre_traffic_hook: "pre".into(),
            post_traffic_hook: "post".into(),
            description: String::new(),
        };
        let spec: serde_json::Value = serde_json::from_str(&request.appspec()).unwrap();
        let props = &spec["Resources"][0]["function"]["Properties"];
        assert_eq!((props["Name"].as_str(), props["Alias"].as_str()), (Some("etl-dev-load"), Some("live")));
        assert_eq!((props["CurrentVersion"].as_str(), props["TargetVersion"].as_str()), (Some("3"), Some("4")));
        assert_eq!(spec["Hooks"][0]["BeforeAllowTraffic"], "pre");
        assert_eq!(spec["Hooks"][1]["AfterAllowTraffic"], "post");
    }

    #[test]
    fn configuration_differences_name_each_setting_but_no_secret() {
        let old = FunctionConfig {
            memory_mb: Some(512),
            environment: [("TOKEN".to_owned(), "a".to_owned())].into(),
            ..FunctionConfig::default()
        };
        let new = FunctionConfig {
            memory_mb: Some(1024),
            environment: [("TOKEN".to_owned(), "b".to_owned())].into(),
            ..FunctionConfig::default()
        };
        let d = old.differences(&new);
        assert_eq!(d, vec!["memory 512 -> 1024".to_owned(), "environment TOKEN".to_owned()]);
        assert!(old.differences(&old).is_empty());
    }
}
