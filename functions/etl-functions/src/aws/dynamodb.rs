//! [`RunLedger`] over DynamoDB: one item per run, keyed by `run_id`.
//!
//! Starting a run is the ETL's one write that is not idempotent: a conditional PutItem
//! (`attribute_not_exists(run_id) OR status = FAILED`). If its answer is lost after it
//! applied (a dropped connection, an answer cut short, a 500, which DynamoDB documents
//! as "the request may or may not have succeeded"), the SDK's retry, or Step Functions'
//! retry of Extract, finds the condition failing on the item the first attempt wrote,
//! and a plain reading would answer "already started" and curate nothing. So each start
//! writes a fresh `start_token` beside the `execution_id`, and any doubt is settled by
//! a strongly consistent read of the item:
//! - our token: our own write applied (its answer was lost): the run is ours, new;
//! - our execution, RUNNING: an earlier attempt of this execution recorded it: resumed;
//! - anything else: another execution's run: answered as it stands.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use etl_core::EtlError;

use super::{classify, RunLedger, Started};
use crate::events::{Run, MANUAL_EXECUTION};

pub struct DynamoLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoLedger {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self { client, table }
    }

    /// The run's item, read strongly consistent (a decision rests on it).
    async fn read(&self, run: &Run) -> Result<Option<HashMap<String, AttributeValue>>, EtlError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("run_id", AttributeValue::S(run.run_id.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(&format!("reading run {} from {}", run.run_id, self.table), &e))?;
        Ok(out.item)
    }

    /// After the condition failed: whose is the item?
    async fn settle(&self, run: &Run, token: &str) -> Result<Started, EtlError> {
        let Some(item) = self.read(run).await? else {
            // The item the condition saw is gone (expired) before the read: ask again.
            return Err(EtlError::Retryable(format!(
                "recording run {} in {}: the condition failed on an item that is no longer there",
                run.run_id, self.table
            )));
        };
        let field = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str);
        let status = field("status").unwrap_or("UNKNOWN");
        if field("start_token") == Some(token) {
            tracing::warn!(run_id = %run.run_id, "the run's start applied but its answer was lost: the run is ours");
            return Ok(Started::New);
        }
        let same_execution = run.execution_id != MANUAL_EXECUTION && field("execution_id") == Some(&run.execution_id);
        if same_execution && status == "RUNNING" {
            tracing::warn!(run_id = %run.run_id, execution_id = %run.execution_id,
                "an earlier attempt of this execution recorded the run: resuming it");
            return Ok(Started::Resumed);
        }
        Ok(Started::Existing(status.to_owned()))
    }
}

fn now_epoch() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A token unique to one start call.
fn start_token() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:016x}-{:x}", fastrand::u64(..), nanos)
}

/// Ledger entries expire (TTL) after 400 days.
const TTL_SECS: u64 = 400 * 86_400;

impl RunLedger for DynamoLedger {
    async fn start(&self, run: &Run) -> Result<Started, EtlError> {
        let now = now_epoch();
        let token = start_token();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("run_id", AttributeValue::S(run.run_id.clone()))
            .item("run_date", AttributeValue::S(run.run_date.clone()))
            .item("execution_id", AttributeValue::S(run.execution_id.clone()))
            .item("start_token", AttributeValue::S(token.clone()))
            .item("status", AttributeValue::S("RUNNING".into()))
            .item("started_at", AttributeValue::N(now.to_string()))
            .item("expires_at", AttributeValue::N((now + TTL_SECS).to_string()))
            // A failed run may be started again; a running or finished one may not.
            .condition_expression("attribute_not_exists(run_id) OR #s = :failed")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":failed", AttributeValue::S("FAILED".into()))
            .send()
            .await;
        let err = match put {
            Ok(_) => return Ok(Started::New),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                return self.settle(run, &token).await
            }
            Err(e) => classify(&format!("recording run {} in {}", run.run_id, self.table), &e),
        };
        if !err.is_retryable() {
            return Err(err);
        }
        // The write may have applied with its answer lost: read it back rather than
        // leave the run recorded and answer a failure.
        match self.read(run).await {
            Ok(Some(item)) if item.get("start_token").and_then(|v| v.as_s().ok()) == Some(&token) => {
                tracing::warn!(run_id = %run.run_id, error = %err, "the run's start applied but its answer was lost");
                Ok(Started::New)
            }
            _ => Err(err),
        }
    }

    async fn finish(&self, run: &Run, status: &str, detail: &str) -> Result<(), EtlError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("run_id", AttributeValue::S(run.run_id.clone()))
            .update_expression("SET #s = :status, finished_at = :now, detail = :detail")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":status", AttributeValue::S(status.to_owned()))
            .expression_attribute_values(":now", AttributeValue::N(now_epoch().to_string()))
            .expression_attribute_values(":detail", AttributeValue::S(detail.to_owned()))
            .send()
            .await
            .map_err(|e| classify(&format!("marking run {} {status} in {}", run.run_id, self.table), &e))?;
        Ok(())
    }
}
