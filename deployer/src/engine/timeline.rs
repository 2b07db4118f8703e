//! What CloudWatch recorded over a release, for its picture (`deployer report`): per
//! function, each version's invocations, errors and p99 minute by minute, and its
//! alarms' state changes. Read when the report is made, not kept in the ledger:
//! CloudWatch keeps one-minute data for 15 days and alarm history for 30, and a read
//! that fails (expired, not permitted) is noted on the page, never fatal: the ledger's
//! figures stand on their own.

use std::collections::BTreeMap;

use super::Engine;
use crate::cloud::{AlarmChange, Cloud, SeriesPoint, PERIOD_S};
use crate::ledger::ReleaseRecord;

/// One function over the release.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunctionTimeline {
    pub new_version: String,
    pub old_version: String,
    pub new: Vec<SeriesPoint>,
    pub old: Vec<SeriesPoint>,
    pub alarms: Vec<AlarmChange>,
}

/// The release's window and every shifted function's timeline.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    pub from_ms: u64,
    pub to_ms: u64,
    /// By artifact.
    pub functions: BTreeMap<String, FunctionTimeline>,
    /// What could not be read, and why.
    pub unavailable: Vec<String>,
}

impl<C: Cloud> Engine<'_, C> {
    /// CloudWatch's record of `record`'s window, a period either side.
    pub async fn timeline(&self, record: &ReleaseRecord) -> Timeline {
        let margin = u64::from(PERIOD_S) * 1000;
        let end = record.started_ms + record.duration_ms.unwrap_or(0);
        let mut timeline =
            Timeline { from_ms: record.started_ms.saturating_sub(margin), to_ms: end + margin, ..Timeline::default() };
        for (artifact, f) in &record.functions {
            let Some(new_version) = f.version.clone().filter(|v| *v != f.previous_version) else { continue };
            let alarms = self.settings.functions.iter().find(|x| &x.artifact == artifact).map(|x| x.alarms.clone());
            let mut line = FunctionTimeline {
                new_version,
                old_version: f.previous_version.clone(),
                ..FunctionTimeline::default()
            };
            let (from, to) = (timeline.from_ms, timeline.to_ms);
            let window = |version: String| {
                let (cloud, name) = (self.cloud.clone(), f.function_name.clone());
                async move { cloud.version_window(&name, &version, from, to).await }
            };
            let (new, old) = tokio::join!(window(line.new_version.clone()), window(line.old_version.clone()));
            for (side, read) in [(&mut line.new, new), (&mut line.old, old)] {
                match read {
                    Ok(window) => *side = window.minutes,
                    Err(e) => timeline.unavailable.push(format!("{}'s metrics: {e}", f.function_name)),
                }
            }
            for alarm in alarms.unwrap_or_default() {
                match self.cloud.alarm_history(&alarm, from, to).await {
                    Ok(changes) => line.alarms.extend(changes),
                    Err(e) => timeline.unavailable.push(format!("{alarm}'s history: {e}")),
                }
            }
            line.alarms.sort_by_key(|c| c.at_ms);
            timeline.functions.insert(artifact.clone(), line);
        }
        timeline
    }
}
