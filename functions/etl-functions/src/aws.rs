//! The AWS calls the functions make, behind narrow traits: an object store (S3), the
//! run ledger (DynamoDB) and alerts (SNS). Errors become typed ETL errors: throttling,
//! timeouts and 5xx are Retryable; a missing bucket or table, or denied access, is not.

use std::future::Future;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use etl_core::EtlError;
use tokio::io::AsyncRead;

use crate::events::Run;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
}

pub type Reader = Box<dyn AsyncRead + Send + Unpin>;

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
    New,
    /// The run exists and is RUNNING or SUCCEEDED: answer it, do not start again.
    Existing(String),
}

pub trait RunLedger: Send + Sync {
    fn start(&self, run: &Run) -> impl Future<Output = Result<Started, EtlError>> + Send;
    fn finish(&self, run: &Run, status: &str, detail: &str) -> impl Future<Output = Result<(), EtlError>> + Send;
}

pub trait Alerts: Send + Sync {
    fn publish(&self, subject: &str, message: &str) -> impl Future<Output = Result<(), EtlError>> + Send;
}

/// Classifies an SDK error for the state machine's Retry and Catch.
pub fn classify<E, R>(what: &str, err: &aws_smithy_runtime_api_shim::SdkError<E, R>) -> EtlError
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    use aws_smithy_runtime_api_shim::SdkError;
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            EtlError::Retryable(format!("{what}: the service did not answer ({err:?}); retrying may succeed"))
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown");
            let message = service.err().message().unwrap_or_default();
            let retryable = matches!(
                code,
                "Throttling"
                    | "ThrottlingException"
                    | "SlowDown"
                    | "RequestLimitExceeded"
                    | "ProvisionedThroughputExceededException"
                    | "InternalError"
                    | "ServiceUnavailable"
                    | "InternalServerError"
            );
            if retryable {
                EtlError::Retryable(format!("{what}: {code}: {message}"))
            } else {
                EtlError::NonRetryable(format!("{what}: {code}: {message}"))
            }
        }
        other => EtlError::NonRetryable(format!("{what}: {other:?}")),
    }
}

/// The SDK's error type, re-exported through one of the service crates.
pub mod aws_smithy_runtime_api_shim {
    pub use aws_sdk_s3::error::SdkError;
}

pub struct S3Store {
    client: aws_sdk_s3::Client,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }
}

impl ObjectStore for S3Store {
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>, EtlError> {
        let mut objects = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(&format!("listing s3://{bucket}/{prefix}"), &e))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    objects.push(ObjectInfo {
                        key: key.to_owned(),
                        size: u64::try_from(object.size().unwrap_or(0)).unwrap_or(0),
                    });
                }
            }
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    async fn open(&self, bucket: &str, key: &str) -> Result<Reader, EtlError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify(&format!("reading s3://{bucket}/{key}"), &e))?;
        Ok(Box::new(out.body.into_async_read()))
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), EtlError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .map_err(|e| classify(&format!("writing s3://{bucket}/{key}"), &e))?;
        Ok(())
    }

    async fn copy(&self, from_bucket: &str, from_key: &str, to_bucket: &str, to_key: &str) -> Result<(), EtlError> {
        self.client
            .copy_object()
            .copy_source(format!("{from_bucket}/{from_key}"))
            .bucket(to_bucket)
            .key(to_key)
            .send()
            .await
            .map_err(|e| {
                classify(&format!("copying s3://{from_bucket}/{from_key} to s3://{to_bucket}/{to_key}"), &e)
            })?;
        Ok(())
    }

    async fn delete(&self, bucket: &str, keys: &[String]) -> Result<(), EtlError> {
        for key in keys {
            self.client
                .delete_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| classify(&format!("deleting s3://{bucket}/{key}"), &e))?;
        }
        Ok(())
    }
}

pub struct DynamoLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoLedger {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self { client, table }
    }
}

fn now_epoch() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Ledger entries expire (TTL) after 400 days.
const TTL_SECS: u64 = 400 * 86_400;

impl RunLedger for DynamoLedger {
    async fn start(&self, run: &Run) -> Result<Started, EtlError> {
        let now = now_epoch();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("run_id", AttributeValue::S(run.run_id.clone()))
            .item("run_date", AttributeValue::S(run.run_date.clone()))
            .item("execution_id", AttributeValue::S(run.execution_id.clone()))
            .item("status", AttributeValue::S("RUNNING".into()))
            .item("started_at", AttributeValue::N(now.to_string()))
            .item("expires_at", AttributeValue::N((now + TTL_SECS).to_string()))
            // A failed run may be started again; a running or finished one may not.
            .condition_expression("attribute_not_exists(run_id) OR #s = :failed")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":failed", AttributeValue::S("FAILED".into()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Started::New),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                let item = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key("run_id", AttributeValue::S(run.run_id.clone()))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| classify(&format!("reading run {} from {}", run.run_id, self.table), &e))?;
                let status = item
                    .item()
                    .and_then(|i| i.get("status"))
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_else(|| "UNKNOWN".into());
                Ok(Started::Existing(status))
            }
            Err(e) => Err(classify(&format!("recording run {} in {}", run.run_id, self.table), &e)),
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

pub struct SnsAlerts {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsAlerts {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: String) -> Self {
        Self { client, topic_arn }
    }
}

impl Alerts for SnsAlerts {
    async fn publish(&self, subject: &str, message: &str) -> Result<(), EtlError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject.chars().take(100).collect::<String>())
            .message(message)
            .send()
            .await
            .map_err(|e| classify(&format!("publishing to {}", self.topic_arn), &e))?;
        Ok(())
    }
}
