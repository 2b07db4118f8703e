//! Bringing the local cloud up and down: ministack on an internal port behind the
//! localcloud front on the public endpoint, both bound to 127.0.0.1, tracked by pid
//! files in a run folder so that `down` stops exactly what `up` started.

use std::fs::{self, File, OpenOptions};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::faults::{self, FaultSpec, SpecError};
use crate::launcher;
use crate::probe;
use crate::process::{self, INSTANCE_MARKER};

pub const DEFAULT_PUBLIC_PORT: u16 = 4566;
pub const DEFAULT_MINISTACK_PORT: u16 = 4510;

/// Where things are and which ports to use.
#[derive(Debug, Clone)]
pub struct Config {
    /// Holds pid files, logs and emulator state. Made absolute by [`Config::new`].
    pub run_dir: PathBuf,
    /// The Python venv with the pinned ministack (made by `make setup`).
    pub venv: PathBuf,
    pub public_port: u16,
    pub ministack_port: u16,
    /// The `localcloud` executable that serves the public endpoint.
    pub localcloud_bin: PathBuf,
    pub start_timeout: Duration,
    /// `LOCALCLOUD_TIME_SCALE` for the front: CodeDeploy intervals, the hook limit
    /// and metric periods divided by it. None inherits the caller's environment.
    pub time_scale: Option<f64>,
    /// `LOCALCLOUD_FAULTS` for the front (see [`crate::faults::spec`]). None inherits
    /// the caller's environment.
    pub faults: Option<String>,
}

impl Config {
    pub fn new(run_dir: &Path, venv: &Path, localcloud_bin: &Path) -> std::io::Result<Self> {
        // Normalised (no trailing separator, no `.`): the run folder is also the
        // instance marker our processes carry, so `dir` and `dir/` must be the same.
        let run_dir: PathBuf = std::path::absolute(run_dir)?.components().collect();
        Ok(Self {
            run_dir,
            venv: std::path::absolute(venv)?,
            public_port: DEFAULT_PUBLIC_PORT,
            ministack_port: DEFAULT_MINISTACK_PORT,
            localcloud_bin: std::path::absolute(localcloud_bin)?,
            start_timeout: Duration::from_secs(60),
            time_scale: None,
            faults: None,
        })
    }

    /// The fault injection the front will run with, its seed drawn now if the spec
    /// has none (so that `endpoint.json` and `status` show how to replay the run).
    pub fn fault_spec(&self) -> Result<Option<FaultSpec>, LifecycleError> {
        let text = match &self.faults {
            Some(text) => text.clone(),
            None => std::env::var(faults::ENV).unwrap_or_default(),
        };
        faults::spec::parse(&text).map_err(LifecycleError::BadFaults)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.public_port)
    }

    fn public_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.public_port))
    }

    fn ministack_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.ministack_port))
    }

    fn instance(&self) -> String {
        self.run_dir.display().to_string()
    }

    fn python(&self) -> PathBuf {
        self.venv.join("bin").join("python")
    }

    pub fn ministack_pid_file(&self) -> PathBuf {
        self.run_dir.join("ministack.pid")
    }

    pub fn localcloud_pid_file(&self) -> PathBuf {
        self.run_dir.join("localcloud.pid")
    }

    /// The ports and endpoint of the running cloud, for scripts and operators.
    pub fn endpoint_file(&self) -> PathBuf {
        self.run_dir.join("endpoint.json")
    }

    pub fn ministack_log(&self) -> PathBuf {
        self.run_dir.join("ministack.log")
    }

    pub fn localcloud_log(&self) -> PathBuf {
        self.run_dir.join("localcloud.log")
    }

    /// The emulator's scratch space (its TMPDIR: Lambda code, S3 spill files).
    pub fn ministack_state_dir(&self) -> PathBuf {
        self.run_dir.join("ministack-state")
    }

    /// localcloud's own durable state (deployments, metrics, alarms).
    pub fn localcloud_state_dir(&self) -> PathBuf {
        self.run_dir.join("state")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(
        "127.0.0.1:{port} ({role}) is already in use by a program this local cloud did not start.\n  \
         Fix: stop that program (`ss -ltnp 'sport = :{port}'` names it), or pick another port with {env_var}=<port>."
    )]
    PortInUse { port: u16, role: &'static str, env_var: &'static str },

    #[error(
        "no usable Python with ministack at {venv}: {detail}.\n  \
         Fix: run `make setup` (it needs python3 >= 3.10 with the venv module; on Debian: apt-get install python3 python3-venv)."
    )]
    PythonMissing { venv: PathBuf, detail: String },

    #[error("the localcloud executable {0} does not exist.\n  Fix: build it with `cargo build -p localcloud` (or run `make setup`).")]
    LocalcloudBinaryMissing(PathBuf),

    #[error("{what} did not become healthy within {timeout:?}; it was stopped again.\n  Its log {log}:\n{tail}")]
    StartFailed { what: &'static str, timeout: Duration, log: PathBuf, tail: String },

    #[error("{what} exited while starting; nothing was left running.\n  Its log {log}:\n{tail}")]
    ExitedEarly { what: &'static str, log: PathBuf, tail: String },

    #[error("the local cloud at {endpoint} is not running: start it with `make up`")]
    NotRunning { endpoint: String },

    #[error("the emulator refused the reset: HTTP {status}: {body}")]
    ResetRefused { status: u16, body: String },

    #[error("{0}\n  Nothing was started or changed.")]
    BadFaults(SpecError),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl LifecycleError {
    /// Distinct exit codes so scripts can tell the causes apart.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::BadFaults(_) => 2,
            Self::PortInUse { .. } => 3,
            Self::PythonMissing { .. } | Self::LocalcloudBinaryMissing(_) => 4,
            Self::StartFailed { .. } | Self::ExitedEarly { .. } => 5,
            Self::NotRunning { .. } => 6,
            Self::ResetRefused { .. } | Self::Io { .. } => 1,
        }
    }
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> LifecycleError {
    let context = context.into();
    move |source| LifecycleError::Io { context, source }
}

/// What `up` found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpOutcome {
    Started { ministack_pid: i32, localcloud_pid: i32 },
    AlreadyRunning { ministack_pid: i32, localcloud_pid: i32 },
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    pub endpoint: String,
    pub running: bool,
    pub ministack_pid: Option<i32>,
    pub localcloud_pid: Option<i32>,
    pub run_dir: PathBuf,
    /// The running front's fault injection: spec, seed and counts per service and
    /// kind (`GET /_localcloud/faults`); None when not running.
    pub faults: Option<faults::Report>,
}

/// Serialises lifecycle commands on one run folder (two `up`s at once start one cloud).
struct RunLock(File);

impl RunLock {
    fn acquire(config: &Config) -> Result<Self, LifecycleError> {
        fs::create_dir_all(&config.run_dir).map_err(io_err(format!("creating {}", config.run_dir.display())))?;
        let path = config.run_dir.join("lifecycle.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(format!("opening {}", path.display())))?;
        file.lock().map_err(io_err(format!("locking {}", path.display())))?;
        Ok(Self(file))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

fn recorded_pid(pid_file: &Path, instance: &str) -> Option<i32> {
    process::read_pid(pid_file).filter(|pid| process::is_ours(*pid, instance))
}

pub fn status(config: &Config) -> Status {
    let instance = config.instance();
    let ministack_pid = recorded_pid(&config.ministack_pid_file(), &instance);
    let localcloud_pid = recorded_pid(&config.localcloud_pid_file(), &instance);
    let running = ministack_pid.is_some()
        && localcloud_pid.is_some()
        && probe::healthy(config.public_addr(), "/_localcloud/health")
        && probe::healthy(config.ministack_addr(), "/_ministack/health");
    let faults = if running { fault_report(config) } else { None };
    Status {
        endpoint: config.endpoint(),
        running,
        ministack_pid,
        localcloud_pid,
        run_dir: config.run_dir.clone(),
        faults,
    }
}

/// The running front's fault report.
pub fn fault_report(config: &Config) -> Option<faults::Report> {
    match probe::request(config.public_addr(), "GET", "/_localcloud/faults", Duration::from_secs(5)) {
        Ok((200, body)) => serde_json::from_str(&body).ok(),
        _ => None,
    }
}

/// Sets the running front's fault injection (`off` turns it off); returns the report.
pub fn set_faults(config: &Config, spec: &str) -> Result<faults::Report, LifecycleError> {
    faults::spec::parse(spec).map_err(LifecycleError::BadFaults)?;
    let (status, body) =
        probe::request_with_body(config.public_addr(), "PUT", "/_localcloud/faults", spec, Duration::from_secs(5))
            .map_err(io_err("PUT /_localcloud/faults"))?;
    if status != 200 {
        return Err(LifecycleError::Io {
            context: format!("setting faults: HTTP {status}: {body}"),
            source: std::io::Error::other("refused"),
        });
    }
    serde_json::from_str(&body).map_err(|e| LifecycleError::Io {
        context: "reading the fault report".into(),
        source: std::io::Error::other(e),
    })
}

pub fn up(config: &Config) -> Result<UpOutcome, LifecycleError> {
    // Bad input is refused before anything starts or stops.
    let faults = config.fault_spec()?;
    let _lock = RunLock::acquire(config)?;
    let current = status(config);
    if let (true, Some(ministack_pid), Some(localcloud_pid)) =
        (current.running, current.ministack_pid, current.localcloud_pid)
    {
        return Ok(UpOutcome::AlreadyRunning { ministack_pid, localcloud_pid });
    }
    // The emulator runs but the front died: restart the front alone, so the
    // emulator's state (and any deployment to recover) survives.
    let instance = config.instance();
    if let (Some(ministack_pid), None) = (current.ministack_pid, current.localcloud_pid) {
        if probe::healthy(config.ministack_addr(), "/_ministack/health") {
            for pid in process::processes_of_instance(&instance).into_iter().filter(|pid| *pid != ministack_pid) {
                process::terminate_group(pid, Duration::from_secs(5));
            }
            let _ = fs::remove_file(config.localcloud_pid_file());
            check_port(config.public_port, "the public endpoint", "LOCALCLOUD_PORT")?;
            let localcloud_pid = spawn_localcloud(config, faults.as_ref())?;
            if let Err(err) = wait_healthy(config, ministack_pid, localcloud_pid) {
                process::terminate_group(localcloud_pid, Duration::from_secs(5));
                let _ = fs::remove_file(config.localcloud_pid_file());
                return Err(err);
            }
            write_endpoint_file(config, faults.as_ref())?;
            return Ok(UpOutcome::Started { ministack_pid, localcloud_pid });
        }
    }
    // Half-running or stale: clear whatever of ours is left, then start clean.
    stop_all(config);

    preflight(config)?;
    let ministack_pid = spawn_ministack(config)?;
    let started = spawn_localcloud(config, faults.as_ref()).and_then(|localcloud_pid| {
        wait_healthy(config, ministack_pid, localcloud_pid)?;
        write_endpoint_file(config, faults.as_ref())?;
        Ok(localcloud_pid)
    });
    match started {
        Ok(localcloud_pid) => Ok(UpOutcome::Started { ministack_pid, localcloud_pid }),
        Err(err) => {
            stop_all(config);
            Err(err)
        }
    }
}

fn write_endpoint_file(config: &Config, faults: Option<&FaultSpec>) -> Result<(), LifecycleError> {
    let ports = serde_json::json!({
        "endpoint": config.endpoint(),
        "public_port": config.public_port,
        "ministack_port": config.ministack_port,
        // With its seed: LOCALCLOUD_FAULTS=<this> replays the run's draws.
        "faults": faults.map(ToString::to_string),
    });
    fs::write(config.endpoint_file(), format!("{ports:#}\n")).map_err(io_err("writing endpoint.json"))
}

fn check_port(port: u16, role: &'static str, env_var: &'static str) -> Result<(), LifecycleError> {
    if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
        return Err(LifecycleError::PortInUse { port, role, env_var });
    }
    Ok(())
}

/// Stops what this run folder started. Returns the pids that were stopped.
pub fn down(config: &Config) -> Result<Vec<i32>, LifecycleError> {
    let _lock = RunLock::acquire(config)?;
    Ok(stop_all(config))
}

/// Empties the emulator's state (and localcloud's), keeping both running.
pub fn reset(config: &Config) -> Result<(), LifecycleError> {
    let _lock = RunLock::acquire(config)?;
    if !status(config).running {
        return Err(LifecycleError::NotRunning { endpoint: config.endpoint() });
    }
    send_resets(config)
}

/// Empties ministack, then localcloud's own state. For a caller that started the cloud
/// itself and knows it runs: `status`'s two-second health probes can miss a cloud that
/// is merely busy (a test's, on a loaded machine), and then `reset` refuses it.
pub(crate) fn send_resets(config: &Config) -> Result<(), LifecycleError> {
    for (addr, path) in [(config.ministack_addr(), "/_ministack/reset"), (config.public_addr(), "/_localcloud/reset")] {
        let (status, body) = probe::request(addr, "POST", path, Duration::from_secs(30))
            .map_err(io_err(format!("POST {path} to 127.0.0.1:{}", addr.port())))?;
        if status != 200 {
            return Err(LifecycleError::ResetRefused { status, body });
        }
    }
    Ok(())
}

fn stop_all(config: &Config) -> Vec<i32> {
    let instance = config.instance();
    let mut stopped = Vec::new();
    // The front first, so that no request reaches a half-stopped emulator.
    for pid_file in [config.localcloud_pid_file(), config.ministack_pid_file()] {
        if let Some(pid) = recorded_pid(&pid_file, &instance) {
            process::terminate_group(pid, Duration::from_secs(5));
            stopped.push(pid);
        }
        let _ = fs::remove_file(&pid_file);
    }
    let _ = fs::remove_file(config.endpoint_file());
    // Anything else carrying our marker (for example left by a crashed `up`).
    for pid in process::processes_of_instance(&instance) {
        process::terminate_group(pid, Duration::from_secs(5));
        stopped.push(pid);
    }
    stopped
}

fn preflight(config: &Config) -> Result<(), LifecycleError> {
    let python = config.python();
    if !python.exists() {
        return Err(LifecycleError::PythonMissing {
            venv: config.venv.clone(),
            detail: format!("{} does not exist", python.display()),
        });
    }
    let check = Command::new(&python).args(["-c", "import ministack"]).stdin(Stdio::null()).output().map_err(|e| {
        LifecycleError::PythonMissing {
            venv: config.venv.clone(),
            detail: format!("{} cannot run: {e}", python.display()),
        }
    })?;
    if !check.status.success() {
        return Err(LifecycleError::PythonMissing {
            venv: config.venv.clone(),
            detail: format!("`import ministack` failed: {}", String::from_utf8_lossy(&check.stderr).trim()),
        });
    }
    if !config.localcloud_bin.exists() {
        return Err(LifecycleError::LocalcloudBinaryMissing(config.localcloud_bin.clone()));
    }
    check_port(config.public_port, "the public endpoint", "LOCALCLOUD_PORT")?;
    check_port(config.ministack_port, "ministack's internal port", "LOCALCLOUD_MINISTACK_PORT")
}

fn log_file(path: &Path) -> Result<File, LifecycleError> {
    File::create(path).map_err(io_err(format!("creating {}", path.display())))
}

fn spawn_ministack(config: &Config) -> Result<i32, LifecycleError> {
    let state = config.ministack_state_dir();
    // The emulator's state is in memory; its scratch files must not outlive it.
    let _ = fs::remove_dir_all(&state);
    fs::create_dir_all(state.join("s3")).map_err(io_err(format!("creating {}", state.display())))?;
    let launcher_file = launcher::write(&config.run_dir)
        .map_err(io_err(format!("writing the ministack launcher into {}", config.run_dir.display())))?;
    let log = log_file(&config.ministack_log())?;
    let log_err = log.try_clone().map_err(io_err("duplicating the log handle"))?;
    let child = std::os::unix::process::CommandExt::process_group(
        // ministack itself, with Step Functions' Lambda calls sent through the public
        // endpoint (see crate::launcher).
        Command::new(config.python())
            .arg(&launcher_file)
            .env(launcher::ENDPOINT_ENV, config.endpoint())
            // Longer than localcloud keeps an idle connection to it (see upstream::POOL_IDLE).
            .env(launcher::KEEP_ALIVE_ENV, crate::upstream::MINISTACK_KEEP_ALIVE.as_secs().to_string())
            .env(INSTANCE_MARKER, config.instance())
            .env("BIND_HOST", "127.0.0.1")
            .env("GATEWAY_PORT", config.ministack_port.to_string())
            // Functions inside the emulator call back through the public endpoint,
            // so that their calls see CodeDeploy, weighted aliases and metrics too.
            .env("AWS_ENDPOINT_URL", config.endpoint())
            .env("MINISTACK_REGION", "us-east-1")
            .env("TMPDIR", &state)
            .env("S3_DATA_DIR", state.join("s3"))
            .env("LOG_LEVEL", "WARNING")
            .current_dir(&state)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err),
        0,
    )
    .spawn()
    .map_err(|e| LifecycleError::PythonMissing {
        venv: config.venv.clone(),
        detail: format!("starting ministack failed: {e}"),
    })?;
    let pid = child.id();
    process::write_pid(&config.ministack_pid_file(), pid).map_err(io_err("writing ministack.pid"))?;
    Ok(pid as i32)
}

fn spawn_localcloud(config: &Config, faults: Option<&FaultSpec>) -> Result<i32, LifecycleError> {
    let state = config.localcloud_state_dir();
    fs::create_dir_all(&state).map_err(io_err(format!("creating {}", state.display())))?;
    let log = log_file(&config.localcloud_log())?;
    let log_err = log.try_clone().map_err(io_err("duplicating the log handle"))?;
    let mut command = Command::new(&config.localcloud_bin);
    if let Some(scale) = config.time_scale {
        command.env("LOCALCLOUD_TIME_SCALE", scale.to_string());
    }
    command.env(faults::ENV, faults.map_or_else(|| "off".to_owned(), ToString::to_string));
    let child = std::os::unix::process::CommandExt::process_group(
        command
            .arg("serve")
            .arg("--port")
            .arg(config.public_port.to_string())
            .arg("--upstream-port")
            .arg(config.ministack_port.to_string())
            .arg("--state-dir")
            .arg(&state)
            .env(INSTANCE_MARKER, config.instance())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err),
        0,
    )
    .spawn()
    .map_err(io_err(format!("starting {}", config.localcloud_bin.display())))?;
    let pid = child.id();
    process::write_pid(&config.localcloud_pid_file(), pid).map_err(io_err("writing localcloud.pid"))?;
    Ok(pid as i32)
}

fn wait_healthy(config: &Config, ministack_pid: i32, localcloud_pid: i32) -> Result<(), LifecycleError> {
    let deadline = Instant::now() + config.start_timeout;
    let checks: [(&'static str, i32, SocketAddr, &str, PathBuf); 3] = [
        ("ministack", ministack_pid, config.ministack_addr(), "/_ministack/health", config.ministack_log()),
        ("localcloud", localcloud_pid, config.public_addr(), "/_localcloud/health", config.localcloud_log()),
        // Proves the pass-through path end to end.
        (
            "ministack through localcloud",
            localcloud_pid,
            config.public_addr(),
            "/_ministack/health",
            config.localcloud_log(),
        ),
    ];
    for (what, pid, addr, path, log) in checks {
        loop {
            if probe::healthy(addr, path) {
                break;
            }
            if !process::is_alive(pid) {
                return Err(LifecycleError::ExitedEarly { what, tail: tail(&log, 20), log });
            }
            if Instant::now() >= deadline {
                return Err(LifecycleError::StartFailed {
                    what,
                    timeout: config.start_timeout,
                    tail: tail(&log, 20),
                    log,
                });
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}

/// The last `lines` lines of a log, indented for an error message.
fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].iter().map(|l| format!("    {l}\n")).collect()
}
