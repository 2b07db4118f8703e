//! [`Deployments`] over the CodeDeploy SDK client.

use aws_sdk_codedeploy::types::{
    AppSpecContent, DeploymentStatus as SdkStatus, RevisionLocation, RevisionLocationType,
};

use super::failure::send;
use super::SdkCloud;
use crate::cloud::{
    DeploymentRequest, DeploymentStatus, DeploymentView, Deployments, GroupView, LifecycleEvent, LifecycleStep,
    StepStatus, Stop,
};
use crate::error::{DeployError, RefusalKind, Result};

impl Deployments for SdkCloud {
    async fn check_config(&self, name: &str) -> Result<()> {
        send!(
            self.ctx,
            format!("GetDeploymentConfig {name}"),
            self.codedeploy.get_deployment_config().deployment_config_name(name)
        )
        .map_err(|f| match f.code() {
            Some("DeploymentConfigDoesNotExistException") => DeployError::infrastructure(
                format!("deployment config {name} does not exist"),
                "apply the environment's Terraform (the traffic-shifting module creates custom configs)",
            ),
            _ => f.into_error(),
        })?;
        Ok(())
    }

    async fn check_group(&self, application: &str, group: &str) -> Result<()> {
        send!(
            self.ctx,
            format!("GetDeploymentGroup {application}/{group}"),
            self.codedeploy.get_deployment_group().application_name(application).deployment_group_name(group)
        )
        .map_err(|f| match f.code() {
            Some("DeploymentGroupDoesNotExistException" | "ApplicationDoesNotExistException") => {
                DeployError::infrastructure(
                    format!(
                        "deployment group {group} of application {application} does not exist ({})",
                        f.message().unwrap_or("not found")
                    ),
                    "apply the environment's Terraform (traffic-shifting module), or correct functions.*.deployment_group",
                )
            }
            _ => f.into_error(),
        })?;
        Ok(())
    }

    async fn group(&self, application: &str, group: &str) -> Result<GroupView> {
        let out = send!(
            self.ctx,
            format!("GetDeploymentGroup {application}/{group}"),
            self.codedeploy.get_deployment_group().application_name(application).deployment_group_name(group)
        )
        .map_err(super::failure::Failed::into_error)?;
        let info = out.deployment_group_info();
        let alarms = info.and_then(|i| i.alarm_configuration());
        let rollback = info.and_then(|i| i.auto_rollback_configuration());
        Ok(GroupView {
            alarms: alarms
                .map(|a| a.alarms().iter().filter_map(|a| a.name().map(str::to_owned)).collect())
                .unwrap_or_default(),
            alarms_enabled: alarms.is_some_and(|a| a.enabled()),
            ignore_poll_alarm_failure: alarms.is_some_and(|a| a.ignore_poll_alarm_failure()),
            rollback_enabled: rollback.is_some_and(|r| r.enabled()),
            rollback_events: rollback
                .map(|r| r.events().iter().map(|e| e.as_str().to_owned()).collect())
                .unwrap_or_default(),
        })
    }

    async fn create(&self, request: &DeploymentRequest) -> Result<String> {
        let appspec = request.appspec();
        let revision = RevisionLocation::builder()
            .revision_type(RevisionLocationType::AppSpecContent)
            .app_spec_content(
                AppSpecContent::builder()
                    .content(&appspec)
                    .sha256(crate::release::sha256_hex(appspec.as_bytes()))
                    .build(),
            )
            .build();
        let (application, group) = (&request.application, &request.group);
        let out = send!(
            self.ctx,
            format!("CreateDeployment {application}/{group}"),
            self.codedeploy
                .create_deployment()
                .application_name(application)
                .deployment_group_name(group)
                .deployment_config_name(&request.config)
                .revision(revision)
                .description(&request.description)
        )
        .map_err(|f| match f.code() {
            Some("DeploymentLimitExceededException") => DeployError::refused(
                RefusalKind::ForeignDeployment,
                format!(
                    "deployment group {group} already has a deployment in progress ({})",
                    f.message().unwrap_or_default()
                ),
                "wait for it, or run `deployer status` to see it",
            ),
            _ => f.into_error(),
        })?;
        Ok(out.deployment_id().unwrap_or_default().to_owned())
    }

    async fn get(&self, id: &str) -> Result<DeploymentView> {
        let out = send!(self.ctx, format!("GetDeployment {id}"), self.codedeploy.get_deployment().deployment_id(id))
            .map_err(super::failure::Failed::into_error)?;
        let info = out.deployment_info();
        Ok(DeploymentView {
            status: info.and_then(|i| i.status()).map_or(DeploymentStatus::Created, status),
            error: info.and_then(|i| i.error_information()).and_then(|e| e.message()).map(str::to_owned),
            alarm_stop: info.and_then(|i| i.error_information()).and_then(|e| e.code())
                == Some(&aws_sdk_codedeploy::types::ErrorCode::AlarmActive),
            description: info.and_then(|i| i.description()).map(str::to_owned),
        })
    }

    async fn lifecycle(&self, id: &str) -> Result<Vec<LifecycleEvent>> {
        // A Lambda deployment has one target; its id is CodeDeploy's to choose, so it
        // is read, never built from the function and alias names.
        let listed = send!(
            self.ctx,
            format!("ListDeploymentTargets {id}"),
            self.codedeploy.list_deployment_targets().deployment_id(id)
        )
        .map_err(super::failure::Failed::into_error)?;
        let Some(target) = listed.target_ids().first() else {
            // CodeDeploy adds the target shortly after the deployment is created.
            return Ok(Vec::new());
        };
        let out = send!(
            self.ctx,
            format!("GetDeploymentTarget {id} {target}"),
            self.codedeploy.get_deployment_target().deployment_id(id).target_id(target)
        )
        .map_err(super::failure::Failed::into_error)?;
        Ok(out
            .deployment_target()
            .and_then(|t| t.lambda_target())
            .map(|t| {
                t.lifecycle_events()
                    .iter()
                    .map(|e| LifecycleEvent {
                        step: LifecycleStep::parse(e.lifecycle_event_name().unwrap_or_default()),
                        status: StepStatus::parse(e.status().map(|s| s.as_str()).unwrap_or_default()),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn stop(&self, id: &str) -> Result<Stop> {
        match send!(
            self.ctx,
            format!("StopDeployment {id}"),
            self.codedeploy.stop_deployment().deployment_id(id).auto_rollback_enabled(true)
        ) {
            Ok(_) => Ok(Stop::Stopped),
            Err(f) if f.code() == Some("DeploymentAlreadyCompletedException") => Ok(Stop::AlreadyFinished),
            Err(f) => Err(f.into_error()),
        }
    }

    async fn in_flight(&self, application: &str, group: &str) -> Result<Vec<String>> {
        let unfinished = DeploymentStatus::UNFINISHED.iter().map(|s| SdkStatus::from(s.as_str())).collect();
        let out = send!(
            self.ctx,
            format!("ListDeployments {application}/{group}"),
            self.codedeploy
                .list_deployments()
                .application_name(application)
                .deployment_group_name(group)
                .set_include_only_statuses(Some(unfinished))
        )
        .map_err(super::failure::Failed::into_error)?;
        Ok(out.deployments().to_vec())
    }
}

fn status(s: &SdkStatus) -> DeploymentStatus {
    match s {
        SdkStatus::Queued => DeploymentStatus::Queued,
        SdkStatus::InProgress => DeploymentStatus::InProgress,
        SdkStatus::Baking => DeploymentStatus::Baking,
        SdkStatus::Ready => DeploymentStatus::Ready,
        SdkStatus::Succeeded => DeploymentStatus::Succeeded,
        SdkStatus::Failed => DeploymentStatus::Failed,
        SdkStatus::Stopped => DeploymentStatus::Stopped,
        _ => DeploymentStatus::Created,
    }
}
