//! The events that pass between the state machine's states.

use etl_core::{Date, EtlError, Stats};
use serde::{Deserialize, Serialize};

/// What starts a run (the state machine's input).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// `YYYY-MM-DD`.
    pub run_date: String,
    #[serde(default)]
    pub execution_id: Option<String>,
    /// Shadow mode: read and write only under `shadow/`, never touch the ledger's real runs.
    #[serde(default)]
    pub dry_run: bool,
    /// Fault injection for tests: the step that must fail (honoured only when allowed).
    #[serde(default)]
    pub inject_failure: Option<String>,
}

/// The execution id of a run started without one (by hand): it identifies no
/// execution, so no two such starts are taken for the same execution.
pub const MANUAL_EXECUTION: &str = "manual";

/// The run's identity and mode, carried by every event after Extract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub run_id: String,
    pub run_date: String,
    pub execution_id: String,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub inject_failure: Option<String>,
}

impl Run {
    pub fn date(&self) -> Result<Date, EtlError> {
        parse_date(&self.run_date)
    }
}

pub fn parse_date(s: &str) -> Result<Date, EtlError> {
    Date::parse(s).ok_or_else(|| {
        EtlError::InvalidInput(format!("run_date {s:?} is not a date in the form YYYY-MM-DD (for example 2026-11-22)"))
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub batch_id: u32,
    pub objects: Vec<String>,
}

/// Extract's output: the batches for the Map state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(flatten)]
    pub run: Run,
    /// True when this run had already been started: the existing run is answered.
    pub duplicate: bool,
    pub status: String,
    pub batches: Vec<Batch>,
}

/// One Map item: the run and its batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchRequest {
    #[serde(flatten)]
    pub run: Run,
    pub batch: Batch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchResult {
    pub batch_id: u32,
    pub staged_key: String,
    pub quarantine_key: Option<String>,
    pub records_in: u64,
    pub records_out: u64,
    pub quarantined: u64,
}

impl BatchResult {
    pub fn stats(&self) -> Stats {
        Stats { records_in: self.records_in, records_out: self.records_out, quarantined: self.quarantined }
    }
}

/// Load's input: the run and every batch's result (the Map state's output).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadRequest {
    #[serde(flatten)]
    pub run: Run,
    pub results: Vec<BatchResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadResult {
    #[serde(flatten)]
    pub run: Run,
    pub curated_keys: Vec<String>,
    pub records_out: u64,
    pub quarantined: u64,
}

/// The error a Catch hands on, as Step Functions shapes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StepError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompensateRequest {
    #[serde(flatten)]
    pub run: Run,
    pub failed_step: String,
    #[serde(default)]
    pub error: StepError,
}
