//! `shadow:` in deployer.yaml: the differential shadow run before any traffic moves,
//! and how much of production's output a release may change (see `crate::shadow`).
//! Absent: no shadow run.

use serde::Deserialize;

use super::duration::field_duration;
use super::raw::RawSettings;
use super::Check;
use crate::error::Result;
use crate::shadow::Policy;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawShadow {
    #[serde(default)]
    pub max_changed_percent: Option<f64>,
    #[serde(default)]
    pub max_missing_percent: Option<f64>,
    #[serde(default)]
    pub max_newly_quarantined_percent: Option<f64>,
    #[serde(default)]
    pub examples: Option<usize>,
    #[serde(default)]
    pub timeout: Option<String>,
}

impl Check<'_> {
    pub(super) fn shadow(&self, raw: &RawSettings) -> Result<Option<Policy>> {
        let Some(shadow) = &raw.shadow else { return Ok(None) };
        let d = Policy::default();
        let buckets = raw.workflow.as_ref().map(|w| (w.curated_bucket.is_some(), w.quarantine_bucket.is_some()));
        if buckets != Some((true, true)) {
            return Err(self.err(
                "shadow",
                "compares the curated and quarantined output, but workflow names no curated_bucket and quarantine_bucket".into(),
                "add curated_bucket and quarantine_bucket (the etl-workflow module's) to workflow:, or remove shadow:",
            ));
        }
        let policy = Policy {
            max_changed_percent: shadow.max_changed_percent.unwrap_or(d.max_changed_percent),
            max_missing_percent: shadow.max_missing_percent.unwrap_or(d.max_missing_percent),
            max_newly_quarantined_percent: shadow
                .max_newly_quarantined_percent
                .unwrap_or(d.max_newly_quarantined_percent),
            examples: shadow.examples.unwrap_or(d.examples),
            timeout: field_duration(self.file, "shadow.timeout", shadow.timeout.as_deref(), d.timeout)?,
        };
        for (field, v) in [
            ("shadow.max_changed_percent", policy.max_changed_percent),
            ("shadow.max_missing_percent", policy.max_missing_percent),
            ("shadow.max_newly_quarantined_percent", policy.max_newly_quarantined_percent),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return Err(self.err(field, format!("{v} is not a percentage"), "use 0-100 (0: not one record)"));
            }
        }
        if policy.examples > 20 {
            return Err(self.err("shadow.examples", format!("{} is too many to show", policy.examples), "use 0-20"));
        }
        if policy.timeout.as_secs() < 10 {
            return Err(self.err(
                "shadow.timeout",
                "is shorter than a run of the workflow can take".into(),
                "use at least 10s (for example 15m)",
            ));
        }
        Ok(Some(policy))
    }
}
