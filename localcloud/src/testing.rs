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

    /// The last warnings and errors localcloud logged (a 502 for a ministack that did not
    /// answer, an alarm it could not evaluate), written to stderr: the test harness shows
    /// them only for a failed test, whose run folder (and logs) is removed as it ends.
    fn report_warnings(&self) {
        let Ok(log) = std::fs::read_to_string(self.config.localcloud_log()) else { return };
        let warnings: Vec<&str> = log.lines().filter(|l| l.contains(" WARN") || l.contains("ERROR")).collect();
        if warnings.is_empty() {
            return;
        }
        let shown = &warnings[warnings.len().saturating_sub(20)..];
        eprintln!("localcloud logged {} warnings or errors; the last {}:", warnings.len(), shown.len());
        for line in shown {
            eprintln!("  {line}");
        }
    }
}

impl Drop for LocalCloud {
    fn drop(&mut self) {
        self.report_warnings();
        let _ = lifecycle::down(&self.config);
        let _ = std::fs::remove_dir_all(&self.config.run_dir);
    }
}
