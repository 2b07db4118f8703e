//! Command-line types for the `localcloud` binary.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "localcloud",
    version,
    about = "Run the local cloud: ministack behind the localcloud control plane on 127.0.0.1"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start ministack and the localcloud front (does nothing if they already run).
    Up(Lifecycle),
    /// Stop exactly the processes `up` started, by pid.
    Down(Lifecycle),
    /// Empty every account's state, keeping the local cloud running.
    Reset(Lifecycle),
    /// Say whether the local cloud runs, with its pids and endpoint.
    Status {
        #[command(flatten)]
        lifecycle: Lifecycle,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Show the running cloud's fault injection and its counts, or set it:
    /// `localcloud faults 'throttle=0.1,seed=7'`, `localcloud faults off`.
    Faults {
        #[command(flatten)]
        lifecycle: Lifecycle,
        /// A LOCALCLOUD_FAULTS spec (see README), or `off`.
        spec: Option<String>,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Serve the public endpoint in the foreground (what `up` starts).
    Serve(Serve),
}

#[derive(Debug, Args)]
pub struct Lifecycle {
    /// Folder for pid files, logs and state.
    #[arg(long, env = "LOCALCLOUD_RUN_DIR", default_value = ".run/localcloud")]
    pub run_dir: PathBuf,
    /// The Python venv holding the pinned ministack (`make setup` creates it).
    #[arg(long, env = "LOCALCLOUD_VENV", default_value = ".venv")]
    pub venv: PathBuf,
    /// The public endpoint's port on 127.0.0.1.
    #[arg(long, env = "LOCALCLOUD_PORT", default_value_t = crate::lifecycle::DEFAULT_PUBLIC_PORT)]
    pub port: u16,
    /// ministack's internal port on 127.0.0.1.
    #[arg(long, env = "LOCALCLOUD_MINISTACK_PORT", default_value_t = crate::lifecycle::DEFAULT_MINISTACK_PORT)]
    pub ministack_port: u16,
}

#[derive(Debug, Args)]
pub struct Serve {
    #[arg(long, default_value_t = crate::lifecycle::DEFAULT_PUBLIC_PORT)]
    pub port: u16,
    #[arg(long, default_value_t = crate::lifecycle::DEFAULT_MINISTACK_PORT)]
    pub upstream_port: u16,
    /// Where localcloud keeps its durable state.
    #[arg(long, default_value = ".run/localcloud/state")]
    pub state_dir: PathBuf,
    /// Fault injection (off by default); see README, "Fault injection".
    #[arg(long, env = "LOCALCLOUD_FAULTS", default_value = "")]
    pub faults: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    Text,
    Json,
}
