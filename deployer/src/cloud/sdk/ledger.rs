//! [`Ledger`] over DynamoDB: the release records and the lock, in the table the
//! traffic-shifting module creates in the environment's account (why DynamoDB: see
//! [`crate::ledger`]). Items:
//! - `pk = "release"`, `sk = <start ms>-<release id>`: one record per deploy, promote or
//!   rollback, the whole record as JSON in `doc` (newest first by `sk`);
//! - `pk = "lock"`, `sk = "lock"`: who holds the environment, since when, until when.
//!
//! Every read is strongly consistent: restore, promotion and the lock decide on them.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;

use super::failure::{send, Failed};
use super::SdkCloud;
use crate::cloud::{Ledger, LockAttempt, LockInfo, Renewal, Routing};
use crate::error::{DeployError, Result};
use crate::ledger::{now_ms, rfc3339, ReleaseRecord};

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

impl SdkCloud {
    fn ledger_error<E>(&self, f: Failed<E>) -> DeployError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if f.code() == Some("ResourceNotFoundException") {
            return DeployError::infrastructure(
                format!("the release ledger table {} does not exist in {}", self.table, self.environment),
                "apply the environment's Terraform (traffic-shifting module), or correct release_table",
            );
        }
        f.into_error()
    }
}

impl Ledger for SdkCloud {
    async fn put(&self, record: &ReleaseRecord) -> Result<()> {
        let doc =
            serde_json::to_string(record).map_err(|e| DeployError::internal(format!("encoding a record: {e}")))?;
        send!(
            self.ctx,
            format!("PutItem {} (record {})", self.table, record.record_id),
            self.dynamodb
                .put_item()
                .table_name(&self.table)
                .item("pk", s("release"))
                .item("sk", s(&record.record_id))
                .item("release_id", s(&record.release_id))
                .item("status", s(record.status.as_str()))
                .item("doc", s(&doc))
        )
        .map_err(|f| self.ledger_error(f))?;
        Ok(())
    }

    async fn records(&self, limit: Option<usize>) -> Result<Vec<ReleaseRecord>> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = send!(
                self.ctx,
                format!("Query {}", self.table),
                self.dynamodb
                    .query()
                    .table_name(&self.table)
                    .consistent_read(true)
                    .key_condition_expression("pk = :pk")
                    .expression_attribute_values(":pk", s("release"))
                    .scan_index_forward(false)
                    .set_exclusive_start_key(start)
            )
            .map_err(|f| self.ledger_error(f))?;
            for item in page.items() {
                if let Some(AttributeValue::S(doc)) = item.get("doc") {
                    let record: ReleaseRecord = serde_json::from_str(doc).map_err(|e| DeployError::Internal {
                        problem: format!("a record in {} is not a release record ({e})", self.table),
                        fix: "the table is the deployer's own: remove items another tool wrote".into(),
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

    async fn lock_info(&self) -> Result<Option<LockInfo>> {
        let out = send!(
            self.ctx,
            format!("GetItem {} (lock)", self.table),
            self.dynamodb
                .get_item()
                .table_name(&self.table)
                .key("pk", s("lock"))
                .key("sk", s("lock"))
                .consistent_read(true)
        )
        .map_err(|f| self.ledger_error(f))?;
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

    async fn try_lock(&self, holder: &str, ttl: Duration) -> Result<LockAttempt> {
        let now_s = now_ms() / 1000;
        // `holder = :me` makes a retry of a write whose answer was lost succeed.
        let written = send!(
            self.ctx,
            format!("PutItem {} (lock)", self.table),
            self.dynamodb
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
        );
        match written {
            Ok(_) => Ok(LockAttempt::Taken),
            Err(f) if f.code() == Some(CONDITION_FAILED) => {
                Ok(self.lock_info().await?.map_or(LockAttempt::Contended, LockAttempt::Held))
            }
            Err(f) => Err(self.ledger_error(f)),
        }
    }

    async fn renew(&self, holder: &str, ttl: Duration) -> Result<Renewal> {
        let now_s = now_ms() / 1000;
        let updated = send!(
            self.ctx,
            format!("UpdateItem {} (lock)", self.table),
            self.dynamodb
                .update_item()
                .table_name(&self.table)
                .key("pk", s("lock"))
                .key("sk", s("lock"))
                .update_expression("SET expires = :e")
                .condition_expression("holder = :me")
                .expression_attribute_values(":e", AttributeValue::N((now_s + ttl.as_secs()).to_string()))
                .expression_attribute_values(":me", s(holder))
        );
        match updated {
            Ok(_) => Ok(Renewal::Renewed),
            Err(f) if f.code() == Some(CONDITION_FAILED) => Ok(Renewal::Lost),
            Err(f) => Err(self.ledger_error(f)),
        }
    }

    async fn put_routing(&self, routing: &Routing) -> Result<()> {
        let versions = |m: &std::collections::BTreeMap<String, String>| {
            AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), s(v))).collect())
        };
        send!(
            self.ctx,
            format!("PutItem {} (routing)", self.table),
            self.dynamodb
                .put_item()
                .table_name(&self.table)
                .item("pk", s("routing"))
                .item("sk", s("routing"))
                .item("release_id", s(&routing.release_id))
                .item("record_id", s(&routing.record_id))
                .item("weight", AttributeValue::N(routing.weight_per_mille.to_string()))
                .item("old", versions(&routing.old))
                .item("new", versions(&routing.new))
        )
        .map_err(|f| self.ledger_error(f))?;
        Ok(())
    }

    async fn clear_routing(&self) -> Result<()> {
        send!(
            self.ctx,
            format!("DeleteItem {} (routing)", self.table),
            self.dynamodb.delete_item().table_name(&self.table).key("pk", s("routing")).key("sk", s("routing"))
        )
        .map_err(|f| self.ledger_error(f))?;
        Ok(())
    }

    async fn unlock(&self, holder: &str) -> Result<()> {
        let deleted = send!(
            self.ctx,
            format!("DeleteItem {} (lock)", self.table),
            self.dynamodb
                .delete_item()
                .table_name(&self.table)
                .key("pk", s("lock"))
                .key("sk", s("lock"))
                .condition_expression("holder = :me")
                .expression_attribute_values(":me", s(holder))
        );
        match deleted {
            // Not ours (any more) is what unlocking wants too: a retried delete whose
            // first answer was lost lands here.
            Ok(_) => Ok(()),
            Err(f) if f.code() == Some(CONDITION_FAILED) => Ok(()),
            Err(f) => Err(self.ledger_error(f)),
        }
    }
}
