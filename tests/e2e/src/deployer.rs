//! Runs the real `deployer` binary against a private local cloud and reads its JSON
//! report.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};
use localcloud::testing::{workspace_root, LocalCloud};
use serde_json::Value;

/// The deployer built next to this test binary (or DEPLOYER_BIN).
pub fn deployer_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("DEPLOYER_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe.parent().expect("a folder");
    let dir =
        if dir.ends_with("deps") || dir.ends_with("examples") { dir.parent().expect("target/debug") } else { dir };
    dir.join("deployer")
}

/// One run's outcome.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub report: Value,
    pub stderr: String,
}

impl Run {
    pub fn outcome(&self) -> &str {
        self.report["outcome"].as_str().unwrap_or_default()
    }

    pub fn message(&self) -> &str {
        self.report["message"].as_str().unwrap_or_default()
    }

    /// The report's functions by name: (previous_version, version, outcome).
    pub fn function(&self, name: &str) -> Option<&Value> {
        self.report["functions"].as_array()?.iter().find(|f| f["name"] == name)
    }
}

/// The deployer against one private cloud, with its settings and run folder.
pub struct Deployer {
    pub endpoint: String,
    pub settings_dir: PathBuf,
    pub extra_env: Vec<(String, String)>,
}

impl Deployer {
    pub fn new(cloud: &LocalCloud) -> Self {
        Self { endpoint: cloud.endpoint(), settings_dir: workspace_root().join("environments"), extra_env: Vec::new() }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(deployer_bin());
        command
            .args(["--local", "--output", "json"])
            .args(args)
            .arg("--root")
            .arg(workspace_root())
            .arg("--settings-dir")
            .arg(&self.settings_dir)
            .env("LOCALCLOUD_ENDPOINT", &self.endpoint)
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("LOCALCLOUD_ACCESS_KEY_ID");
        for (k, v) in &self.extra_env {
            command.env(k, v);
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Result<Run> {
        finish(self.command(args), args)
    }

    /// Runs in a thread, for a test that acts on the cloud while the deployer works.
    pub fn run_in_background(&self, args: &[&str]) -> std::thread::JoinHandle<Result<Run>> {
        let (command, args) = (self.command(args), args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>());
        std::thread::spawn(move || finish(command, &args.iter().map(String::as_str).collect::<Vec<_>>()))
    }

    /// Starts a run in the background (its output goes to `log`).
    pub fn spawn(&self, args: &[&str], log: &Path) -> Result<Child> {
        let file = std::fs::File::create(log)?;
        Ok(self.command(args).stdout(Stdio::null()).stderr(file).spawn()?)
    }
}

fn finish(mut command: Command, args: &[&str]) -> Result<Run> {
    let out = command.output().context("running the deployer")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_str(&stdout)
        .with_context(|| format!("deployer {args:?} printed no JSON report\nstdout: {stdout}\nstderr: {stderr}"))?;
    Ok(Run { code: out.status.code().unwrap_or(-1), report, stderr })
}

/// Packages a release from `bins` (artifact name -> binary) into `dist`, appending
/// `marker` to every binary so that the release's bytes differ from any other's
/// while the programs behave the same (an ELF ignores trailing bytes).
pub fn package_release(dist: &Path, marker: &str, replace: &[(&str, &str)]) -> Result<Value> {
    let bins = dist.join("bins");
    std::fs::create_dir_all(&bins)?;
    let target = deployer_bin().parent().expect("target/debug").to_path_buf();
    let names = deployer::release::FUNCTIONS.iter().chain(deployer::release::HOOKS.iter());
    for name in names {
        let source = replace.iter().find(|(n, _)| n == name).map_or(*name, |(_, b)| *b);
        let mut bytes = std::fs::read(target.join(source)).with_context(|| format!("reading target/debug/{source}"))?;
        if !marker.is_empty() {
            bytes.extend_from_slice(format!("\nrelease-marker:{marker}\n").as_bytes());
        }
        let path = bins.join(name);
        std::fs::write(&path, bytes)?;
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    }
    let out = Command::new(deployer_bin())
        .args(["--output", "json", "package", "--no-build", "--bin-dir"])
        .arg(&bins)
        .arg("--dist")
        .arg(dist)
        .arg("--root")
        .arg(workspace_root())
        .output()?;
    anyhow::ensure!(out.status.success(), "deployer package failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Starts `deployer package --release` in the background: `compensate` is built for
/// Lambda with cargo-lambda from the small `lambda-probe` binary, the other artifacts
/// are the workspace's debug binaries (given by path, so only the probe is compiled).
/// Its JSON report goes to `dist/package.json`, its progress to `dist/package.log`.
pub fn spawn_release_package(dist: &Path) -> Result<Child> {
    std::fs::create_dir_all(dist)?;
    let target = deployer_bin().parent().expect("target/debug").to_path_buf();
    let mut command = Command::new(deployer_bin());
    command
        .args(["--output", "json", "package", "--release", "--cargo-bin", "compensate=lambda-probe", "--dist"])
        .arg(dist)
        .arg("--root")
        .arg(workspace_root())
        // Next to the debug build, in the same target folder.
        .env("CARGO_TARGET_DIR", target.parent().expect("target"));
    for name in ["extract", "transform", "load", "pre-traffic", "post-traffic"] {
        command.arg("--bin").arg(format!("{name}={}", target.join(name).display()));
    }
    let out = std::fs::File::create(dist.join("package.json"))?;
    let log = std::fs::File::create(dist.join("package.log"))?;
    Ok(command.stdout(out).stderr(log).spawn()?)
}
