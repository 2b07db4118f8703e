//! The AWS calls the hooks make, behind narrow traits whose methods return
//! `impl Future + Send` (the workspace's one adapter style: the decisions in
//! [`crate::checks`] and [`crate::runtime`] are generic over these traits and run over
//! in-memory fakes in tests), and their SDK adapters, one module per service:
//! CodeDeploy ([`Deployments`]), Lambda ([`Versions`], [`Aliases`]), CloudWatch
//! ([`Alarms`], [`Metrics`]) and Step Functions ([`Executions`]).

mod cloudwatch;
mod codedeploy;
mod error;
mod lambda;
pub mod sdk;
mod stepfunctions;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::SystemTime;

use crate::appspec::LambdaTarget;
use crate::HookStatus;

pub use cloudwatch::{CloudWatchAlarms, CloudWatchMetrics};
pub use codedeploy::{CodeDeployDeployments, TargetError};
pub use error::{AwsError, MayPass, SdkError};
pub use lambda::{LambdaAliases, LambdaVersions};
pub use sdk::SdkClients;
pub use stepfunctions::{execution_arn, StepFunctionsExecutions};

/// How CodeDeploy took the hook's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    Accepted,
    /// The hook execution had already been answered: an async retry of the hook, or an
    /// earlier attempt of this one whose reply was lost after CodeDeploy had taken it.
    AlreadyCompleted,
}

/// CodeDeploy: the deployment's target, and the hook's answer.
pub trait Deployments: Send + Sync {
    /// The function, alias and versions the deployment shifts (the hook event does not
    /// name them).
    fn target(&self, deployment_id: &str) -> impl Future<Output = Result<LambdaTarget, TargetError>> + Send;
    /// PutLifecycleEventHookExecutionStatus, once (the caller retries).
    fn report(
        &self,
        deployment_id: &str,
        hook_execution_id: &str,
        status: HookStatus,
    ) -> impl Future<Output = Result<Reported, AwsError>> + Send;
}

/// The answer of a synchronous invoke.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invocation {
    pub status_code: i32,
    /// `Unhandled` or `Handled` when the function failed.
    pub function_error: Option<String>,
    pub payload: Vec<u8>,
    pub executed_version: Option<String>,
    /// How long the attempt that answered took (None: unknown, count the whole call).
    pub answered_in: Option<std::time::Duration>,
}

/// Lambda: invoke one version of a function directly.
pub trait Versions: Send + Sync {
    /// Invoke (RequestResponse) `function_name` at `qualifier` with `payload`. `None`
    /// when an attempt ran longer than `limit` without an answer (it is abandoned); the
    /// SDK's retries of a throttled or dropped attempt do not count against `limit`.
    fn invoke(
        &self,
        function_name: &str,
        qualifier: &str,
        payload: Vec<u8>,
        limit: std::time::Duration,
    ) -> impl Future<Output = Result<Option<Invocation>, AwsError>> + Send;
}

/// Where an alias sends traffic.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AliasRouting {
    /// The primary version.
    pub version: String,
    /// Additional versions and their weights (0..1) from the alias's RoutingConfig.
    pub additional_weights: BTreeMap<String, f64>,
}

/// Lambda: read an alias.
pub trait Aliases: Send + Sync {
    fn alias(&self, function_name: &str, alias: &str) -> impl Future<Output = Result<AliasRouting, AwsError>> + Send;
}

/// CloudWatch: alarm states.
pub trait Alarms: Send + Sync {
    /// The state (`OK`, `ALARM`, `INSUFFICIENT_DATA`) of each named alarm that exists;
    /// an alarm that does not exist is absent from the map.
    fn states(&self, names: &[String]) -> impl Future<Output = Result<BTreeMap<String, String>, AwsError>> + Send;
}

/// The `AWS/Lambda` metrics the hooks count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaMetric {
    Errors,
    Invocations,
}

impl LambdaMetric {
    pub fn name(self) -> &'static str {
        match self {
            LambdaMetric::Errors => "Errors",
            LambdaMetric::Invocations => "Invocations",
        }
    }
}

/// One metric of one version of a function over a time range. Lambda reports an invoke
/// through the alias under (FunctionName, Resource=`<name>:<alias>`, ExecutedVersion) and
/// an invoke of the version's own ARN, as the workflow's Tasks make, under
/// (FunctionName, Resource=`<name>:<version>`); the version's count is both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionMetricQuery {
    pub metric: LambdaMetric,
    pub function_name: String,
    pub alias: String,
    pub version: String,
    pub start: SystemTime,
    pub end: SystemTime,
    pub period_seconds: i32,
}

impl VersionMetricQuery {
    /// The two dimension sets the version's data points are reported under.
    pub fn dimension_sets(&self) -> [Vec<(&'static str, String)>; 2] {
        let function = &self.function_name;
        [
            vec![
                ("FunctionName", function.clone()),
                ("Resource", format!("{function}:{}", self.alias)),
                ("ExecutedVersion", self.version.clone()),
            ],
            vec![("FunctionName", function.clone()), ("Resource", format!("{function}:{}", self.version))],
        ]
    }
}

/// CloudWatch: metric statistics.
pub trait Metrics: Send + Sync {
    /// The sum of the metric over the query's range, through the alias and the version's
    /// own ARN (0 when there are no data).
    fn version_sum(&self, query: &VersionMetricQuery) -> impl Future<Output = Result<f64, AwsError>> + Send;
}

/// A Step Functions execution's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecutionState {
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, `PENDING_REDRIVE`.
    pub status: String,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// Step Functions: the smoke execution.
pub trait Executions: Send + Sync {
    /// StartExecution; answers the execution ARN. Starting again under the same name
    /// answers the existing execution.
    fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;
    fn describe(&self, execution_arn: &str) -> impl Future<Output = Result<ExecutionState, AwsError>> + Send;
}
