//! Runs a parsed command line and produces its report and exit code.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::{Cli, Command, OutputFormat};
use crate::connect::Connection;
use crate::engine::{fetch_release, promotable, Engine, Incoming, Interrupt, Zips};
use crate::error::{exit, DeployError, Result};
use crate::ledger::{now_ms, RecordKind};
use crate::release::{self, PackagePlan};
use crate::report::{Format, FunctionReport, Report, Ui};
use crate::settings::Settings;

/// Runs the command; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let format = match cli.global.output {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
    };
    let verbosity = if cli.global.quiet { -1 } else { i8::from(cli.global.verbose) };
    let mut ui = Ui::new(format, verbosity);
    let started = Instant::now();
    let mut report = Report::new(cli.command.name(), now_ms());
    report.environment = cli.command.environment().map(str::to_owned);
    let mut waited = Duration::ZERO;
    let result = dispatch(&cli, &mut ui, &mut report, &mut waited).await;
    match result {
        Ok(code) => report.exit_code = code,
        Err(e) => {
            report.exit_code = e.exit_code();
            report.outcome = match report.exit_code {
                exit::REFUSED => "refused".into(),
                _ if report.outcome == "rolled_back" => "rolled_back".into(),
                _ => "error".into(),
            };
            report.message = Some(e.to_string());
            if format == Format::Text {
                eprintln!("error: {e}");
            }
        }
    }
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report.cloud_wait_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX);
    report.overhead_ms = report.duration_ms.saturating_sub(report.cloud_wait_ms);
    if format == Format::Text && report.exit_code != 0 && report.exit_code != exit::ROLLED_BACK {
        // The error is already on stderr; the summary and annotations still go out.
        if std::env::var_os("GITHUB_STEP_SUMMARY").is_some() || std::env::var_os("GITHUB_ACTIONS").is_some() {
            report.emit(format);
        }
    } else {
        report.emit(format);
    }
    report.exit_code
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

async fn dispatch(cli: &Cli, ui: &mut Ui, report: &mut Report, waited: &mut Duration) -> Result<i32> {
    let root = root(cli);
    let settings_dir = cli.global.settings_dir.clone().unwrap_or_else(|| root.join("environments"));
    let local = cli.global.local;
    let connection = if local {
        Connection::local(&root, !cli.global.no_assume_role)
    } else {
        Connection { local_endpoint: None, assume_role: !cli.global.no_assume_role }
    };
    let dist_of = |d: &Option<PathBuf>| d.clone().unwrap_or_else(|| root.join("dist"));
    match &cli.command {
        Command::Package(args) => package(&root, args, ui, report),
        Command::Plan(args) => {
            let settings = Settings::load(&settings_dir, &args.env, local)?;
            let session = format!("deployer-plan-{}", args.env);
            let (manifest, zips, _, env) =
                load_and_connect(&connection, &settings, dist_of(&args.dist), &session, waited).await?;
            let mut engine = Engine::new(&env, ui, Interrupt::default());
            let code = engine.preview(&manifest, zips, report).await;
            *waited += engine.waited;
            code
        }
        Command::Deploy(args) => {
            let settings = Settings::load(&settings_dir, &args.env, local)?;
            if let Some(from) = &settings.promotes_from {
                return Err(DeployError::Refused(format!(
                    "{} takes releases by promotion from {from} ({} has promotes_from: {from})\n  fix: `deployer promote --to {}`",
                    args.env,
                    settings.file.display(),
                    args.env
                )));
            }
            let session = format!("deployer-deploy-{}", args.env);
            let (manifest, zips, base, env) =
                load_and_connect(&connection, &settings, dist_of(&args.dist), &session, waited).await?;
            let store = connection.artifact_store(&base, &settings.artifact_bucket);
            let mut engine = Engine::new(&env, ui, Interrupt::listen());
            let incoming = Incoming { manifest, zips, kind: RecordKind::Deploy, source_environment: None };
            let result = engine.release(incoming, Some(&store), report).await;
            *waited += engine.waited;
            result
        }
        Command::Promote(args) => {
            let settings = Settings::load(&settings_dir, &args.to, local)?;
            let source = match (&args.from, &settings.promotes_from) {
                (Some(from), Some(chain)) if from != chain => {
                    return Err(DeployError::Refused(format!(
                        "{} promotes from {chain}, not {from} ({})\n  fix: promote along the chain, or change promotes_from",
                        args.to,
                        settings.file.display()
                    )))
                }
                (_, Some(chain)) => chain.clone(),
                (_, None) => {
                    return Err(DeployError::Refused(format!(
                        "{} does not promote from any environment ({} has no promotes_from)\n  fix: use `deployer deploy --env {}`",
                        args.to,
                        settings.file.display(),
                        args.to
                    )))
                }
            };
            report.source_environment = Some(source.clone());
            let source_settings = Settings::load(&settings_dir, &source, local)?;
            let (base, source_env) =
                connect(&connection, &source_settings, &format!("deployer-read-{source}"), waited).await?;
            let started = Instant::now();
            let target_env = connection.environment(&base, &settings, &format!("deployer-promote-{}", args.to)).await;
            *waited += started.elapsed();
            let target_env = target_env?;
            let mut engine = Engine::new(&target_env, ui, Interrupt::listen());
            let records = engine.wait(source_env.ledger.records(None)).await?;
            let record =
                promotable(&records, &source, settings.min_soak, now_ms()).map_err(DeployError::Refused)?.clone();
            report.release_id = Some(record.release_id.clone());
            let store = connection.artifact_store(&base, &settings.artifact_bucket);
            let loaded = engine.wait(fetch_release(&store, &record)).await?;
            let result = engine
                .release(
                    Incoming {
                        manifest: loaded.manifest,
                        zips: Zips::Ready(loaded.zips),
                        kind: RecordKind::Promote,
                        source_environment: Some(source),
                    },
                    None,
                    report,
                )
                .await;
            *waited += engine.waited;
            result
        }
        Command::Rollback(args) => {
            let settings = Settings::load(&settings_dir, &args.env, local)?;
            let (_, env) = connect(&connection, &settings, &format!("deployer-rollback-{}", args.env), waited).await?;
            let mut engine = Engine::new(&env, ui, Interrupt::default());
            let result = engine.rollback(args.to.as_deref(), report).await;
            *waited += engine.waited;
            result
        }
        Command::Status(args) => {
            let settings = Settings::load(&settings_dir, &args.env, local)?;
            let (_, env) = connect(&connection, &settings, &format!("deployer-status-{}", args.env), waited).await?;
            let mut engine = Engine::new(&env, ui, Interrupt::default());
            let result = engine.status(report).await;
            *waited += engine.waited;
            result
        }
        Command::History(args) => {
            let settings = Settings::load(&settings_dir, &args.env, local)?;
            let (_, env) = connect(&connection, &settings, &format!("deployer-history-{}", args.env), waited).await?;
            let mut engine = Engine::new(&env, ui, Interrupt::default());
            let result = engine.history(args.limit, report).await;
            *waited += engine.waited;
            result
        }
        Command::Prune(args) => {
            let settings = Settings::load(&settings_dir, &args.env, local)?;
            let (_, env) = connect(&connection, &settings, &format!("deployer-prune-{}", args.env), waited).await?;
            let mut engine = Engine::new(&env, ui, Interrupt::default());
            let result = engine.prune(args.keep, report).await;
            *waited += engine.waited;
            result
        }
    }
}

/// The caller's configuration and the environment's clients, the time counted as
/// cloud wait.
async fn connect(
    connection: &Connection,
    settings: &Settings,
    session: &str,
    waited: &mut Duration,
) -> Result<(aws_config::SdkConfig, crate::connect::Environment)> {
    let started = Instant::now();
    let connected = async {
        let base = connection.base(&settings.region).await?;
        let env = connection.environment(&base, settings, session).await?;
        Ok::<_, DeployError>((base, env))
    }
    .await;
    *waited += started.elapsed();
    connected
}

/// Reads the manifest, starts verifying the artifacts on blocking threads, and checks
/// the credentials and the environment meanwhile, so the hashing hides behind the
/// cloud's answers. A bad artifact is reported before any cloud error: it is what the
/// user must fix first.
async fn load_and_connect(
    connection: &Connection,
    settings: &Settings,
    dist: PathBuf,
    session: &str,
    waited: &mut Duration,
) -> Result<(release::Manifest, Zips, aws_config::SdkConfig, crate::connect::Environment)> {
    let manifest = release::read_manifest(&dist)?;
    let zips = Zips::verify(dist, &manifest);
    match connect(connection, settings, session, waited).await {
        Ok((base, env)) => Ok((manifest, zips, base, env)),
        Err(e) => Err(zips.ready().await.err().unwrap_or(e)),
    }
}

fn package(root: &Path, args: &crate::cli::PackageArgs, ui: &mut Ui, report: &mut Report) -> Result<i32> {
    if !args.no_build {
        ui.info("building functions and hooks (scripts/cargo-build.sh)");
        let status = std::process::Command::new("bash")
            .arg(root.join("scripts/cargo-build.sh"))
            .current_dir(root)
            .status()
            .map_err(|e| DeployError::Other(format!("running scripts/cargo-build.sh: {e}")))?;
        if !status.success() {
            return Err(DeployError::Other(format!("the build failed ({status}): see cargo's output above")));
        }
    }
    let bin_dir = args.bin_dir.clone().unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from).join("debug")
    });
    let dist = args.dist.clone().unwrap_or_else(|| root.join("dist"));
    let manifest = release::package(&PackagePlan::new(&bin_dir, &args.bins), &dist, &release::git_commit(root))?;
    report.release_id = Some(manifest.release_id.clone());
    report.git_commit = Some(manifest.git_commit.clone());
    report.message = Some(format!("wrote {}", dist.join(release::MANIFEST).display()));
    report.functions = manifest
        .artifacts
        .iter()
        .map(|(name, a)| FunctionReport {
            name: name.clone(),
            function_name: a.file.clone(),
            previous_version: None,
            version: None,
            code_sha256: Some(a.code_sha256.clone()),
            deployment_id: None,
            outcome: format!("{} bytes", a.size),
            duration_ms: None,
            alias: None,
            alarms: Vec::new(),
        })
        .collect();
    Ok(exit::OK)
}
