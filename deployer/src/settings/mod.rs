//! An environment's deployer settings: `environments/<env>/deployer.yaml`.
//!
//! Parsed strictly ([`raw`]) and validated here, one section at a time; every error
//! names the file, the field and the fix.

mod duration;
mod judge;
mod raw;
mod shadow;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use duration::field_duration;
pub use duration::{format_duration, parse_duration};
use raw::{LocalOverrides, RawDeploymentConfig, RawEvidence, RawFunction, RawSettings};

use crate::error::{DeployError, Result};

pub const SETTINGS_FILE: &str = "deployer.yaml";

/// The alias every function's traffic goes through.
pub const ALIAS: &str = "live";

pub const PREDEFINED_CONFIGS: [&str; 9] = [
    "CodeDeployDefault.LambdaAllAtOnce",
    "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "CodeDeployDefault.LambdaCanary10Percent10Minutes",
    "CodeDeployDefault.LambdaCanary10Percent15Minutes",
    "CodeDeployDefault.LambdaCanary10Percent30Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
];

/// Lambda's instruction sets, spelled as Lambda's `Architectures` spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Deserialize, serde::Serialize)]
pub enum Architecture {
    /// Lambda's default when a function names none.
    #[default]
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CustomConfig {
    #[serde(rename = "type")]
    pub kind: String,
    pub percentage: u32,
    pub interval_minutes: u32,
}

/// How traffic moves to a new version, as an operator reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Strategy {
    AllAtOnce,
    /// `percent` for `minutes`, then everything.
    Canary {
        percent: u32,
        minutes: u32,
    },
    /// `percent` more every `minutes`.
    Linear {
        percent: u32,
        minutes: u32,
    },
}

impl Strategy {
    /// The strategy of a predefined or custom config name (None for a name the
    /// deployer does not know the shape of).
    pub fn of(config_name: &str, custom: Option<&CustomConfig>) -> Option<Self> {
        if let Some(c) = custom {
            return Some(match c.kind.as_str() {
                "linear" => Self::Linear { percent: c.percentage, minutes: c.interval_minutes },
                _ => Self::Canary { percent: c.percentage, minutes: c.interval_minutes },
            });
        }
        let name = config_name.strip_prefix("CodeDeployDefault.Lambda")?;
        if name == "AllAtOnce" {
            return Some(Self::AllAtOnce);
        }
        let number = |s: &str| s.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok();
        if let Some(rest) = name.strip_prefix("Canary") {
            let (percent, minutes) = rest.split_once("Percent")?;
            return Some(Self::Canary { percent: number(percent)?, minutes: number(minutes)? });
        }
        let rest = name.strip_prefix("Linear")?;
        let (percent, minutes) = rest.split_once("PercentEvery")?;
        Some(Self::Linear { percent: number(percent)?, minutes: number(minutes)? })
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AllAtOnce => f.write_str("all at once"),
            Self::Canary { percent, minutes } => write!(f, "canary {percent}% for {minutes}m, then all"),
            Self::Linear { percent, minutes } => write!(f, "linear {percent}% every {minutes}m"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    pub pre_traffic: String,
    pub post_traffic: String,
}

/// One function the deployer releases: its artifact name (the map key), its Lambda
/// name in this account, and its CodeDeploy deployment group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Function {
    pub artifact: String,
    pub function_name: String,
    pub deployment_group: String,
    pub alarms: Vec<String>,
    pub architecture: Architecture,
    /// Invocations its new version must serve in each step (0: no rule).
    pub min_invocations: u32,
    /// The same input gives the same answer, so the judge compares the outputs of its
    /// paired replays (old and new on the same input).
    pub deterministic: bool,
}

/// The workflow the functions serve: what the replay runs in dry-run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Workflow {
    pub state_machine: String,
    pub raw_bucket: String,
    /// Where real runs write curated records (and dry runs under `shadow/`): the
    /// shadow diff compares the two.
    pub curated_bucket: Option<String>,
    /// Where they quarantine records (`quarantine/`, `shadow/quarantine/`).
    pub quarantine_bucket: Option<String>,
}

/// Where the evidence for a step comes from, besides live traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Traffic {
    /// Only what the workflow and its callers send.
    #[default]
    None,
    /// Dry runs of the workflow on the newest raw partitions, on the new release.
    Replay,
    /// Dry runs on a partition of records the generator in etl-core writes.
    Synthetic,
}

/// What a canary or linear step must see before it passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Evidence {
    /// The default minimum of invocations of the new version per step (functions may
    /// set their own).
    pub min_invocations: u32,
    /// A step without it stops and rolls back the release (prod); else a warning.
    pub required: bool,
    pub traffic: Traffic,
    /// How many of the newest raw partitions the replay samples.
    pub replay_days: u32,
}

impl Default for Evidence {
    fn default() -> Self {
        Self { min_invocations: 0, required: false, traffic: Traffic::None, replay_days: 3 }
    }
}

/// The validated settings of one environment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Settings {
    pub environment: String,
    #[serde(skip)]
    pub file: PathBuf,
    pub account_id: String,
    pub region: String,
    pub deploy_role_arn: String,
    pub promotes_from: Option<String>,
    pub min_soak: Duration,
    pub application: String,
    /// The CodeDeploy deployment config name deployments use.
    pub deployment_config: String,
    pub custom_config: Option<CustomConfig>,
    pub alarms: Vec<String>,
    pub hooks: Hooks,
    pub release_table: String,
    pub artifact_bucket: String,
    pub lock_ttl: Duration,
    pub poll_interval: Duration,
    /// The hooks' architecture (each function carries its own).
    pub architecture: Architecture,
    pub workflow: Option<Workflow>,
    pub evidence: Evidence,
    /// The bounds each step's new version is judged by against the old.
    pub judge: crate::judge::Rule,
    /// The differential shadow run before traffic, when asked for.
    pub shadow: Option<crate::shadow::Policy>,
    pub functions: Vec<Function>,
}

impl Settings {
    /// Loads `<root>/<env>/deployer.yaml`; `local` applies the file's `local:` overrides.
    pub fn load(root: &Path, env: &str, local: bool) -> Result<Self> {
        let file = root.join(env).join(SETTINGS_FILE);
        if !valid_env_name(env) || !file.is_file() {
            return Err(DeployError::UnknownEnvironment {
                name: env.to_owned(),
                path: file,
                fix: format!("use one of: {}", known_environments(root).join(", ")),
            });
        }
        let text = std::fs::read_to_string(&file).map_err(|e| {
            DeployError::settings(&file, "(file)", format!("cannot read it: {e}"), "check its permissions")
        })?;
        Self::parse(&file, env, &text, local)
    }

    pub fn parse(file: &Path, env: &str, text: &str, local: bool) -> Result<Self> {
        let raw: RawSettings = serde_yaml::from_str(text).map_err(|e| {
            let field =
                e.location().map_or("(document)".to_owned(), |l| format!("line {} column {}", l.line(), l.column()));
            DeployError::settings(file, &field, e.to_string(), "see deployer/README.md, \"Settings\", for the schema")
        })?;
        let check = Check { file };
        check.identity(&raw, env)?;
        let deploy_role_arn = check.deploy_role(&raw)?;
        let overrides = if local { raw.local.clone().unwrap_or_default() } else { LocalOverrides::default() };
        let (min_soak, lock_ttl, poll_interval) = check.timing(&raw, &overrides)?;
        let (deployment_config, custom_config) = check.deployment_config(&raw)?;
        check.names(&raw)?;
        let architecture = overrides.architecture.or(raw.architecture).unwrap_or_default();
        let evidence = check.evidence(&raw, &overrides)?;
        let judge = check.judge(raw.judge.as_ref())?;
        let shadow = check.shadow(&raw)?;
        let functions = check.functions(&raw, &overrides, architecture, &evidence)?;
        Ok(Self {
            environment: raw.environment,
            file: file.to_owned(),
            account_id: raw.account_id,
            region: raw.region,
            deploy_role_arn,
            promotes_from: raw.promotes_from,
            min_soak,
            application: raw.application,
            deployment_config,
            custom_config,
            alarms: raw.alarms,
            hooks: raw.hooks,
            release_table: raw.release_table,
            artifact_bucket: raw.artifact_bucket,
            lock_ttl,
            poll_interval,
            architecture,
            workflow: raw.workflow.map(|w| Workflow {
                state_machine: w.state_machine,
                raw_bucket: w.raw_bucket,
                curated_bucket: w.curated_bucket,
                quarantine_bucket: w.quarantine_bucket,
            }),
            shadow,
            evidence,
            judge,
            functions,
        })
    }

    /// The ARN of the state machine `name` in this environment's account and region.
    pub fn state_machine_arn(&self, name: &str) -> String {
        format!("arn:aws:states:{}:{}:stateMachine:{name}", self.region, self.account_id)
    }

    /// Every alarm the deployer watches during a release: the functions' and the environment's.
    pub fn watched_alarms(&self) -> Vec<String> {
        let mut all: Vec<String> =
            self.functions.iter().flat_map(|f| f.alarms.iter().cloned()).chain(self.alarms.iter().cloned()).collect();
        all.sort();
        all.dedup();
        all
    }

    /// The function an alarm belongs to, if it is one function's.
    pub fn function_of_alarm(&self, alarm: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.alarms.iter().any(|a| a == alarm))
    }

    /// How the environment shifts traffic.
    pub fn strategy(&self) -> Option<Strategy> {
        Strategy::of(&self.deployment_config, self.custom_config.as_ref())
    }
}

/// The validation of one file's sections; each error names the file and field.
struct Check<'a> {
    file: &'a Path,
}

impl Check<'_> {
    fn err(&self, field: &str, problem: String, fix: &str) -> DeployError {
        DeployError::settings(self.file, field, problem, fix)
    }

    fn identity(&self, raw: &RawSettings, env: &str) -> Result<()> {
        if raw.environment != env {
            return Err(self.err(
                "environment",
                format!("says {:?} but the file is in the folder of {env:?}", raw.environment),
                &format!("set `environment: {env}`"),
            ));
        }
        if raw.account_id.len() != 12 || !raw.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.err(
                "account_id",
                format!("{:?} is not a 12-digit AWS account id", raw.account_id),
                "quote it as a string of 12 digits, e.g. \"111111111111\"",
            ));
        }
        if raw.region.is_empty()
            || !raw.region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(self.err("region", format!("{:?} is not a region name", raw.region), "use e.g. us-east-1"));
        }
        if let Some(from) = &raw.promotes_from {
            if from == env || !valid_env_name(from) {
                return Err(self.err(
                    "promotes_from",
                    format!("{from:?} cannot be the environment this one promotes from"),
                    "name the previous environment of the chain (dev -> test -> prod), or remove the field",
                ));
            }
        }
        Ok(())
    }

    fn deploy_role(&self, raw: &RawSettings) -> Result<String> {
        if raw.deploy_role.starts_with("arn:") {
            let account = raw.deploy_role.split(':').nth(4).unwrap_or_default();
            if account != raw.account_id || !raw.deploy_role.contains(":role/") {
                return Err(self.err(
                    "deploy_role",
                    format!("{} is not a role in account {}", raw.deploy_role, raw.account_id),
                    "name a role in the environment's own account (a role name or its ARN)",
                ));
            }
            Ok(raw.deploy_role.clone())
        } else if valid_name(&raw.deploy_role, 64) {
            Ok(format!("arn:aws:iam::{}:role/{}", raw.account_id, raw.deploy_role))
        } else {
            Err(self.err(
                "deploy_role",
                format!("{:?} is not a role name", raw.deploy_role),
                "use the role's name or ARN",
            ))
        }
    }

    /// min_soak, lock_ttl, poll_interval.
    fn timing(&self, raw: &RawSettings, local: &LocalOverrides) -> Result<(Duration, Duration, Duration)> {
        let min_soak_text = local.min_soak.as_deref().or(raw.min_soak.as_deref());
        let min_soak = field_duration(self.file, "min_soak", min_soak_text, Duration::ZERO)?;
        let lock_ttl = field_duration(self.file, "lock_ttl", raw.lock_ttl.as_deref(), Duration::from_secs(900))?;
        if lock_ttl < Duration::from_secs(60) {
            return Err(self.err(
                "lock_ttl",
                "must be at least 1m".into(),
                "a lock shorter than a minute expires mid-release",
            ));
        }
        let poll_text = local.poll_interval.as_deref().or(raw.poll_interval.as_deref());
        let poll_interval = field_duration(self.file, "poll_interval", poll_text, Duration::from_secs(5))?;
        if poll_interval.is_zero() {
            return Err(self.err(
                "poll_interval",
                "must be above zero".into(),
                "use e.g. 5s (or 200ms on the local cloud)",
            ));
        }
        Ok((min_soak, lock_ttl, poll_interval))
    }

    /// The config name deployments use, and the custom spec behind it if any.
    fn deployment_config(&self, raw: &RawSettings) -> Result<(String, Option<CustomConfig>)> {
        match &raw.deployment_config {
            RawDeploymentConfig::Predefined(name) => {
                if !PREDEFINED_CONFIGS.contains(&name.as_str()) {
                    return Err(self.err(
                        "deployment_config",
                        format!("{name:?} is not a predefined Lambda deployment config"),
                        &format!(
                            "use one of {} or a custom spec {{type: canary|linear, percentage: 1-99, interval_minutes: >= 1}}",
                            PREDEFINED_CONFIGS.join(", ")
                        ),
                    ));
                }
                Ok((name.clone(), None))
            }
            RawDeploymentConfig::Custom(custom) => {
                Ok((self.custom_config_name(&raw.application, custom)?, Some(custom.clone())))
            }
        }
    }

    /// The name the traffic-shifting module gives a custom config.
    fn custom_config_name(&self, application: &str, c: &CustomConfig) -> Result<String> {
        if !(1..=99).contains(&c.percentage) {
            return Err(self.err(
                "deployment_config.percentage",
                format!("{} is out of range", c.percentage),
                "use 1-99",
            ));
        }
        if c.interval_minutes == 0 {
            return Err(self.err("deployment_config.interval_minutes", "0 is not an interval".into(), "use 1 or more"));
        }
        match c.kind.as_str() {
            "canary" => Ok(format!("{application}-canary-{}pct-{}min", c.percentage, c.interval_minutes)),
            "linear" => Ok(format!("{application}-linear-{}pct-every-{}min", c.percentage, c.interval_minutes)),
            other => Err(self.err(
                "deployment_config.type",
                format!("{other:?} is not a traffic-shifting type"),
                "use canary or linear",
            )),
        }
    }

    fn names(&self, raw: &RawSettings) -> Result<()> {
        if !valid_name(&raw.application, 100) {
            return Err(self.err(
                "application",
                format!("{:?} is not a CodeDeploy application name", raw.application),
                "use the traffic-shifting module's application_name output",
            ));
        }
        for (field, value) in [
            ("hooks.pre_traffic", &raw.hooks.pre_traffic),
            ("hooks.post_traffic", &raw.hooks.post_traffic),
            ("release_table", &raw.release_table),
            ("artifact_bucket", &raw.artifact_bucket),
        ] {
            if !valid_name(value, 255) {
                return Err(self.err(
                    field,
                    format!("{value:?} is empty or has characters AWS names cannot"),
                    "use the name from the Terraform outputs",
                ));
            }
        }
        Ok(())
    }

    /// The evidence rule; `local:` may lower it for the local cloud's compressed time.
    fn evidence(&self, raw: &RawSettings, local: &LocalOverrides) -> Result<Evidence> {
        let base = raw.evidence.clone().unwrap_or_default();
        let over = local.evidence.clone().unwrap_or_default();
        let pick = |f: fn(&RawEvidence) -> Option<u32>| f(&over).or(f(&base));
        let defaults = Evidence::default();
        let traffic = match over.traffic.as_deref().or(base.traffic.as_deref()) {
            None | Some("none") => Traffic::None,
            Some("replay") => Traffic::Replay,
            Some("synthetic") => Traffic::Synthetic,
            Some(other) => {
                return Err(self.err(
                    "evidence.traffic",
                    format!("{other:?} is not a source of traffic"),
                    "use replay, synthetic or none",
                ))
            }
        };
        let evidence = Evidence {
            min_invocations: pick(|e| e.min_invocations).unwrap_or(defaults.min_invocations),
            required: over.required.or(base.required).unwrap_or(defaults.required),
            traffic,
            replay_days: pick(|e| e.replay_days).unwrap_or(defaults.replay_days),
        };
        if evidence.min_invocations > 100_000 {
            return Err(self.err(
                "evidence.min_invocations",
                format!("{} is more than a step can gather", evidence.min_invocations),
                "use at most 100000",
            ));
        }
        if evidence.required && evidence.min_invocations == 0 {
            return Err(self.err(
                "evidence.required",
                "is true but min_invocations is 0: nothing would be required".into(),
                "set evidence.min_invocations (for example 50), or required: false",
            ));
        }
        if evidence.traffic != Traffic::None && raw.workflow.is_none() {
            return Err(self.err(
                "evidence.traffic",
                "runs the workflow in dry-run, but no workflow is named".into(),
                "add `workflow: {state_machine: <the etl-workflow module's state machine>, raw_bucket: <its raw bucket>}`",
            ));
        }
        if !(1..=31).contains(&evidence.replay_days) {
            return Err(self.err(
                "evidence.replay_days",
                format!("{} is out of range", evidence.replay_days),
                "use 1-31",
            ));
        }
        Ok(evidence)
    }

    fn functions(
        &self,
        raw: &RawSettings,
        local: &LocalOverrides,
        architecture: Architecture,
        evidence: &Evidence,
    ) -> Result<Vec<Function>> {
        if raw.functions.is_empty() {
            return Err(self.err(
                "functions",
                "no functions are listed".into(),
                "list each function: `extract: {function_name: ..., alarms: [...]}`",
            ));
        }
        raw.functions
            .iter()
            .map(|(artifact, f)| self.function(raw, local, architecture, evidence, artifact, f))
            .collect()
    }

    fn function(
        &self,
        raw: &RawSettings,
        local: &LocalOverrides,
        architecture: Architecture,
        evidence: &Evidence,
        artifact: &str,
        f: &RawFunction,
    ) -> Result<Function> {
        let field = |name: &str| format!("functions.{artifact}.{name}");
        if !valid_name(&f.function_name, 64) {
            return Err(self.err(
                &field("function_name"),
                format!("{:?} is not a Lambda function name", f.function_name),
                "use the etl-workflow module's function_names output",
            ));
        }
        if f.alarms.len() > 10 {
            return Err(self.err(
                &field("alarms"),
                format!("{} alarms; a deployment group takes at most 10", f.alarms.len()),
                "keep the 10 that matter",
            ));
        }
        if raw.require_alarms && f.alarms.is_empty() {
            return Err(self.err(
                &field("alarms"),
                "is empty, but this environment requires alarms (require_alarms: true)".into(),
                "list the function's alarms (the etl-workflow module's alarm_names output)",
            ));
        }
        Ok(Function {
            artifact: artifact.to_owned(),
            function_name: f.function_name.clone(),
            deployment_group: f.deployment_group.clone().unwrap_or_else(|| f.function_name.clone()),
            alarms: f.alarms.clone(),
            // Under --local the `local:` architecture wins: the local cloud runs this machine's builds.
            architecture: local.architecture.or(f.architecture).unwrap_or(architecture),
            // A function's own minimum (0 exempts it); under --local, never above the
            // `local:` evidence minimum, which compressed time must be able to reach.
            min_invocations: match (f.min_invocations, local.evidence.as_ref().and_then(|e| e.min_invocations)) {
                (Some(own), Some(cap)) => own.min(cap),
                (Some(own), None) => own,
                (None, _) => evidence.min_invocations,
            },
            deterministic: f.deterministic,
        })
    }
}

fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn valid_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The environments that have deployer settings under `root`.
pub fn known_environments(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join(SETTINGS_FILE).is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
environment: test
account_id: "222222222222"
region: us-east-1
deploy_role: deployer
promotes_from: dev
min_soak: 10m
application: etl-test
deployment_config: {type: canary, percentage: 10, interval_minutes: 1}
hooks: {pre_traffic: etl-test-pre-traffic, post_traffic: etl-test-post-traffic}
release_table: etl-test-releases
artifact_bucket: artifacts-444444444444-us-east-1
architecture: arm64
functions:
  extract: {function_name: etl-test-extract, alarms: [etl-test-extract-errors]}
  load: {function_name: etl-test-load, deployment_group: loader, alarms: [], architecture: x86_64}
local: {min_soak: 2s, poll_interval: 200ms, architecture: x86_64}
"#;

    fn parse(text: &str, local: bool) -> Result<Settings> {
        Settings::parse(Path::new("environments/test/deployer.yaml"), "test", text, local)
    }

    fn error_of(text: &str) -> String {
        parse(text, false).expect_err("must be refused").explained()
    }

    #[test]
    fn good_settings_parse_with_derived_names() {
        let s = parse(GOOD, false).unwrap();
        assert_eq!(s.deploy_role_arn, "arn:aws:iam::222222222222:role/deployer");
        assert_eq!(s.deployment_config, "etl-test-canary-10pct-1min");
        assert_eq!(s.min_soak, Duration::from_secs(600));
        assert_eq!(s.poll_interval, Duration::from_secs(5));
        assert_eq!(s.functions[1].deployment_group, "loader");
        assert_eq!(s.functions[0].deployment_group, "etl-test-extract");
        assert_eq!(s.function_of_alarm("etl-test-extract-errors").map(|f| f.artifact.as_str()), Some("extract"));
        assert_eq!(s.architecture, Architecture::Arm64);
        assert_eq!(s.functions[0].architecture, Architecture::Arm64, "the environment's architecture");
        assert_eq!(s.functions[1].architecture, Architecture::X86_64, "the function's own");
        let local = parse(GOOD, true).unwrap();
        assert!(
            local.architecture == Architecture::X86_64
                && local.functions.iter().all(|f| f.architecture == Architecture::X86_64),
            "--local runs this machine's x86_64 builds"
        );
        let unset = parse(&GOOD.replace("architecture: arm64\n", ""), false).unwrap();
        assert_eq!(unset.functions[0].architecture, Architecture::X86_64, "Lambda's default");
        let e = error_of(&GOOD.replace("architecture: arm64", "architecture: sparc"));
        assert!(e.contains("sparc") && e.contains("arm64") && e.contains("line"), "{e}");
        assert_eq!(local.min_soak, Duration::from_secs(2));
        assert_eq!(local.poll_interval, Duration::from_millis(200));
    }

    #[test]
    fn errors_name_the_file_the_field_and_the_fix() {
        let e = error_of(&GOOD.replace("\"222222222222\"", "\"2222\""));
        assert!(e.contains("environments/test/deployer.yaml: account_id") && e.contains("fix:"), "{e}");
        let e = error_of(&GOOD.replace("percentage: 10", "percentage: 100"));
        assert!(e.contains("deployment_config.percentage") && e.contains("1-99"), "{e}");
        let e = error_of(&GOOD.replace("interval_minutes: 1", "interval_minutes: 0"));
        assert!(e.contains("interval_minutes"), "{e}");
        let e =
            error_of(&GOOD.replace(
                "{type: canary, percentage: 10, interval_minutes: 1}",
                "CodeDeployDefault.LambdaCanary50Percent",
            ));
        assert!(e.contains("not a predefined") && e.contains("LambdaAllAtOnce"), "{e}");
        let e =
            error_of(&GOOD.replace("deploy_role: deployer", "deploy_role: arn:aws:iam::111111111111:role/deployer"));
        assert!(e.contains("deploy_role") && e.contains("not a role in account 222222222222"), "{e}");
        let e = error_of(&GOOD.replace("min_soak: 10m", "min_soak: ten minutes"));
        assert!(e.contains("min_soak") && e.contains("30s"), "{e}");
        let e = error_of(&GOOD.replace("environment: test", "environment: prod"));
        assert!(e.contains("environment:") || e.contains("environment"), "{e}");
        let e = error_of(&GOOD.replace("region:", "regoin:"));
        assert!(e.contains("regoin") && e.contains("line"), "{e}");
        let prod = GOOD.replace("release_table:", "require_alarms: true\nrelease_table:");
        let e = error_of(&prod);
        assert!(e.contains("functions.load.alarms") && e.contains("require_alarms"), "{e}");
        assert_eq!(parse(&prod, false).expect_err("refused").exit_code(), crate::error::exit::CONFIG);
    }

    #[test]
    fn evidence_and_the_workflow_parse_with_local_and_per_function_overrides() {
        let text = GOOD.replace(
            "architecture: arm64\n",
            "architecture: arm64\nworkflow: {state_machine: etl-test-etl, raw_bucket: etl-test-raw}\nevidence: {min_invocations: 50, required: true, traffic: replay, replay_days: 2}\n",
        )
        .replace("load: {function_name: etl-test-load,", "load: {function_name: etl-test-load, min_invocations: 0,")
        .replace("local: {min_soak: 2s,", "local: {evidence: {min_invocations: 4}, min_soak: 2s,");
        let s = parse(&text, false).unwrap();
        assert_eq!(
            s.evidence,
            Evidence { min_invocations: 50, required: true, traffic: Traffic::Replay, replay_days: 2 }
        );
        assert_eq!(s.workflow.as_ref().map(|w| w.state_machine.as_str()), Some("etl-test-etl"));
        assert_eq!((s.functions[0].min_invocations, s.functions[1].min_invocations), (50, 0), "load is exempt");
        let local = parse(&text, true).unwrap();
        assert_eq!((local.evidence.min_invocations, local.functions[0].min_invocations), (4, 4));
        assert!(local.evidence.required, "only the minimum differs locally");
        assert_eq!(parse(GOOD, false).unwrap().evidence, Evidence::default(), "no evidence rule unless asked");

        let e = error_of(&text.replace("traffic: replay", "traffic: loud"));
        assert!(e.contains("evidence.traffic") && e.contains("replay, synthetic or none"), "{e}");
        let e = error_of(&text.replace("min_invocations: 50", "min_invocations: 0"));
        assert!(e.contains("evidence.required") && e.contains("fix:"), "{e}");
        let e = error_of(&text.replace("workflow: {state_machine: etl-test-etl, raw_bucket: etl-test-raw}\n", ""));
        assert!(e.contains("evidence.traffic") && e.contains("workflow:"), "{e}");
    }

    #[test]
    fn the_judge_takes_its_defaults_and_refuses_bounds_that_cannot_work() {
        assert_eq!(parse(GOOD, false).unwrap().judge, crate::judge::Rule::default());
        let with =
            |judge: &str| GOOD.replace("architecture: arm64\n", &format!("architecture: arm64\njudge: {judge}\n"));
        let s = parse(&with("{alpha: 0.001, max_p99_ratio: 2.0}"), false).unwrap();
        assert_eq!((s.judge.alpha, s.judge.max_p99_ratio, s.judge.marginal_alpha), (0.001, 2.0, 0.05));
        for (judge, field, fix) in [
            ("{alpha: 1.5}", "judge.alpha", "0.01"),
            ("{alpha: 0.1, marginal_alpha: 0.05}", "judge.marginal_alpha", "at least alpha"),
            ("{max_error_rate_increase: 2}", "judge.max_error_rate_increase", "one point"),
            ("{max_p99_ratio: 1.1, marginal_p99_ratio: 1.2}", "judge.max_p99_ratio", "1.2"),
            ("{min_p99_slowdown_ms: -1}", "judge.min_p99_slowdown_ms", "50"),
            ("{max_median_ratio: 0.9}", "judge.max_median_ratio", "1.5"),
            ("{min_median_slowdown_ms: .nan}", "judge.min_median_slowdown_ms", "50"),
            ("{min_pairs: 1}", "judge.min_pairs", "below 5 pairs"),
        ] {
            let e = error_of(&with(judge));
            assert!(e.contains(field) && e.contains("fix:") && e.contains(fix), "{judge}: {e}");
        }
        assert!(error_of(&with("{alpah: 0.01}")).contains("unknown field"), "a typo is an error");
    }

    #[test]
    fn strategies_are_read_from_config_names_and_custom_specs() {
        assert_eq!(Strategy::of("CodeDeployDefault.LambdaAllAtOnce", None), Some(Strategy::AllAtOnce));
        assert_eq!(
            Strategy::of("CodeDeployDefault.LambdaCanary10Percent15Minutes", None),
            Some(Strategy::Canary { percent: 10, minutes: 15 })
        );
        assert_eq!(
            Strategy::of("CodeDeployDefault.LambdaLinear10PercentEvery1Minute", None),
            Some(Strategy::Linear { percent: 10, minutes: 1 })
        );
        for name in PREDEFINED_CONFIGS {
            assert!(Strategy::of(name, None).is_some(), "{name}");
        }
        let s = parse(GOOD, false).unwrap();
        assert_eq!(s.strategy(), Some(Strategy::Canary { percent: 10, minutes: 1 }));
        assert_eq!(s.strategy().unwrap().to_string(), "canary 10% for 1m, then all");
        assert_eq!(Strategy::of("someone-elses-config", None), None);
    }

    #[test]
    fn unknown_environment_lists_the_known_ones() {
        let root = std::env::temp_dir().join(format!("deployer-settings-{}", std::process::id()));
        std::fs::create_dir_all(root.join("dev")).unwrap();
        std::fs::write(root.join("dev").join(SETTINGS_FILE), "x").unwrap();
        let e = Settings::load(&root, "staging", false).expect_err("unknown").explained();
        assert!(e.contains("unknown environment \"staging\"") && e.contains("use one of: dev"), "{e}");
        let e = Settings::load(&root, "../etc", false).expect_err("unknown").to_string();
        assert!(e.contains("unknown environment"), "{e}");
        std::fs::remove_dir_all(root).unwrap();
    }
}
