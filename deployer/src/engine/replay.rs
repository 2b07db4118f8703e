//! Traffic that brings the evidence: while a function is in a canary or linear step,
//! the deployer runs dry runs of the workflow pinned to the new release (the state
//! machine honours `"pin": "new"`), so a daily batch's release is not judged on no
//! traffic at all. A dry run writes only under `shadow/` and never touches the run
//! ledger (the functions' dry-run mode), so nothing the replay does changes curated
//! data. `replay` samples the newest raw partitions; `synthetic` writes one partition
//! of generated records (etl-core's generator) and replays that.

use super::{Engine, Event};
use crate::cloud::{Cloud, ExecutionState};
use crate::error::Result;
use crate::settings::Traffic;

/// Dry runs in flight at once: enough to reach a minimum within a step, few enough
/// not to crowd the account's concurrency.
const CONCURRENCY: usize = 10;
/// The synthetic partition: a date no real run has.
pub const SYNTHETIC_DATE: &str = "2000-01-01";
const SYNTHETIC_RECORDS: usize = 200;

/// The replay of one release.
#[derive(Debug)]
pub(crate) struct Replay {
    state_machine_arn: String,
    dates: Vec<String>,
    source: &'static str,
    record_id: String,
    started: u32,
    in_flight: Vec<String>,
    /// Dry runs started before the current step began.
    step_base: u32,
    /// Dry runs that succeeded on the new release.
    pub succeeded: u32,
    pub failed: u32,
}

impl Replay {
    pub fn source(&self) -> &'static str {
        self.source
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
    pub(crate) async fn prepare_replay(&self, record_id: &str) -> Result<Option<Replay>> {
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
        Ok(Some(Replay {
            state_machine_arn: s.state_machine_arn(&workflow.state_machine),
            dates,
            source: if source == Traffic::Synthetic { "synthetic" } else { "replay" },
            record_id: record_id.to_owned(),
            started: 0,
            in_flight: Vec::new(),
            step_base: 0,
            succeeded: 0,
            failed: 0,
        }))
    }

    /// Collects the dry runs that finished, and starts more until the current step has
    /// had `wanted` (at most the concurrency in flight). Failures to start or read one
    /// are told, not fatal: the step's verdict is what counts.
    pub(crate) async fn drive_replay(&self, replay: &mut Replay, wanted: u32) {
        let mut still = Vec::new();
        for arn in std::mem::take(&mut replay.in_flight) {
            match self.cloud.execution_state(&arn).await {
                Ok(ExecutionState::Running) => still.push(arn),
                Ok(ExecutionState::Succeeded) => replay.succeeded += 1,
                Ok(ExecutionState::Failed) => {
                    replay.failed += 1;
                    self.tell(Event::ReplayFailed { execution: &arn });
                }
                Err(error) => {
                    self.tell(Event::PollFailed { error: &error, attempt: 1 });
                    still.push(arn);
                }
            }
        }
        replay.in_flight = still;
        let room = CONCURRENCY.saturating_sub(replay.in_flight.len());
        let missing = wanted.saturating_sub(replay.this_step()) as usize;
        for _ in 0..room.min(missing) {
            let date = &replay.dates[replay.started as usize % replay.dates.len()];
            let name = format!("replay-{}-{}", replay.record_id, replay.started);
            let input = serde_json::json!({"run_date": date, "dry_run": true, "inject_failure": null, "pin": "new"});
            replay.started += 1;
            match self.cloud.start_execution(&replay.state_machine_arn, &name, &input.to_string()).await {
                Ok(arn) => replay.in_flight.push(arn),
                Err(error) => self.tell(Event::PollFailed { error: &error, attempt: 1 }),
            }
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
