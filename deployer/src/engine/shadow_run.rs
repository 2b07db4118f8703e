//! The differential shadow run, before any traffic moves: the workflow in dry-run,
//! pinned to the new release (the routing record already names it), over the day of
//! the last real run; then its output against production's (`crate::shadow::diff`).

use std::time::Duration;

use tokio::time::Instant;

use super::ship::Target;
use super::watch::Stop;
use super::{Engine, Event};
use crate::cloud::{Cloud, ExecutionState};
use crate::error::Result;
use crate::ledger::{ReleaseRecord, StopCause};
use crate::shadow::diff::{compare, Output};
use crate::shadow::{Policy, ShadowDiff, Verdict};

/// The functions whose code writes the curated and quarantined output.
const WRITERS: [&str; 3] = ["extract", "transform", "load"];

/// How many of the newest curated days are tried for a finished one.
const DAYS_TRIED: usize = 3;

/// What the shadow run starts and the diff reads.
struct Sources<'a> {
    state_machine_arn: String,
    curated: &'a str,
    quarantine: &'a str,
}

impl<C: Cloud> Engine<'_, C> {
    /// Runs the shadow diff when the environment asks for it and the release changes a
    /// function that writes output; `Some` when the release must stop before traffic.
    pub(crate) async fn shadow_run(
        &self,
        record: &mut ReleaseRecord,
        targets: &[Target],
        expected: &[String],
    ) -> Option<Stop> {
        let s = self.settings;
        let (Some(policy), Some(w)) = (&s.shadow, &s.workflow) else { return None };
        let (Some(curated), Some(quarantine)) = (&w.curated_bucket, &w.quarantine_bucket) else { return None };
        if !targets.iter().any(|t| WRITERS.contains(&t.planned.function.artifact.as_str())) {
            return None;
        }
        let started = Instant::now();
        let buckets = Sources { state_machine_arn: s.state_machine_arn(&w.state_machine), curated, quarantine };
        let mut diff = match self.shadow_compare(record, &buckets, policy, expected).await {
            Ok(diff) => diff,
            // Fails closed: an environment that asks for the comparison does not take a
            // release its output was not compared for.
            Err(error) => ShadowDiff::without_comparison(
                Verdict::RunFailed,
                format!("the shadow run could not be read: {}", error.explained()),
            ),
        };
        diff.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.tell(Event::ShadowCompared { diff: &diff });
        record.shadow = Some(diff.clone());
        if !diff.verdict.stops() {
            return None;
        }
        let reason = format!(
            "the shadow run {}on the new release {}: {}",
            diff.run_date.as_deref().map(|d| format!("of {d} ")).unwrap_or_default(),
            if diff.verdict == Verdict::Fail {
                "changed production's output beyond this environment's shadow policy"
            } else {
                "did not finish"
            },
            diff.summary()
        );
        Some(Stop { reason, cause: StopCause::ShadowDiff { diff: Box::new(diff) }, alarm: None })
    }

    async fn shadow_compare(
        &self,
        record: &ReleaseRecord,
        buckets: &Sources<'_>,
        policy: &Policy,
        expected: &[String],
    ) -> Result<ShadowDiff> {
        let Some((day, production_marker)) = self.last_real_day(buckets.curated).await? else {
            return Ok(ShadowDiff::without_comparison(
                Verdict::NotCompared,
                format!("no real run has curated a day in {} yet", buckets.curated),
            ));
        };
        let execution = format!("shadow-{}", record.record_id);
        self.tell(Event::ShadowStarted { run_date: &day, execution: &execution });
        let input = serde_json::json!({"run_date": day, "dry_run": true, "inject_failure": null, "pin": "new"});
        let arn = self.cloud.start_execution(&buckets.state_machine_arn, &execution, &input.to_string()).await?;
        let deadline = Instant::now() + policy.timeout;
        let state = loop {
            match self.cloud.execution_state(&arn).await? {
                ExecutionState::Running if Instant::now() < deadline => self.pause_poll().await,
                state => break state,
            }
        };
        let failed = |note: String| {
            let mut diff = ShadowDiff::without_comparison(Verdict::RunFailed, note);
            diff.run_date = Some(day.clone());
            diff.execution = Some(execution.clone());
            diff
        };
        match state {
            ExecutionState::Succeeded => {}
            ExecutionState::Running => {
                return Ok(failed(format!(
                    "{execution} did not finish within {}",
                    crate::settings::format_duration(policy.timeout)
                )))
            }
            ExecutionState::Failed => return Ok(failed(format!("{execution} failed on the new release"))),
        }
        let shadow_marker = self.read_marker(buckets.curated, &format!("shadow/dt={day}/_SUCCESS")).await?;
        let Some(shadow_marker) = shadow_marker.filter(|m| m.execution_id.as_deref() == Some(execution.as_str()))
        else {
            return Ok(failed(format!("{execution} succeeded, but the shadow output's marker is not its own")));
        };
        let production = self.read_output(buckets, &production_marker, &format!("quarantine/dt={day}/")).await?;
        let shadow = self.read_output(buckets, &shadow_marker, &format!("shadow/quarantine/dt={day}/")).await?;
        let mut diff = compare(&production, &shadow, expected, policy);
        diff.run_date = Some(day);
        diff.execution = Some(execution);
        Ok(diff)
    }

    /// The newest day whose curated partition is finished (its `_SUCCESS` marker).
    async fn last_real_day(&self, curated: &str) -> Result<Option<(String, Marker)>> {
        let days = self.cloud.raw_partitions(curated).await?;
        for day in days.iter().rev().take(DAYS_TRIED) {
            if let Some(marker) = self.read_marker(curated, &format!("dt={day}/_SUCCESS")).await? {
                return Ok(Some((day.clone(), marker)));
            }
        }
        Ok(None)
    }

    async fn read_marker(&self, bucket: &str, key: &str) -> Result<Option<Marker>> {
        let Some(body) = self.cloud.get_object(bucket, key).await? else { return Ok(None) };
        Ok(Some(serde_json::from_slice(&body).unwrap_or_default()))
    }

    /// The parts a marker names and the quarantine under `quarantine_prefix`.
    async fn read_output(&self, buckets: &Sources<'_>, marker: &Marker, quarantine_prefix: &str) -> Result<Output> {
        let mut output = Output::default();
        for key in &marker.parts {
            if let Some(body) = self.cloud.get_object(buckets.curated, key).await? {
                output.curated.push(body);
            }
        }
        for key in self.cloud.list_keys(buckets.quarantine, quarantine_prefix).await? {
            if let Some(body) = self.cloud.get_object(buckets.quarantine, &key).await? {
                output.quarantine.push(body);
            }
        }
        Ok(output)
    }

    async fn pause_poll(&self) {
        let interval = self.settings.poll_interval.max(Duration::from_millis(50));
        self.cloud.pause(interval).await;
    }
}

/// A curated partition's `_SUCCESS` marker, as Load writes it: the run, the execution,
/// and the parts it wrote (so a diff reads exactly those, never a stale part).
#[derive(Debug, Default, serde::Deserialize)]
struct Marker {
    #[serde(default)]
    execution_id: Option<String>,
    #[serde(default)]
    parts: Vec<String>,
}
