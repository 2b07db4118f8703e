//! The AWS calls the hooks make, behind narrow object-safe traits (so the decisions in
//! [`crate::checks`] run over `&dyn` fakes in tests), and their SDK implementations:
//! CodeDeploy ([`Deployments`]), Lambda ([`Versions`], [`Aliases`]), CloudWatch
//! ([`Alarms`], [`Metrics`]) and Step Functions ([`Executions`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use thiserror::Error;

use crate::appspec::{self, AppSpecError, LambdaTarget};
use crate::HookStatus;

/// The future an adapter returns: boxed, so the traits can be used as `&dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The SDK's error type (the same in every service crate).
pub use aws_sdk_codedeploy::error::SdkError;

/// A failed AWS call: what was being done, and the service's code and message (or why
/// there was no answer).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{action}: {detail}")]
pub struct AwsError {
    pub action: String,
    pub detail: String,
}

impl AwsError {
    pub fn new(action: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { action: action.into(), detail: detail.into() }
    }

    /// From an SDK error: `Code: message` for a service error, the full chain otherwise.
    pub fn from_sdk<E, R>(action: impl Into<String>, err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let detail = match err.as_service_error() {
            Some(service) => {
                format!("{}: {}", service.code().unwrap_or("Unknown"), service.message().unwrap_or("no message"))
            }
            None => error_chain(err),
        };
        Self::new(action, detail)
    }
}

/// An error and its sources, `: `-separated (no Debug dumps in reasons).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Why a deployment's target could not be learnt.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TargetError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("deployment {deployment_id} has no inline AppSpec (revision type {revision_type}); a Lambda deployment sends AppSpecContent")]
    NoAppSpec { deployment_id: String, revision_type: String },
    #[error("deployment {deployment_id}: {source}")]
    AppSpec { deployment_id: String, source: AppSpecError },
}

/// How CodeDeploy took the hook's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    Accepted,
    /// The hook execution had already been answered (an async retry of the hook).
    AlreadyCompleted,
}

/// CodeDeploy: the deployment's target, and the hook's answer.
pub trait Deployments: Send + Sync {
    /// GetDeployment, then the AppSpec's Lambda resource.
    fn target<'a>(&'a self, deployment_id: &'a str) -> BoxFuture<'a, Result<LambdaTarget, TargetError>>;
    /// PutLifecycleEventHookExecutionStatus.
    fn report<'a>(
        &'a self,
        deployment_id: &'a str,
        hook_execution_id: &'a str,
        status: HookStatus,
    ) -> BoxFuture<'a, Result<Reported, AwsError>>;
}

/// The answer of a synchronous invoke.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invocation {
    pub status_code: i32,
    /// `Unhandled` or `Handled` when the function failed.
    pub function_error: Option<String>,
    pub payload: Vec<u8>,
    pub executed_version: Option<String>,
}

/// Lambda: invoke one version of a function directly.
pub trait Versions: Send + Sync {
    /// Invoke (RequestResponse) `function_name` at `qualifier` with `payload`.
    fn invoke<'a>(
        &'a self,
        function_name: &'a str,
        qualifier: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Invocation, AwsError>>;
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
    fn alias<'a>(&'a self, function_name: &'a str, alias: &'a str) -> BoxFuture<'a, Result<AliasRouting, AwsError>>;
}

/// CloudWatch: alarm states.
pub trait Alarms: Send + Sync {
    /// The state (`OK`, `ALARM`, `INSUFFICIENT_DATA`) of each named alarm that exists;
    /// an alarm that does not exist is absent from the map.
    fn states<'a>(&'a self, names: &'a [String]) -> BoxFuture<'a, Result<BTreeMap<String, String>, AwsError>>;
}

/// The `Errors` of one version of a function behind an alias, over a time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorQuery {
    pub function_name: String,
    /// `<name>:<alias>`
    pub resource: String,
    pub executed_version: String,
    pub start: SystemTime,
    pub end: SystemTime,
    pub period_seconds: i32,
}

/// CloudWatch: metric statistics.
pub trait Metrics: Send + Sync {
    /// The sum of `AWS/Lambda` `Errors` over the query's range (0 when there are no data).
    fn error_sum<'a>(&'a self, query: &'a ErrorQuery) -> BoxFuture<'a, Result<f64, AwsError>>;
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
    fn start<'a>(
        &'a self,
        state_machine_arn: &'a str,
        name: &'a str,
        input: &'a str,
    ) -> BoxFuture<'a, Result<String, AwsError>>;
    fn describe<'a>(&'a self, execution_arn: &'a str) -> BoxFuture<'a, Result<ExecutionState, AwsError>>;
}

/// [`Deployments`] over the CodeDeploy SDK client.
#[derive(Debug, Clone)]
pub struct CodeDeployDeployments {
    client: aws_sdk_codedeploy::Client,
}

impl CodeDeployDeployments {
    pub fn new(client: aws_sdk_codedeploy::Client) -> Self {
        Self { client }
    }
}

impl Deployments for CodeDeployDeployments {
    fn target<'a>(&'a self, deployment_id: &'a str) -> BoxFuture<'a, Result<LambdaTarget, TargetError>> {
        Box::pin(async move {
            let out = self
                .client
                .get_deployment()
                .deployment_id(deployment_id)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(format!("reading deployment {deployment_id}"), &e))?;
            let revision = out.deployment_info().and_then(|d| d.revision());
            let content = revision
                .and_then(|r| r.app_spec_content().and_then(|c| c.content()).or(r.string().and_then(|s| s.content())))
                .filter(|c| !c.trim().is_empty());
            let Some(content) = content else {
                return Err(TargetError::NoAppSpec {
                    deployment_id: deployment_id.to_owned(),
                    revision_type: revision
                        .and_then(|r| r.revision_type())
                        .map_or_else(|| "none".to_owned(), |t| t.as_str().to_owned()),
                });
            };
            appspec::parse(content)
                .map(|spec| spec.target)
                .map_err(|source| TargetError::AppSpec { deployment_id: deployment_id.to_owned(), source })
        })
    }

    fn report<'a>(
        &'a self,
        deployment_id: &'a str,
        hook_execution_id: &'a str,
        status: HookStatus,
    ) -> BoxFuture<'a, Result<Reported, AwsError>> {
        Box::pin(async move {
            let answer = match status {
                HookStatus::Succeeded => aws_sdk_codedeploy::types::LifecycleEventStatus::Succeeded,
                HookStatus::Failed => aws_sdk_codedeploy::types::LifecycleEventStatus::Failed,
            };
            match self
                .client
                .put_lifecycle_event_hook_execution_status()
                .deployment_id(deployment_id)
                .lifecycle_event_hook_execution_id(hook_execution_id)
                .status(answer)
                .send()
                .await
            {
                Ok(_) => Ok(Reported::Accepted),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_lifecycle_event_already_completed_exception()) => {
                    Ok(Reported::AlreadyCompleted)
                }
                Err(e) => Err(AwsError::from_sdk(
                    format!("reporting {status} for hook execution {hook_execution_id} of deployment {deployment_id}"),
                    &e,
                )),
            }
        })
    }
}

/// [`Versions`] over the Lambda SDK client.
#[derive(Debug, Clone)]
pub struct LambdaVersions {
    client: aws_sdk_lambda::Client,
}

impl LambdaVersions {
    pub fn new(client: aws_sdk_lambda::Client) -> Self {
        Self { client }
    }
}

impl Versions for LambdaVersions {
    fn invoke<'a>(
        &'a self,
        function_name: &'a str,
        qualifier: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Invocation, AwsError>> {
        Box::pin(async move {
            let out = self
                .client
                .invoke()
                .function_name(function_name)
                .qualifier(qualifier)
                .invocation_type(aws_sdk_lambda::types::InvocationType::RequestResponse)
                .payload(aws_smithy_types::Blob::new(payload))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(format!("invoking {function_name}:{qualifier}"), &e))?;
            Ok(Invocation {
                status_code: out.status_code(),
                function_error: out.function_error().map(str::to_owned),
                payload: out.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default(),
                executed_version: out.executed_version().map(str::to_owned),
            })
        })
    }
}

/// [`Aliases`] over the Lambda SDK client.
#[derive(Debug, Clone)]
pub struct LambdaAliases {
    client: aws_sdk_lambda::Client,
}

impl LambdaAliases {
    pub fn new(client: aws_sdk_lambda::Client) -> Self {
        Self { client }
    }
}

impl Aliases for LambdaAliases {
    fn alias<'a>(&'a self, function_name: &'a str, alias: &'a str) -> BoxFuture<'a, Result<AliasRouting, AwsError>> {
        Box::pin(async move {
            let out = self
                .client
                .get_alias()
                .function_name(function_name)
                .name(alias)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(format!("reading alias {function_name}:{alias}"), &e))?;
            Ok(AliasRouting {
                version: out.function_version().unwrap_or_default().to_owned(),
                additional_weights: out
                    .routing_config()
                    .and_then(|r| r.additional_version_weights())
                    .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
                    .unwrap_or_default(),
            })
        })
    }
}

/// DescribeAlarms takes at most 100 names per call.
const ALARM_NAMES_PER_CALL: usize = 100;

/// [`Alarms`] over the CloudWatch SDK client (metric and composite alarms).
#[derive(Debug, Clone)]
pub struct CloudWatchAlarms {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchAlarms {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

impl Alarms for CloudWatchAlarms {
    fn states<'a>(&'a self, names: &'a [String]) -> BoxFuture<'a, Result<BTreeMap<String, String>, AwsError>> {
        Box::pin(async move {
            use aws_sdk_cloudwatch::types::AlarmType;
            let mut states = BTreeMap::new();
            // No names would ask for every alarm in the account: ask nothing.
            for chunk in names.chunks(ALARM_NAMES_PER_CALL) {
                let mut pages = self
                    .client
                    .describe_alarms()
                    .set_alarm_names(Some(chunk.to_vec()))
                    .alarm_types(AlarmType::MetricAlarm)
                    .alarm_types(AlarmType::CompositeAlarm)
                    .max_records(100)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| AwsError::from_sdk(format!("describing alarms {chunk:?}"), &e))?;
                    let metric = page.metric_alarms().iter().map(|a| (a.alarm_name(), a.state_value()));
                    let composite = page.composite_alarms().iter().map(|a| (a.alarm_name(), a.state_value()));
                    for (name, state) in metric.chain(composite) {
                        if let Some(name) = name {
                            states.insert(name.to_owned(), state.map_or("UNKNOWN", |s| s.as_str()).to_owned());
                        }
                    }
                }
            }
            Ok(states)
        })
    }
}

/// [`Metrics`] over the CloudWatch SDK client.
#[derive(Debug, Clone)]
pub struct CloudWatchMetrics {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchMetrics {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

impl Metrics for CloudWatchMetrics {
    fn error_sum<'a>(&'a self, query: &'a ErrorQuery) -> BoxFuture<'a, Result<f64, AwsError>> {
        Box::pin(async move {
            use aws_sdk_cloudwatch::types::{Dimension, Statistic};
            let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
            let out = self
                .client
                .get_metric_statistics()
                .namespace("AWS/Lambda")
                .metric_name("Errors")
                .dimensions(dimension("FunctionName", &query.function_name))
                .dimensions(dimension("Resource", &query.resource))
                .dimensions(dimension("ExecutedVersion", &query.executed_version))
                .start_time(query.start.into())
                .end_time(query.end.into())
                .period(query.period_seconds)
                .statistics(Statistic::Sum)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(
                        format!("reading the Errors of {} version {}", query.resource, query.executed_version),
                        &e,
                    )
                })?;
            Ok(out.datapoints().iter().filter_map(|d| d.sum()).sum())
        })
    }
}

/// [`Executions`] over the Step Functions SDK client.
#[derive(Debug, Clone)]
pub struct StepFunctionsExecutions {
    client: aws_sdk_sfn::Client,
}

impl StepFunctionsExecutions {
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        Self { client }
    }
}

/// The ARN an execution named `name` of `state_machine_arn` has.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!("{}:{name}", state_machine_arn.replacen(":stateMachine:", ":execution:", 1))
}

impl Executions for StepFunctionsExecutions {
    fn start<'a>(
        &'a self,
        state_machine_arn: &'a str,
        name: &'a str,
        input: &'a str,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        Box::pin(async move {
            match self
                .client
                .start_execution()
                .state_machine_arn(state_machine_arn)
                .name(name)
                .input(input)
                .send()
                .await
            {
                Ok(out) => Ok(out.execution_arn().to_owned()),
                // A retried hook finds its own execution (the name is unique per deployment).
                Err(e) if e.as_service_error().is_some_and(|s| s.is_execution_already_exists()) => {
                    Ok(execution_arn(state_machine_arn, name))
                }
                Err(e) => Err(AwsError::from_sdk(format!("starting execution {name} of {state_machine_arn}"), &e)),
            }
        })
    }

    fn describe<'a>(&'a self, execution_arn: &'a str) -> BoxFuture<'a, Result<ExecutionState, AwsError>> {
        Box::pin(async move {
            let out = self
                .client
                .describe_execution()
                .execution_arn(execution_arn)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(format!("describing execution {execution_arn}"), &e))?;
            Ok(ExecutionState {
                status: out.status().as_str().to_owned(),
                error: out.error().map(str::to_owned),
                cause: out.cause().map(str::to_owned),
            })
        })
    }
}

/// The SDK implementations of every trait, from one shared SDK configuration.
#[derive(Debug, Clone)]
pub struct SdkClients {
    pub deployments: CodeDeployDeployments,
    pub versions: LambdaVersions,
    pub aliases: LambdaAliases,
    pub alarms: CloudWatchAlarms,
    pub metrics: CloudWatchMetrics,
    pub executions: StepFunctionsExecutions,
}

impl SdkClients {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        let lambda = aws_sdk_lambda::Client::new(config);
        let cloudwatch = aws_sdk_cloudwatch::Client::new(config);
        Self {
            deployments: CodeDeployDeployments::new(aws_sdk_codedeploy::Client::new(config)),
            versions: LambdaVersions::new(lambda.clone()),
            aliases: LambdaAliases::new(lambda),
            alarms: CloudWatchAlarms::new(cloudwatch.clone()),
            metrics: CloudWatchMetrics::new(cloudwatch),
            executions: StepFunctionsExecutions::new(aws_sdk_sfn::Client::new(config)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn execution_arns_follow_the_state_machine() {
        assert_eq!(
            super::execution_arn("arn:aws:states:us-east-1:111111111111:stateMachine:etl-dev", "hook-smoke-d-ABC"),
            "arn:aws:states:us-east-1:111111111111:execution:etl-dev:hook-smoke-d-ABC"
        );
    }
}
