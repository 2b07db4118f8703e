//! Where a run's objects live. Keys are deterministic, so re-running a batch rewrites
//! the same keys. A dry run is shadow mode: it reads the day's real raw objects, and
//! writes only under `shadow/`, never a production key; so replaying a recorded day on
//! a new release (the deployer's evidence traffic) changes nothing real.

use crate::events::Run;

fn shadow(run: &Run) -> &'static str {
    if run.dry_run {
        "shadow/"
    } else {
        ""
    }
}

/// Raw objects of the run's date (in the raw bucket): the same for a dry run, which
/// only reads them.
pub fn raw_prefix(run: &Run) -> String {
    format!("dt={}/", run.run_date)
}

/// Everything this run stages (in the staging bucket).
pub fn staging_prefix(run: &Run) -> String {
    format!("{}staging/dt={}/run={}/", shadow(run), run.run_date, run.run_id)
}

pub fn staged_key(run: &Run, batch_id: u32) -> String {
    format!("{}batch-{batch_id:05}.jsonl", staging_prefix(run))
}

pub fn quarantine_key(run: &Run, batch_id: u32) -> String {
    format!("{}quarantine/dt={}/batch-{batch_id:05}.jsonl", shadow(run), run.run_date)
}

/// The curated partition (in the curated bucket).
pub fn curated_prefix(run: &Run) -> String {
    format!("{}dt={}/", shadow(run), run.run_date)
}

pub fn curated_key(run: &Run, batch_id: u32) -> String {
    format!("{}part-{batch_id:05}.jsonl", curated_prefix(run))
}

/// Written last: readers take the partition only when this marker exists.
pub fn success_marker(run: &Run) -> String {
    format!("{}_SUCCESS", curated_prefix(run))
}
