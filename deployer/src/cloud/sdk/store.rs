//! [`ArtifactStore`] over S3: the tooling account's artifact bucket, reached with the
//! caller's own (tooling) credentials.

use super::failure::{send, Failed};
use super::Context;
use crate::cloud::ArtifactStore;
use crate::error::{DeployError, RefusalKind, Result};
use crate::release::ZipBytes;

#[derive(Debug, Clone)]
pub struct S3Store {
    ctx: Context,
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    pub fn new(ctx: Context, client: aws_sdk_s3::Client, bucket: &str) -> Self {
        Self { ctx, client, bucket: bucket.to_owned() }
    }

    fn error<E>(&self, f: Failed<E>) -> DeployError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if f.code() == Some("NoSuchBucket") {
            return DeployError::infrastructure(
                format!("artifact bucket {} does not exist", self.bucket),
                "apply the tooling account's Terraform, or correct artifact_bucket",
            );
        }
        f.into_error()
    }
}

impl ArtifactStore for S3Store {
    async fn exists(&self, key: &str) -> Result<bool> {
        match send!(
            self.ctx,
            format!("HeadObject s3://{}/{key}", self.bucket),
            self.client.head_object().bucket(&self.bucket).key(key)
        ) {
            Ok(_) => Ok(true),
            Err(f) if f.err.as_service_error().is_some_and(|s| s.is_not_found()) || f.http_status() == Some(404) => {
                Ok(false)
            }
            Err(f) => Err(self.error(f)),
        }
    }

    async fn put(&self, key: &str, bytes: ZipBytes) -> Result<()> {
        // The bucket's default encryption (the artifact store's CMK) applies. Keys are
        // per release and content-addressed by the release id, so a repeated put (a
        // retry after a lost answer) writes the same bytes again.
        send!(
            self.ctx,
            format!("PutObject s3://{}/{key}", self.bucket),
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .body(aws_sdk_s3::primitives::ByteStream::from(bytes))
        )
        .map_err(|f| self.error(f))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<ZipBytes> {
        let out = send!(
            self.ctx,
            format!("GetObject s3://{}/{key}", self.bucket),
            self.client.get_object().bucket(&self.bucket).key(key)
        )
        .map_err(|f| {
            if f.code() == Some("NoSuchKey") {
                DeployError::refused(
                    RefusalKind::StoredArtifact,
                    format!(
                        "s3://{}/{key} is missing: the release's artifacts are not in the artifact store",
                        self.bucket
                    ),
                    "deploy the release to the first environment again, which uploads them",
                )
            } else {
                self.error(f)
            }
        })?;
        let body = self.ctx.meter.time(out.body.collect()).await.map_err(|e| DeployError::Cloud {
            failure: Box::new(crate::error::CloudFailure {
                call: format!("reading s3://{}/{key}", self.bucket),
                message: crate::error::error_chain(&e),
                ..Default::default()
            }),
            fix: "run again: the object is read whole before anything changes".into(),
        })?;
        Ok(body.into_bytes())
    }
}
