//! `deployer.yaml` as written: parsed strictly (unknown fields are errors, so a typo
//! is never silently ignored), validated into [`super::Settings`].

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Architecture, CustomConfig, Hooks};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettings {
    pub environment: String,
    pub account_id: String,
    pub region: String,
    pub deploy_role: String,
    #[serde(default)]
    pub promotes_from: Option<String>,
    #[serde(default)]
    pub min_soak: Option<String>,
    pub application: String,
    pub deployment_config: RawDeploymentConfig,
    #[serde(default)]
    pub alarms: Vec<String>,
    pub hooks: Hooks,
    pub release_table: String,
    pub artifact_bucket: String,
    #[serde(default)]
    pub lock_ttl: Option<String>,
    #[serde(default)]
    pub poll_interval: Option<String>,
    #[serde(default)]
    pub require_alarms: bool,
    /// The instruction set of every function and hook (Lambda's `Architectures`);
    /// Terraform reads the same field, so the two cannot disagree.
    #[serde(default)]
    pub architecture: Option<Architecture>,
    pub functions: BTreeMap<String, RawFunction>,
    /// The workflow the functions serve (the replay runs it in dry-run).
    #[serde(default)]
    pub workflow: Option<RawWorkflow>,
    /// What a canary or linear step must see before it passes.
    #[serde(default)]
    pub evidence: Option<RawEvidence>,
    /// The bounds of the judge (the new version against the old, at each step).
    #[serde(default)]
    pub judge: Option<super::judge::RawJudge>,
    /// The differential shadow run before any traffic moves.
    #[serde(default)]
    pub shadow: Option<super::shadow::RawShadow>,
    /// What differs on the local cloud (`--local`): only these fields may change.
    #[serde(default)]
    pub local: Option<LocalOverrides>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LocalOverrides {
    #[serde(default)]
    pub min_soak: Option<String>,
    #[serde(default)]
    pub poll_interval: Option<String>,
    #[serde(default)]
    pub architecture: Option<Architecture>,
    #[serde(default)]
    pub evidence: Option<RawEvidence>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkflow {
    pub state_machine: String,
    pub raw_bucket: String,
    #[serde(default)]
    pub curated_bucket: Option<String>,
    #[serde(default)]
    pub quarantine_bucket: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEvidence {
    #[serde(default)]
    pub min_invocations: Option<u32>,
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub traffic: Option<String>,
    #[serde(default)]
    pub replay_days: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum RawDeploymentConfig {
    Predefined(String),
    Custom(CustomConfig),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFunction {
    pub function_name: String,
    #[serde(default)]
    pub deployment_group: Option<String>,
    #[serde(default)]
    pub alarms: Vec<String>,
    #[serde(default)]
    pub architecture: Option<Architecture>,
    /// This function's minimum per step (0: exempt, e.g. a function that runs only
    /// when something fails).
    #[serde(default)]
    pub min_invocations: Option<u32>,
    /// The same input always gives the same answer: the judge compares its paired
    /// replays' outputs.
    #[serde(default)]
    pub deterministic: bool,
}
