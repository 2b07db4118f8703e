//! The release ledger and the release lock of one environment, in the DynamoDB table
//! the traffic-shifting module creates in that environment's account.
//!
//! Why DynamoDB: conditional writes make the lock a single atomic call; the table lives
//! in the account it describes, so the deploy role's permissions name one table there;
//! point-in-time recovery keeps the history. Items:
//! - `pk = "release"`, `sk = <start ms>-<release id>`: one record per deploy, promote or
//!   rollback, the whole record as JSON in `doc` (newest first by `sk`);
//! - `pk = "lock"`, `sk = "lock"`: who holds the environment, since when, until when.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::error::{DeployError, Result};

pub const RECORD_SCHEMA: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Deploy,
    Promote,
    Rollback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    InProgress,
    Succeeded,
    /// Failed and every function is back on its previous version.
    RolledBack,
    /// Failed and the restore could not be confirmed: `status` and `rollback` act on it.
    Failed,
    /// A deployer died mid-release; a later run restored the previous versions.
    Restored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunctionOutcome {
    Pending,
    Skipped,
    Deploying,
    Succeeded,
    /// The first release of a function whose alias was on `$LATEST`: pointed directly.
    Bootstrapped,
    RolledBack,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionRecord {
    pub function_name: String,
    pub previous_version: String,
    pub version: Option<String>,
    pub code_sha256: String,
    pub changed: bool,
    pub deployment_id: Option<String>,
    pub outcome: FunctionOutcome,
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookRecord {
    pub function_name: String,
    pub code_sha256: String,
    pub updated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    pub schema: u32,
    pub record_id: String,
    pub release_id: String,
    pub git_commit: String,
    pub environment: String,
    pub kind: RecordKind,
    pub source_environment: Option<String>,
    pub status: Status,
    pub holder: String,
    pub started_at: String,
    pub started_ms: u64,
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub reason: Option<String>,
    /// For a rollback: the release it rolled back from (never chosen again by default).
    #[serde(default)]
    pub rolled_back_from: Option<String>,
    /// Per artifact name.
    pub functions: BTreeMap<String, FunctionRecord>,
    pub hooks: BTreeMap<String, HookRecord>,
}

impl ReleaseRecord {
    pub fn finished_ms(&self) -> Option<u64> {
        self.duration_ms.map(|d| self.started_ms + d)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LockInfo {
    pub holder: String,
    pub since: String,
    pub expires_s: u64,
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: u64) -> String {
    // Always three digits of milliseconds, so that log lines line up and sort as text.
    let seconds = aws_smithy_types::DateTime::from_secs(i64::try_from(ms / 1000).unwrap_or(i64::MAX));
    match seconds.fmt(aws_smithy_types::date_time::Format::DateTime) {
        Ok(text) => format!("{}.{:03}Z", text.trim_end_matches('Z'), ms % 1000),
        Err(_) => ms.to_string(),
    }
}

/// Who this process is, for the lock: user, host, pid, and the CI run when there is one.
pub fn holder_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|| "unknown-host".into());
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let ci = std::env::var("GITHUB_RUN_ID")
        .map(|id| format!(" (GitHub run {id})"))
        .or_else(|_| std::env::var("CODEBUILD_BUILD_ID").map(|id| format!(" (CodeBuild {id})")))
        .unwrap_or_default();
    format!("{user}@{host}:{}{ci}", std::process::id())
}

/// True when `holder` names a process on this host that no longer exists.
fn holder_died_here(holder: &str) -> bool {
    let mine = holder_id();
    let host_of = |h: &str| h.split('@').nth(1).and_then(|r| r.split(':').next()).map(str::to_owned);
    let pid = holder.split(':').nth(1).and_then(|r| r.split_whitespace().next()).and_then(|p| p.parse::<u32>().ok());
    match (host_of(holder), host_of(&mine), pid) {
        (Some(theirs), Some(ours), Some(pid)) if theirs == ours && pid != std::process::id() => {
            std::path::Path::new("/proc/self").exists() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => false,
    }
}

#[derive(Clone)]
pub struct Ledger {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
    pub environment: String,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

impl Ledger {
    fn error<E>(&self, op: &str, e: aws_sdk_dynamodb::error::SdkError<E>) -> DeployError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    {
        if DeployError::service_code(&e) == Some("ResourceNotFoundException") {
            return DeployError::Infrastructure(format!(
                "the release ledger table {} does not exist in {}\n  fix: apply the environment's Terraform (traffic-shifting module), or correct release_table",
                self.table, self.environment
            ));
        }
        DeployError::cloud(format!("{op} {}", self.table), e)
    }

    pub async fn put(&self, record: &ReleaseRecord) -> Result<()> {
        let doc = serde_json::to_string(record).map_err(|e| DeployError::Other(e.to_string()))?;
        let status =
            serde_json::to_value(record.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s("release"))
            .item("sk", s(&record.record_id))
            .item("release_id", s(&record.release_id))
            .item("status", s(&status))
            .item("doc", s(&doc))
            .send()
            .await
            .map_err(|e| self.error("PutItem", e))?;
        Ok(())
    }

    /// Records newest first; stops after `limit` (None: all).
    pub async fn records(&self, limit: Option<usize>) -> Result<Vec<ReleaseRecord>> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s("release"))
                .scan_index_forward(false)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.error("Query", e))?;
            for item in page.items() {
                if let Some(AttributeValue::S(doc)) = item.get("doc") {
                    let record: ReleaseRecord = serde_json::from_str(doc).map_err(|e| {
                        DeployError::Other(format!(
                            "a record in {} is not a release record ({e}); it was written by another tool",
                            self.table
                        ))
                    })?;
                    out.push(record);
                    if limit.is_some_and(|l| out.len() >= l) {
                        return Ok(out);
                    }
                }
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        // DynamoDB sorts by sk already; sort again so a store without ordering is safe.
        out.sort_by(|a, b| b.record_id.cmp(&a.record_id));
        Ok(out)
    }

    /// The newest release that succeeded (optionally with this release id).
    pub async fn last_succeeded(&self, release_id: Option<&str>) -> Result<Option<ReleaseRecord>> {
        Ok(self
            .records(None)
            .await?
            .into_iter()
            .find(|r| r.status == Status::Succeeded && release_id.is_none_or(|id| r.release_id == id)))
    }

    pub async fn lock_info(&self) -> Result<Option<LockInfo>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s("lock"))
            .key("sk", s("lock"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error("GetItem", e))?;
        Ok(out.item().map(|item| {
            let text = |k: &str| match item.get(k) {
                Some(AttributeValue::S(v)) => v.clone(),
                _ => String::new(),
            };
            let expires_s = match item.get("expires") {
                Some(AttributeValue::N(n)) => n.parse().unwrap_or(0),
                _ => 0,
            };
            LockInfo { holder: text("holder"), since: text("since"), expires_s }
        }))
    }

    /// Takes the environment's lock, or says who holds it. A lock past its expiry, or
    /// held by a process on this host that has died, is taken over.
    pub async fn lock(&self, holder: &str, ttl: Duration) -> Result<()> {
        for _ in 0..3 {
            let now_s = now_ms() / 1000;
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s("lock"))
                .item("sk", s("lock"))
                .item("holder", s(holder))
                .item("since", s(&rfc3339(now_ms())))
                .item("expires", AttributeValue::N((now_s + ttl.as_secs()).to_string()))
                .condition_expression("attribute_not_exists(pk) OR expires < :now OR holder = :me")
                .expression_attribute_values(":now", AttributeValue::N(now_s.to_string()))
                .expression_attribute_values(":me", s(holder))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(e) if DeployError::service_code(&e) == Some("ConditionalCheckFailedException") => {
                    let Some(current) = self.lock_info().await? else { continue };
                    if holder_died_here(&current.holder) {
                        self.unlock(&current.holder).await?;
                        continue;
                    }
                    return Err(DeployError::Locked {
                        environment: self.environment.clone(),
                        holder: current.holder,
                        since: current.since,
                        expires: rfc3339(current.expires_s * 1000),
                    });
                }
                Err(e) => return Err(self.error("PutItem (lock)", e)),
            }
        }
        Err(DeployError::Other(format!(
            "the lock of {} changed hands three times while taking it: try again",
            self.environment
        )))
    }

    /// Extends the lock while a long release runs; fails if someone else took it.
    pub async fn renew(&self, holder: &str, ttl: Duration) -> Result<()> {
        let now_s = now_ms() / 1000;
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s("lock"))
            .key("sk", s("lock"))
            .update_expression("SET expires = :e")
            .condition_expression("holder = :me")
            .expression_attribute_values(":e", AttributeValue::N((now_s + ttl.as_secs()).to_string()))
            .expression_attribute_values(":me", s(holder))
            .send()
            .await
            .map_err(|e| self.error("UpdateItem (lock)", e))?;
        Ok(())
    }

    /// Releases the lock if `holder` still holds it.
    pub async fn unlock(&self, holder: &str) -> Result<()> {
        match self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s("lock"))
            .key("sk", s("lock"))
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", s(holder))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if DeployError::service_code(&e) == Some("ConditionalCheckFailedException") => Ok(()),
            Err(e) => Err(self.error("DeleteItem (lock)", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(1_700_000_000_810), "2023-11-14T22:13:20.810Z");
        assert_eq!(rfc3339(1_700_000_001_000), "2023-11-14T22:13:21.000Z");
    }

    #[test]
    fn only_a_dead_process_on_this_host_is_a_stale_holder() {
        let me = holder_id();
        assert!(!holder_died_here(&me), "this process is alive");
        let host = me.split('@').nth(1).and_then(|r| r.split(':').next()).unwrap().to_owned();
        assert!(holder_died_here(&format!("ci@{host}:{}", u32::MAX - 7)), "no such pid");
        assert!(!holder_died_here(&format!("ci@another-host-x:{}", u32::MAX - 7)), "another host: cannot tell");
        assert!(!holder_died_here("garbage"));
    }
}
