//! CodeDeploy lifecycle hooks for the ETL functions.
//!
//! CodeDeploy invokes a hook asynchronously with `{DeploymentId,
//! LifecycleEventHookExecutionId}`; the hook learns the function, alias and versions
//! from the deployment's target (or, failing that, its application revision), runs its
//! checks and always answers with `PutLifecycleEventHookExecutionStatus` (Succeeded or
//! Failed), trying again until CodeDeploy takes the answer.
//!
//! - `pre-traffic` (BeforeAllowTraffic) invokes the target version directly with each
//!   fixture event and fails on a function error, an invoke error or a slow answer.
//! - `post-traffic` (AfterAllowTraffic) checks that the alias points at the target
//!   version alone, that no named alarm is in ALARM (or missing), that the version's
//!   `Errors` stay within budget, and optionally runs a smoke execution of the workflow.
//!
//! Each binary is a thin wrapper around [`runtime::serve`]; the decisions live in
//! [`checks`] and [`report`], generic over the narrow traits of [`aws`], so they are
//! tested with fakes.

pub mod appspec;
pub mod aws;
pub mod checks;
pub mod config;
pub mod report;
pub mod runtime;

/// Which lifecycle hook a binary implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// BeforeAllowTraffic: the new version is checked before any traffic reaches it.
    PreTraffic,
    /// AfterAllowTraffic: the deployment is checked once all traffic has shifted.
    PostTraffic,
}

impl Hook {
    /// The binary's name, as it appears in logs.
    pub fn name(self) -> &'static str {
        match self {
            Hook::PreTraffic => "pre-traffic",
            Hook::PostTraffic => "post-traffic",
        }
    }

    /// The AppSpec lifecycle event the hook answers.
    pub fn lifecycle_event(self) -> &'static str {
        match self {
            Hook::PreTraffic => "BeforeAllowTraffic",
            Hook::PostTraffic => "AfterAllowTraffic",
        }
    }
}

/// The answer a hook gives CodeDeploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookStatus {
    Succeeded,
    Failed,
}

impl HookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HookStatus::Succeeded => "Succeeded",
            HookStatus::Failed => "Failed",
        }
    }
}

impl std::fmt::Display for HookStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
