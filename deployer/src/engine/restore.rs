//! Putting an environment back: a stopped release's functions, a release a dead
//! deployer left unfinished, and `rollback` to an earlier release. This is the path
//! that must finish, so it tries hardest and says exactly what it could not confirm.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

use super::outcome::RollbackOutcome;
use super::watch::Stop;
use super::{policy, Engine, Event};
use crate::cloud::{Cloud, Functions};
use crate::error::{DeployError, Result};
use crate::ledger::{now_ms, Change, FunctionOutcome, FunctionRecord, RecordKind, ReleaseRecord, Status};
use crate::settings::ALIAS;

/// Rounds of reading and pointing every alias before giving up on one.
const RESTORE_ROUNDS: u32 = 40;

/// What stopping a release left.
#[derive(Debug)]
pub(crate) struct Stopped {
    pub stop: Stop,
    /// Every function of the release is back on its previous version.
    pub restored: bool,
}

impl<C: Cloud> Engine<'_, C> {
    /// Stops every in-flight deployment of the release with rollback, returns every
    /// function of the release to its previous version, and marks each one's outcome.
    pub(crate) async fn abort_release(&self, record: &mut ReleaseRecord, stop: Stop) -> Stopped {
        let started = Instant::now();
        self.tell(Event::Stopping { reason: &stop.reason });
        // New executions run the old release while the aliases go back.
        self.route(record, 0).await;
        let unrestored = self.restore_release(record).await;
        self.unroute().await;
        for f in record.functions.values_mut().filter(|f| f.changed) {
            f.outcome = if unrestored.contains(&f.function_name) {
                FunctionOutcome::Failed
            } else {
                FunctionOutcome::RolledBack
            };
        }
        if unrestored.is_empty() {
            self.tell(Event::Restored { after: started.elapsed() });
        }
        Stopped { stop, restored: unrestored.is_empty() }
    }

    /// Stops a release's deployments and returns every function it changed to its
    /// previous version. Answers the functions it could not confirm.
    async fn restore_release(&self, record: &ReleaseRecord) -> BTreeSet<String> {
        let deployments: Vec<String> = record.functions.values().filter_map(|f| f.deployment_id.clone()).collect();
        let targets: Vec<(String, String)> = record
            .functions
            .values()
            .filter(|f| f.changed)
            .map(|f| (f.function_name.clone(), f.previous_version.clone()))
            .collect();
        self.restore(&deployments, &targets).await
    }

    /// Stops `deployments` (with rollback) and points each function's alias wholly at
    /// its version, re-reading and retrying until each is confirmed. Answers the
    /// functions it could not confirm.
    async fn restore(&self, deployments: &[String], targets: &[(String, String)]) -> BTreeSet<String> {
        let stops = self.each(deployments.to_vec(), |cloud, id| async move { (cloud.stop(&id).await, id) }).await;
        for (result, id) in stops {
            if let Err(error) = result {
                // The aliases are pointed back below whatever CodeDeploy does.
                self.tell(Event::StopFailed { deployment: &id, error: &error });
            }
        }
        let mut pending: BTreeSet<String> = targets.iter().map(|(f, _)| f.clone()).collect();
        for round in 0..RESTORE_ROUNDS {
            let due: Vec<(String, String)> = targets.iter().filter(|(f, _)| pending.contains(f)).cloned().collect();
            let rounds = self
                .each(due, |cloud, (f, v)| async move {
                    let settled = point_back(&cloud, &f, &v).await;
                    (f, settled)
                })
                .await;
            for (f, settled) in rounds {
                match settled {
                    Ok(true) => {
                        pending.remove(&f);
                    }
                    Ok(false) => {}
                    Err(error) => self.tell(Event::RestoreRetry { function: &f, error: &error }),
                }
            }
            if pending.is_empty() {
                break;
            }
            self.cloud.pause(Duration::from_millis(if round < 10 { 100 } else { 500 })).await;
        }
        for f in &pending {
            self.tell(Event::RestoreUnconfirmed { function: f, environment: &self.settings.environment });
        }
        pending
    }

    /// If a previous deployer died mid-release (a record still in progress), stops its
    /// deployments and restores its functions. Answers the restored record.
    pub(crate) async fn restore_unfinished_if_any(&self) -> Result<Option<ReleaseRecord>> {
        let newest = self.cloud.records(Some(1)).await?;
        let Some(mut record) = newest.into_iter().next().filter(|r| r.status == Status::InProgress) else {
            return Ok(None);
        };
        self.tell(Event::UnfinishedFound { record: &record });
        self.route(&record, 0).await;
        let unrestored = self.restore_release(&record).await;
        self.unroute().await;
        if !unrestored.is_empty() {
            return Err(DeployError::Cloud {
                failure: Box::new(crate::error::CloudFailure {
                    call: format!("restoring the unfinished release {}", record.release_id),
                    message: format!(
                        "could not confirm {} back on their previous versions",
                        unrestored.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                    ..Default::default()
                }),
                fix: format!("run `deployer rollback --env {}` again", self.settings.environment),
            });
        }
        for f in record.functions.values_mut().filter(|f| f.changed) {
            f.outcome = FunctionOutcome::RolledBack;
        }
        record.reason = Some(format!(
            "the deployer holding it ({}) stopped mid-release; restored by {}",
            record.holder, self.holder
        ));
        record.finish(Status::Restored, now_ms());
        self.cloud.put(&record).await?;
        Ok(Some(record))
    }

    /// Returns every function to the previous successful release (or `to`), or, if a
    /// release was left unfinished, to the versions it started from.
    pub async fn rollback(&self, to: Option<&str>) -> Result<RollbackOutcome> {
        self.with_lock(self.rollback_locked(to)).await
    }

    async fn rollback_locked(&self, to: Option<&str>) -> Result<RollbackOutcome> {
        let s = self.settings;
        if to.is_none() {
            if let Some(record) = self.restore_unfinished_if_any().await? {
                return Ok(RollbackOutcome::Restored(record));
            }
        }
        let records = self.cloud.records(None).await?;
        let target = policy::rollback_target(&records, to)?;
        let current = records.iter().find(|r| r.status == Status::Succeeded).map(|r| r.release_id.clone());
        let mut record = ReleaseRecord::start(
            &target.release_id,
            &target.git_commit,
            &s.environment,
            RecordKind::Rollback,
            &self.holder,
            now_ms(),
        );
        record.reason = Some(format!("rollback from {}", current.as_deref().unwrap_or("an unrecorded state")));
        record.rolled_back_from = current;
        let mut targets = Vec::new();
        for f in &s.functions {
            let Some(old) = target.functions.get(&f.artifact) else {
                self.tell(Event::NotInRelease { function: &f.function_name, release_id: &target.release_id });
                continue;
            };
            let version = old.version.clone().unwrap_or_else(|| old.previous_version.clone());
            let alias = self.cloud.alias(&f.function_name, ALIAS).await?;
            let changed = !alias.settled_on(&version);
            if changed {
                targets.push((f.function_name.clone(), version.clone()));
            }
            record.functions.insert(
                f.artifact.clone(),
                FunctionRecord {
                    function_name: f.function_name.clone(),
                    previous_version: alias.version.clone(),
                    version: Some(version),
                    code_sha256: old.code_sha256.clone(),
                    changed,
                    change: if changed { Change::Code } else { Change::None },
                    configuration: Vec::new(),
                    deployment_id: None,
                    outcome: if changed { FunctionOutcome::Succeeded } else { FunctionOutcome::Skipped },
                    duration_ms: None,
                },
            );
        }
        let mut in_flight = Vec::new();
        for f in &s.functions {
            in_flight.extend(self.cloud.in_flight(&s.application, &f.deployment_group).await?);
        }
        self.tell(Event::RollingBack {
            environment: &s.environment,
            release_id: &target.release_id,
            changes: targets.len(),
        });
        let unrestored = self.restore(&in_flight, &targets).await;
        self.unroute().await;
        for f in record.functions.values_mut() {
            if unrestored.contains(&f.function_name) {
                f.outcome = FunctionOutcome::Failed;
            }
        }
        record.finish(if unrestored.is_empty() { Status::Succeeded } else { Status::Failed }, now_ms());
        self.cloud.put(&record).await?;
        Ok(RollbackOutcome::Returned { record, unrestored: unrestored.into_iter().collect() })
    }
}

/// One round for one function: settled on `version` already, or pointed there and
/// read back settled. CodeDeploy's own rollback may move the alias at the same moment:
/// the RevisionId makes the loser re-read and try again.
async fn point_back<C: Functions>(cloud: &C, function: &str, version: &str) -> Result<bool> {
    let alias = cloud.alias(function, ALIAS).await?;
    if alias.settled_on(version) {
        return Ok(true);
    }
    cloud.point_alias(function, ALIAS, version, alias.revision_id.as_deref()).await?;
    Ok(cloud.alias(function, ALIAS).await?.settled_on(version))
}
