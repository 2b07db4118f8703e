//! Shipping a release's changed functions: the hooks' code, a version per function
//! (guarded by CodeSha256 and RevisionId), bootstraps, and one CodeDeploy deployment
//! per function, all started together. Nothing here decides a verdict.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::artifacts::{free_in_background, take_zip};
use super::outcome::PlannedFunction;
use super::{reconcile, Engine, Event};
use crate::cloud::{Cloud, DeploymentRequest, FunctionState, Functions, Pause, UpdateState};
use crate::error::{CloudFailure, DeployError, RefusalKind, Result};
use crate::ledger::{now_ms, FunctionOutcome, HookRecord, ReleaseRecord};
use crate::release::{ArtifactKind, Manifest, ZipBytes, HOOKS};
use crate::settings::ALIAS;

/// How long a function's update of `$LATEST` may take before the release gives up.
const UPDATE_TIMEOUT: Duration = Duration::from_secs(300);

/// A published function that CodeDeploy will shift.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub planned: PlannedFunction,
    pub version: String,
}

impl<C: Cloud> Engine<'_, C> {
    /// Updates the hooks' code where it differs: the deployments about to start run
    /// them. Takes the hooks' bytes out of `zips`.
    pub(crate) async fn update_hooks(
        &self,
        manifest: &Manifest,
        zips: &mut BTreeMap<String, ZipBytes>,
        record: &mut ReleaseRecord,
    ) -> Result<()> {
        let hooks = &self.settings.hooks;
        for (artifact, name) in [("pre-traffic", &hooks.pre_traffic), ("post-traffic", &hooks.post_traffic)] {
            let a = &manifest.artifacts[artifact];
            debug_assert_eq!(a.kind, ArtifactKind::Hook);
            let current = self.cloud.configuration(name, None).await?;
            let updated = current.code_sha256 != a.code_sha256;
            if updated {
                self.tell(Event::HookUpdating { function: name });
                let zip = take_zip(zips, artifact)?;
                if let Err(e) = self.cloud.update_code(name, zip, current.revision_id.as_deref()).await {
                    if !reconcile::code_landed(&self.cloud, name, &a.code_sha256).await? {
                        return Err(e);
                    }
                }
                wait_updated(&self.cloud, name, self.settings.poll_interval, UPDATE_TIMEOUT).await?;
            }
            record.hooks.insert(
                artifact.to_owned(),
                HookRecord { function_name: name.clone(), code_sha256: a.code_sha256.clone(), updated },
            );
        }
        free_in_background(HOOKS.iter().filter_map(|hook| zips.remove_entry(*hook)).collect());
        Ok(())
    }

    /// Publishes a version of every changed function; nothing shifts yet. Answers the
    /// versions in `changed`'s order.
    pub(crate) async fn publish_versions(
        &self,
        manifest: &Manifest,
        zips: &mut BTreeMap<String, ZipBytes>,
        changed: &[PlannedFunction],
    ) -> Result<Vec<String>> {
        let description = format!("{} {}", manifest.release_id, crate::release::short_commit(&manifest.git_commit));
        let poll = self.settings.poll_interval.min(Duration::from_millis(500));
        let jobs: Vec<_> = changed
            .iter()
            .map(|p| (p.function.function_name.clone(), p.code_sha256.clone(), take_zip(zips, &p.function.artifact)))
            .collect();
        self.all(jobs, |cloud, (name, sha, zip)| {
            let description = description.clone();
            async move { publish_one(&cloud, &name, &sha, zip, &description, poll).await }
        })
        .await
    }

    /// Points a function whose alias is still on `$LATEST` (Terraform's placeholder,
    /// never released) at its first version. CodeDeploy cannot shift from `$LATEST`,
    /// and there is no earlier release to protect.
    pub(crate) async fn bootstrap(&self, target: &Target, record: &mut ReleaseRecord) -> Result<()> {
        let name = &target.planned.function.function_name;
        let alias = self.cloud.alias(name, ALIAS).await?;
        if let Err(e) = self.cloud.point_alias(name, ALIAS, &target.version, alias.revision_id.as_deref()).await {
            if !reconcile::alias_landed(&self.cloud, name, &target.version).await? {
                return Err(e);
            }
        }
        self.tell(Event::Bootstrapped { function: name, version: &target.version });
        if let Some(f) = record.functions.get_mut(&target.planned.function.artifact) {
            f.outcome = FunctionOutcome::Bootstrapped;
            f.duration_ms = Some(now_ms().saturating_sub(record.started_ms));
        }
        Ok(())
    }

    /// Starts every deployment of the release together; answers each one's id or error.
    pub(crate) async fn start_deployments(&self, targets: &[Target], record: &ReleaseRecord) -> Vec<Result<String>> {
        let s = self.settings;
        let requests: Vec<DeploymentRequest> = targets
            .iter()
            .map(|t| DeploymentRequest {
                application: s.application.clone(),
                group: t.planned.function.deployment_group.clone(),
                config: s.deployment_config.clone(),
                function: t.planned.function.function_name.clone(),
                alias: ALIAS.into(),
                current_version: t.planned.previous_version.clone(),
                target_version: t.version.clone(),
                pre_traffic_hook: s.hooks.pre_traffic.clone(),
                post_traffic_hook: s.hooks.post_traffic.clone(),
                // Unique to this record: how a deployment whose creation seemed to fail
                // is recognised as ours.
                description: format!("deployer {} {} {}", record.release_id, s.environment, record.record_id),
            })
            .collect();
        self.each(requests, |cloud, request| async move {
            match cloud.create(&request).await {
                Ok(id) => Ok(id),
                Err(e) => {
                    let ours = reconcile::started_deployment(
                        &cloud,
                        &request.application,
                        &request.group,
                        &request.description,
                    )
                    .await
                    .unwrap_or(None);
                    ours.ok_or(e)
                }
            }
        })
        .await
    }
}

/// Puts `zip` on `$LATEST` (unless it is there already), waits for the update, and
/// publishes a version guarded by the code's hash and the revision just read.
async fn publish_one<C: Functions + Pause>(
    cloud: &C,
    name: &str,
    sha: &str,
    zip: Result<ZipBytes>,
    description: &str,
    poll: Duration,
) -> Result<String> {
    let latest = cloud.configuration(name, None).await?;
    if latest.code_sha256 != sha {
        if let Err(e) = cloud.update_code(name, zip?, latest.revision_id.as_deref()).await {
            if !reconcile::code_landed(cloud, name, sha).await? {
                return Err(e);
            }
        }
    } else {
        drop(zip);
    }
    let state = wait_updated(cloud, name, poll, UPDATE_TIMEOUT).await?;
    if state.code_sha256 != sha {
        return Err(changed_meanwhile(name, &state.code_sha256, sha));
    }
    match cloud.publish(name, sha, state.revision_id.as_deref(), description).await {
        Ok(published) if published.code_sha256 == sha => Ok(published.version),
        Ok(published) => Err(changed_meanwhile(name, &published.code_sha256, sha)),
        Err(e) => reconcile::published_version(cloud, name, sha).await?.ok_or(e),
    }
}

fn changed_meanwhile(name: &str, found: &str, wanted: &str) -> DeployError {
    DeployError::refused(
        RefusalKind::ChangedMeanwhile,
        format!("{name}: $LATEST holds {found} instead of this release's {wanted}: someone else changed the function meanwhile; nothing shifted"),
        "find who else deploys to this environment, then run again",
    )
}

/// Waits until the last update of `$LATEST` has finished.
pub(crate) async fn wait_updated<C: Functions + Pause>(
    cloud: &C,
    name: &str,
    poll: Duration,
    timeout: Duration,
) -> Result<FunctionState> {
    let start = Instant::now();
    loop {
        let state = cloud.configuration(name, None).await?;
        match state.update {
            UpdateState::Failed => {
                return Err(update_failure(
                    name,
                    format!("the code update failed: {}", state.update_reason.unwrap_or_default()),
                ))
            }
            UpdateState::InProgress if start.elapsed() < timeout => cloud.pause(poll).await,
            UpdateState::InProgress => {
                return Err(update_failure(name, format!("still InProgress after {}s", timeout.as_secs())))
            }
            UpdateState::Successful => return Ok(state),
        }
    }
}

fn update_failure(name: &str, message: String) -> DeployError {
    DeployError::Cloud {
        failure: Box::new(CloudFailure { call: format!("updating {name}"), message, ..CloudFailure::default() }),
        fix: "see the function's LastUpdateStatusReason (`aws lambda get-function-configuration`), fix it, run again"
            .into(),
    }
}
