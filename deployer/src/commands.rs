//! Runs a parsed command line: loads the settings, connects, runs the engine, and turns
//! its typed outcome (or error) into the report and the exit code.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cli::{Cli, Command, OutputFormat};
use crate::cloud::meter::CloudMeter;
use crate::cloud::sdk::{S3Store, SdkCloud};
use crate::cloud::{artifact_key, ArtifactStore, Ledger};
use crate::connect::Connection;
use crate::engine::{fetch_release, policy, Engine, Incoming, Interrupt, Outcome, PromotionSource, Zips};
use crate::error::{exit, DeployError, Result};
use crate::ledger::{now_ms, RecordKind};
use crate::release::{self, Manifest, PackagePlan, MANIFEST};
use crate::report::{Format, Report, Timings, Ui};
use crate::settings::Settings;

/// Runs the command; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let format = match cli.global.output {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
    };
    let ui = Ui::new(if cli.global.quiet { -1 } else { i8::from(cli.global.verbose) });
    let (started, started_ms) = (Instant::now(), now_ms());
    let meter = CloudMeter::new();
    let session = Session::new(&cli, &ui, meter.clone());
    let result = session.dispatch().await;
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let (cloud_calls, cloud_retries) = meter.calls_and_retries();
    let timings = Timings {
        started_ms,
        duration_ms: millis(started.elapsed()),
        cloud_wait_ms: millis(meter.waited()),
        cloud_calls,
        cloud_retries,
    };
    let report = Report::new(cli.command.name(), cli.command.environment(), timings);
    let report = match &result {
        Ok(outcome) => report.of_outcome(outcome),
        Err(error) => report.of_error(error),
    };
    let failed = report.exit_code != exit::OK && report.exit_code != exit::ROLLED_BACK;
    if format == Format::Text && failed {
        // The error on stderr; the summary and annotations still go out.
        eprintln!("error: {}", report.message.as_deref().unwrap_or(&report.outcome));
        if std::env::var_os("GITHUB_STEP_SUMMARY").is_some() || std::env::var_os("GITHUB_ACTIONS").is_some() {
            report.emit(format);
        }
    } else {
        report.emit(format);
    }
    report.exit_code
}

/// One run of the deployer: where things are and how the cloud is reached.
struct Session<'a> {
    cli: &'a Cli,
    ui: &'a Ui,
    root: PathBuf,
    settings_dir: PathBuf,
    connection: Connection,
}

impl<'a> Session<'a> {
    fn new(cli: &'a Cli, ui: &'a Ui, meter: CloudMeter) -> Self {
        let root = root(cli);
        let settings_dir = cli.global.settings_dir.clone().unwrap_or_else(|| root.join("environments"));
        let assume = !cli.global.no_assume_role;
        let connection =
            if cli.global.local { Connection::local(&root, assume, meter) } else { Connection::aws(assume, meter) };
        Self { cli, ui, root, settings_dir, connection }
    }

    fn settings(&self, env: &str) -> Result<Settings> {
        Settings::load(&self.settings_dir, env, self.cli.global.local)
    }

    fn dist(&self, dist: &Option<PathBuf>) -> PathBuf {
        dist.clone().unwrap_or_else(|| self.root.join("dist"))
    }

    /// The caller's configuration and the environment's clients as its deploy role.
    async fn open(&self, settings: &Settings, purpose: &str) -> Result<(aws_config::SdkConfig, SdkCloud)> {
        let base = self.connection.base(&settings.region).await?;
        let cloud = self
            .connection
            .environment(&base, settings, &format!("deployer-{purpose}-{}", settings.environment))
            .await?;
        Ok((base, cloud))
    }

    fn engine<'s>(&'s self, settings: &'s Settings, cloud: SdkCloud) -> Engine<'s, SdkCloud> {
        Engine::new(settings, cloud, self.ui)
    }

    async fn dispatch(&self) -> Result<Outcome> {
        match &self.cli.command {
            Command::Package(args) => self.package(args),
            Command::Plan(args) => self.plan(&args.env, &args.dist).await,
            Command::Deploy(args) => self.deploy(&args.env, &args.dist).await,
            Command::Promote(args) => self.promote(&args.to, args.from.as_deref()).await,
            Command::Rollback(args) => {
                let settings = self.settings(&args.env)?;
                let (_, cloud) = self.open(&settings, "rollback").await?;
                let outcome =
                    Outcome::RolledBack(self.engine(&settings, cloud.clone()).rollback(args.to.as_deref()).await?);
                self.announce(&settings, &cloud, &outcome).await;
                Ok(outcome)
            }
            Command::Status(args) => {
                let settings = self.settings(&args.env)?;
                let (_, cloud) = self.open(&settings, "status").await?;
                Ok(Outcome::Status(self.engine(&settings, cloud).status().await?))
            }
            Command::History(args) => {
                let settings = self.settings(&args.env)?;
                let (_, cloud) = self.open(&settings, "history").await?;
                Ok(Outcome::History(self.engine(&settings, cloud).history(args.limit).await?))
            }
            Command::Report(args) => {
                let settings = self.settings(&args.env)?;
                let (_, cloud) = self.open(&settings, "report").await?;
                let engine = self.engine(&settings, cloud);
                let records = engine.history(1000).await?;
                let record = records
                    .into_iter()
                    .find(|r| r.release_id == args.release || r.record_id == args.release)
                    .ok_or_else(|| {
                        DeployError::refused(
                            crate::error::RefusalKind::UnknownRelease,
                            format!("{} has no record of release {}", settings.environment, args.release),
                            format!("`deployer history --env {}` lists its releases", settings.environment),
                        )
                    })?;
                let html = args.html.clone().unwrap_or_else(|| {
                    PathBuf::from(format!("release-{}-{}.html", settings.environment, record.release_id))
                });
                let timeline = engine.timeline(&record).await;
                std::fs::write(&html, crate::report::html::render(&settings, &record, &timeline)).map_err(|e| {
                    DeployError::artifact(
                        &html,
                        format!("cannot write the report: {e}"),
                        "choose a writable --html path",
                    )
                })?;
                Ok(Outcome::ReleaseReport { record: Box::new(record), html })
            }
            Command::Doctor(args) => self.doctor(&args.env, &args.dist).await,
            Command::Review(args) => self.review(args).await,
            Command::Prune(args) => {
                let settings = self.settings(&args.env)?;
                let (_, cloud) = self.open(&settings, "prune").await?;
                Ok(Outcome::Pruned(self.engine(&settings, cloud).prune(args.keep).await?))
            }
        }
    }

    /// The plan of a deploy from `dist`, or, for an environment fed by promotion, of
    /// the promotion it would make.
    async fn plan(&self, env: &str, dist: &Option<PathBuf>) -> Result<Outcome> {
        let settings = self.settings(env)?;
        if settings.promotes_from.is_some() && dist.is_none() {
            let (base, cloud, store, record) = self.promotion(&settings, None).await?;
            let manifest = fetch_manifest(&store, &record.release_id).await?;
            let source = PromotionSource { environment: record.environment.clone(), record };
            let plan = self.engine(&settings, cloud).preview(&manifest, Some(source)).await?;
            drop(base);
            return Ok(Outcome::Planned(plan));
        }
        let (manifest, zips, _, cloud) = self.load_and_open(&settings, self.dist(dist), "plan").await?;
        let plan = self.engine(&settings, cloud).preview(&manifest, None).await?;
        // A tampered artifact makes the plan fail as the deploy would.
        drop(zips.ready().await?);
        Ok(Outcome::Planned(plan))
    }

    /// Every check, as findings; only bad settings end it early (exit 3).
    async fn doctor(&self, env: &str, dist: &Option<PathBuf>) -> Result<Outcome> {
        use crate::engine::Finding;
        let settings = self.settings(env)?;
        let mut findings = Vec::new();
        let dist = self.dist(dist);
        let manifest = match release::read_manifest(&dist) {
            Ok(m) => Some(m),
            Err(e) => {
                findings.push(Finding::warn(
                    "packaged release",
                    dist.join(MANIFEST).display().to_string(),
                    format!("not checked against the functions: {e}"),
                    "package first (`deployer package --release`), or pass --dist",
                ));
                None
            }
        };
        let cloud = match self.open(&settings, "doctor").await {
            Ok((_, cloud)) => {
                findings.insert(
                    0,
                    Finding::pass(
                        "deploy role",
                        &settings.deploy_role_arn,
                        format!("assumed; the credentials are account {}", settings.account_id),
                    ),
                );
                cloud
            }
            Err(e) => {
                findings.insert(0, Finding::error("deploy role", &settings.deploy_role_arn, &e));
                return Ok(Outcome::Doctor(findings));
            }
        };
        findings.extend(self.engine(&settings, cloud).doctor(manifest.as_ref()).await);
        Ok(Outcome::Doctor(findings))
    }

    /// The Well-Architected review, read as the environment's deploy role.
    async fn review(&self, args: &crate::cli::ReviewArgs) -> Result<Outcome> {
        let settings = self.settings(&args.env)?;
        let (_, cloud) = self.open(&settings, "review").await?;
        let repo = crate::review::repository::RepositoryFacts::read(&self.root, &self.settings_dir);
        let review = crate::review::review(&settings, &cloud, &repo, &release::git_commit(&self.root)).await;
        if let Some(path) = &args.markdown {
            std::fs::write(path, crate::report::review_markdown(&review)).map_err(|e| {
                DeployError::internal(format!(
                    "writing the review to {}: {e} (check that its folder exists)",
                    path.display()
                ))
            })?;
        }
        Ok(Outcome::Review(review))
    }

    async fn deploy(&self, env: &str, dist: &Option<PathBuf>) -> Result<Outcome> {
        let settings = self.settings(env)?;
        policy::deploy_allowed(&settings)?;
        let (manifest, zips, base, cloud) = self.load_and_open(&settings, self.dist(dist), "deploy").await?;
        let store = self.connection.artifact_store(&base, &settings.artifact_bucket);
        let incoming = Incoming { manifest, zips, kind: RecordKind::Deploy, source_environment: None };
        let engine = self.engine(&settings, cloud.clone()).interruptible(Interrupt::listen());
        let outcome = Outcome::Released(engine.release(incoming, Some(&store)).await?);
        self.announce(&settings, &cloud, &outcome).await;
        Ok(outcome)
    }

    async fn promote(&self, to: &str, from: Option<&str>) -> Result<Outcome> {
        let settings = self.settings(to)?;
        let (_, cloud, store, record) = self.promotion(&settings, from).await?;
        let loaded = fetch_release(&store, &record).await?;
        let incoming = Incoming {
            manifest: loaded.manifest,
            zips: Zips::Ready(loaded.zips),
            kind: RecordKind::Promote,
            source_environment: Some(record.environment.clone()),
        };
        let engine = self.engine(&settings, cloud.clone()).interruptible(Interrupt::listen());
        let outcome = Outcome::Released(engine.release(incoming, None::<&S3Store>).await?);
        self.announce(&settings, &cloud, &outcome).await;
        Ok(outcome)
    }

    /// Writes a finished release's verdict to the environment's release log, which its
    /// dashboard shows. Best effort: the ledger holds the record and the verdict stands
    /// whether this is written or not.
    async fn announce(&self, settings: &Settings, cloud: &SdkCloud, outcome: &Outcome) {
        use crate::cloud::ReleaseLog;
        use crate::review::names::{Workload, RELEASE_LOG_STREAM};
        let record = match outcome {
            Outcome::Released(r) => &r.record,
            Outcome::RolledBack(
                crate::engine::RollbackOutcome::Restored(record)
                | crate::engine::RollbackOutcome::Returned { record, .. },
            ) => record,
            _ => return,
        };
        let Some(event) = crate::ledger::release_log_event(record) else { return };
        let group = Workload::of(settings).release_log();
        if let Err(e) = cloud.append(&group, RELEASE_LOG_STREAM, &event).await {
            self.ui.warn(&format!(
                "the release log {group} was not written (the dashboard will not show this release): {e}"
            ));
        }
    }

    /// The release `target` would take from its source: the source's newest release,
    /// if the rules allow it now; with the target's clients and the artifact store.
    async fn promotion(
        &self,
        target: &Settings,
        from: Option<&str>,
    ) -> Result<(aws_config::SdkConfig, SdkCloud, S3Store, crate::ledger::ReleaseRecord)> {
        let source = policy::promotion_source(target, from)?;
        let source_settings = self.settings(&source)?;
        let (_, source_cloud) = self.open(&source_settings, "read").await?;
        let (base, cloud) = self.open(target, "promote").await?;
        let records = source_cloud.records(None).await?;
        let record = policy::promotable(&records, &source, target.min_soak, now_ms())?.clone();
        let store = self.connection.artifact_store(&base, &target.artifact_bucket);
        Ok((base, cloud, store, record))
    }

    /// Reads the manifest, starts verifying the artifacts on blocking threads, and
    /// connects meanwhile, so the hashing hides behind the cloud's answers. A bad
    /// artifact is reported before any cloud error: it is what the user must fix first.
    async fn load_and_open(
        &self,
        settings: &Settings,
        dist: PathBuf,
        purpose: &str,
    ) -> Result<(Manifest, Zips, aws_config::SdkConfig, SdkCloud)> {
        let manifest = release::read_manifest(&dist)?;
        let zips = Zips::verify(dist, &manifest);
        match self.open(settings, purpose).await {
            Ok((base, cloud)) => Ok((manifest, zips, base, cloud)),
            Err(e) => Err(zips.ready().await.err().unwrap_or(e)),
        }
    }

    fn package(&self, args: &crate::cli::PackageArgs) -> Result<Outcome> {
        let root = &self.root;
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        let plan = if args.release {
            self.release_build(args, &target)?
        } else {
            if !args.no_build {
                let status = std::process::Command::new("bash")
                    .arg(root.join("scripts/cargo-build.sh"))
                    .current_dir(root)
                    .status()
                    .map_err(|e| DeployError::internal(format!("running scripts/cargo-build.sh: {e}")))?;
                if !status.success() {
                    return Err(DeployError::Artifact {
                        path: root.join("scripts/cargo-build.sh"),
                        problem: format!("the build failed ({status})"),
                        fix: "see cargo's output above, fix the build, and package again".into(),
                    });
                }
            }
            PackagePlan::new(&args.bin_dir.clone().unwrap_or_else(|| target.join("debug")), &args.bins)
        };
        let mut plan = plan;
        plan.expected_output_changes.clone_from(&args.expected_output_changes);
        let dist = args.dist.clone().unwrap_or_else(|| root.join("dist"));
        let manifest = release::package(&plan, &dist, &release::git_commit(root))?;
        Ok(Outcome::Packaged { manifest, manifest_path: dist.join(MANIFEST) })
    }

    /// Builds the artifacts `--bin` does not supply with cargo-lambda, each for its
    /// function's architecture, and plans them.
    fn release_build(&self, args: &crate::cli::PackageArgs, target: &Path) -> Result<PackagePlan> {
        let settings = args.env.as_deref().map(|env| self.settings(env)).transpose()?;
        let architecture_of = |artifact: &str| match &settings {
            Some(s) => s.functions.iter().find(|f| f.artifact == artifact).map_or(s.architecture, |f| f.architecture),
            None => crate::settings::Architecture::default(),
        };
        let cargo_bin = |artifact: &str| {
            args.cargo_bins.iter().find(|(n, _)| n == artifact).map_or(artifact.to_owned(), |(_, b)| b.clone())
        };
        let lambda_dir = target.join("lambda");
        let names: Vec<String> = release::FUNCTIONS
            .iter()
            .chain(release::HOOKS.iter())
            .map(|n| (*n).to_owned())
            .chain(args.cargo_bins.iter().map(|(n, _)| n.clone()))
            .filter(|n| !args.bins.iter().any(|(b, _)| b == n))
            .collect();
        let builds = names.iter().map(|n| (cargo_bin(n), architecture_of(n))).collect();
        release::lambda_build::build(&self.root, &lambda_dir, &builds)?;
        let built = |artifact: &str| {
            release::lambda_build::bootstrap_path(&lambda_dir, architecture_of(artifact), &cargo_bin(artifact))
        };
        let mut plan = PackagePlan::from(built, release::Profile::Release, &args.bins);
        for (name, _) in &args.cargo_bins {
            if !plan.entries.iter().any(|e| &e.name == name) {
                plan.entries.push(release::PlanEntry {
                    name: name.clone(),
                    kind: release::ArtifactKind::Function,
                    binary: built(name),
                    profile: Some(release::Profile::Release),
                });
            }
        }
        Ok(plan)
    }
}

/// A stored release's manifest (no artifact is read).
async fn fetch_manifest<S: ArtifactStore>(store: &S, release_id: &str) -> Result<Manifest> {
    let bytes = store.get(&artifact_key(release_id, MANIFEST)).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        DeployError::refused(
            crate::error::RefusalKind::StoredArtifact,
            format!("the stored manifest of {release_id} is unreadable: {e}"),
            "deploy the release to the first environment again, which stores it anew",
        )
    })
}

/// The repository root: --root, else the nearest folder above the current one that
/// has `environments/`.
fn root(cli: &Cli) -> PathBuf {
    if let Some(root) = &cli.global.root {
        return root.clone();
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors().find(|d| d.join("environments").is_dir()).map_or(cwd.clone(), Path::to_path_buf)
}
