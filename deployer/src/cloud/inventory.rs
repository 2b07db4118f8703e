//! What `review` reads of an environment beyond the release's own calls, reduced to
//! what it judges: the workflow's definition, the log groups, the dashboard, the run
//! ledger's table, the workload's roles and the functions' resource policies. The SDK
//! adapter (`sdk/inventory.rs`) and the in-memory cloud both answer in these types.

use serde::Serialize;

/// A Step Functions state machine (DescribeStateMachine).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkflowView {
    pub arn: String,
    /// The Amazon States Language definition, as JSON text.
    pub definition: String,
    pub role_arn: String,
    /// `tracingConfiguration.enabled` (X-Ray).
    pub tracing: bool,
    /// `loggingConfiguration.level`: ALL, ERROR, FATAL, OFF.
    pub logging_level: Option<String>,
}

/// A CloudWatch Logs log group (DescribeLogGroups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogGroupView {
    pub name: String,
    /// None: the events never expire.
    pub retention_days: Option<i32>,
    pub kms_key: Option<String>,
}

/// A DynamoDB table (DescribeTable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableView {
    pub name: String,
    /// The partition key's attribute name.
    pub hash_key: Option<String>,
    /// Encrypted with a KMS key (SSEDescription), not only with DynamoDB's own key.
    pub kms_encrypted: bool,
    /// Billed per request (BillingModeSummary PAY_PER_REQUEST), not provisioned.
    pub on_demand: bool,
}

/// An IAM role with its policies (GetRole, ListRolePolicies, GetRolePolicy,
/// ListAttachedRolePolicies). Policy documents are JSON text, URL-decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleView {
    pub name: String,
    pub arn: String,
    /// The trust policy (AssumeRolePolicyDocument).
    pub trust_policy: String,
    /// Inline policies: (name, document).
    pub inline_policies: Vec<(String, String)>,
    /// ARNs of attached managed policies.
    pub attached_policies: Vec<String>,
}

/// One event of the environment's release log: the verdict of a release, which the
/// dashboard shows as the current release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseLogEvent {
    pub timestamp_ms: u64,
    /// One JSON object.
    pub message: String,
}
