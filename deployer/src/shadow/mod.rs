//! The differential shadow run: before any traffic moves, the workflow runs in dry-run
//! on the new release over the day of the last real run, and what it wrote under
//! `shadow/` is compared record by record (by idempotency key) with what production
//! wrote for that input. It catches the release no alarm can see: one that runs
//! without a single error and writes different data (an amount rounded differently, a
//! field dropped).
//!
//! - [`diff`]: the comparison (pure): identical, changed (which fields), missing,
//!   added, newly quarantined (which reasons), and the environment's policy's verdict.
//!
//! The run itself is the engine's (`engine/shadow_run.rs`); nothing in curated data,
//! quarantine or the run ledger changes (dry runs write only under `shadow/`).

pub mod diff;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How much of production's output a release may change (`shadow:` in deployer.yaml),
/// in percent of production's curated records. A release that changes output on
/// purpose names the fields in its manifest (`deployer package --expect-output-change
/// FIELD`): records that differ only there are counted apart and allowed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Policy {
    pub max_changed_percent: f64,
    pub max_missing_percent: f64,
    pub max_newly_quarantined_percent: f64,
    /// Changed records shown side by side in the report.
    pub examples: usize,
    /// How long the dry run may take.
    pub timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_changed_percent: 0.0,
            max_missing_percent: 0.0,
            max_newly_quarantined_percent: 0.0,
            examples: 3,
            timeout: Duration::from_secs(15 * 60),
        }
    }
}

/// What the shadow run found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing to compare with (no real run has curated a day yet): the release goes on.
    NotCompared,
    /// The same records, field for field.
    Identical,
    /// Differences the policy allows (or the release expects).
    WithinPolicy,
    /// More changed, missing or newly quarantined records than the policy allows.
    Fail,
    /// The dry run on the new release failed or did not finish.
    RunFailed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::NotCompared => "not compared",
            Verdict::Identical => "identical",
            Verdict::WithinPolicy => "within policy",
            Verdict::Fail => "fail",
            Verdict::RunFailed => "run failed",
        }
    }

    /// Whether the release must stop before any traffic.
    pub fn stops(self) -> bool {
        matches!(self, Verdict::Fail | Verdict::RunFailed)
    }
}

/// One field of one record, as production wrote it and as the new release would.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub production: serde_json::Value,
    pub shadow: serde_json::Value,
}

/// A changed record, side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedRecord {
    pub idempotency_key: String,
    pub order_id: Option<String>,
    pub fields: Vec<FieldChange>,
}

/// A measure over its bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    /// `changed`, `missing` or `newly_quarantined`.
    pub measure: String,
    pub records: u64,
    pub percent: f64,
    pub max_percent: f64,
}

/// The comparison of one day's output, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowDiff {
    pub run_date: Option<String>,
    pub execution: Option<String>,
    pub production_records: u64,
    pub shadow_records: u64,
    pub identical: u64,
    /// Records that differ beyond the fields the release expects to change.
    pub changed: u64,
    /// Records that differ only in the fields the release expects to change.
    pub expected_changes: u64,
    /// Production's records the new release did not curate.
    pub missing: u64,
    /// Records only the new release curated.
    pub added: u64,
    /// Input lines the new release quarantines that production did not.
    pub newly_quarantined: u64,
    /// Changed records per field.
    pub changed_fields: BTreeMap<String, u64>,
    /// Newly quarantined lines per reason (the field a reason names).
    pub quarantine_reasons: BTreeMap<String, u64>,
    pub examples: Vec<ChangedRecord>,
    pub breaches: Vec<Breach>,
    pub verdict: Verdict,
    /// Why it was not compared, or how the run failed.
    pub note: Option<String>,
    pub duration_ms: u64,
}

impl ShadowDiff {
    /// A shadow run that compared nothing, and why.
    pub fn without_comparison(verdict: Verdict, note: impl Into<String>) -> Self {
        ShadowDiff {
            run_date: None,
            execution: None,
            production_records: 0,
            shadow_records: 0,
            identical: 0,
            changed: 0,
            expected_changes: 0,
            missing: 0,
            added: 0,
            newly_quarantined: 0,
            changed_fields: BTreeMap::new(),
            quarantine_reasons: BTreeMap::new(),
            examples: Vec::new(),
            breaches: Vec::new(),
            verdict,
            note: Some(note.into()),
            duration_ms: 0,
        }
    }

    /// The counts in a line.
    pub fn summary(&self) -> String {
        if let Some(note) = self.note.as_deref().filter(|_| self.production_records == 0) {
            return format!("{}: {note}", self.verdict.as_str());
        }
        let fields: Vec<String> = self.changed_fields.iter().map(|(f, n)| format!("{f} {n}")).collect();
        let reasons: Vec<String> = self.quarantine_reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let mut s = format!(
            "{} of {} records identical, {} changed{}, {} missing, {} added, {} newly quarantined{}",
            self.identical,
            self.production_records,
            self.changed,
            if fields.is_empty() { String::new() } else { format!(" ({})", fields.join(", ")) },
            self.missing,
            self.added,
            self.newly_quarantined,
            if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join(", ")) },
        );
        if self.expected_changes > 0 {
            s.push_str(&format!(", {} changed only where the release expects", self.expected_changes));
        }
        s.push_str(&format!(": {}", self.verdict.as_str()));
        s
    }
}
