//! The command line (clap derive types only; `commands` runs them).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "deployer",
    version,
    about = "Package the ETL functions and release them through CodeDeploy: deploy, promote, roll back.",
    after_help = "Exit codes: 0 done, 1 error, 2 rolled back, 3 bad settings or artifacts, 4 credentials, 5 refused (lock, promotion rule), 6 missing infrastructure, 7 doctor found problems, 64 usage."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Final report format on stdout (progress always goes to stderr).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, global = true)]
    pub output: OutputFormat,
    /// Target the local cloud (localcloud + ministack) instead of AWS.
    #[arg(long, global = true)]
    pub local: bool,
    /// The ambient credentials already are the environment's deploy role (for example
    /// GitHub OIDC bound to the environment): do not assume it again.
    #[arg(long, global = true)]
    pub no_assume_role: bool,
    /// The repository root (default: the nearest folder above with `environments/`).
    #[arg(long, global = true, env = "DEPLOYER_ROOT")]
    pub root: Option<PathBuf>,
    /// Where the environments' `<env>/deployer.yaml` live (default: <root>/environments).
    #[arg(long, global = true, env = "DEPLOYER_SETTINGS_DIR")]
    pub settings_dir: Option<PathBuf>,
    /// More detail.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Only the final report and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the functions and hooks and zip each reproducibly, writing dist/release.json.
    Package(PackageArgs),
    /// Show what `deploy` would change, without changing anything.
    Plan(EnvDist),
    /// Deploy the packaged release to an environment.
    Deploy(EnvDist),
    /// Deploy to an environment the exact release that succeeded in the previous one.
    Promote(PromoteArgs),
    /// Return every function to the previous successful release (or restore an
    /// unfinished one).
    Rollback(RollbackArgs),
    /// Per function: the alias, in-flight deployment and alarms; the lock.
    Status(EnvOnly),
    /// The environment's releases, newest first.
    History(HistoryArgs),
    /// Delete old versions, never one in use.
    Prune(PruneArgs),
    /// Check an environment before its first release, changing nothing: the role and
    /// account, deployment groups and their alarms, hooks, the ledger, that the
    /// functions fit the packaged artifacts, and (IAM's simulator) that every role may
    /// make every call it makes. Exit 0 only when every check passes.
    Doctor(EnvDist),
    /// The Well-Architected review (Serverless Lens: OPS 1-2, REL 1-2, SEC 1-3, PERF 1,
    /// COST 1): each practice ticked only on evidence read from the environment and
    /// this repository, printed beside it. Read only.
    Review(ReviewArgs),
    /// A picture of one release in an environment: one self-contained HTML file with,
    /// per function, the weight on the new version step by step, each version's
    /// invocations, errors and p99, the judge's verdicts, the alarm that stopped it and
    /// the shadow run's diff, from the environment's release ledger. Read only.
    Report(ReportArgs),
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Package(_) => "package",
            Self::Plan(_) => "plan",
            Self::Deploy(_) => "deploy",
            Self::Promote(_) => "promote",
            Self::Rollback(_) => "rollback",
            Self::Status(_) => "status",
            Self::History(_) => "history",
            Self::Prune(_) => "prune",
            Self::Doctor(_) => "doctor",
            Self::Review(_) => "review",
            Self::Report(_) => "report",
        }
    }

    pub fn environment(&self) -> Option<&str> {
        match self {
            Self::Package(_) => None,
            Self::Plan(a) | Self::Deploy(a) | Self::Doctor(a) => Some(&a.env),
            Self::Promote(a) => Some(&a.to),
            Self::Rollback(a) => Some(&a.env),
            Self::Status(a) => Some(&a.env),
            Self::History(a) => Some(&a.env),
            Self::Prune(a) => Some(&a.env),
            Self::Review(a) => Some(&a.env),
            Self::Report(a) => Some(&a.env),
        }
    }
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// Where the zips and release.json go (default: <root>/dist).
    #[arg(long)]
    pub dist: Option<PathBuf>,
    /// Where the built binaries are (default: <root>/target/debug, or $CARGO_TARGET_DIR/debug).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Package the binaries already built.
    #[arg(long)]
    pub no_build: bool,
    /// Package artifact NAME from the binary at PATH (repeatable; never rebuilt).
    #[arg(long = "bin", value_name = "NAME=PATH", value_parser = parse_bin)]
    pub bins: Vec<(String, PathBuf)>,
    /// Build artifacts for Lambda with cargo-lambda: release profile, stripped, linked
    /// with zig against glibc 2.34 (provided.al2023), per architecture. Without it, the
    /// workspace's debug build is packaged (the local cloud and the tests).
    #[arg(long, conflicts_with_all = ["no_build", "bin_dir"])]
    pub release: bool,
    /// With --release: take each function's and hook's architecture from this
    /// environment's deployer.yaml (default: x86_64 for all).
    #[arg(long, requires = "release")]
    pub env: Option<String>,
    /// With --release: build artifact NAME from the workspace's cargo binary BIN
    /// (repeatable; default: the binary named like the artifact).
    #[arg(long = "cargo-bin", value_name = "NAME=BIN", value_parser = parse_pair, requires = "release")]
    pub cargo_bins: Vec<(String, String)>,
    /// A curated field (for example amount_minor) this release changes on purpose
    /// (repeatable): the shadow diff allows records that differ only there.
    #[arg(long = "expect-output-change", value_name = "FIELD", value_parser = parse_field)]
    pub expected_output_changes: Vec<String>,
}

/// A curated record's field name, as Load writes them.
fn parse_field(text: &str) -> Result<String, String> {
    const FIELDS: [&str; 8] =
        ["order_id", "customer_id", "occurred_at", "amount_minor", "currency", "country", "status", "items"];
    if FIELDS.contains(&text) {
        Ok(text.to_owned())
    } else {
        Err(format!("{text:?} is not a field of a curated record: use one of {}", FIELDS.join(", ")))
    }
}

fn parse_bin(text: &str) -> Result<(String, PathBuf), String> {
    parse_pair(text).map(|(name, path)| (name, PathBuf::from(path)))
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once('=').ok_or_else(|| format!("{text:?} is not NAME=VALUE"))?;
    if name.is_empty() || value.is_empty() {
        return Err(format!("{text:?} is not NAME=VALUE"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

#[derive(Debug, Args)]
pub struct EnvOnly {
    /// The environment (a folder under environments/ with a deployer.yaml).
    #[arg(long)]
    pub env: String,
}

#[derive(Debug, Args)]
pub struct EnvDist {
    #[arg(long)]
    pub env: String,
    /// The packaged release (default: <root>/dist).
    #[arg(long)]
    pub dist: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The environment to promote into.
    #[arg(long)]
    pub to: String,
    /// The environment to promote from (default: the target's promotes_from).
    #[arg(long)]
    pub from: Option<String>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[arg(long)]
    pub env: String,
    /// The release to return to (default: the previous successful one).
    #[arg(long, value_name = "RELEASE")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The release id (its newest record in the environment), or a record id.
    pub release: String,
    #[arg(long)]
    pub env: String,
    /// Where the HTML goes (default: release-<env>-<release>.html in the current folder).
    #[arg(long)]
    pub html: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[arg(long)]
    pub env: String,
    /// How many releases to show.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    #[arg(long)]
    pub env: String,
    /// Also write the review as Markdown to FILE (the pipeline's summary).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[arg(long)]
    pub env: String,
    /// Versions to keep per function (besides any in use).
    #[arg(long)]
    pub keep: usize,
}
