//! [`ObjectStore`] over the S3 SDK client.

use etl_core::EtlError;

use super::{classify, ObjectInfo, ObjectStore, Reader};

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
