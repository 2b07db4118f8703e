//! The operator's read-mostly commands: `plan`, `status`, `history`, and `prune`
//! (which deletes only what nothing uses).

use super::outcome::{DeploymentProgress, FunctionStatus, PlanView, PromotionSource, StatusView};
use super::{policy, Engine};
use crate::cloud::{AlarmState, Cloud};
use crate::error::Result;
use crate::ledger::ReleaseRecord;
use crate::release::Manifest;
use crate::settings::ALIAS;

impl<C: Cloud> Engine<'_, C> {
    /// What `deploy` (or, with `promotion`, `promote`) would do, without doing it.
    pub async fn preview(&self, manifest: &Manifest, promotion: Option<PromotionSource>) -> Result<PlanView> {
        self.check_infrastructure(manifest).await?;
        let functions = self.plan(manifest).await?;
        Ok(PlanView {
            release_id: manifest.release_id.clone(),
            git_commit: manifest.git_commit.clone(),
            deployment_config: self.settings.deployment_config.clone(),
            strategy: self.settings.strategy(),
            functions,
            promotion,
        })
    }

    /// Per function: the strategy, the step a deployment is at, the stable and canary
    /// versions with the weight, the alarms, and whether the alias drifted from the
    /// ledger; the lock and any unfinished release.
    pub async fn status(&self) -> Result<StatusView> {
        let s = self.settings;
        let records = self.cloud.records(Some(20)).await?;
        let lock = self.cloud.lock_info().await?;
        let alarms = self.cloud.describe(&s.watched_alarms()).await?;
        let mut functions = Vec::new();
        for f in &s.functions {
            let alias = self.cloud.alias(&f.function_name, ALIAS).await?;
            let in_flight = self.cloud.in_flight(&s.application, &f.deployment_group).await?;
            let deployment = match in_flight.first() {
                Some(id) => {
                    let view = self.cloud.get(id).await?;
                    let steps = self.cloud.lifecycle(id).await?;
                    Some(DeploymentProgress { id: id.clone(), status: view.status, steps })
                }
                None => None,
            };
            functions.push(FunctionStatus {
                drift: policy::drift(&records, &f.artifact, &alias),
                function: f.clone(),
                alias,
                deployment,
                in_flight,
                alarms: alarms.iter().filter(|a| f.alarms.contains(&a.name)).cloned().collect(),
            });
        }
        Ok(StatusView {
            deployment_config: s.deployment_config.clone(),
            strategy: s.strategy(),
            functions,
            newest: records.into_iter().next(),
            lock,
            firing: alarms.into_iter().find(|a| a.state == AlarmState::Alarm),
        })
    }

    pub async fn history(&self, limit: usize) -> Result<Vec<ReleaseRecord>> {
        self.cloud.records(Some(limit)).await
    }

    /// Deletes versions beyond the newest `keep`, never one an alias, the last
    /// successful release or an unfinished release uses. Answers `function:version`s.
    pub async fn prune(&self, keep: usize) -> Result<Vec<String>> {
        self.with_lock(self.prune_locked(keep)).await
    }

    async fn prune_locked(&self, keep: usize) -> Result<Vec<String>> {
        let records = self.cloud.records(None).await?;
        let mut pruned = Vec::new();
        for f in &self.settings.functions {
            let alias = self.cloud.alias(&f.function_name, ALIAS).await?;
            let versions = self.cloud.versions(&f.function_name).await?;
            let protected = policy::protected_versions(&records, &f.artifact, &alias);
            let all: Vec<u64> = versions.iter().map(|(v, _)| *v).collect();
            for v in policy::prunable(&all, keep, &protected) {
                self.cloud.delete_version(&f.function_name, v).await?;
                pruned.push(format!("{}:{v}", f.function_name));
            }
        }
        Ok(pruned)
    }
}
