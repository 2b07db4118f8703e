//! Traffic that brings the evidence: while a function is in a canary or linear step,
//! the deployer runs dry runs of the workflow pinned to the new release (the state
//! machine honours `"pin": "new"`), so a daily batch's release is not judged on no
//! traffic at all. A dry run writes only under `shadow/` and never touches the run
//! ledger (the functions' dry-run mode), so nothing the replay does changes curated
//! data. `replay` samples the newest raw partitions; `synthetic` writes one partition
//! of generated records (etl-core's generator) and replays that.
//!
//! With the judge on, each input runs as a pair: one dry run pinned to the new release
//! and one to the old (`"pin": "old"`). When both have succeeded, their histories give
//! each function's time and answers on the same input ([`super::pairing`]), which the
//! step's judgment weighs ([`crate::judge::paired`]).

use std::collections::BTreeMap;

use super::pairing;
use super::{Engine, Event};
use crate::cloud::{Cloud, ExecutionState};
use crate::error::Result;
use crate::judge::paired::Pair;
use crate::ledger::now_ms;
use crate::settings::Traffic;

/// Dry runs in flight at once: enough to reach a minimum within a step, few enough
/// not to crowd the account's concurrency.
const CONCURRENCY: usize = 10;
/// The synthetic partition: a date no real run has.
pub const SYNTHETIC_DATE: &str = "2000-01-01";
const SYNTHETIC_RECORDS: usize = 200;

/// Which release a dry run is pinned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Old,
    New,
}

impl Side {
    /// The input's `pin`, and how the deployer names the side.
    fn pin(self) -> &'static str {
        match self {
            Side::Old => "old",
            Side::New => "new",
        }
    }
}

/// A dry run in flight: the `index`th input, on one side.
#[derive(Debug)]
struct Run {
    arn: String,
    index: u32,
    side: Side,
}

/// The sides of a pair that have finished: (execution ARN, succeeded).
#[derive(Debug, Default)]
struct Finished {
    old: Option<(String, bool)>,
    new: Option<(String, bool)>,
}

/// One function's pair, and when it was read.
#[derive(Debug, Clone)]
pub(crate) struct TimedPair {
    pub artifact: String,
    pub at_ms: u64,
    pub pair: Pair,
}

/// Which workflow states run which function, and which functions answer the same to
/// the same input: what reading a pair needs.
#[derive(Debug)]
struct Pairing {
    states: BTreeMap<String, String>,
    deterministic: Vec<String>,
}

/// The replay of one release.
#[derive(Debug)]
pub(crate) struct Replay {
    state_machine_arn: String,
    dates: Vec<String>,
    source: &'static str,
    record_id: String,
    started: u32,
    in_flight: Vec<Run>,
    /// Dry runs started before the current step began.
    step_base: u32,
    /// Dry runs that succeeded on the new release.
    pub succeeded: u32,
    pub failed: u32,
    /// Set when inputs run as pairs (the judge is on and the definition was read).
    pairing: Option<Pairing>,
    finished: BTreeMap<u32, Finished>,
    /// Every pair read so far, oldest first.
    pub pairs: Vec<TimedPair>,
    /// The release says it changes output on purpose.
    pub change_expected: bool,
}

impl Replay {
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// `artifact`'s pairs read between two instants (ms since the epoch).
    pub fn pairs_of(&self, artifact: &str, from_ms: u64, to_ms: u64) -> Vec<Pair> {
        self.pairs
            .iter()
            .filter(|p| p.artifact == artifact && p.at_ms >= from_ms && p.at_ms <= to_ms)
            .map(|p| p.pair)
            .collect()
    }

    /// A step began: the next `wanted` dry runs are its own.
    pub fn begin_step(&mut self) {
        self.step_base = self.started;
    }

    /// Dry runs started for the current step.
    fn this_step(&self) -> u32 {
        self.started.saturating_sub(self.step_base)
    }
}

impl<C: Cloud> Engine<'_, C> {
    /// The release's replay, when the environment asks for one: its inputs read (or,
    /// for synthetic traffic, written) before the first step.
    pub(crate) async fn prepare_replay(&self, record_id: &str, change_expected: bool) -> Result<Option<Replay>> {
        let s = self.settings;
        let (Some(workflow), traffic) = (&s.workflow, s.evidence.traffic) else { return Ok(None) };
        let mut source = traffic;
        let dates = match traffic {
            Traffic::None => return Ok(None),
            Traffic::Replay => {
                let mut dates = self.cloud.raw_partitions(&workflow.raw_bucket).await?;
                dates.retain(|d| d != SYNTHETIC_DATE);
                let newest = dates.len().saturating_sub(s.evidence.replay_days as usize);
                dates.split_off(newest)
            }
            Traffic::Synthetic => Vec::new(),
        };
        // A new environment has recorded nothing yet: the generator's records stand in,
        // rather than leaving the steps to no evidence.
        let dates = if dates.is_empty() {
            if traffic == Traffic::Replay {
                self.tell(Event::ReplayWithoutInput { bucket: &workflow.raw_bucket });
                source = Traffic::Synthetic;
            }
            let key = format!("dt={SYNTHETIC_DATE}/synthetic.jsonl");
            self.cloud.put_raw(&workflow.raw_bucket, &key, synthetic_records()).await?;
            vec![SYNTHETIC_DATE.to_owned()]
        } else {
            dates
        };
        let state_machine_arn = s.state_machine_arn(&workflow.state_machine);
        let pairing = if s.judge.enabled && s.judge.paired { self.pairing(&state_machine_arn).await } else { None };
        Ok(Some(Replay {
            state_machine_arn,
            dates,
            source: if source == Traffic::Synthetic { "synthetic" } else { "replay" },
            record_id: record_id.to_owned(),
            started: 0,
            in_flight: Vec::new(),
            step_base: 0,
            succeeded: 0,
            failed: 0,
            pairing,
            finished: BTreeMap::new(),
            pairs: Vec::new(),
            change_expected,
        }))
    }

    /// What reading pairs needs, from the state machine's definition; None (the
    /// replay runs unpaired, and says why) when it cannot be read or names none of the
    /// functions.
    async fn pairing(&self, state_machine_arn: &str) -> Option<Pairing> {
        let s = self.settings;
        let functions: Vec<(String, String)> =
            s.functions.iter().map(|f| (f.artifact.clone(), f.function_name.clone())).collect();
        let reason = match self.cloud.definition(state_machine_arn).await {
            Ok(definition) => {
                let states = pairing::states_of(&definition, &functions);
                if !states.is_empty() {
                    let deterministic =
                        s.functions.iter().filter(|f| f.deterministic).map(|f| f.artifact.clone()).collect();
                    return Some(Pairing { states, deterministic });
                }
                "its definition names none of the functions".to_owned()
            }
            Err(error) => error.to_string(),
        };
        self.tell(Event::ReplayUnpaired { state_machine: state_machine_arn, reason: &reason });
        None
    }

    /// Collects the dry runs that finished (reading the pairs both of whose sides
    /// succeeded), and starts more until the current step has had `wanted` inputs (at
    /// most the concurrency in flight). Failures to start or read one are told, not
    /// fatal: the step's verdict is what counts.
    pub(crate) async fn drive_replay(&self, replay: &mut Replay, wanted: u32) {
        let mut still = Vec::new();
        for run in std::mem::take(&mut replay.in_flight) {
            let succeeded = match self.cloud.execution_state(&run.arn).await {
                Ok(ExecutionState::Running) => {
                    still.push(run);
                    continue;
                }
                Ok(ExecutionState::Succeeded) => true,
                Ok(ExecutionState::Failed) => {
                    self.tell(Event::ReplayFailed { execution: &run.arn, release: run.side.pin() });
                    false
                }
                Err(error) => {
                    self.tell(Event::PollFailed { error: &error, attempt: 1 });
                    still.push(run);
                    continue;
                }
            };
            match run.side {
                Side::New if succeeded => replay.succeeded += 1,
                Side::New => replay.failed += 1,
                Side::Old => {}
            }
            // Unpaired, a run is done with once counted; paired, it waits for its twin.
            if replay.pairing.is_some() {
                let finished = replay.finished.entry(run.index).or_default();
                let slot = if run.side == Side::New { &mut finished.new } else { &mut finished.old };
                *slot = Some((run.arn, succeeded));
                self.read_pair(replay, run.index).await;
            }
        }
        replay.in_flight = still;
        let width = if replay.pairing.is_some() { 2 } else { 1 };
        let room = CONCURRENCY.saturating_sub(replay.in_flight.len()) / width;
        let missing = wanted.saturating_sub(replay.this_step()) as usize;
        for _ in 0..room.min(missing) {
            let index = replay.started;
            let date = replay.dates[index as usize % replay.dates.len()].clone();
            replay.started += 1;
            let mut sides = vec![(Side::New, format!("replay-{}-{index}", replay.record_id))];
            if replay.pairing.is_some() {
                sides.push((Side::Old, format!("replay-{}-{index}-old", replay.record_id)));
            }
            for (side, name) in sides {
                let input =
                    serde_json::json!({"run_date": date, "dry_run": true, "inject_failure": null, "pin": side.pin()});
                match self.cloud.start_execution(&replay.state_machine_arn, &name, &input.to_string()).await {
                    Ok(arn) => replay.in_flight.push(Run { arn, index, side }),
                    Err(error) => self.tell(Event::PollFailed { error: &error, attempt: 1 }),
                }
            }
        }
    }

    /// Reads the `index`th pair once both sides have finished: each function's time
    /// and answers on both, from the executions' histories. A pair with a failed side
    /// is dropped (the failure is the errors test's to judge); a history that cannot be
    /// read drops the pair and says why.
    async fn read_pair(&self, replay: &mut Replay, index: u32) {
        let Some(pairing) = &replay.pairing else { return };
        let Some(Finished { old: Some((old_arn, old_ok)), new: Some((new_arn, new_ok)) }) = replay.finished.get(&index)
        else {
            return;
        };
        let (old_arn, new_arn, both) = (old_arn.clone(), new_arn.clone(), *old_ok && *new_ok);
        replay.finished.remove(&index);
        if !both {
            return;
        }
        let name = |arn: &str| arn.rsplit(':').next().unwrap_or_default().to_owned();
        let (old, new) = tokio::join!(self.cloud.history(&old_arn), self.cloud.history(&new_arn));
        let (old, new) = match (old, new) {
            (Ok(old), Ok(new)) => (old, new),
            (Err(error), _) | (_, Err(error)) => {
                self.tell(Event::PollFailed { error: &error, attempt: 1 });
                return;
            }
        };
        let old = pairing::observe(&old, &pairing.states, &name(&old_arn));
        let new = pairing::observe(&new, &pairing.states, &name(&new_arn));
        let at_ms = now_ms();
        let pairs = pairing::pair(&old, &new, |artifact| pairing.deterministic.iter().any(|d| d == artifact));
        for (artifact, pair) in pairs {
            replay.pairs.push(TimedPair { artifact, at_ms, pair });
        }
    }
}

/// One partition of generated orders, the same bytes every time (a fixed seed), with
/// a bad record now and then so that the quarantine path runs too.
fn synthetic_records() -> Vec<u8> {
    let Some(date) = etl_core::Date::parse(SYNTHETIC_DATE) else { return Vec::new() };
    let mut generator = etl_core::synthetic::Generator::new(2000, date, Some(20));
    generator.lines(SYNTHETIC_RECORDS).into_bytes()
}
