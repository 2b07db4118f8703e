//! The seam between the release logic and AWS: one narrow trait per service, exactly
//! the calls the deployer makes, answered in the types of [`model`].
//!
//! The project's one adapter style (the deployer, the hooks and the functions alike):
//! traits whose methods return `impl Future + Send`, an SDK adapter implementing them
//! ([`sdk`]), and fakes for tests ([`memory`] here); the logic is generic over them.
//! Time spent in the cloud is measured inside the adapters ([`meter`]).

pub mod hook_log;
pub mod iam;
pub mod inventory;
#[cfg(test)]
pub mod memory;
pub mod meter;
pub mod model;
pub mod sdk;

use std::future::Future;
use std::time::Duration;

pub use hook_log::{HookLogs, HookVerdict};
pub use inventory::*;
pub use model::*;

use crate::error::Result;
use crate::ledger::ReleaseRecord;
use crate::release::ZipBytes;

/// Lambda: functions, versions and aliases.
pub trait Functions: Send + Sync {
    fn alias(&self, function: &str, alias: &str) -> impl Future<Output = Result<AliasState>> + Send;
    /// `qualifier` None is `$LATEST`.
    fn configuration(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> impl Future<Output = Result<FunctionState>> + Send;
    /// Uploads new code to `$LATEST`, guarded by the revision the caller read.
    fn update_code(
        &self,
        function: &str,
        zip: ZipBytes,
        revision_id: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Publishes `$LATEST` as a version only if it still holds `code_sha256`.
    fn publish(
        &self,
        function: &str,
        code_sha256: &str,
        revision_id: Option<&str>,
        description: &str,
    ) -> impl Future<Output = Result<Published>> + Send;
    /// Points the alias wholly at `version`, guarded by the revision read before.
    fn point_alias(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        revision_id: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Numbered versions with their CodeSha256, oldest first.
    fn versions(&self, function: &str) -> impl Future<Output = Result<Vec<(u64, String)>>> + Send;
    fn delete_version(&self, function: &str, version: u64) -> impl Future<Output = Result<()>> + Send;
}

/// CodeDeploy: the environment's configs, groups and deployments.
pub trait Deployments: Send + Sync {
    fn check_config(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    fn check_group(&self, application: &str, group: &str) -> impl Future<Output = Result<()>> + Send;
    /// A group's alarms and rollback settings.
    fn group(&self, application: &str, group: &str) -> impl Future<Output = Result<GroupView>> + Send;
    /// Starts a deployment; answers its id.
    fn create(&self, request: &DeploymentRequest) -> impl Future<Output = Result<String>> + Send;
    fn get(&self, id: &str) -> impl Future<Output = Result<DeploymentView>> + Send;
    /// The lifecycle events of a Lambda deployment's target (found through
    /// ListDeploymentTargets: the id format is CodeDeploy's, not ours to assume).
    fn lifecycle(&self, id: &str) -> impl Future<Output = Result<Vec<LifecycleEvent>>> + Send;
    /// Stops a deployment with rollback.
    fn stop(&self, id: &str) -> impl Future<Output = Result<Stop>> + Send;
    /// Deployments of a group that have not finished.
    fn in_flight(&self, application: &str, group: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
}

/// CloudWatch alarms.
pub trait Alarms: Send + Sync {
    /// The named alarms' states; a name CloudWatch does not know is an error, since an
    /// unreadable alarm must not pass as OK.
    fn describe(&self, names: &[String]) -> impl Future<Output = Result<Vec<AlarmView>>> + Send;
    /// The alarm's state changes between two instants (ms since the epoch), oldest first.
    fn alarm_history(
        &self,
        name: &str,
        from_ms: u64,
        to_ms: u64,
    ) -> impl Future<Output = Result<Vec<AlarmChange>>> + Send;
}

/// The environment's release ledger and release lock (DynamoDB).
pub trait Ledger: Send + Sync {
    /// Writes a record (whole; the same record again is a no-op).
    fn put(&self, record: &ReleaseRecord) -> impl Future<Output = Result<()>> + Send;
    /// Records newest first, read consistently; stops after `limit` (None: all).
    fn records(&self, limit: Option<usize>) -> impl Future<Output = Result<Vec<ReleaseRecord>>> + Send;
    fn lock_info(&self) -> impl Future<Output = Result<Option<LockInfo>>> + Send;
    /// One conditional write: takes the lock if it is free, expired or already ours.
    fn try_lock(&self, holder: &str, ttl: Duration) -> impl Future<Output = Result<LockAttempt>> + Send;
    /// Extends the lock if `holder` still holds it.
    fn renew(&self, holder: &str, ttl: Duration) -> impl Future<Output = Result<Renewal>> + Send;
    /// Releases the lock if `holder` still holds it (not holding it is no error).
    fn unlock(&self, holder: &str) -> impl Future<Output = Result<()>> + Send;
    /// Writes the routing record the workflow's executions draw their release from.
    fn put_routing(&self, routing: &Routing) -> impl Future<Output = Result<()>> + Send;
    /// Removes it: every execution invokes the `live` aliases again.
    fn clear_routing(&self) -> impl Future<Output = Result<()>> + Send;
}

/// CloudWatch's per-version Lambda metrics (the step evidence).
pub trait Metrics: Send + Sync {
    /// Invocations, errors and duration percentiles of `function`'s `version` between
    /// two instants (ms since the epoch), over the window and minute by minute (one
    /// read), counted both when invoked through the alias (Resource `<fn>:live`,
    /// ExecutedVersion) and by its own ARN (Resource `<fn>:<version>`).
    fn version_window(
        &self,
        function: &str,
        version: &str,
        from_ms: u64,
        to_ms: u64,
    ) -> impl Future<Output = Result<VersionWindow>> + Send;
}

/// The workflow, for the replay: dry runs, and the raw partitions they read.
pub trait Workflow: Send + Sync {
    /// Starts an execution; answers its ARN (an existing one of that name is answered).
    fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> impl Future<Output = Result<String>> + Send;
    fn execution_state(&self, execution_arn: &str) -> impl Future<Output = Result<ExecutionState>> + Send;
    /// An execution's history, oldest first (every page of GetExecutionHistory).
    fn history(&self, execution_arn: &str) -> impl Future<Output = Result<Vec<HistoryEvent>>> + Send;
    /// The state machine's definition, Amazon States Language as JSON text
    /// (DescribeStateMachine): which state runs which function.
    fn definition(&self, state_machine_arn: &str) -> impl Future<Output = Result<String>> + Send;
    /// The dates (`YYYY-MM-DD`) of a bucket's `dt=` partitions, oldest first.
    fn raw_partitions(&self, bucket: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Writes an object to the raw bucket (the synthetic partition).
    fn put_raw(&self, bucket: &str, key: &str, body: Vec<u8>) -> impl Future<Output = Result<()>> + Send;
    /// Every key under `prefix` (the shadow diff's outputs), sorted.
    fn list_keys(&self, bucket: &str, prefix: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// An object's bytes; None when there is no such key.
    fn get_object(&self, bucket: &str, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;
}

/// IAM's policy simulator, for `doctor`.
pub trait Permissions: Send + Sync {
    /// Whether `principal` (a role ARN) may make each of `actions` on each of
    /// `resources` (`*` for actions that support no resource-level permission), with
    /// `context`'s condition keys set as the calls set them.
    fn simulate(
        &self,
        principal: &str,
        actions: &[String],
        resources: &[String],
        context: &[(&str, &str)],
    ) -> impl Future<Output = Result<Vec<Decision>>> + Send;
}

/// What `review` reads of the workload beyond the release's own calls. Read only; a
/// resource that does not exist answers None (or an empty list) where the review can
/// say so, an error where it cannot judge without it.
pub trait Inventory: Send + Sync {
    /// The state machine `arn` (DescribeStateMachine).
    fn workflow(&self, arn: &str) -> impl Future<Output = Result<Option<WorkflowView>>> + Send;
    /// Log groups whose name starts with `prefix` (DescribeLogGroups).
    fn log_groups(&self, prefix: &str) -> impl Future<Output = Result<Vec<LogGroupView>>> + Send;
    /// A CloudWatch dashboard's body, JSON text (GetDashboard).
    fn dashboard(&self, name: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    /// A DynamoDB table (DescribeTable).
    fn table(&self, name: &str) -> impl Future<Output = Result<Option<TableView>>> + Send;
    /// A role with its trust policy and policies.
    fn role(&self, name: &str) -> impl Future<Output = Result<Option<RoleView>>> + Send;
    /// A function's resource-based policy, JSON text (GetPolicy); None when it has none.
    fn function_policy(&self, function: &str) -> impl Future<Output = Result<Option<String>>> + Send;
}

/// The environment's release log (CloudWatch Logs), which its dashboard shows: one
/// event per finished release.
pub trait ReleaseLog: Send + Sync {
    fn append(&self, group: &str, stream: &str, event: &ReleaseLogEvent) -> impl Future<Output = Result<()>> + Send;
}

/// Waiting between polls: time the release spends on the cloud's pace, counted as
/// cloud wait, not as the deployer's own.
pub trait Pause: Send + Sync {
    fn pause(&self, d: Duration) -> impl Future<Output = ()> + Send;
}

/// Everything the release logic needs from one environment's account.
pub trait Cloud:
    Functions
    + Deployments
    + Alarms
    + Ledger
    + Permissions
    + Metrics
    + Workflow
    + HookLogs
    + Pause
    + Clone
    + Send
    + Sync
    + 'static
{
}
impl<T> Cloud for T where
    T: Functions
        + Deployments
        + Alarms
        + Ledger
        + Permissions
        + Metrics
        + Workflow
        + HookLogs
        + Pause
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// The tooling account's artifact store: releases kept by id, so promotion copies
/// exactly the bytes that passed.
pub trait ArtifactStore: Clone + Send + Sync + 'static {
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool>> + Send;
    fn put(&self, key: &str, bytes: ZipBytes) -> impl Future<Output = Result<()>> + Send;
    fn get(&self, key: &str) -> impl Future<Output = Result<ZipBytes>> + Send;
}

/// Where a release's files live in the artifact store.
pub fn artifact_key(release_id: &str, file: &str) -> String {
    format!("releases/{release_id}/{file}")
}
