//! CodeDeploy's states as types. Each serialises to the string AWS uses on the wire
//! (and in the state file), so nothing compares status strings.

use serde::{Deserialize, Serialize};

/// A deployment's status (`DeploymentStatus` in the API reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeploymentStatus {
    Created,
    Queued,
    InProgress,
    Baking,
    Succeeded,
    Failed,
    Stopped,
    Ready,
}

impl DeploymentStatus {
    pub const ALL: [Self; 8] = [
        Self::Created,
        Self::Queued,
        Self::InProgress,
        Self::Baking,
        Self::Succeeded,
        Self::Failed,
        Self::Stopped,
        Self::Ready,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Queued => "Queued",
            Self::InProgress => "InProgress",
            Self::Baking => "Baking",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Stopped => "Stopped",
            Self::Ready => "Ready",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Succeeded, Failed and Stopped are final: StopDeployment refuses them and a new
    /// deployment may start in the group.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Stopped)
    }

    /// How the deployment's one Lambda target reads (`TargetStatus`).
    pub fn target_status(self) -> TargetStatus {
        match self {
            Self::Created | Self::Queued => TargetStatus::Pending,
            Self::InProgress | Self::Baking => TargetStatus::InProgress,
            Self::Succeeded => TargetStatus::Succeeded,
            Self::Failed | Self::Stopped => TargetStatus::Failed,
            Self::Ready => TargetStatus::Ready,
        }
    }
}

impl std::fmt::Display for DeploymentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A deployment target's status (`TargetStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetStatus {
    Pending,
    InProgress,
    Succeeded,
    Failed,
    Skipped,
    Unknown,
    Ready,
}

/// The lifecycle events of a Lambda deployment, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LifecycleEventName {
    BeforeAllowTraffic,
    AllowTraffic,
    AfterAllowTraffic,
}

impl LifecycleEventName {
    pub const IN_ORDER: [Self; 3] = [Self::BeforeAllowTraffic, Self::AllowTraffic, Self::AfterAllowTraffic];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BeforeAllowTraffic => "BeforeAllowTraffic",
            Self::AllowTraffic => "AllowTraffic",
            Self::AfterAllowTraffic => "AfterAllowTraffic",
        }
    }

    /// The AppSpec `Hooks` entry that names this event's function (AllowTraffic has none).
    pub fn parse_hook(text: &str) -> Option<Self> {
        match text {
            "BeforeAllowTraffic" => Some(Self::BeforeAllowTraffic),
            "AfterAllowTraffic" => Some(Self::AfterAllowTraffic),
            _ => None,
        }
    }
}

impl std::fmt::Display for LifecycleEventName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lifecycle event's status (`LifecycleEventStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LifecycleEventStatus {
    Pending,
    InProgress,
    Succeeded,
    Failed,
    Skipped,
    Unknown,
}

impl LifecycleEventStatus {
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

impl std::fmt::Display for LifecycleEventStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a hook may report with PutLifecycleEventHookExecutionStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HookAnswer {
    Succeeded,
    Failed,
}

impl HookAnswer {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Succeeded" => Some(Self::Succeeded),
            "Failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// The events that can roll a deployment back automatically (`AutoRollbackEvent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RollbackEvent {
    #[serde(rename = "DEPLOYMENT_FAILURE")]
    DeploymentFailure,
    #[serde(rename = "DEPLOYMENT_STOP_ON_ALARM")]
    DeploymentStopOnAlarm,
    #[serde(rename = "DEPLOYMENT_STOP_ON_REQUEST")]
    DeploymentStopOnRequest,
}

impl RollbackEvent {
    pub const ALL: [Self; 3] = [Self::DeploymentFailure, Self::DeploymentStopOnAlarm, Self::DeploymentStopOnRequest];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeploymentFailure => "DEPLOYMENT_FAILURE",
            Self::DeploymentStopOnAlarm => "DEPLOYMENT_STOP_ON_ALARM",
            Self::DeploymentStopOnRequest => "DEPLOYMENT_STOP_ON_REQUEST",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_render_as_aws_strings() {
        for status in DeploymentStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap_or_default(), status.as_str());
            assert_eq!(DeploymentStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(
            serde_json::to_value(RollbackEvent::DeploymentStopOnAlarm).unwrap_or_default(),
            "DEPLOYMENT_STOP_ON_ALARM"
        );
        assert_eq!(
            serde_json::to_value(LifecycleEventName::AfterAllowTraffic).unwrap_or_default(),
            "AfterAllowTraffic"
        );
        assert_eq!(serde_json::to_value(LifecycleEventStatus::Skipped).unwrap_or_default(), "Skipped");
        assert_eq!(serde_json::to_value(TargetStatus::InProgress).unwrap_or_default(), "InProgress");
    }

    #[test]
    fn finished_states_and_target_states() {
        let finished: Vec<_> = DeploymentStatus::ALL.into_iter().filter(|s| s.is_finished()).collect();
        assert_eq!(finished, [DeploymentStatus::Succeeded, DeploymentStatus::Failed, DeploymentStatus::Stopped]);
        assert_eq!(DeploymentStatus::Baking.target_status(), TargetStatus::InProgress);
        assert_eq!(DeploymentStatus::Stopped.target_status(), TargetStatus::Failed);
    }
}
