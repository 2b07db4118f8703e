//! Live progress on stderr: the engine's events rendered as lines (timestamped unless
//! on a terminal) and one row per function, redrawn in place on a terminal.

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, PoisonError};

use crate::engine::{Event, FunctionProgress, Observer};
use crate::ledger::{now_ms, rfc3339};
use crate::settings::format_duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// How much to say: -1 quiet (warnings only), 0 steps, 1 detail.
pub struct Ui {
    verbosity: i8,
    tty: bool,
    rows: Mutex<Rows>,
}

#[derive(Default)]
struct Rows {
    drawn: usize,
    last: Vec<String>,
}

enum Level {
    Detail,
    Info,
    Warn,
}

impl Ui {
    pub fn new(verbosity: i8) -> Self {
        let tty = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Self { verbosity, tty, rows: Mutex::new(Rows::default()) }
    }

    /// A warning outside the engine's events (always shown).
    pub fn warn(&self, text: &str) {
        self.say(Level::Warn, text);
    }

    fn say(&self, level: Level, text: &str) {
        let shown = match level {
            Level::Detail => self.verbosity > 0,
            Level::Info => self.verbosity >= 0,
            Level::Warn => true,
        };
        if !shown {
            return;
        }
        let text = if matches!(level, Level::Warn) { format!("warning: {text}") } else { text.to_owned() };
        // Progress stays on screen; the next lines print below it.
        self.rows.lock().unwrap_or_else(PoisonError::into_inner).drawn = 0;
        let mut err = std::io::stderr().lock();
        let _ = if self.tty { writeln!(err, "{text}") } else { writeln!(err, "{} {text}", rfc3339(now_ms())) };
    }

    /// One line per function; redrawn in place on a terminal, printed when it changes
    /// otherwise.
    fn progress(&self, rows: &[FunctionProgress]) {
        if self.verbosity < 0 {
            return;
        }
        let lines: Vec<String> = rows.iter().map(progress_line).collect();
        let mut state = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        let mut err = std::io::stderr().lock();
        if self.tty {
            if state.drawn > 0 {
                let _ = write!(err, "\x1b[{}A", state.drawn);
            }
            for line in &lines {
                let _ = writeln!(err, "\x1b[2K  {line}");
            }
            state.drawn = lines.len();
        } else {
            state.last.resize(lines.len(), String::new());
            for (line, last) in lines.iter().zip(state.last.iter_mut()) {
                if line != last {
                    let _ = writeln!(err, "{}   {line}", rfc3339(now_ms()));
                    last.clone_from(line);
                }
            }
        }
    }
}

impl Observer for Ui {
    fn event(&self, event: Event<'_>) {
        use Level::{Detail, Info, Warn};
        match event {
            Event::UnfinishedFound { record } => self.say(
                Warn,
                &format!(
                    "release {} ({}) was left in progress by {}: restoring its functions first",
                    record.release_id, record.record_id, record.holder
                ),
            ),
            Event::LockTakenOver { holder } => {
                self.say(Warn, &format!("the lock's holder {holder} died on this host: taking the lock over"))
            }
            Event::LockNotReleased { error } => self.say(Warn, &format!("could not release the lock: {error}")),
            Event::ArtifactsVerified { bytes, hashing } => self.say(
                Detail,
                &format!(
                    "artifacts verified: {} MB, {} ms spent waiting for the hashing alone",
                    bytes / 1_000_000,
                    hashing.as_millis()
                ),
            ),
            Event::ReleaseStarted { kind, release_id, environment, changed, total, deployment_config } => self.say(
                Info,
                &format!(
                    "{} {release_id} -> {environment}: {changed} of {total} functions changed ({deployment_config})",
                    if kind == crate::ledger::RecordKind::Promote { "promoting" } else { "deploying" }
                ),
            ),
            Event::HookUpdating { function } => self.say(Detail, &format!("updating hook {function}")),
            Event::Published { versions } => self.say(
                Info,
                &format!(
                    "published {}",
                    versions.iter().map(|(a, v)| format!("{a} v{v}")).collect::<Vec<_>>().join(", ")
                ),
            ),
            Event::Bootstrapped { function, version } => {
                self.say(Info, &format!("{function}:live was on $LATEST (never released): now on version {version}"))
            }
            Event::Progress { rows } => self.progress(rows),
            Event::PollFailed { error, attempt } => {
                self.say(Warn, &format!("reading the release's state failed ({attempt} in a row): {error}"))
            }
            Event::StepsUnreadable { function, error } => self.say(
                Warn,
                &format!("the lifecycle steps of {function}'s deployment cannot be read: {}", error.explained()),
            ),
            Event::AllSucceeded { after } => {
                self.say(Info, &format!("every deployment succeeded after {}", format_duration(after)))
            }
            Event::Stopping { reason } => self.say(Warn, &format!("stopping the release: {reason}")),
            Event::StopFailed { deployment, error } => {
                self.say(Warn, &format!("stopping deployment {deployment}: {error}"))
            }
            Event::RestoreRetry { function, error } => self.say(Detail, &format!("restore {function}: {error}")),
            Event::Restored { after } => self.say(
                Info,
                &format!("every function of the release is back on its previous version ({} ms)", after.as_millis()),
            ),
            Event::RestoreUnconfirmed { function, environment } => self.say(
                Warn,
                &format!("could not confirm {function}:live restored: run `deployer rollback --env {environment}`"),
            ),
            Event::RollingBack { environment, release_id, changes } => self
                .say(Info, &format!("rolling {environment} back to release {release_id} ({changes} functions change)")),
            Event::StepJudged { evidence } => {
                use crate::ledger::EvidenceVerdict::{Exempt, NoEvidence, Passed, Warned};
                let (level, verdict) = match evidence.verdict {
                    Passed => (Info, "passed"),
                    Exempt => (Detail, "exempt"),
                    Warned => (Warn, "no evidence (not required here)"),
                    NoEvidence => (Warn, "NO EVIDENCE"),
                };
                self.say(
                    level,
                    &format!(
                        "{} step {:.0}% on v{}: {} invocations of the new version ({} errors), minimum {}, {} replay run(s): {verdict}",
                        evidence.artifact,
                        evidence.step_percent,
                        evidence.new_version,
                        evidence.new.invocations,
                        evidence.new.errors,
                        evidence.min_invocations,
                        evidence.replay_executions
                    ),
                );
                if let Some(j) = evidence.judgment.as_ref().filter(|j| j.verdict != crate::judge::Verdict::NotJudged) {
                    let level = match j.verdict {
                        crate::judge::Verdict::Fail | crate::judge::Verdict::Marginal => Warn,
                        _ => Detail,
                    };
                    self.say(
                        level,
                        &format!(
                            "{} step {:.0}%: the judge, v{} against v{}: {}",
                            evidence.artifact,
                            evidence.step_percent,
                            evidence.new_version,
                            evidence.old_version,
                            j.summary()
                        ),
                    );
                }
            }
            Event::ShadowStarted { run_date, execution } => self.say(
                Info,
                &format!("shadow run {execution}: the new release in dry-run over {run_date}, the last real run's day"),
            ),
            Event::ShadowCompared { diff } => {
                let level = if diff.verdict.stops() { Warn } else { Info };
                self.say(level, &format!("shadow diff: {}", diff.summary()));
                for example in &diff.examples {
                    let fields: Vec<String> = example
                        .fields
                        .iter()
                        .map(|c| format!("{} {} -> {}", c.field, c.production, c.shadow))
                        .collect();
                    self.say(
                        Detail,
                        &format!(
                            "  {}: {}",
                            example.order_id.as_deref().unwrap_or(&example.idempotency_key),
                            fields.join(", ")
                        ),
                    );
                }
            }
            Event::ReplayWithoutInput { bucket } => self
                .say(Warn, &format!("no raw partition in {bucket} to replay yet: replaying synthetic records instead")),
            Event::ReplayFailed { execution, release } => {
                self.say(Warn, &format!("a replay run on the {release} release failed: {execution}"))
            }
            Event::ReplayUnpaired { state_machine, reason } => self.say(
                Warn,
                &format!(
                    "replays run on the new release only, not paired with the old ({state_machine}: {reason}): the judge has no paired durations or outputs"
                ),
            ),
            Event::RoutingFailed { error } => self.say(
                Warn,
                &format!("the workflow's routing record: {error} (executions use the live aliases meanwhile)"),
            ),
            Event::NotInRelease { function, release_id } => {
                self.say(Warn, &format!("{function} is not in release {release_id}: left as it is"))
            }
        }
    }
}

fn progress_line(p: &FunctionProgress) -> String {
    let share = p.percent_on_target.map_or_else(|| "-".into(), |v| format!("{v:.0}%"));
    let steps: Vec<String> = p
        .steps
        .iter()
        .filter_map(|e| {
            use crate::cloud::LifecycleStep::{AfterAllowTraffic, AllowTraffic, BeforeAllowTraffic};
            let step = match e.step {
                BeforeAllowTraffic => "pre-hook",
                AllowTraffic => "shift",
                AfterAllowTraffic => "post-hook",
                _ => return None,
            };
            Some(format!("{step}={}", e.status.as_str()))
        })
        .collect();
    format!(
        "{:<12} {} -> {:<4} {:<11} {share:>4} on {}  {}  alarms {}",
        p.artifact,
        p.previous_version,
        p.target_version,
        p.status.as_str(),
        p.target_version,
        if steps.is_empty() { "-".into() } else { steps.join(" ") },
        if p.alarms_not_ok.is_empty() { "OK".to_owned() } else { p.alarms_not_ok.join(",") }
    )
}
