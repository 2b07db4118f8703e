//! No canary step passes on no evidence. Each function's shift is a series of steps
//! (a canary's weight, each of a linear config's increments); when a step ends (the
//! alias moves on), the new version must have served the environment's minimum of
//! invocations during it, counted by CloudWatch per version (alias and
//! version-qualified invokes) or by the deployer's own replay. A step without it stops
//! and rolls back the release where the environment requires evidence, and is a
//! warning where it does not.

use std::collections::BTreeMap;

use super::replay::Replay;
use super::{Engine, Event};
use crate::cloud::{Cloud, VersionStats, VersionWindow};
use crate::judge::Judgment;
use crate::ledger::{now_ms, rfc3339, EvidenceVerdict, ReleaseRecord, StepEvidence};

/// One function's step in progress.
#[derive(Debug, Clone)]
struct Step {
    /// Tenths of a percent on the new version.
    weight: i64,
    /// The earliest moment the alias can have taken this weight: the start of the
    /// last poll that still read the weight before it (the alias moved after that
    /// read). Traffic the new version served between that read and the poll that saw
    /// the move belongs to this step; an alarm can count it before the deployer sees
    /// the step at all.
    started_ms: u64,
    /// When the poll that last read this weight began.
    seen_ms: u64,
    /// Replay executions that succeeded when the step began.
    replays_at_start: u32,
}

/// The steps of every function being shifted.
#[derive(Debug, Default)]
pub(crate) struct Steps {
    current: BTreeMap<String, Step>,
}

/// A step that just ended.
#[derive(Debug, Clone)]
pub(crate) struct Ended {
    pub artifact: String,
    pub percent: f64,
    pub started_ms: u64,
    pub ended_ms: u64,
    pub replays: u32,
}

impl Step {
    /// Whether this is a canary or linear step (strictly between 0 and 100 %).
    fn partial(&self) -> bool {
        self.weight > 0 && self.weight < 1000
    }

    /// This step of `artifact`, ended at `now`.
    fn ended(&self, artifact: &str, now: u64, replays_so_far: u32) -> Ended {
        Ended {
            artifact: artifact.to_owned(),
            percent: self.weight as f64 / 10.0,
            started_ms: self.started_ms,
            ended_ms: now,
            replays: replays_so_far.saturating_sub(self.replays_at_start),
        }
    }
}

impl Steps {
    /// Notes `artifact`'s share on its new version, read by a poll that began at
    /// `polled_at_ms`; answers the step that ended if the share moved on from a canary
    /// or linear weight (strictly between 0 and 100 %).
    pub fn observe(
        &mut self,
        artifact: &str,
        percent: Option<f64>,
        replays_so_far: u32,
        polled_at_ms: u64,
    ) -> Option<Ended> {
        let weight = (percent? * 10.0).round() as i64;
        let now = now_ms();
        match self.current.get_mut(artifact) {
            Some(step) if step.weight == weight => {
                step.seen_ms = polled_at_ms;
                None
            }
            previous => {
                let ended = previous.as_deref().filter(|s| s.partial()).map(|s| s.ended(artifact, now, replays_so_far));
                // The first reading has nothing before it: its step starts with that poll.
                let started_ms = previous.map_or(polled_at_ms, |s| s.seen_ms);
                let step = Step { weight, started_ms, seen_ms: polled_at_ms, replays_at_start: replays_so_far };
                self.current.insert(artifact.to_owned(), step);
                ended
            }
        }
    }

    /// Ends `artifact`'s step now, if it is in a canary or linear one: the step an
    /// alarm cut short.
    pub fn cut_short(&mut self, artifact: &str, replays_so_far: u32) -> Option<Ended> {
        let step = self.current.remove(artifact).filter(Step::partial)?;
        Some(step.ended(artifact, now_ms(), replays_so_far))
    }

    /// Whether some function is in a canary or linear step (the replay runs then).
    pub fn in_partial_step(&self) -> bool {
        self.current.values().any(Step::partial)
    }

    /// The smallest share on the new release across the functions being shifted,
    /// per mille: what the workflow's executions draw against.
    pub fn release_weight(&self) -> u32 {
        self.current.values().map(|s| s.weight.clamp(0, 1000) as u32).min().unwrap_or(0)
    }
}

impl<C: Cloud> Engine<'_, C> {
    /// The steps of `artifacts` an alarm cut short, judged as far as they went (the
    /// judge's numbers beside the alarm's): each judgment's summary, by function.
    pub(crate) async fn judge_cut_short(
        &self,
        record: &mut ReleaseRecord,
        artifacts: &[String],
        steps: &mut Steps,
        replay: Option<&Replay>,
    ) -> Vec<String> {
        let mut judged = Vec::new();
        for artifact in artifacts {
            let Some(ended) = steps.cut_short(artifact, replay.map_or(0, |r| r.succeeded)) else { continue };
            if let Some(evidence) = self.judge_step(record, ended, replay).await {
                if let Some(j) = evidence.judgment.filter(|j| j.verdict != crate::judge::Verdict::NotJudged) {
                    judged.push(format!("{}: {} ({})", evidence.function_name, j.verdict.as_str(), j.summary()));
                }
            }
        }
        judged
    }

    /// Judges an ended step of one function: its evidence, recorded; `Some` when the
    /// release must stop for lack of it.
    pub(crate) async fn judge_step(
        &self,
        record: &mut ReleaseRecord,
        ended: Ended,
        replay: Option<&Replay>,
    ) -> Option<StepEvidence> {
        let s = self.settings;
        let f = record.functions.get(&ended.artifact)?.clone();
        let function = s.functions.iter().find(|x| x.artifact == ended.artifact)?;
        let new_version = f.version.clone().unwrap_or_default();
        let window = |version: String| {
            let (cloud, name) = (self.cloud.clone(), f.function_name.clone());
            async move { cloud.version_window(&name, &version, ended.started_ms, ended.ended_ms).await }
        };
        let (new, old) = tokio::join!(window(new_version.clone()), window(f.previous_version.clone()));
        let [new, old] = [new, old].map(|read| {
            read.unwrap_or_else(|error| {
                self.tell(Event::PollFailed { error: &error, attempt: 1 });
                VersionWindow::default()
            })
        });
        // Each version's p99 minute by minute over the step: the duration test's samples.
        let p99s = |w: &VersionWindow| w.minutes.iter().filter_map(|p| p.p99_ms).collect::<Vec<f64>>();
        let (new_minutes, old_minutes) = (p99s(&new), p99s(&old));
        let (new, old) = (new.total, old.total);
        // A replay that succeeded ran every function of the workflow (but the saga's
        // compensation) on the new release: a floor under CloudWatch's count, which
        // may lag a minute behind on AWS.
        let counted = if function.artifact == "compensate" {
            new.invocations
        } else {
            new.invocations.max(f64::from(ended.replays))
        };
        let verdict = if function.min_invocations == 0 {
            EvidenceVerdict::Exempt
        } else if counted >= f64::from(function.min_invocations) {
            EvidenceVerdict::Passed
        } else if s.evidence.required {
            EvidenceVerdict::NoEvidence
        } else {
            EvidenceVerdict::Warned
        };
        let evidence = StepEvidence {
            artifact: ended.artifact.clone(),
            function_name: f.function_name.clone(),
            step_percent: ended.percent,
            started_at: rfc3339(ended.started_ms),
            ended_at: rfc3339(ended.ended_ms),
            new_version,
            old_version: f.previous_version.clone(),
            new: VersionStats { invocations: counted, ..new },
            old,
            replay_executions: ended.replays,
            replay_source: replay.map(|r| r.source().to_owned()),
            min_invocations: function.min_invocations,
            verdict,
            // CloudWatch's figures as read, replays included: both versions over the
            // same window; and the pairs read in it.
            judgment: Some(
                Judgment::of(&s.judge, &new, &old).with_minutes(&s.judge, &new_minutes, &old_minutes).with_pairs(
                    &s.judge,
                    &replay.map(|r| r.pairs_of(&ended.artifact, ended.started_ms, ended.ended_ms)).unwrap_or_default(),
                    replay.is_some_and(|r| r.change_expected),
                ),
            ),
        };
        self.tell(Event::StepJudged { evidence: &evidence });
        record.evidence.push(evidence.clone());
        Some(evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_starts_at_the_last_poll_that_read_the_weight_before_it() {
        let mut steps = Steps::default();
        assert!(steps.observe("extract", Some(0.0), 0, 1_000).is_none());
        assert!(steps.observe("extract", Some(0.0), 0, 2_000).is_none());
        // The alias moved to 10 % between the reads of 2.0 s and 3.0 s.
        assert!(steps.observe("extract", Some(10.0), 0, 3_000).is_none());
        assert!(steps.observe("extract", Some(10.0), 0, 4_000).is_none());
        let ended = steps.observe("extract", Some(100.0), 2, 5_000).expect("the canary step ended");
        assert_eq!((ended.percent, ended.started_ms, ended.replays), (10.0, 2_000, 2));
        assert!(ended.ended_ms >= 5_000, "{ended:?}");
        assert!(steps.cut_short("extract", 2).is_none(), "100 % is not a step to judge");
    }

    #[test]
    fn a_step_cut_short_by_an_alarm_reaches_back_to_the_read_before_it() {
        let mut steps = Steps::default();
        steps.observe("load", Some(0.0), 0, 7_000);
        steps.observe("load", Some(10.0), 1, 7_500);
        let ended = steps.cut_short("load", 3).expect("the canary step was cut short");
        assert_eq!((ended.started_ms, ended.replays), (7_000, 2));
        assert!(steps.cut_short("load", 3).is_none(), "a step is cut short once");
    }

    #[test]
    fn the_first_reading_starts_its_step_with_its_own_poll() {
        let mut steps = Steps::default();
        steps.observe("transform", Some(10.0), 0, 9_000);
        assert_eq!(steps.cut_short("transform", 0).map(|e| e.started_ms), Some(9_000));
    }
}
