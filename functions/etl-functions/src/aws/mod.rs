//! The AWS calls the functions make, behind narrow traits whose methods return
//! `impl Future + Send` (the handlers are generic over them and run over fakes in
//! tests): an object store (S3), the run ledger (DynamoDB) and alerts (SNS); their SDK
//! adapters, one module per service; the classification of SDK errors into the typed
//! errors the state machine's Retry and Catch match; and the SDK configuration.

mod dynamodb;
mod errors;
mod s3;
pub mod sdk;
mod sns;

use std::future::Future;

use etl_core::EtlError;
use tokio::io::AsyncRead;

use crate::events::Run;

pub use dynamodb::DynamoLedger;
pub use errors::{classify, SdkError};
pub use s3::S3Store;
pub use sns::SnsAlerts;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
}

pub type Reader = Box<dyn AsyncRead + Send + Unpin>;

/// Every write is idempotent: the same key with the same bytes, a copy to the same key,
/// a delete of a key that may be gone already. A write retried after a lost reply
/// leaves what one write would.
pub trait ObjectStore: Send + Sync {
    fn list(&self, bucket: &str, prefix: &str) -> impl Future<Output = Result<Vec<ObjectInfo>, EtlError>> + Send;
    fn open(&self, bucket: &str, key: &str) -> impl Future<Output = Result<Reader, EtlError>> + Send;
    fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> impl Future<Output = Result<(), EtlError>> + Send;
    fn copy(
        &self,
        from_bucket: &str,
        from_key: &str,
        to_bucket: &str,
        to_key: &str,
    ) -> impl Future<Output = Result<(), EtlError>> + Send;
    fn delete(&self, bucket: &str, keys: &[String]) -> impl Future<Output = Result<(), EtlError>> + Send;
}

/// What the ledger knew of a run when asked to start it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// The run was recorded as RUNNING by this call.
    New,
    /// The run is RUNNING under this very execution: an earlier attempt recorded it
    /// (Step Functions retried Extract, or a reply was lost after the write applied).
    /// Carry on as if new: every key the run writes is deterministic.
    Resumed,
    /// The run exists under another execution and is RUNNING or SUCCEEDED: answer it,
    /// do not start again.
    Existing(String),
}

pub trait RunLedger: Send + Sync {
    fn start(&self, run: &Run) -> impl Future<Output = Result<Started, EtlError>> + Send;
    /// Sets the run's final status (idempotent: the same status again changes nothing).
    fn finish(&self, run: &Run, status: &str, detail: &str) -> impl Future<Output = Result<(), EtlError>> + Send;
}

pub trait Alerts: Send + Sync {
    /// Publishes once per call; a retry after a lost reply may publish twice (SNS
    /// standard topics deliver at least once anyway).
    fn publish(&self, subject: &str, message: &str) -> impl Future<Output = Result<(), EtlError>> + Send;
}
