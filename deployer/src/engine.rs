//! A release into one environment, and the operator's commands around it.
//!
//! One release, one verdict: every changed function gets its own CodeDeploy deployment,
//! all started together and watched together with the alarms; the first alarm or failed
//! deployment stops them all and returns every function of the release to the version
//! it had before. The deployer never exits normally with an alias split between two
//! versions.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_codedeploy::types::DeploymentStatus;

use crate::cloud::{AlarmView, AliasState, ArtifactStore, DeploymentView};
use crate::connect::Environment;
use crate::error::{exit, DeployError, Result};
use crate::ledger::{
    now_ms, rfc3339, FunctionOutcome, FunctionRecord, HookRecord, RecordKind, ReleaseRecord, Status, RECORD_SCHEMA,
};
use crate::release::{Artifact, ArtifactKind, LoadedRelease, Manifest, ZipBytes, MANIFEST};
use crate::report::{AlarmReport, AliasReport, FunctionReport, HistoryEntry, Report, Ui};
use crate::settings::{format_duration, Function, ALIAS};

/// The alias's version before any release: Terraform creates `live` on `$LATEST`.
pub const UNRELEASED: &str = "$LATEST";

/// Set by SIGINT / SIGTERM: the watch loop then stops the release and restores.
#[derive(Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    pub fn listen() -> Self {
        let flag = Self::default();
        let setter = flag.0.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                if let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
                {
                    tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
                    setter.store(true, Ordering::SeqCst);
                }
            }
            #[cfg(not(unix))]
            if tokio::signal::ctrl_c().await.is_ok() {
                setter.store(true, Ordering::SeqCst);
            }
        });
        flag
    }

    pub fn raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct Engine<'a> {
    pub env: &'a Environment,
    pub ui: &'a mut Ui,
    pub holder: String,
    pub interrupt: Interrupt,
    /// Time spent awaiting the cloud, for the overhead figure.
    pub waited: Duration,
}

/// A release's artifacts: read already, or still being read and hashed on blocking
/// threads while the preflight talks to the cloud.
pub enum Zips {
    Ready(BTreeMap<String, ZipBytes>),
    Verifying { manifest: Manifest, arrivals: tokio::sync::mpsc::UnboundedReceiver<(String, Result<ZipBytes>)> },
}

impl Zips {
    /// Starts reading and verifying `dist`'s artifacts in the background.
    pub fn verify(dist: std::path::PathBuf, manifest: &Manifest) -> Self {
        let (sender, arrivals) = tokio::sync::mpsc::unbounded_channel();
        let checked = manifest.clone();
        tokio::task::spawn_blocking(move || {
            crate::release::verify_artifacts(&dist, &checked, &|name, zip| {
                // Nobody listening any more means the command already failed.
                let _ = sender.send((name, zip));
            });
        });
        Self::Verifying { manifest: manifest.clone(), arrivals }
    }

    /// The next artifact to finish its check, in no particular order; `None` once every
    /// artifact has been handed out.
    async fn next(&mut self) -> Option<(String, Result<ZipBytes>)> {
        match self {
            Self::Ready(zips) => zips.pop_first().map(|(name, zip)| (name, Ok(zip))),
            Self::Verifying { arrivals, .. } => arrivals.recv().await,
        }
    }

    /// Every artifact, once all are checked; or the first (in the manifest's order)
    /// that failed.
    pub async fn ready(self) -> Result<BTreeMap<String, ZipBytes>> {
        match self {
            Self::Ready(zips) => Ok(zips),
            Self::Verifying { manifest, mut arrivals } => {
                let mut arrived = BTreeMap::new();
                while let Some((name, zip)) = arrivals.recv().await {
                    arrived.insert(name, zip);
                }
                crate::release::collect_verified(&manifest, arrived)
            }
        }
    }
}

/// What to release: the artifacts and where they came from.
pub struct Incoming {
    pub manifest: Manifest,
    pub zips: Zips,
    pub kind: RecordKind,
    pub source_environment: Option<String>,
}

#[derive(Debug, Clone)]
struct Planned {
    function: Function,
    artifact: Artifact,
    previous_version: String,
    changed: bool,
}

struct Abort {
    reason: String,
    alarm: Option<AlarmReport>,
}

impl<'a> Engine<'a> {
    pub fn new(env: &'a Environment, ui: &'a mut Ui, interrupt: Interrupt) -> Self {
        Self { env, ui, holder: crate::ledger::holder_id(), interrupt, waited: Duration::ZERO }
    }

    /// Awaits a cloud call, counting the time.
    pub(crate) async fn wait<F: Future>(&mut self, f: F) -> F::Output {
        let start = Instant::now();
        let out = f.await;
        self.waited += start.elapsed();
        out
    }

    async fn sleep(&mut self, d: Duration) {
        self.wait(tokio::time::sleep(d)).await;
    }

    /// Checks that the release names every function and hook of the environment and
    /// that the environment's CodeDeploy and alarms exist. Changes nothing.
    async fn check_infrastructure(&mut self, manifest: &Manifest) -> Result<()> {
        let s = &self.env.settings;
        for f in &s.functions {
            if !manifest.artifacts.contains_key(&f.artifact) {
                return Err(DeployError::Artifact {
                    path: MANIFEST.into(),
                    problem: format!(
                        "release {} has no artifact {:?}, which {} lists",
                        manifest.release_id,
                        f.artifact,
                        s.file.display()
                    ),
                    fix: "package every function (`deployer package`), or remove it from the settings".into(),
                });
            }
        }
        for hook in crate::release::HOOKS {
            if !manifest.artifacts.contains_key(hook) {
                return Err(DeployError::Artifact {
                    path: MANIFEST.into(),
                    problem: format!("release {} has no hook artifact {hook:?}", manifest.release_id),
                    fix: "package the hooks too (`deployer package`)".into(),
                });
            }
        }
        let cd = self.env.codedeploy.clone();
        self.wait(cd.check_config(&s.deployment_config)).await?;
        let checks = s.functions.iter().map(|f| {
            let cd = cd.clone();
            let (app, group) = (s.application.clone(), f.deployment_group.clone());
            async move { cd.check_group(&app, &group).await }
        });
        self.wait(futures_all(checks)).await?;
        let alarms = self.env.alarms.clone();
        self.wait(alarms.describe(&s.watched_alarms())).await?;
        Ok(())
    }

    /// Takes the environment's release lock (or says who holds it).
    async fn take_lock(&mut self) -> Result<()> {
        let (ledger, ttl, holder) = (self.env.ledger.clone(), self.env.settings.lock_ttl, self.holder.clone());
        self.wait(ledger.lock(&holder, ttl)).await
    }

    /// Releases the lock whatever `result` is, and passes `result` on.
    async fn release_lock<T>(&mut self, result: Result<T>) -> Result<T> {
        let (ledger, holder) = (self.env.ledger.clone(), self.holder.clone());
        if let Err(e) = self.wait(ledger.unlock(&holder)).await {
            self.ui.warn(&format!("could not release the lock: {e}"));
        }
        result
    }

    /// Reads each function's alias and decides what changes. Refuses a split alias.
    async fn plan(&mut self, manifest: &Manifest) -> Result<Vec<Planned>> {
        let s = &self.env.settings;
        let lambda = self.env.lambda.clone();
        let reads = s.functions.iter().map(|f| {
            let lambda = lambda.clone();
            let name = f.function_name.clone();
            async move {
                let alias = lambda.alias(&name, ALIAS).await?;
                let config = lambda.configuration(&name, Some(&alias.version)).await?;
                Ok::<_, DeployError>((alias, config))
            }
        });
        let states = self.wait(futures_all(reads)).await?;
        let mut planned = Vec::new();
        for (f, (alias, config)) in s.functions.iter().zip(states) {
            if let Some((extra, weight)) = &alias.additional {
                if *weight > 0.0 {
                    return Err(DeployError::Refused(format!(
                        "{}:{ALIAS} is split between versions {} and {extra} ({:.0}% on {extra}): a deployment is in flight or was interrupted\n  fix: `deployer status --env {}` to see it, `deployer rollback --env {}` to restore",
                        f.function_name,
                        alias.version,
                        weight * 100.0,
                        s.environment,
                        s.environment
                    )));
                }
            }
            let artifact = manifest.artifacts[&f.artifact].clone();
            let changed = config.code_sha256 != artifact.code_sha256;
            planned.push(Planned { function: f.clone(), artifact, previous_version: alias.version, changed });
        }
        Ok(planned)
    }

    /// What `deploy` would do, without doing it.
    pub async fn preview(&mut self, manifest: &Manifest, zips: Zips, report: &mut Report) -> Result<i32> {
        let release = LoadedRelease { manifest: manifest.clone(), zips: BTreeMap::new() };
        self.check_infrastructure(&release.manifest).await?;
        let planned = self.plan(&release.manifest).await?;
        // A tampered artifact makes the plan fail as the deploy would.
        free_in_background(zips.ready().await?);
        let changes = planned.iter().filter(|p| p.changed).count();
        report.release_id = Some(release.manifest.release_id.clone());
        report.git_commit = Some(release.manifest.git_commit.clone());
        report.outcome = if changes == 0 { "no_changes".into() } else { "changes".into() };
        report.message = Some(format!(
            "{changes} of {} functions would change, with {}",
            planned.len(),
            self.env.settings.deployment_config
        ));
        report.functions = planned
            .iter()
            .map(|p| FunctionReport {
                name: p.function.artifact.clone(),
                function_name: p.function.function_name.clone(),
                previous_version: Some(p.previous_version.clone()),
                version: None,
                code_sha256: Some(p.artifact.code_sha256.clone()),
                deployment_id: None,
                outcome: if p.changed { "will_change".into() } else { "unchanged".into() },
                duration_ms: None,
                alias: None,
                alarms: Vec::new(),
            })
            .collect();
        Ok(exit::OK)
    }

    /// Deploys (or promotes) a release into the environment. The lock is held from
    /// the first change to the verdict.
    /// `store`: upload the release to the artifact store once the environment checks
    /// out (a deploy; a promote reads it from there).
    pub async fn release(
        &mut self,
        incoming: Incoming,
        store: Option<&ArtifactStore>,
        report: &mut Report,
    ) -> Result<i32> {
        let manifest = incoming.manifest.clone();
        report.release_id = Some(manifest.release_id.clone());
        report.git_commit = Some(manifest.git_commit.clone());
        report.source_environment = incoming.source_environment.clone();
        self.check_infrastructure(&manifest).await?;
        self.take_lock().await?;
        let result = self.release_locked(incoming, store, report).await;
        self.release_lock(result).await
    }

    async fn release_locked(
        &mut self,
        incoming: Incoming,
        store: Option<&ArtifactStore>,
        report: &mut Report,
    ) -> Result<i32> {
        let s = self.env.settings.clone();
        let manifest = &incoming.manifest;
        self.restore_unfinished_if_any().await?;
        // A deployment someone started outside the deployer would race this release.
        let cd = self.env.codedeploy.clone();
        let lookups = s.functions.iter().map(|f| {
            let (cd, app, group) = (cd.clone(), s.application.clone(), f.deployment_group.clone());
            async move { cd.in_flight(&app, &group).await }
        });
        let busy = self.wait(futures_all(lookups)).await?;
        for (f, ids) in s.functions.iter().zip(busy) {
            if let Some(id) = ids.first() {
                return Err(DeployError::Refused(format!(
                    "deployment group {} already has deployment {id} in flight, not started by this deployer\n  fix: wait for it or stop it, then run again",
                    f.deployment_group
                )));
            }
        }
        let planned = self.plan(manifest).await?;
        let alarms = self.env.alarms.clone();
        let states = self.wait(alarms.describe(&s.watched_alarms())).await?;
        if let Some(a) = states.iter().find(|a| a.state == "ALARM") {
            return Err(DeployError::Refused(format!(
                "alarm {} is already in ALARM ({}), so any deployment would stop at once: nothing was changed\n  fix: resolve what the alarm reports first",
                a.name, a.reason
            )));
        }
        // Every artifact must match its hash before the first change to the
        // environment. Usually the background check finished during the calls above;
        // a deploy uploads each artifact to the store as soon as it is checked.
        let verifying = Instant::now();
        let (zips, hashing) = match store {
            Some(store) => store_release(store, manifest, incoming.zips).await?,
            None => (incoming.zips.ready().await?, verifying.elapsed()),
        };
        self.waited += verifying.elapsed().saturating_sub(hashing);
        self.ui.detail(&format!(
            "artifacts verified: {} MB, {} ms spent waiting for the hashing alone",
            zips.values().map(ZipBytes::len).sum::<usize>() / 1_000_000,
            hashing.as_millis()
        ));
        let release = LoadedRelease { manifest: manifest.clone(), zips };

        let started_ms = now_ms();
        let mut record = ReleaseRecord {
            schema: RECORD_SCHEMA,
            record_id: format!("{started_ms:015}-{}", manifest.release_id),
            release_id: manifest.release_id.clone(),
            git_commit: manifest.git_commit.clone(),
            environment: s.environment.clone(),
            kind: incoming.kind,
            source_environment: incoming.source_environment.clone(),
            status: Status::InProgress,
            holder: self.holder.clone(),
            started_at: rfc3339(started_ms),
            started_ms,
            finished_at: None,
            duration_ms: None,
            reason: None,
            rolled_back_from: None,
            functions: planned
                .iter()
                .map(|p| {
                    (
                        p.function.artifact.clone(),
                        FunctionRecord {
                            function_name: p.function.function_name.clone(),
                            previous_version: p.previous_version.clone(),
                            version: (!p.changed).then(|| p.previous_version.clone()),
                            code_sha256: p.artifact.code_sha256.clone(),
                            changed: p.changed,
                            deployment_id: None,
                            outcome: if p.changed { FunctionOutcome::Pending } else { FunctionOutcome::Skipped },
                            duration_ms: None,
                        },
                    )
                })
                .collect(),
            hooks: BTreeMap::new(),
        };
        let ledger = self.env.ledger.clone();
        self.wait(ledger.put(&record)).await?;
        let changed: Vec<Planned> = planned.iter().filter(|p| p.changed).cloned().collect();
        self.ui.info(&format!(
            "{} {} -> {}: {} of {} functions changed ({})",
            match incoming.kind {
                RecordKind::Promote => "promoting",
                _ => "deploying",
            },
            manifest.release_id,
            s.environment,
            changed.len(),
            planned.len(),
            s.deployment_config
        ));

        let outcome = self.ship(&release.manifest, release.zips, &changed, &mut record).await;
        let finished = now_ms();
        record.finished_at = Some(rfc3339(finished));
        record.duration_ms = Some(finished - started_ms);
        let exit_code = match outcome {
            Ok(None) => {
                record.status = Status::Succeeded;
                report.outcome = if changed.is_empty() { "no_changes".into() } else { "succeeded".into() };
                exit::OK
            }
            Ok(Some(abort)) => {
                let restored = record.functions.values().all(|f| f.outcome != FunctionOutcome::Failed);
                record.status = if restored { Status::RolledBack } else { Status::Failed };
                record.reason = Some(abort.reason.clone());
                report.outcome = if restored { "rolled_back".into() } else { "failed".into() };
                report.alarm = abort.alarm;
                report.message = Some(abort.reason);
                if restored {
                    exit::ROLLED_BACK
                } else {
                    exit::ERROR
                }
            }
            Err(e) => {
                record.status = if record.functions.values().any(|f| f.outcome == FunctionOutcome::Failed) {
                    Status::Failed
                } else {
                    Status::RolledBack
                };
                record.reason = Some(e.to_string());
                self.wait(ledger.put(&record)).await?;
                report.functions = function_reports(&record);
                return Err(e);
            }
        };
        self.wait(ledger.put(&record)).await?;
        report.functions = function_reports(&record);
        Ok(exit_code)
    }

    /// Updates hooks, publishes versions, runs the deployments. `Ok(Some)` is a
    /// release that was stopped and restored; `Err` one that failed before any traffic
    /// moved (or whose restore failed, marked in the record).
    ///
    /// Takes the release's zips over: each is handed to its upload and freed with it,
    /// and those of unchanged functions are freed at once, off the async threads.
    async fn ship(
        &mut self,
        manifest: &Manifest,
        mut zips: BTreeMap<String, ZipBytes>,
        changed: &[Planned],
        record: &mut ReleaseRecord,
    ) -> Result<Option<Abort>> {
        let s = self.env.settings.clone();
        let ledger = self.env.ledger.clone();
        let mut needed: BTreeMap<String, ZipBytes> = changed
            .iter()
            .map(|p| p.function.artifact.as_str())
            .chain(crate::release::HOOKS.iter().copied())
            .filter_map(|name| zips.remove_entry(name))
            .collect();
        free_in_background(zips);
        if changed.is_empty() {
            free_in_background(needed);
            return Ok(None);
        }
        // Hooks first: the deployments about to start run them.
        for (artifact, name) in [("pre-traffic", &s.hooks.pre_traffic), ("post-traffic", &s.hooks.post_traffic)] {
            let a = &manifest.artifacts[artifact];
            debug_assert_eq!(a.kind, ArtifactKind::Hook);
            let lambda = self.env.lambda.clone();
            let current = self.wait(lambda.configuration(name, None)).await?;
            let updated = current.code_sha256 != a.code_sha256;
            if updated {
                self.ui.detail(&format!("updating hook {name}"));
                let zip = take_zip(&mut needed, artifact)?;
                self.wait(lambda.update_code(name, zip, current.revision_id.as_deref())).await?;
                self.wait(lambda.wait_updated(name, s.poll_interval, Duration::from_secs(300))).await?;
            }
            record.hooks.insert(
                artifact.to_owned(),
                HookRecord { function_name: name.clone(), code_sha256: a.code_sha256.clone(), updated },
            );
        }

        free_in_background(crate::release::HOOKS.iter().filter_map(|hook| needed.remove_entry(*hook)).collect());

        // Publish every changed function's version; nothing shifts yet.
        let description = format!("{} {}", manifest.release_id, crate::report::short(&manifest.git_commit));
        let publishes = changed.iter().map(|p| {
            let lambda = self.env.lambda.clone();
            let zip = take_zip(&mut needed, &p.function.artifact);
            let (name, sha, description, poll) =
                (p.function.function_name.clone(), p.artifact.code_sha256.clone(), description.clone(), s.poll_interval);
            async move {
                let latest = lambda.configuration(&name, None).await?;
                if latest.code_sha256 != sha {
                    lambda.update_code(&name, zip?, latest.revision_id.as_deref()).await?;
                } else {
                    drop(zip);
                }
                let state = lambda.wait_updated(&name, poll.min(Duration::from_millis(500)), Duration::from_secs(300)).await?;
                if state.code_sha256 != sha {
                    return Err(DeployError::Refused(format!(
                        "{name}: $LATEST holds {} instead of this release's {sha}: someone else changed the function meanwhile; nothing shifted",
                        state.code_sha256
                    )));
                }
                let (version, published) = lambda.publish(&name, &sha, state.revision_id.as_deref(), &description).await?;
                if published != sha {
                    return Err(DeployError::Refused(format!("{name}: version {version} has CodeSha256 {published}, not {sha}")));
                }
                Ok::<_, DeployError>(version)
            }
        });
        let versions = self.wait(futures_all(publishes)).await.inspect_err(|_| {
            for p in changed {
                if let Some(f) = record.functions.get_mut(&p.function.artifact) {
                    f.outcome = FunctionOutcome::RolledBack;
                }
            }
        })?;
        let mut targets = Vec::new();
        let mut bootstraps = Vec::new();
        for (p, version) in changed.iter().zip(versions) {
            let f =
                record.functions.get_mut(&p.function.artifact).ok_or_else(|| DeployError::Other("record".into()))?;
            if p.previous_version == UNRELEASED {
                // Terraform creates the alias on $LATEST (the module's placeholder code):
                // nothing real serves traffic yet, and CodeDeploy cannot shift from
                // $LATEST, so the first release points the alias at its version directly.
                f.version = Some(version.clone());
                bootstraps.push((p.clone(), version));
                continue;
            }
            if version == p.previous_version {
                // Same code as the alias already serves (an earlier publish): nothing to shift.
                f.outcome = FunctionOutcome::Skipped;
                f.changed = false;
                f.version = Some(version);
                continue;
            }
            f.version = Some(version.clone());
            f.outcome = FunctionOutcome::Deploying;
            targets.push((p.clone(), version));
        }
        self.ui.info(&format!(
            "published {}",
            targets
                .iter()
                .chain(&bootstraps)
                .map(|(p, v)| format!("{} v{v}", p.function.artifact))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for (p, version) in &bootstraps {
            let lambda = self.env.lambda.clone();
            let name = &p.function.function_name;
            let alias = self.wait(lambda.alias(name, ALIAS)).await?;
            self.wait(lambda.point_alias(name, ALIAS, version, alias.revision_id.as_deref())).await?;
            self.ui.info(&format!("{name}:{ALIAS} was on {UNRELEASED} (never released): now on version {version}"));
            if let Some(f) = record.functions.get_mut(&p.function.artifact) {
                f.outcome = FunctionOutcome::Bootstrapped;
                f.duration_ms = Some(now_ms().saturating_sub(record.started_ms));
            }
        }
        if targets.is_empty() {
            return Ok(None);
        }

        // Start every deployment of the release together.
        let starts = targets.iter().map(|(p, version)| {
            let cd = self.env.codedeploy.clone();
            let appspec = appspec(
                &p.function.function_name,
                &p.previous_version,
                version,
                &s.hooks.pre_traffic,
                &s.hooks.post_traffic,
            );
            let (app, group, config) =
                (s.application.clone(), p.function.deployment_group.clone(), s.deployment_config.clone());
            let description = format!("deployer {} {}", record.release_id, s.environment);
            async move { cd.create(&app, &group, &config, &appspec, &description).await }
        });
        let started: Vec<Result<String>> = self.wait(futures_each(starts)).await;
        let mut first_error = None;
        for ((p, _), id) in targets.iter().zip(started) {
            match id {
                Ok(id) => {
                    if let Some(f) = record.functions.get_mut(&p.function.artifact) {
                        f.deployment_id = Some(id);
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        self.wait(ledger.put(record)).await?;
        if let Some(e) = first_error {
            let abort = Abort { reason: format!("a deployment could not start: {e}"), alarm: None };
            return self.abort_release(record, abort).await.map(Some);
        }
        self.watch(record).await
    }

    /// Watches the deployments and the alarms until every deployment succeeded, or
    /// the first alarm / failure, which stops and restores the whole release.
    async fn watch(&mut self, record: &mut ReleaseRecord) -> Result<Option<Abort>> {
        let s = self.env.settings.clone();
        let watched = s.watched_alarms();
        let deploying: Vec<(String, String, String)> = record
            .functions
            .iter()
            .filter_map(|(k, f)| f.deployment_id.clone().map(|id| (k.clone(), f.function_name.clone(), id)))
            .collect();
        let started = Instant::now();
        let mut renewed = Instant::now();
        let alarms_of: Vec<Vec<String>> = deploying
            .iter()
            .map(|(artifact, _, _)| {
                s.functions.iter().find(|f| &f.artifact == artifact).map(|f| f.alarms.clone()).unwrap_or_default()
            })
            .collect();
        let mut rows = vec![String::new(); deploying.len()];
        let mut row_keys: Vec<Option<RowKey>> = vec![None; deploying.len()];
        loop {
            if self.interrupt.raised() {
                let abort =
                    Abort { reason: "the deployer was interrupted (SIGINT/SIGTERM) mid-release".into(), alarm: None };
                return self.abort_release(record, abort).await.map(Some);
            }
            let cd = self.env.codedeploy.clone();
            let lambda = self.env.lambda.clone();
            let polls = deploying.iter().map(|(_, name, id)| {
                let (cd, lambda, name, id) = (cd.clone(), lambda.clone(), name.clone(), id.clone());
                async move {
                    let view = cd.get(&id).await?;
                    let (alias, events) = if view.is_terminal() {
                        (None, Vec::new())
                    } else {
                        let alias = lambda.alias(&name, ALIAS).await.ok();
                        let events = cd.lifecycle(&id, &format!("{name}:{ALIAS}")).await.unwrap_or_default();
                        (alias, events)
                    };
                    Ok::<_, DeployError>((view, alias, events))
                }
            });
            let alarms_client = self.env.alarms.clone();
            let (views, alarms) =
                self.wait(async { tokio::join!(futures_all(polls), alarms_client.describe(&watched)) }).await;
            let views = views?;
            let alarms = alarms?;
            // Rows are rebuilt only when what they show changed: a release of many
            // functions is polled many times, mostly unchanged.
            let not_ok: BTreeSet<&str> = alarms.iter().filter(|a| a.state != "OK").map(|a| a.name.as_str()).collect();
            for (i, ((artifact, _, _), (view, alias, events))) in deploying.iter().zip(&views).enumerate() {
                let f = &record.functions[artifact];
                let target = f.version.as_deref().unwrap_or("?");
                let key = RowKey {
                    status: view.status.clone(),
                    percent: alias.as_ref().map(|a| (a.percent_on(target) * 10.0).round() as i64),
                    events: Vec::new(),
                    bad: alarms_of[i].iter().filter(|a| not_ok.contains(a.as_str())).cloned().collect(),
                };
                let unchanged = row_keys[i].as_ref().is_some_and(|k| {
                    k.status == key.status && k.percent == key.percent && k.bad == key.bad && k.events == *events
                });
                if !unchanged {
                    rows[i] = progress_row(artifact, f, view, alias.as_ref(), events, &key.bad);
                    row_keys[i] = Some(RowKey { events: events.clone(), ..key });
                }
            }
            self.ui.progress(&rows);
            if let Some(alarm) = alarms.iter().find(|a| a.state == "ALARM") {
                let report = alarm_report(alarm, &s);
                let reason = format!(
                    "alarm {} is in ALARM on {}: {} = {} (threshold {}): {}",
                    alarm.name,
                    report.function_name.as_deref().unwrap_or("the environment"),
                    alarm.metric.as_deref().unwrap_or("metric"),
                    alarm.value.map_or("?".into(), |v| format!("{v}")),
                    alarm.threshold.map_or("?".into(), |v| format!("{v}")),
                    alarm.reason
                );
                return self.abort_release(record, Abort { reason, alarm: Some(report) }).await.map(Some);
            }
            for ((artifact, name, id), (view, _, _)) in deploying.iter().zip(&views) {
                if matches!(view.status, DeploymentStatus::Failed | DeploymentStatus::Stopped) {
                    let reason = format!(
                        "deployment {id} of {name} ({artifact}) {}: {}",
                        view.status.as_str(),
                        view.error.as_deref().unwrap_or("no reason given")
                    );
                    return self.abort_release(record, Abort { reason, alarm: None }).await.map(Some);
                }
            }
            for ((artifact, _, _), (view, _, _)) in deploying.iter().zip(&views) {
                if let Some(f) = record.functions.get_mut(artifact) {
                    if view.status == DeploymentStatus::Succeeded && f.outcome == FunctionOutcome::Deploying {
                        f.outcome = FunctionOutcome::Succeeded;
                        f.duration_ms = Some(now_ms().saturating_sub(record.started_ms));
                    }
                }
            }
            if views.iter().all(|(v, _, _)| v.status == DeploymentStatus::Succeeded) {
                self.ui.info(&format!("every deployment succeeded after {}", format_duration(started.elapsed())));
                return Ok(None);
            }
            if renewed.elapsed() > Duration::from_secs(60) {
                let ledger = self.env.ledger.clone();
                let holder = self.holder.clone();
                self.wait(ledger.renew(&holder, s.lock_ttl)).await?;
                renewed = Instant::now();
            }
            self.sleep(s.poll_interval).await;
        }
    }

    /// Stops every in-flight deployment of the release with rollback, and returns
    /// every function of the release to its previous version.
    async fn abort_release(&mut self, record: &mut ReleaseRecord, abort: Abort) -> Result<Abort> {
        let started = Instant::now();
        self.ui.warn(&format!("stopping the release: {}", abort.reason));
        let unrestored = self.restore_release(record).await?;
        for f in record.functions.values_mut().filter(|f| f.changed) {
            f.outcome = if unrestored.contains(&f.function_name) {
                FunctionOutcome::Failed
            } else {
                FunctionOutcome::RolledBack
            };
        }
        if unrestored.is_empty() {
            self.ui.info(&format!(
                "every function of the release is back on its previous version ({} ms)",
                started.elapsed().as_millis()
            ));
        }
        Ok(abort)
    }

    /// Stops a release's deployments and returns every function it changed to its
    /// previous version. Returns the functions it could not confirm.
    async fn restore_release(&mut self, record: &ReleaseRecord) -> Result<BTreeSet<String>> {
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
    /// its version. Returns the functions it could not confirm.
    async fn restore(&mut self, deployments: &[String], targets: &[(String, String)]) -> Result<BTreeSet<String>> {
        let cd = self.env.codedeploy.clone();
        let stops = deployments.iter().map(|id| {
            let (cd, id) = (cd.clone(), id.clone());
            async move { cd.stop(&id).await }
        });
        for result in self.wait(futures_each(stops)).await {
            if let Err(e) = result {
                self.ui.warn(&format!("stopping a deployment: {e}"));
            }
        }
        let mut pending: BTreeSet<String> = targets.iter().map(|(f, _)| f.clone()).collect();
        for attempt in 0..40 {
            let lambda = self.env.lambda.clone();
            let rounds = targets.iter().filter(|(f, _)| pending.contains(f)).map(|(f, v)| {
                let (lambda, f, v) = (lambda.clone(), f.clone(), v.clone());
                async move {
                    let alias = lambda.alias(&f, ALIAS).await?;
                    if alias.settled_on(&v) {
                        return Ok::<_, DeployError>((f, true));
                    }
                    // CodeDeploy's own rollback may move it at the same moment: the
                    // RevisionId makes the loser re-read and try again.
                    let done = lambda.point_alias(&f, ALIAS, &v, alias.revision_id.as_deref()).await.is_ok();
                    let settled = done && lambda.alias(&f, ALIAS).await.is_ok_and(|a| a.settled_on(&v));
                    Ok((f, settled))
                }
            });
            for result in self.wait(futures_each(rounds)).await {
                match result {
                    Ok((f, true)) => {
                        pending.remove(&f);
                    }
                    Ok(_) => {}
                    Err(e) => self.ui.detail(&format!("restore: {e}")),
                }
            }
            if pending.is_empty() {
                break;
            }
            self.sleep(Duration::from_millis(if attempt < 10 { 100 } else { 500 })).await;
        }
        for f in &pending {
            self.ui.warn(&format!(
                "could not confirm {f}:{ALIAS} restored: run `deployer rollback --env {}`",
                self.env.settings.environment
            ));
        }
        Ok(pending)
    }

    /// If a previous deployer died mid-release (a record still InProgress), stops its
    /// deployments and restores its functions. Returns the restored record.
    async fn restore_unfinished_if_any(&mut self) -> Result<Option<ReleaseRecord>> {
        let ledger = self.env.ledger.clone();
        let newest = self.wait(ledger.records(Some(1))).await?;
        let Some(mut record) = newest.into_iter().next().filter(|r| r.status == Status::InProgress) else {
            return Ok(None);
        };
        self.ui.warn(&format!(
            "release {} ({}) was left in progress by {}: restoring its functions first",
            record.release_id, record.record_id, record.holder
        ));
        let unrestored = self.restore_release(&record).await?;
        if !unrestored.is_empty() {
            return Err(DeployError::Other(format!(
                "could not restore {} of the unfinished release {}",
                unrestored.into_iter().collect::<Vec<_>>().join(", "),
                record.release_id
            )));
        }
        for f in record.functions.values_mut().filter(|f| f.changed) {
            f.outcome = FunctionOutcome::RolledBack;
        }
        record.status = Status::Restored;
        record.reason = Some(format!(
            "the deployer holding it ({}) stopped mid-release; restored by {}",
            record.holder, self.holder
        ));
        let finished = now_ms();
        record.finished_at = Some(rfc3339(finished));
        record.duration_ms = Some(finished.saturating_sub(record.started_ms));
        self.wait(ledger.put(&record)).await?;
        Ok(Some(record))
    }

    /// Returns every function to the previous successful release (or `to`), or, if a
    /// release was left unfinished, to the versions it started from.
    pub async fn rollback(&mut self, to: Option<&str>, report: &mut Report) -> Result<i32> {
        self.take_lock().await?;
        let result = self.rollback_locked(to, report).await;
        self.release_lock(result).await
    }

    async fn rollback_locked(&mut self, to: Option<&str>, report: &mut Report) -> Result<i32> {
        let s = self.env.settings.clone();
        if to.is_none() {
            if let Some(record) = self.restore_unfinished_if_any().await? {
                report.release_id = Some(record.release_id.clone());
                report.outcome = "restored".into();
                report.message = Some(format!(
                    "the unfinished release {} was stopped; every function is back on the version it had before",
                    record.release_id
                ));
                report.functions = function_reports(&record);
                return Ok(exit::OK);
            }
        }
        let ledger = self.env.ledger.clone();
        let records = self.wait(ledger.records(None)).await?;
        let target = choose_rollback_target(&records, to).map_err(DeployError::Refused)?;
        let current = records.iter().find(|r| r.status == Status::Succeeded).map(|r| r.release_id.clone());
        let started_ms = now_ms();
        let mut targets = Vec::new();
        let mut functions = BTreeMap::new();
        for f in &s.functions {
            let Some(old) = target.functions.get(&f.artifact) else {
                self.ui.warn(&format!("{} is not in release {}: left as it is", f.function_name, target.release_id));
                continue;
            };
            let version = old.version.clone().unwrap_or_else(|| old.previous_version.clone());
            let lambda = self.env.lambda.clone();
            let alias = self.wait(lambda.alias(&f.function_name, ALIAS)).await?;
            let changed = !alias.settled_on(&version);
            if changed {
                targets.push((f.function_name.clone(), version.clone()));
            }
            functions.insert(
                f.artifact.clone(),
                FunctionRecord {
                    function_name: f.function_name.clone(),
                    previous_version: alias.version.clone(),
                    version: Some(version),
                    code_sha256: old.code_sha256.clone(),
                    changed,
                    deployment_id: None,
                    outcome: if changed { FunctionOutcome::Succeeded } else { FunctionOutcome::Skipped },
                    duration_ms: None,
                },
            );
        }
        let mut in_flight = Vec::new();
        for f in &s.functions {
            let cd = self.env.codedeploy.clone();
            in_flight.extend(self.wait(cd.in_flight(&s.application, &f.deployment_group)).await?);
        }
        self.ui.info(&format!(
            "rolling {} back to release {} ({} functions change)",
            s.environment,
            target.release_id,
            targets.len()
        ));
        let unrestored = self.restore(&in_flight, &targets).await?;
        for f in functions.values_mut() {
            if unrestored.contains(&f.function_name) {
                f.outcome = FunctionOutcome::Failed;
            }
        }
        let finished = now_ms();
        let record = ReleaseRecord {
            schema: RECORD_SCHEMA,
            record_id: format!("{started_ms:015}-{}", target.release_id),
            release_id: target.release_id.clone(),
            git_commit: target.git_commit.clone(),
            environment: s.environment.clone(),
            kind: RecordKind::Rollback,
            source_environment: None,
            status: if unrestored.is_empty() { Status::Succeeded } else { Status::Failed },
            holder: self.holder.clone(),
            started_at: rfc3339(started_ms),
            started_ms,
            finished_at: Some(rfc3339(finished)),
            duration_ms: Some(finished - started_ms),
            reason: Some(format!("rollback from {}", current.clone().unwrap_or_else(|| "an unrecorded state".into()))),
            rolled_back_from: current,
            functions,
            hooks: BTreeMap::new(),
        };
        self.wait(ledger.put(&record)).await?;
        report.release_id = Some(record.release_id.clone());
        report.git_commit = Some(record.git_commit.clone());
        report.functions = function_reports(&record);
        if unrestored.is_empty() {
            report.outcome = "succeeded".into();
            Ok(exit::OK)
        } else {
            report.outcome = "failed".into();
            report.message =
                Some(format!("could not restore {}", unrestored.into_iter().collect::<Vec<_>>().join(", ")));
            Ok(exit::ERROR)
        }
    }

    /// Per function: the alias, in-flight deployments and alarm states; the lock and
    /// any unfinished release.
    pub async fn status(&mut self, report: &mut Report) -> Result<i32> {
        let s = self.env.settings.clone();
        let ledger = self.env.ledger.clone();
        let records = self.wait(ledger.records(Some(20))).await?;
        let lock = self.wait(ledger.lock_info()).await?;
        let alarms_client = self.env.alarms.clone();
        let alarms = self.wait(alarms_client.describe(&s.watched_alarms())).await?;
        for f in &s.functions {
            let lambda = self.env.lambda.clone();
            let cd = self.env.codedeploy.clone();
            let alias = self.wait(lambda.alias(&f.function_name, ALIAS)).await?;
            let in_flight = self.wait(cd.in_flight(&s.application, &f.deployment_group)).await?;
            let mut step = String::new();
            if let Some(id) = in_flight.first() {
                let view = self.wait(cd.get(id)).await?;
                let events =
                    self.wait(cd.lifecycle(id, &format!("{}:{ALIAS}", f.function_name))).await.unwrap_or_default();
                let current =
                    events.iter().find(|(_, st)| st == "InProgress").map(|(n, _)| n.clone()).unwrap_or_default();
                step = format!("{} {current}", view.status.as_str()).trim().to_owned();
            }
            report.functions.push(FunctionReport {
                name: f.artifact.clone(),
                function_name: f.function_name.clone(),
                previous_version: None,
                version: Some(alias.version.clone()),
                code_sha256: None,
                deployment_id: in_flight.first().cloned(),
                outcome: if !step.is_empty() {
                    step
                } else if alias.additional.as_ref().is_some_and(|(_, w)| *w > 0.0) {
                    "split".into()
                } else {
                    "settled".into()
                },
                duration_ms: None,
                alias: Some(AliasReport {
                    version: alias.version.clone(),
                    additional_version: alias.additional.as_ref().map(|(v, _)| v.clone()),
                    additional_weight: alias.additional.as_ref().map(|(_, w)| *w),
                    in_flight_deployments: in_flight,
                }),
                alarms: alarms.iter().filter(|a| f.alarms.contains(&a.name)).map(|a| alarm_report(a, &s)).collect(),
            });
        }
        if let Some(newest) = records.first() {
            report.release_id = Some(newest.release_id.clone());
            report.git_commit = Some(newest.git_commit.clone());
            if newest.status == Status::InProgress {
                report.message = Some(format!(
                    "release {} is in progress (or its deployer died): started {} by {}; `deployer rollback --env {}` restores it",
                    newest.release_id, newest.started_at, newest.holder, s.environment
                ));
            } else {
                let status = serde_json::to_value(newest.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                report.message =
                    Some(format!("last release {} ({status}) at {}", newest.release_id, newest.started_at));
            }
        }
        report.lock =
            lock.map(|l| format!("held by {} since {} (expires {})", l.holder, l.since, rfc3339(l.expires_s * 1000)));
        report.outcome = "ok".into();
        let env_alarms: Vec<&AlarmView> = alarms.iter().filter(|a| a.state == "ALARM").collect();
        if let Some(a) = env_alarms.first() {
            report.alarm = Some(alarm_report(a, &s));
        }
        Ok(exit::OK)
    }

    pub async fn history(&mut self, limit: usize, report: &mut Report) -> Result<i32> {
        let ledger = self.env.ledger.clone();
        let records = self.wait(ledger.records(Some(limit))).await?;
        report.releases = records.iter().map(history_entry).collect();
        report.outcome = "ok".into();
        Ok(exit::OK)
    }

    /// Deletes versions beyond the newest `keep`, never one an alias, the last
    /// successful release or an unfinished release uses.
    pub async fn prune(&mut self, keep: usize, report: &mut Report) -> Result<i32> {
        self.take_lock().await?;
        let result = self.prune_locked(keep, report).await;
        self.release_lock(result).await
    }

    async fn prune_locked(&mut self, keep: usize, report: &mut Report) -> Result<i32> {
        let s = self.env.settings.clone();
        let ledger = self.env.ledger.clone();
        let records = self.wait(ledger.records(None)).await?;
        for f in &s.functions {
            let lambda = self.env.lambda.clone();
            let alias = self.wait(lambda.alias(&f.function_name, ALIAS)).await?;
            let versions = self.wait(lambda.versions(&f.function_name)).await?;
            let protected = protected_versions(&records, &f.artifact, &alias);
            let doomed = prunable(&versions.iter().map(|(v, _)| *v).collect::<Vec<_>>(), keep, &protected);
            for v in doomed {
                self.wait(lambda.delete_version(&f.function_name, v)).await?;
                report.pruned.push(format!("{}:{v}", f.function_name));
            }
        }
        report.outcome = "succeeded".into();
        report.message = Some(format!("kept the newest {keep} versions of each function and every version in use"));
        Ok(exit::OK)
    }
}

/// Versions of one function that must not be deleted.
fn protected_versions(records: &[ReleaseRecord], artifact: &str, alias: &AliasState) -> BTreeSet<u64> {
    let mut protected: BTreeSet<u64> = BTreeSet::new();
    let mut add = |v: &str| {
        if let Ok(n) = v.parse() {
            protected.insert(n);
        }
    };
    add(&alias.version);
    if let Some((v, _)) = &alias.additional {
        add(v);
    }
    if let Some(last) = records.iter().find(|r| r.status == Status::Succeeded) {
        if let Some(f) = last.functions.get(artifact) {
            add(f.version.as_deref().unwrap_or(&f.previous_version));
        }
    }
    for r in records.iter().filter(|r| r.status == Status::InProgress) {
        if let Some(f) = r.functions.get(artifact) {
            add(&f.previous_version);
            if let Some(v) = &f.version {
                add(v);
            }
        }
    }
    protected
}

/// The versions to delete: all but the newest `keep` and the protected ones.
pub fn prunable(versions: &[u64], keep: usize, protected: &BTreeSet<u64>) -> Vec<u64> {
    let mut sorted = versions.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.into_iter().skip(keep).filter(|v| !protected.contains(v)).rev().collect()
}

/// The release `rollback` returns to: `to` if given (it must have succeeded here),
/// else the newest successful release older than the current one that was not itself
/// rolled back from.
pub fn choose_rollback_target<'r>(
    records: &'r [ReleaseRecord],
    to: Option<&str>,
) -> std::result::Result<&'r ReleaseRecord, String> {
    if let Some(id) = to {
        return records.iter().find(|r| r.status == Status::Succeeded && r.release_id == id).ok_or_else(|| {
            format!("release {id} never succeeded in this environment\n  fix: pick one from `deployer history` with status succeeded")
        });
    }
    let current = records.iter().find(|r| r.status == Status::Succeeded).map(|r| r.release_id.as_str());
    let abandoned: BTreeSet<&str> = records.iter().filter_map(|r| r.rolled_back_from.as_deref()).collect();
    records
        .iter()
        .filter(|r| r.status == Status::Succeeded && r.kind != RecordKind::Rollback)
        .find(|r| Some(r.release_id.as_str()) != current && !abandoned.contains(r.release_id.as_str()))
        .ok_or_else(|| "nothing to roll back to: there is no earlier successful release here\n  fix: name one with --to RELEASE (see `deployer history`)".into())
}

/// Why the newest release of the source environment cannot be promoted, if it can't.
pub fn promotable<'r>(
    records: &'r [ReleaseRecord],
    source: &str,
    min_soak: Duration,
    now: u64,
) -> std::result::Result<&'r ReleaseRecord, String> {
    let newest = records
        .first()
        .ok_or_else(|| format!("nothing to promote: {source} has no releases\n  fix: deploy to {source} first"))?;
    if newest.kind == RecordKind::Rollback {
        return Err(format!(
            "the last change in {source} was a rollback to {} ({}): promote only what {source} is meant to run\n  fix: deploy a fixed release to {source} first",
            newest.release_id, newest.started_at
        ));
    }
    if newest.status != Status::Succeeded {
        return Err(format!(
            "the last release in {source}, {} ({}), did not succeed: {}\n  fix: fix it and deploy to {source} again; nothing is promoted",
            newest.release_id,
            serde_json::to_value(newest.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            newest.reason.as_deref().unwrap_or("no reason recorded")
        ));
    }
    // Soak counts from when this release first succeeded there.
    let since = records
        .iter()
        .take_while(|r| r.release_id == newest.release_id && r.status == Status::Succeeded)
        .filter_map(ReleaseRecord::finished_ms)
        .min()
        .unwrap_or(now);
    let soaked = Duration::from_millis(now.saturating_sub(since));
    if soaked < min_soak {
        return Err(format!(
            "release {} has soaked in {source} for {} of the {} required\n  fix: promote again after {}",
            newest.release_id,
            format_duration(soaked),
            format_duration(min_soak),
            rfc3339(since + u64::try_from(min_soak.as_millis()).unwrap_or(0))
        ));
    }
    Ok(newest)
}

/// Fetches a release from the artifact store and checks every hash against what the
/// source environment recorded.
pub async fn fetch_release(store: &ArtifactStore, record: &ReleaseRecord) -> Result<LoadedRelease> {
    let manifest_bytes = store.get(&ArtifactStore::key(&record.release_id, MANIFEST)).await?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| DeployError::Other(format!("the stored manifest of {} is unreadable: {e}", record.release_id)))?;
    // Fetched together; each is hashed in its own task as it arrives.
    let fetches = manifest.artifacts.iter().map(|(name, a)| {
        let (store, name, key, sha256) =
            (store.clone(), name.clone(), ArtifactStore::key(&record.release_id, &a.file), a.sha256.clone());
        let release_id = record.release_id.clone();
        async move {
            let bytes = store.get(&key).await?;
            if crate::release::sha256_hex(&bytes) != sha256 {
                return Err(DeployError::Refused(format!(
                    "the stored artifact {name} of {release_id} does not match its manifest: refusing to promote it"
                )));
            }
            Ok((name, bytes))
        }
    });
    let zips: BTreeMap<String, ZipBytes> = futures_all(fetches).await?.into_iter().collect();
    for (name, f) in &record.functions {
        if manifest.artifacts.get(name).map(|a| &a.code_sha256) != Some(&f.code_sha256) {
            return Err(DeployError::Refused(format!(
                "{name}: the stored artifact's CodeSha256 differs from what {} ran ({}): refusing to promote",
                record.environment, f.code_sha256
            )));
        }
    }
    Ok(LoadedRelease { manifest, zips })
}

/// Uploads a packaged release to the artifact store as its artifacts pass their
/// checks (objects already there are kept: keys are per release), the manifest last,
/// so that a manifest in the store always has every artifact it names and nothing
/// unchecked is ever uploaded. Returns the checked artifacts and the time spent
/// waiting for the hashing while no upload was in flight (the deployer's own time).
pub async fn store_release(
    store: &ArtifactStore,
    manifest: &Manifest,
    mut zips: Zips,
) -> Result<(BTreeMap<String, ZipBytes>, Duration)> {
    let id = &manifest.release_id;
    let mut hashing = Duration::ZERO;
    let keys: BTreeMap<String, String> =
        manifest.artifacts.iter().map(|(name, a)| (name.clone(), ArtifactStore::key(id, &a.file))).collect();
    let present = futures_all(keys.values().map(|key| {
        let (store, key) = (store.clone(), key.clone());
        async move { store.exists(&key).await }
    }))
    .await?;
    let mut missing: BTreeSet<&String> = keys.keys().zip(present).filter(|(_, p)| !p).map(|(name, _)| name).collect();
    let mut uploads = tokio::task::JoinSet::new();
    let mut arrived = BTreeMap::new();
    let mut upload_error = None;
    loop {
        let idle = uploads.is_empty();
        let since = Instant::now();
        tokio::select! {
            next = zips.next() => {
                if idle {
                    hashing += since.elapsed();
                }
                let Some((name, zip)) = next else { break };
                if let (Ok(bytes), true) = (&zip, missing.remove(&name)) {
                    let (store, key, bytes) = (store.clone(), keys[&name].clone(), bytes.clone());
                    uploads.spawn(async move { store.put(&key, bytes).await });
                }
                arrived.insert(name, zip);
            }
            Some(done) = uploads.join_next(), if !idle => {
                if let Err(e) = done.map_err(|e| DeployError::Other(format!("an upload task failed: {e}"))).and_then(|r| r) {
                    upload_error.get_or_insert(e);
                }
            }
        }
    }
    while let Some(done) = uploads.join_next().await {
        if let Err(e) = done.map_err(|e| DeployError::Other(format!("an upload task failed: {e}"))).and_then(|r| r) {
            upload_error.get_or_insert(e);
        }
    }
    // A bad artifact is what the user must fix first; the checked ones uploaded meanwhile
    // are correct objects under this release's keys.
    let zips = crate::release::collect_verified(manifest, arrived)?;
    if let Some(e) = upload_error {
        return Err(e);
    }
    let manifest_bytes = serde_json::to_vec_pretty(manifest).map_err(|e| DeployError::Other(e.to_string()))?;
    store.put(&ArtifactStore::key(id, MANIFEST), manifest_bytes.into()).await?;
    Ok((zips, hashing))
}

pub fn appspec(function: &str, current: &str, target: &str, pre: &str, post: &str) -> String {
    serde_json::json!({
        "version": 0.0,
        "Resources": [{
            "function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Name": function, "Alias": ALIAS, "CurrentVersion": current, "TargetVersion": target}
            }
        }],
        "Hooks": [{"BeforeAllowTraffic": pre}, {"AfterAllowTraffic": post}]
    })
    .to_string()
}

fn alarm_report(a: &AlarmView, s: &crate::settings::Settings) -> AlarmReport {
    AlarmReport {
        name: a.name.clone(),
        state: a.state.clone(),
        function_name: s
            .function_of_alarm(&a.name)
            .map(|f| f.function_name.clone())
            .or_else(|| a.function_dimension.clone()),
        metric: a.metric.clone(),
        value: a.value,
        threshold: a.threshold,
        reason: a.reason.clone(),
    }
}

/// What a progress row shows, to tell whether it changed.
#[derive(Clone)]
struct RowKey {
    status: DeploymentStatus,
    percent: Option<i64>,
    events: Vec<(String, String)>,
    bad: Vec<String>,
}

fn progress_row(
    artifact: &str,
    f: &FunctionRecord,
    view: &DeploymentView,
    alias: Option<&AliasState>,
    events: &[(String, String)],
    bad_alarms: &[String],
) -> String {
    let target = f.version.as_deref().unwrap_or("?");
    let share = alias.map_or_else(
        || if view.status == DeploymentStatus::Succeeded { "100%".into() } else { "-".into() },
        |a| format!("{:.0}%", a.percent_on(target)),
    );
    let hooks: Vec<String> = events
        .iter()
        .filter_map(|(n, st)| {
            let step = match n.as_str() {
                "BeforeAllowTraffic" => "pre-hook",
                "AllowTraffic" => "shift",
                "AfterAllowTraffic" => "post-hook",
                _ => return None,
            };
            Some(format!("{step}={st}"))
        })
        .collect();
    format!(
        "{artifact:<12} {} -> {target:<4} {:<11} {share:>4} on {target}  {}  alarms {}",
        f.previous_version,
        view.status.as_str(),
        if hooks.is_empty() { "-".into() } else { hooks.join(" ") },
        if bad_alarms.is_empty() { "OK".to_owned() } else { bad_alarms.join(",") }
    )
}

fn function_reports(record: &ReleaseRecord) -> Vec<FunctionReport> {
    record
        .functions
        .iter()
        .map(|(name, f)| FunctionReport {
            name: name.clone(),
            function_name: f.function_name.clone(),
            previous_version: Some(f.previous_version.clone()),
            version: f.version.clone(),
            code_sha256: Some(f.code_sha256.clone()),
            deployment_id: f.deployment_id.clone(),
            outcome: serde_json::to_value(f.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            duration_ms: f.duration_ms,
            alias: None,
            alarms: Vec::new(),
        })
        .collect()
}

fn history_entry(r: &ReleaseRecord) -> HistoryEntry {
    let text = |v: serde_json::Value| v.as_str().map(str::to_owned).unwrap_or_default();
    HistoryEntry {
        record_id: r.record_id.clone(),
        release_id: r.release_id.clone(),
        kind: text(serde_json::to_value(r.kind).unwrap_or_default()),
        status: text(serde_json::to_value(r.status).unwrap_or_default()),
        git_commit: r.git_commit.clone(),
        source_environment: r.source_environment.clone(),
        started_at: r.started_at.clone(),
        duration_ms: r.duration_ms,
        reason: r.reason.clone(),
    }
}

/// Takes an artifact's bytes out of the release for its upload.
fn take_zip(zips: &mut BTreeMap<String, ZipBytes>, artifact: &str) -> Result<ZipBytes> {
    zips.remove(artifact).ok_or_else(|| DeployError::Other(format!("the release holds no bytes for {artifact}")))
}

/// Drops artifacts on a blocking thread: returning hundreds of megabytes to the
/// kernel takes milliseconds that the release need not wait for.
fn free_in_background(zips: BTreeMap<String, ZipBytes>) {
    if !zips.is_empty() {
        drop(tokio::task::spawn_blocking(move || drop(zips)));
    }
}

/// Runs futures concurrently; the first error wins (after all have finished, so no
/// call is abandoned half-way).
async fn futures_all<T, F>(futures: impl IntoIterator<Item = F>) -> Result<Vec<T>>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    futures_each(futures).await.into_iter().collect()
}

/// Runs futures concurrently, each as its own task (so responses are handled on every
/// worker thread and a finished call is never polled again), and returns every result
/// in order.
async fn futures_each<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        match handle.await {
            Ok(value) => results.push(value),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a cloud call's task was cancelled: {e}"),
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, release: &str, kind: RecordKind, status: Status, finished: u64) -> ReleaseRecord {
        ReleaseRecord {
            schema: RECORD_SCHEMA,
            record_id: id.into(),
            release_id: release.into(),
            git_commit: "c".into(),
            environment: "test".into(),
            kind,
            source_environment: None,
            status,
            holder: "h".into(),
            started_at: rfc3339(finished - 10),
            started_ms: finished - 10,
            finished_at: None,
            duration_ms: Some(10),
            reason: None,
            rolled_back_from: None,
            functions: BTreeMap::new(),
            hooks: BTreeMap::new(),
        }
    }

    #[test]
    fn prune_keeps_the_newest_and_every_version_in_use() {
        let protected: BTreeSet<u64> = [2, 9].into();
        assert_eq!(prunable(&[1, 2, 3, 4, 5, 6, 7, 8, 9], 3, &protected), vec![1, 3, 4, 5, 6]);
        assert_eq!(prunable(&[1, 2], 5, &protected), Vec::<u64>::new());
        assert_eq!(prunable(&[3, 1, 2], 0, &BTreeSet::new()), vec![1, 2, 3]);
    }

    #[test]
    fn protected_versions_cover_aliases_last_success_and_unfinished() {
        let mut ok = record("2", "r-b", RecordKind::Deploy, Status::Succeeded, 200);
        ok.functions.insert(
            "load".into(),
            FunctionRecord {
                function_name: "etl-load".into(),
                previous_version: "3".into(),
                version: Some("4".into()),
                code_sha256: "x".into(),
                changed: true,
                deployment_id: None,
                outcome: FunctionOutcome::Succeeded,
                duration_ms: None,
            },
        );
        let mut running = ok.clone();
        running.status = Status::InProgress;
        running.functions.get_mut("load").unwrap().version = Some("7".into());
        let alias = AliasState { version: "5".into(), additional: Some(("6".into(), 0.1)), revision_id: None };
        assert_eq!(protected_versions(&[running, ok], "load", &alias), [3, 4, 5, 6, 7].into());
    }

    #[test]
    fn rollback_goes_to_the_previous_success_and_not_back_again() {
        let r1 = record("1", "r-1", RecordKind::Deploy, Status::Succeeded, 100);
        let bad = record("2", "r-bad", RecordKind::Deploy, Status::RolledBack, 200);
        let r2 = record("3", "r-2", RecordKind::Promote, Status::Succeeded, 300);
        let records = vec![r2.clone(), bad.clone(), r1.clone()];
        assert_eq!(choose_rollback_target(&records, None).unwrap().release_id, "r-1");
        let mut back = record("4", "r-1", RecordKind::Rollback, Status::Succeeded, 400);
        back.rolled_back_from = Some("r-2".into());
        let after = vec![back, r2, bad, r1];
        let e = choose_rollback_target(&after, None).expect_err("r-1 is current and r-2 was abandoned");
        assert!(e.contains("nothing to roll back to"), "{e}");
        assert_eq!(choose_rollback_target(&after, Some("r-2")).unwrap().release_id, "r-2");
        assert!(choose_rollback_target(&after, Some("r-bad")).is_err(), "a failed release is never a target");
    }

    #[test]
    fn promotion_needs_a_successful_soaked_release() {
        let min = Duration::from_secs(60);
        assert!(promotable(&[], "test", min, 1_000_000)
            .unwrap_err()
            .contains("nothing to promote: test has no releases"));
        let ok = record("2", "r-2", RecordKind::Deploy, Status::Succeeded, 100_000);
        let again = record("3", "r-2", RecordKind::Deploy, Status::Succeeded, 150_000);
        assert_eq!(
            promotable(&[again.clone(), ok.clone()], "test", min, 160_000).unwrap().release_id,
            "r-2",
            "soak counts from the first success"
        );
        let e = promotable(&[again, ok.clone()], "test", min, 130_000).unwrap_err();
        assert!(e.contains("soaked in test for 30.0s of the 60.0s"), "{e}");
        let bad = record("4", "r-3", RecordKind::Deploy, Status::RolledBack, 200_000);
        let e = promotable(&[bad, ok.clone()], "test", Duration::ZERO, 300_000).unwrap_err();
        assert!(e.contains("did not succeed") && e.contains("rolled_back"), "{e}");
        let back = record("5", "r-1", RecordKind::Rollback, Status::Succeeded, 200_000);
        assert!(promotable(&[back, ok], "test", Duration::ZERO, 300_000).unwrap_err().contains("rollback"));
    }

    #[test]
    fn the_appspec_names_the_alias_versions_and_hooks() {
        let spec: serde_json::Value = serde_json::from_str(&appspec("etl-dev-load", "3", "4", "pre", "post")).unwrap();
        let props = &spec["Resources"][0]["function"]["Properties"];
        assert_eq!((props["Name"].as_str(), props["Alias"].as_str()), (Some("etl-dev-load"), Some("live")));
        assert_eq!((props["CurrentVersion"].as_str(), props["TargetVersion"].as_str()), (Some("3"), Some("4")));
        assert_eq!(spec["Hooks"][0]["BeforeAllowTraffic"], "pre");
        assert_eq!(spec["Hooks"][1]["AfterAllowTraffic"], "post");
    }

    #[tokio::test]
    async fn futures_run_together_and_keep_their_order() {
        use std::sync::atomic::AtomicUsize;
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let out = futures_each((0..20u64).map(|i| {
            let (now, most) = (now.clone(), most.clone());
            async move {
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(running, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20 - i)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                i
            }
        }))
        .await;
        assert_eq!(out, (0..20).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 20, "all twenty were in flight at once");
    }
}
