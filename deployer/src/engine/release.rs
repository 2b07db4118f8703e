//! A deploy or promote, from the preflight to the record of its one verdict.

use std::collections::BTreeMap;

use tokio::time::Instant;

use super::artifacts::{free_in_background, store_release};
use super::outcome::{PlannedFunction, ReleaseOutcome, Verdict};
use super::restore::Stopped;
use super::ship::Target;
use super::watch::{Stop, WatchEnd};
use super::{Engine, Event, Incoming, UNRELEASED};
use crate::cloud::{ArtifactStore, Cloud};
use crate::error::Result;
use crate::ledger::{now_ms, Change, FunctionOutcome, FunctionRecord, ReleaseRecord, Status, StopCause};
use crate::release::{Manifest, ZipBytes, HOOKS};

/// How shipping ended, before the record is closed.
enum Shipped {
    /// Every changed function is live (or nothing changed).
    Done,
    /// Stopped and restored (or not: see `restored`).
    Stopped(Box<Stopped>),
}

impl<C: Cloud> Engine<'_, C> {
    /// Deploys (or promotes) a release into the environment. The lock is held from the
    /// first change to the verdict. `store`: upload the release to the artifact store
    /// once the environment checks out (a deploy; a promote reads it from there).
    pub async fn release<S: ArtifactStore>(&self, incoming: Incoming, store: Option<&S>) -> Result<ReleaseOutcome> {
        self.check_infrastructure(&incoming.manifest).await?;
        self.with_lock(self.release_locked(incoming, store)).await
    }

    async fn release_locked<S: ArtifactStore>(&self, incoming: Incoming, store: Option<&S>) -> Result<ReleaseOutcome> {
        let s = self.settings;
        let manifest = &incoming.manifest;
        self.restore_unfinished_if_any().await?;
        self.refuse_foreign_deployments().await?;
        let planned = self.plan(manifest).await?;
        self.refuse_firing_alarms().await?;
        // Every artifact must match its hash before the first change to the
        // environment. Usually the background check finished during the calls above;
        // a deploy uploads each artifact to the store as soon as it is checked.
        let verifying = Instant::now();
        let (zips, hashing) = match store {
            Some(store) => store_release(store, manifest, incoming.zips).await?,
            None => (incoming.zips.ready().await?, verifying.elapsed()),
        };
        self.tell(Event::ArtifactsVerified { bytes: zips.values().map(ZipBytes::len).sum(), hashing });

        let mut record = ReleaseRecord::start(
            &manifest.release_id,
            &manifest.git_commit,
            &s.environment,
            incoming.kind,
            &self.holder,
            now_ms(),
        );
        record.source_environment = incoming.source_environment.clone();
        record.deployment_config = Some(s.deployment_config.clone());
        record.functions = planned.iter().map(|p| (p.function.artifact.clone(), function_record(p))).collect();
        self.cloud.put(&record).await?;
        let changed: Vec<PlannedFunction> = planned.into_iter().filter(|p| p.change != Change::None).collect();
        self.tell(Event::ReleaseStarted {
            kind: incoming.kind,
            release_id: &manifest.release_id,
            environment: &s.environment,
            changed: changed.len(),
            total: record.functions.len(),
            deployment_config: &s.deployment_config,
        });

        let shipped = self.ship(manifest, zips, &changed, &mut record).await;
        let (verdict, alarm) = match shipped {
            Ok(Shipped::Done) => {
                record.finish(Status::Succeeded, now_ms());
                (if changed.is_empty() { Verdict::NoChanges } else { Verdict::Succeeded }, None)
            }
            Ok(Shipped::Stopped(stopped)) => {
                let status = if stopped.restored { Status::RolledBack } else { Status::Failed };
                record.reason = Some(stopped.stop.reason);
                record.stop = Some(stopped.stop.cause);
                record.finish(status, now_ms());
                (if stopped.restored { Verdict::RolledBack } else { Verdict::Failed }, stopped.stop.alarm)
            }
            Err(error) => {
                // Nothing shifted (a failure before the deployments); a function
                // marked Failed is one whose restore could not be confirmed.
                let failed = record.functions.values().any(|f| f.outcome == FunctionOutcome::Failed);
                record.reason = Some(error.explained());
                record.finish(if failed { Status::Failed } else { Status::RolledBack }, now_ms());
                (Verdict::Errored(error), None)
            }
        };
        self.cloud.put(&record).await?;
        let alarm_function = match &record.stop {
            Some(StopCause::Alarm { function, .. }) => function.clone(),
            _ => None,
        };
        Ok(ReleaseOutcome { record, verdict, alarm, alarm_function })
    }

    /// Updates hooks, publishes versions, bootstraps, runs the deployments and, when
    /// something says stop, restores the release. `Err` is a failure before any
    /// traffic moved.
    ///
    /// Takes the release's zips over: each is handed to its upload and freed with it,
    /// and those of unchanged functions are freed at once, off the async threads.
    async fn ship(
        &self,
        manifest: &Manifest,
        mut zips: BTreeMap<String, ZipBytes>,
        changed: &[PlannedFunction],
        record: &mut ReleaseRecord,
    ) -> Result<Shipped> {
        let mut needed: BTreeMap<String, ZipBytes> = changed
            .iter()
            .map(|p| p.function.artifact.as_str())
            .chain(HOOKS.iter().copied())
            .filter_map(|name| zips.remove_entry(name))
            .collect();
        free_in_background(zips);
        if changed.is_empty() {
            free_in_background(needed);
            return Ok(Shipped::Done);
        }
        self.update_hooks(manifest, &mut needed, record).await?;
        let versions = self.publish_versions(manifest, &mut needed, changed).await.inspect_err(|_| {
            for p in changed {
                if let Some(f) = record.functions.get_mut(&p.function.artifact) {
                    f.outcome = FunctionOutcome::RolledBack;
                }
            }
        })?;
        let (targets, bootstraps) = sort_published(changed, versions, record);
        let published: Vec<(String, String)> = targets
            .iter()
            .chain(&bootstraps)
            .map(|t| (t.planned.function.artifact.clone(), t.version.clone()))
            .collect();
        self.tell(Event::Published { versions: &published });
        for target in &bootstraps {
            if let Err(error) = self.bootstrap(target, record).await {
                let stop = Stop {
                    reason: format!(
                        "{} could not be pointed at its first version: {error}",
                        target.planned.function.function_name
                    ),
                    cause: StopCause::NotStarted {
                        function: target.planned.function.function_name.clone(),
                        error: error.to_string(),
                    },
                    alarm: None,
                };
                return Ok(Shipped::Stopped(Box::new(self.abort_release(record, stop).await)));
            }
        }
        if targets.is_empty() {
            return Ok(Shipped::Done);
        }
        // Executions draw their release from the routing record from now on (all on
        // the old one until CodeDeploy shifts), and the replay's inputs are ready
        // before the first step.
        self.route(record, 0).await;
        if let Some(stop) = self.shadow_run(record, &targets, &manifest.expected_output_changes).await {
            self.cloud.put(record).await?;
            return Ok(Shipped::Stopped(Box::new(self.abort_release(record, stop).await)));
        }
        let replay = match self.prepare_replay(&record.record_id, !manifest.expected_output_changes.is_empty()).await {
            Ok(replay) => replay,
            Err(error) => {
                self.tell(Event::RoutingFailed { error: &error });
                None
            }
        };
        let started = self.start_deployments(&targets, record).await;
        let mut not_started = None;
        for (t, id) in targets.iter().zip(started) {
            match id {
                Ok(id) => {
                    if let Some(f) = record.functions.get_mut(&t.planned.function.artifact) {
                        f.deployment_id = Some(id);
                    }
                }
                Err(error) => {
                    not_started.get_or_insert((t.planned.function.function_name.clone(), error));
                }
            }
        }
        self.cloud.put(record).await?;
        if let Some((function, error)) = not_started {
            let stop = Stop {
                reason: format!("a deployment could not start: {}", error.explained()),
                cause: StopCause::NotStarted { function, error: error.to_string() },
                alarm: None,
            };
            return Ok(Shipped::Stopped(Box::new(self.abort_release(record, stop).await)));
        }
        match self.watch(record, replay).await {
            WatchEnd::Succeeded => {
                self.unroute().await;
                Ok(Shipped::Done)
            }
            WatchEnd::Stop(stop) => Ok(Shipped::Stopped(Box::new(self.abort_release(record, *stop).await))),
        }
    }
}

/// The record of a function as the release starts.
fn function_record(p: &PlannedFunction) -> FunctionRecord {
    let changed = p.change != Change::None;
    FunctionRecord {
        function_name: p.function.function_name.clone(),
        previous_version: p.previous_version.clone(),
        version: (!changed).then(|| p.previous_version.clone()),
        code_sha256: p.code_sha256.clone(),
        changed,
        change: p.change,
        configuration: p.configuration.clone(),
        deployment_id: None,
        outcome: if changed { FunctionOutcome::Pending } else { FunctionOutcome::Skipped },
        duration_ms: None,
    }
}

/// Splits the published functions into those CodeDeploy shifts and those to
/// bootstrap, recording each version; a version that is already live needs neither.
fn sort_published(
    changed: &[PlannedFunction],
    versions: Vec<String>,
    record: &mut ReleaseRecord,
) -> (Vec<Target>, Vec<Target>) {
    let (mut targets, mut bootstraps) = (Vec::new(), Vec::new());
    for (p, version) in changed.iter().zip(versions) {
        let Some(f) = record.functions.get_mut(&p.function.artifact) else { continue };
        f.version = Some(version.clone());
        let target = Target { planned: p.clone(), version };
        if p.previous_version == UNRELEASED {
            bootstraps.push(target);
        } else if target.version == p.previous_version {
            // Same code and configuration as the alias already serves (an earlier
            // publish): nothing to shift.
            f.outcome = FunctionOutcome::Skipped;
            f.changed = false;
        } else {
            f.outcome = FunctionOutcome::Deploying;
            targets.push(target);
        }
    }
    (targets, bootstraps)
}
