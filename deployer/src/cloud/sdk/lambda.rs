//! [`Functions`] over the Lambda SDK client.

use std::collections::HashMap;

use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{AliasRoutingConfiguration, LastUpdateStatus};

use super::failure::send;
use super::SdkCloud;
use crate::cloud::{AliasState, FunctionConfig, FunctionState, Functions, Published, UpdateState};
use crate::error::{DeployError, Result};
use crate::release::ZipBytes;

impl Functions for SdkCloud {
    async fn alias(&self, function: &str, alias: &str) -> Result<AliasState> {
        let out = send!(
            self.ctx,
            format!("GetAlias {function}:{alias}"),
            self.lambda.get_alias().function_name(function).name(alias)
        )
        .map_err(|f| match f.code() {
            Some("ResourceNotFoundException") => DeployError::infrastructure(
                format!("function {function} has no alias {alias:?} (or does not exist)"),
                "apply the environment's Terraform (etl-workflow module) first",
            ),
            _ => f.into_error(),
        })?;
        let additional = out
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .and_then(|w| w.iter().next().map(|(v, w)| (v.clone(), *w)));
        Ok(AliasState {
            version: out.function_version().unwrap_or_default().to_owned(),
            additional,
            revision_id: out.revision_id().map(str::to_owned),
        })
    }

    async fn configuration(&self, function: &str, qualifier: Option<&str>) -> Result<FunctionState> {
        let out = send!(
            self.ctx,
            format!("GetFunctionConfiguration {function}{}", qualifier.map(|q| format!(":{q}")).unwrap_or_default()),
            self.lambda
                .get_function_configuration()
                .function_name(function)
                .set_qualifier(qualifier.map(str::to_owned))
        )
        .map_err(|f| match f.code() {
            Some("ResourceNotFoundException") => DeployError::infrastructure(
                format!("function {function} does not exist"),
                "apply the environment's Terraform first, or correct functions.*.function_name",
            ),
            _ => f.into_error(),
        })?;
        Ok(state(&out))
    }

    async fn update_code(&self, function: &str, zip: ZipBytes, revision_id: Option<&str>) -> Result<()> {
        send!(
            self.ctx,
            format!("UpdateFunctionCode {function}"),
            self.lambda
                .update_function_code()
                .function_name(function)
                // Takes the buffer over without a copy when the caller held the last reference.
                .zip_file(Blob::new(Vec::from(zip)))
                .set_revision_id(revision_id.map(str::to_owned))
        )
        .map_err(super::failure::Failed::into_error)?;
        Ok(())
    }

    async fn publish(
        &self,
        function: &str,
        code_sha256: &str,
        revision_id: Option<&str>,
        description: &str,
    ) -> Result<Published> {
        let out = send!(
            self.ctx,
            format!("PublishVersion {function}"),
            self.lambda
                .publish_version()
                .function_name(function)
                .code_sha256(code_sha256)
                .set_revision_id(revision_id.map(str::to_owned))
                .description(description)
        )
        .map_err(super::failure::Failed::into_error)?;
        Ok(Published {
            version: out.version().unwrap_or_default().to_owned(),
            code_sha256: out.code_sha256().unwrap_or_default().to_owned(),
        })
    }

    async fn point_alias(&self, function: &str, alias: &str, version: &str, revision_id: Option<&str>) -> Result<()> {
        send!(
            self.ctx,
            format!("UpdateAlias {function}:{alias} -> {version}"),
            self.lambda
                .update_alias()
                .function_name(function)
                .name(alias)
                .function_version(version)
                .routing_config(
                    AliasRoutingConfiguration::builder().set_additional_version_weights(Some(HashMap::new())).build(),
                )
                .set_revision_id(revision_id.map(str::to_owned))
        )
        .map_err(super::failure::Failed::into_error)?;
        Ok(())
    }

    async fn versions(&self, function: &str) -> Result<Vec<(u64, String)>> {
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            let page = send!(
                self.ctx,
                format!("ListVersionsByFunction {function}"),
                self.lambda.list_versions_by_function().function_name(function).set_marker(marker)
            )
            .map_err(super::failure::Failed::into_error)?;
            for v in page.versions() {
                if let Some(n) = v.version().and_then(|v| v.parse::<u64>().ok()) {
                    out.push((n, v.code_sha256().unwrap_or_default().to_owned()));
                }
            }
            marker = page.next_marker().map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        out.sort();
        Ok(out)
    }

    async fn delete_version(&self, function: &str, version: u64) -> Result<()> {
        send!(
            self.ctx,
            format!("DeleteFunction {function}:{version}"),
            self.lambda.delete_function().function_name(function).qualifier(version.to_string())
        )
        .map_err(super::failure::Failed::into_error)?;
        Ok(())
    }
}

fn state(out: &GetFunctionConfigurationOutput) -> FunctionState {
    FunctionState {
        code_sha256: out.code_sha256().unwrap_or_default().to_owned(),
        revision_id: out.revision_id().map(str::to_owned),
        version: out.version().unwrap_or("$LATEST").to_owned(),
        update: match out.last_update_status() {
            Some(LastUpdateStatus::InProgress) => UpdateState::InProgress,
            Some(LastUpdateStatus::Failed) => UpdateState::Failed,
            _ => UpdateState::Successful,
        },
        update_reason: out.last_update_status_reason().map(str::to_owned),
        config: FunctionConfig {
            memory_mb: out.memory_size(),
            timeout_s: out.timeout(),
            ephemeral_storage_mb: out.ephemeral_storage().map(|e| e.size()),
            runtime: out.runtime().map(|r| r.as_str().to_owned()),
            handler: out.handler().map(str::to_owned),
            role: out.role().map(str::to_owned),
            architectures: out.architectures().iter().map(|a| a.as_str().to_owned()).collect(),
            layers: out.layers().iter().filter_map(|l| l.arn().map(str::to_owned)).collect(),
            environment: out
                .environment()
                .and_then(|e| e.variables())
                .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            tracing: out.tracing_config().and_then(|t| t.mode()).map(|m| m.as_str().to_owned()),
        },
    }
}
