//! The narrow layer over the AWS SDK: exactly the calls the deployer makes, with their
//! answers reduced to what it decides on. Unit tests drive it with aws-smithy-mocks;
//! end-to-end tests drive it against the local cloud.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_codedeploy::types::{AppSpecContent, DeploymentStatus, RevisionLocation, RevisionLocationType};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{AliasRoutingConfiguration, LastUpdateStatus};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::{DeployError, Result};
use crate::release::ZipBytes;

/// An alias as the deployer sees it: primary version plus at most one weighted extra.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasState {
    pub version: String,
    pub additional: Option<(String, f64)>,
    pub revision_id: Option<String>,
}

impl AliasState {
    /// True when every invocation goes to `version`.
    pub fn settled_on(&self, version: &str) -> bool {
        self.version == version && self.additional.as_ref().is_none_or(|(_, w)| *w <= 0.0)
    }

    /// The share of traffic on `version`, 0-100.
    pub fn percent_on(&self, version: &str) -> f64 {
        match &self.additional {
            Some((v, w)) if v == version => w * 100.0,
            Some((_, w)) if self.version == version => (1.0 - w) * 100.0,
            _ if self.version == version => 100.0,
            _ => 0.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionState {
    pub code_sha256: String,
    pub revision_id: Option<String>,
    pub version: String,
    pub update: Option<LastUpdateStatus>,
    pub update_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentView {
    pub status: DeploymentStatus,
    pub error: Option<String>,
    pub rollback_deployment_id: Option<String>,
}

impl DeploymentView {
    pub fn is_terminal(&self) -> bool {
        matches!(self.status, DeploymentStatus::Succeeded | DeploymentStatus::Failed | DeploymentStatus::Stopped)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlarmView {
    pub name: String,
    pub state: String,
    pub reason: String,
    pub metric: Option<String>,
    pub threshold: Option<f64>,
    /// The newest datapoint that drove the state, from StateReasonData.
    pub value: Option<f64>,
    pub function_dimension: Option<String>,
}

/// Lambda: functions, versions and aliases.
#[derive(Clone)]
pub struct Lambda(pub aws_sdk_lambda::Client);

impl Lambda {
    pub async fn alias(&self, function: &str, alias: &str) -> Result<AliasState> {
        let out = self.0.get_alias().function_name(function).name(alias).send().await.map_err(|e| {
            if DeployError::service_code(&e) == Some("ResourceNotFoundException") {
                DeployError::Infrastructure(format!(
                    "function {function} has no alias {alias:?} (or does not exist)\n  fix: apply the environment's Terraform (etl-workflow module) first"
                ))
            } else {
                DeployError::cloud(format!("GetAlias {function}:{alias}"), e)
            }
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

    pub async fn configuration(&self, function: &str, qualifier: Option<&str>) -> Result<FunctionState> {
        let out = self
            .0
            .get_function_configuration()
            .function_name(function)
            .set_qualifier(qualifier.map(str::to_owned))
            .send()
            .await
            .map_err(|e| {
                if DeployError::service_code(&e) == Some("ResourceNotFoundException") {
                    DeployError::Infrastructure(format!(
                        "function {function} does not exist\n  fix: apply the environment's Terraform first, or correct functions.*.function_name"
                    ))
                } else {
                    DeployError::cloud(format!("GetFunctionConfiguration {function}"), e)
                }
            })?;
        Ok(FunctionState {
            code_sha256: out.code_sha256().unwrap_or_default().to_owned(),
            revision_id: out.revision_id().map(str::to_owned),
            version: out.version().unwrap_or("$LATEST").to_owned(),
            update: out.last_update_status().cloned(),
            update_reason: out.last_update_status_reason().map(str::to_owned),
        })
    }

    /// Uploads new code to $LATEST, guarded by the revision the caller read.
    pub async fn update_code(&self, function: &str, zip: ZipBytes, revision_id: Option<&str>) -> Result<()> {
        self.0
            .update_function_code()
            .function_name(function)
            // Takes the buffer over without a copy when the caller held the last reference.
            .zip_file(Blob::new(Vec::from(zip)))
            .set_revision_id(revision_id.map(str::to_owned))
            .send()
            .await
            .map_err(|e| DeployError::cloud(format!("UpdateFunctionCode {function}"), e))?;
        Ok(())
    }

    /// Waits until the last update of $LATEST has finished.
    pub async fn wait_updated(&self, function: &str, poll: Duration, timeout: Duration) -> Result<FunctionState> {
        let start = Instant::now();
        loop {
            let state = self.configuration(function, None).await?;
            match state.update {
                Some(LastUpdateStatus::Failed) => {
                    return Err(DeployError::Cloud {
                        context: format!("updating {function}"),
                        message: format!("the code update failed: {}", state.update_reason.unwrap_or_default()),
                    })
                }
                Some(LastUpdateStatus::InProgress) if start.elapsed() < timeout => tokio::time::sleep(poll).await,
                Some(LastUpdateStatus::InProgress) => {
                    return Err(DeployError::Cloud {
                        context: format!("updating {function}"),
                        message: format!("still InProgress after {}s", timeout.as_secs()),
                    })
                }
                _ => return Ok(state),
            }
        }
    }

    /// Publishes $LATEST as a version only if it still holds `code_sha256`.
    pub async fn publish(
        &self,
        function: &str,
        code_sha256: &str,
        revision_id: Option<&str>,
        description: &str,
    ) -> Result<(String, String)> {
        let out = self
            .0
            .publish_version()
            .function_name(function)
            .code_sha256(code_sha256)
            .set_revision_id(revision_id.map(str::to_owned))
            .description(description)
            .send()
            .await
            .map_err(|e| DeployError::cloud(format!("PublishVersion {function}"), e))?;
        let version = out.version().unwrap_or_default().to_owned();
        Ok((version, out.code_sha256().unwrap_or_default().to_owned()))
    }

    /// Points the alias wholly at `version`, guarded by the revision read before.
    pub async fn point_alias(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        revision_id: Option<&str>,
    ) -> Result<()> {
        self.0
            .update_alias()
            .function_name(function)
            .name(alias)
            .function_version(version)
            .routing_config(
                AliasRoutingConfiguration::builder().set_additional_version_weights(Some(HashMap::new())).build(),
            )
            .set_revision_id(revision_id.map(str::to_owned))
            .send()
            .await
            .map_err(|e| DeployError::cloud(format!("UpdateAlias {function}:{alias}"), e))?;
        Ok(())
    }

    /// Numbered versions with their CodeSha256, oldest first.
    pub async fn versions(&self, function: &str) -> Result<Vec<(u64, String)>> {
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .0
                .list_versions_by_function()
                .function_name(function)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| DeployError::cloud(format!("ListVersionsByFunction {function}"), e))?;
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

    pub async fn delete_version(&self, function: &str, version: u64) -> Result<()> {
        self.0
            .delete_function()
            .function_name(function)
            .qualifier(version.to_string())
            .send()
            .await
            .map_err(|e| DeployError::cloud(format!("DeleteFunction {function}:{version}"), e))?;
        Ok(())
    }
}

/// CodeDeploy: deployment groups and deployments.
#[derive(Clone)]
pub struct CodeDeploy(pub aws_sdk_codedeploy::Client);

impl CodeDeploy {
    pub async fn check_group(&self, application: &str, group: &str) -> Result<()> {
        self.0.get_deployment_group().application_name(application).deployment_group_name(group).send().await.map_err(|e| {
            match DeployError::service_code(&e) {
                Some("DeploymentGroupDoesNotExistException" | "ApplicationDoesNotExistException") => DeployError::Infrastructure(format!(
                    "deployment group {group} of application {application} does not exist ({})\n  fix: apply the environment's Terraform (traffic-shifting module), or correct functions.*.deployment_group",
                    e.as_service_error().and_then(|s| s.message()).unwrap_or("not found")
                )),
                _ => DeployError::cloud(format!("GetDeploymentGroup {application}/{group}"), e),
            }
        })?;
        Ok(())
    }

    pub async fn check_config(&self, name: &str) -> Result<()> {
        self.0.get_deployment_config().deployment_config_name(name).send().await.map_err(|e| {
            match DeployError::service_code(&e) {
                Some("DeploymentConfigDoesNotExistException") => DeployError::Infrastructure(format!(
                    "deployment config {name} does not exist\n  fix: apply the environment's Terraform (the traffic-shifting module creates custom configs)"
                )),
                _ => DeployError::cloud(format!("GetDeploymentConfig {name}"), e),
            }
        })?;
        Ok(())
    }

    pub async fn create(
        &self,
        application: &str,
        group: &str,
        config: &str,
        appspec: &str,
        description: &str,
    ) -> Result<String> {
        let revision = RevisionLocation::builder()
            .revision_type(RevisionLocationType::AppSpecContent)
            .app_spec_content(
                AppSpecContent::builder()
                    .content(appspec)
                    .sha256(crate::release::sha256_hex(appspec.as_bytes()))
                    .build(),
            )
            .build();
        let out = self
            .0
            .create_deployment()
            .application_name(application)
            .deployment_group_name(group)
            .deployment_config_name(config)
            .revision(revision)
            .description(description)
            .send()
            .await
            .map_err(|e| match DeployError::service_code(&e) {
                Some("DeploymentLimitExceededException") => DeployError::Refused(format!(
                    "deployment group {group} already has a deployment in progress ({})\n  fix: wait for it, or run `deployer status` to see it",
                    e.as_service_error().and_then(|s| s.message()).unwrap_or_default()
                )),
                _ => DeployError::cloud(format!("CreateDeployment {application}/{group}"), e),
            })?;
        Ok(out.deployment_id().unwrap_or_default().to_owned())
    }

    pub async fn get(&self, id: &str) -> Result<DeploymentView> {
        let out = self
            .0
            .get_deployment()
            .deployment_id(id)
            .send()
            .await
            .map_err(|e| DeployError::cloud(format!("GetDeployment {id}"), e))?;
        let info = out.deployment_info();
        Ok(DeploymentView {
            status: info.and_then(|i| i.status()).cloned().unwrap_or(DeploymentStatus::Created),
            error: info.and_then(|i| i.error_information()).and_then(|e| e.message()).map(str::to_owned),
            rollback_deployment_id: info
                .and_then(|i| i.rollback_info())
                .and_then(|r| r.rollback_deployment_id())
                .map(str::to_owned),
        })
    }

    /// The lifecycle events of a Lambda deployment: (name, status).
    pub async fn lifecycle(&self, id: &str, target: &str) -> Result<Vec<(String, String)>> {
        let out = self
            .0
            .get_deployment_target()
            .deployment_id(id)
            .target_id(target)
            .send()
            .await
            .map_err(|e| DeployError::cloud(format!("GetDeploymentTarget {id}"), e))?;
        Ok(out
            .deployment_target()
            .and_then(|t| t.lambda_target())
            .map(|t| {
                t.lifecycle_events()
                    .iter()
                    .map(|e| {
                        (
                            e.lifecycle_event_name().unwrap_or_default().to_owned(),
                            e.status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Stops a deployment with rollback. False when it had already finished.
    pub async fn stop(&self, id: &str) -> Result<bool> {
        match self.0.stop_deployment().deployment_id(id).auto_rollback_enabled(true).send().await {
            Ok(_) => Ok(true),
            Err(e) if DeployError::service_code(&e) == Some("DeploymentAlreadyCompletedException") => Ok(false),
            Err(e) => Err(DeployError::cloud(format!("StopDeployment {id}"), e)),
        }
    }

    /// Deployments of a group that have not finished.
    pub async fn in_flight(&self, application: &str, group: &str) -> Result<Vec<String>> {
        let out = self
            .0
            .list_deployments()
            .application_name(application)
            .deployment_group_name(group)
            .set_include_only_statuses(Some(vec![
                DeploymentStatus::Created,
                DeploymentStatus::Queued,
                DeploymentStatus::InProgress,
                DeploymentStatus::Baking,
                DeploymentStatus::Ready,
            ]))
            .send()
            .await
            .map_err(|e| DeployError::cloud(format!("ListDeployments {application}/{group}"), e))?;
        Ok(out.deployments().to_vec())
    }
}

/// CloudWatch alarms.
#[derive(Clone)]
pub struct Alarms(pub aws_sdk_cloudwatch::Client);

impl Alarms {
    /// The named alarms' states; a name CloudWatch does not know is an error, since an
    /// unreadable alarm must not pass as OK.
    pub async fn describe(&self, names: &[String]) -> Result<Vec<AlarmView>> {
        let mut views = Vec::with_capacity(names.len());
        for chunk in names.chunks(100) {
            let out = self
                .0
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .max_records(100)
                .send()
                .await
                .map_err(|e| DeployError::cloud("DescribeAlarms", e))?;
            for a in out.metric_alarms() {
                views.push(AlarmView {
                    name: a.alarm_name().unwrap_or_default().to_owned(),
                    state: a.state_value().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                    reason: a.state_reason().unwrap_or_default().to_owned(),
                    metric: a.metric_name().map(str::to_owned),
                    threshold: a.threshold(),
                    value: a.state_reason_data().and_then(newest_datapoint),
                    function_dimension: a
                        .dimensions()
                        .iter()
                        .find(|d| d.name() == Some("FunctionName"))
                        .and_then(|d| d.value())
                        .map(str::to_owned),
                });
            }
        }
        if let Some(missing) = names.iter().find(|n| !views.iter().any(|v| &v.name == *n)) {
            return Err(DeployError::Infrastructure(format!(
                "alarm {missing} does not exist\n  fix: apply the environment's Terraform, or remove it from the settings"
            )));
        }
        Ok(views)
    }
}

/// The newest value in CloudWatch's StateReasonData (`recentDatapoints`).
fn newest_datapoint(data: &str) -> Option<f64> {
    let v: serde_json::Value = serde_json::from_str(data).ok()?;
    v.get("recentDatapoints")?.as_array()?.iter().filter_map(serde_json::Value::as_f64).next_back()
}

/// The tooling account's artifact bucket: releases are stored by id so promotion
/// copies exactly the bytes that passed.
#[derive(Clone)]
pub struct ArtifactStore {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
}

impl ArtifactStore {
    pub fn key(release_id: &str, file: &str) -> String {
        format!("releases/{release_id}/{file}")
    }

    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(false),
            Err(e) => Err(self.error("HeadObject", key, e)),
        }
    }

    pub async fn put(&self, key: &str, bytes: ZipBytes) -> Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from(bytes))
            // The bucket's default encryption (the artifact store's CMK) applies.
            .send()
            .await
            .map_err(|e| self.error("PutObject", key, e))?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<ZipBytes> {
        let out = self.client.get_object().bucket(&self.bucket).key(key).send().await.map_err(|e| {
            if e.as_service_error().is_some_and(|s| s.code() == Some("NoSuchKey")) {
                DeployError::Refused(format!(
                    "s3://{}/{key} is missing: the release's artifacts are not in the artifact store\n  fix: deploy the release to the first environment again, which uploads them",
                    self.bucket
                ))
            } else {
                self.error("GetObject", key, e)
            }
        })?;
        let body = out.body.collect().await.map_err(|e| DeployError::Cloud {
            context: format!("reading s3://{}/{key}", self.bucket),
            message: e.to_string(),
        })?;
        Ok(body.into_bytes())
    }

    fn error<E>(&self, op: &str, key: &str, e: aws_sdk_s3::error::SdkError<E>) -> DeployError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        if e.as_service_error().is_some_and(|s| s.code() == Some("NoSuchBucket")) {
            return DeployError::Infrastructure(format!(
                "artifact bucket {} does not exist\n  fix: apply the tooling account's Terraform, or correct artifact_bucket",
                self.bucket
            ));
        }
        DeployError::cloud(format!("{op} s3://{}/{key}", self.bucket), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_shares() {
        let split = AliasState { version: "3".into(), additional: Some(("4".into(), 0.1)), revision_id: None };
        assert!((split.percent_on("4") - 10.0).abs() < 1e-9);
        assert!((split.percent_on("3") - 90.0).abs() < 1e-9);
        assert!(!split.settled_on("3"));
        let whole = AliasState { version: "4".into(), additional: None, revision_id: None };
        assert!(whole.settled_on("4") && (whole.percent_on("4") - 100.0).abs() < 1e-9 && whole.percent_on("3") == 0.0);
    }

    #[test]
    fn the_newest_datapoint_is_read_from_state_reason_data() {
        let data = r#"{"version":"1.0","recentDatapoints":[0.0,3.0],"threshold":1.0}"#;
        assert_eq!(newest_datapoint(data), Some(3.0));
        assert_eq!(newest_datapoint("not json"), None);
    }
}
