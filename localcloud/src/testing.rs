//! A private local cloud per test: its own run folder and free ports, stopped by the
//! pids it started when the handle drops. Tests never share or leak an emulator.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

use crate::lifecycle::{self, Config, LifecycleError};

/// The workspace root, from this crate's location.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The venv `make setup` creates, or `LOCALCLOUD_VENV`.
pub fn venv() -> PathBuf {
    std::env::var_os("LOCALCLOUD_VENV").map_or_else(|| workspace_root().join(".venv"), PathBuf::from)
}

/// The `localcloud` binary next to the running test's executable (cargo builds every
/// workspace binary into the same profile folder), or `LOCALCLOUD_BIN`.
pub fn localcloud_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("LOCALCLOUD_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test> -> target/<profile>/localcloud
    exe.parent().and_then(Path::parent).map(|dir| dir.join("localcloud")).unwrap_or_default()
}

/// Runs `python -m unittest discover` over the test files of `dir` that match
/// `pattern`, and returns unittest's report; the report is the error when a test
/// failed, or when none ran (older Pythons exit 0 then).
pub fn python_unit_tests(python: &Path, dir: &Path, pattern: &str) -> Result<String, String> {
    let output = std::process::Command::new(python)
        .args(["-m", "unittest", "discover", "-p", pattern, "-s"])
        .arg(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .map_err(|e| format!("running {}: {e}", python.display()))?;
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if output.status.success() && report.contains("OK") && !report.contains("Ran 0 tests") {
        Ok(report)
    } else {
        Err(report)
    }
}

pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

pub struct LocalCloud {
    config: Config,
}

impl LocalCloud {
    /// Starts a local cloud for the test `name` with the given binary, in real time
    /// whatever LOCALCLOUD_TIME_SCALE the caller has set.
    pub fn start_with(name: &str, localcloud_bin: &Path) -> Result<Self, LifecycleError> {
        Self::start_configured(name, localcloud_bin, Some(1.0), "off")
    }

    /// `faults` is a LOCALCLOUD_FAULTS spec; the caller's own setting never leaks in.
    fn start_configured(
        name: &str,
        localcloud_bin: &Path,
        time_scale: Option<f64>,
        faults: &str,
    ) -> Result<Self, LifecycleError> {
        let run_dir = workspace_root().join(".run").join("tests").join(format!("{name}-{}", std::process::id()));
        let mut attempt = 0;
        loop {
            let mut config = Config::new(&run_dir, &venv(), localcloud_bin)
                .map_err(|source| LifecycleError::Io { context: "resolving test paths".into(), source })?;
            let io = |source| LifecycleError::Io { context: "finding a free port".into(), source };
            config.public_port = free_port().map_err(io)?;
            config.ministack_port = free_port().map_err(io)?;
            config.time_scale = time_scale;
            config.faults = Some(faults.to_owned());
            match lifecycle::up(&config) {
                Ok(_) => return Ok(Self { config }),
                // Another test may have taken a port between our probe and the bind.
                Err(LifecycleError::PortInUse { .. }) if attempt < 3 => attempt += 1,
                Err(err) => return Err(err),
            }
        }
    }

    pub fn start(name: &str) -> Result<Self, LifecycleError> {
        Self::start_with(name, &localcloud_bin())
    }

    /// A local cloud whose CodeDeploy intervals and hook limit run `scale` times faster.
    pub fn start_scaled(name: &str, scale: f64) -> Result<Self, LifecycleError> {
        Self::start_configured(name, &localcloud_bin(), Some(scale), "off")
    }

    /// A scaled local cloud that injects faults per the LOCALCLOUD_FAULTS `spec`.
    pub fn start_with_faults(name: &str, scale: f64, spec: &str) -> Result<Self, LifecycleError> {
        Self::start_configured(name, &localcloud_bin(), Some(scale), spec)
    }

    /// Empties every account of this test's cloud, as `localcloud reset` does, without
    /// first probing whether it runs: the test started it and holds it.
    pub fn reset(&self) -> Result<(), LifecycleError> {
        lifecycle::send_resets(&self.config)
    }

    /// Replaces the running cloud's fault injection (`off` turns it off).
    pub fn set_faults(&self, spec: &str) -> Result<crate::faults::Report, LifecycleError> {
        crate::lifecycle::set_faults(&self.config, spec)
    }

    /// The faults injected so far, per service and kind.
    pub fn fault_report(&self) -> Option<crate::faults::Report> {
        crate::lifecycle::fault_report(&self.config)
    }

    pub fn endpoint(&self) -> String {
        self.config.endpoint()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What the cloud logged that a failed test needs, written to stderr: the test
    /// harness shows it only for a failed test, whose run folder (and logs) is removed
    /// as it ends. localcloud's warnings, errors and panics (a 502 for a ministack that
    /// did not answer, a slow answer, an alarm it could not evaluate), and the end of
    /// ministack's log, which runs at WARNING (an exception behind a 500 it answered).
    fn report_logs(&self) {
        report("localcloud's warnings, errors and panics", &self.config.localcloud_log(), noteworthy);
        report("ministack's log", &self.config.ministack_log(), |_| true);
    }
}

/// A line of localcloud's log that a failed test should show: a warning, an error, or
/// a panic (a panicking request task drops its connection, which the client sees only
/// as a lost reply; the panic's line carries no level).
fn noteworthy(line: &str) -> bool {
    line.contains(" WARN") || line.contains("ERROR") || line.contains("panicked at")
}

/// The last lines of `log` that `keep`, each cut to a readable length, to stderr.
fn report(what: &str, log: &Path, keep: impl Fn(&str) -> bool) {
    let Ok(text) = std::fs::read_to_string(log) else { return };
    let (kept, shown) = last_kept(&text, keep);
    if shown.is_empty() {
        return;
    }
    eprintln!("{what}: {kept} lines, the last {}:", shown.len());
    for line in shown {
        eprintln!("  {line}");
    }
}

/// How many lines of `text` `keep`, and the last 20 of them cut to 400 characters.
fn last_kept(text: &str, keep: impl Fn(&str) -> bool) -> (usize, Vec<&str>) {
    const LINES: usize = 20;
    const WIDTH: usize = 400;
    let kept: Vec<&str> = text.lines().filter(|l| keep(l)).collect();
    let shown = kept[kept.len().saturating_sub(LINES)..]
        .iter()
        .map(|line| &line[..line.char_indices().nth(WIDTH).map_or(line.len(), |(i, _)| i)])
        .collect();
    (kept.len(), shown)
}

impl Drop for LocalCloud {
    fn drop(&mut self) {
        self.report_logs();
        let _ = lifecycle::down(&self.config);
        let _ = std::fs::remove_dir_all(&self.config.run_dir);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_report_keeps_the_last_matching_lines_cut_to_length() {
        let text: String =
            (0..50).map(|i| format!("{} line {i}\n", if i % 2 == 0 { "WARN" } else { "INFO" })).collect();
        let (kept, shown) = super::last_kept(&text, |l| l.starts_with("WARN"));
        assert_eq!((kept, shown.len(), shown[0], shown[19]), (25, 20, "WARN line 10", "WARN line 48"));
        let long = "é".repeat(1000);
        assert_eq!(super::last_kept(&long, |_| true).1[0].chars().count(), 400);
        assert_eq!(super::last_kept("", |_| true), (0, Vec::<&str>::new()));
    }

    #[test]
    fn warnings_errors_and_panics_are_noteworthy() {
        assert!(super::noteworthy("2026-12-01T03:45:30Z  WARN slow answer service=lambda"));
        assert!(super::noteworthy("2026-12-01T03:45:30Z ERROR state not saved"));
        assert!(super::noteworthy("thread 'tokio-runtime-worker' panicked at localcloud/src/proxy.rs:1:1:"));
        assert!(!super::noteworthy("2026-12-01T03:45:30Z  INFO alarm state changed"));
    }
}
