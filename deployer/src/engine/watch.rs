//! Watching a release's deployments and the environment's alarms together, until every
//! deployment succeeded or something says stop: an alarm, a failed deployment, a
//! signal, a lost lock, a deployment that never starts, or a cloud that stops answering.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

use super::events::FunctionProgress;
use super::evidence::Steps;
use super::replay::Replay;
use super::{Engine, Event};
use crate::cloud::{
    AlarmState, AlarmView, Cloud, DeploymentStatus, DeploymentView, LifecycleStep, Renewal, StepStatus,
};
use crate::error::{DeployError, Result};
use crate::judge::Verdict;
use crate::ledger::{now_ms, EvidenceVerdict, FunctionOutcome, ReleaseRecord, StopCause};
use crate::settings::{format_duration, ALIAS};

/// Polls in a row that may fail (after the SDK's own retries) before the release is
/// stopped and restored rather than left unwatched.
const FAILED_POLLS_ALLOWED: u32 = 5;
/// A deployment still Created or Queued after this long will not start.
const START_TIMEOUT: Duration = Duration::from_secs(600);
const LOCK_RENEWAL: Duration = Duration::from_secs(60);

/// Why the watch ended.
#[derive(Debug)]
pub(crate) enum WatchEnd {
    Succeeded,
    Stop(Box<Stop>),
}

/// A reason to stop the release, in words and as data.
#[derive(Debug)]
pub(crate) struct Stop {
    pub reason: String,
    pub cause: StopCause,
    pub alarm: Option<AlarmView>,
}

/// One deployment being watched.
struct Watched {
    artifact: String,
    function: String,
    id: String,
    alarms: Vec<String>,
}

/// One poll's reading of a deployment.
struct Reading {
    view: DeploymentView,
    percent_on_target: Option<f64>,
    steps: Vec<crate::cloud::LifecycleEvent>,
    steps_error: Option<DeployError>,
}

impl<C: Cloud> Engine<'_, C> {
    pub(crate) async fn watch(&self, record: &mut ReleaseRecord, mut replay: Option<Replay>) -> WatchEnd {
        let s = self.settings;
        let watched: Vec<Watched> = record
            .functions
            .iter()
            .filter_map(|(artifact, f)| {
                let id = f.deployment_id.clone()?;
                let alarms = s.functions.iter().find(|x| &x.artifact == artifact).map(|x| x.alarms.clone());
                Some(Watched {
                    artifact: artifact.clone(),
                    function: f.function_name.clone(),
                    id,
                    alarms: alarms.unwrap_or_default(),
                })
            })
            .collect();
        let started = Instant::now();
        let mut renewed = Instant::now();
        let mut failed_polls = 0;
        let mut unreadable_steps: BTreeSet<String> = BTreeSet::new();
        let mut last_rows: Vec<FunctionProgress> = Vec::new();
        let mut steps = Steps::default();
        let mut routed = 0;
        // The replay aims at the largest minimum among the functions being shifted.
        let wanted = watched
            .iter()
            .filter_map(|w| s.functions.iter().find(|f| f.artifact == w.artifact))
            .map(|f| f.min_invocations)
            .max()
            .unwrap_or(0);
        loop {
            if self.interrupt.raised() {
                return stop(
                    "the deployer was interrupted (SIGINT/SIGTERM) mid-release".into(),
                    StopCause::Interrupted,
                );
            }
            let polled_at_ms = now_ms();
            let (readings, alarms) = match self.poll(record, &watched).await {
                Ok(polled) => {
                    failed_polls = 0;
                    polled
                }
                Err(error) => {
                    failed_polls += 1;
                    self.tell(Event::PollFailed { error: &error, attempt: failed_polls });
                    if failed_polls >= FAILED_POLLS_ALLOWED {
                        return stop(
                            format!(
                                "the deployments could not be watched ({failed_polls} polls failed in a row): {error}"
                            ),
                            StopCause::WatchFailed { error: error.to_string() },
                        );
                    }
                    self.cloud.pause(s.poll_interval).await;
                    continue;
                }
            };
            for (w, r) in watched.iter().zip(&readings) {
                if let Some(error) = &r.steps_error {
                    if unreadable_steps.insert(w.function.clone()) {
                        self.tell(Event::StepsUnreadable { function: &w.function, error });
                    }
                }
            }
            let rows = progress_rows(record, &watched, &readings, &alarms);
            // A release of many functions is polled many times, mostly unchanged.
            if rows != last_rows {
                self.tell(Event::Progress { rows: &rows });
                last_rows = rows;
            }
            if let Some(alarm) = alarms.iter().find(|a| a.state == AlarmState::Alarm) {
                // A hook that failed a deployment in this same poll came first: its own
                // invokes of the new version (a pre-traffic fixture that errors) are
                // what trips a function's errors alarm.
                if let Some(end) = self.hook_failure_beside(&watched, &readings, alarm, record.started_ms).await {
                    return end;
                }
                return self.stop_on_alarm(record, &watched, alarm, &mut steps, replay.as_ref()).await;
            }
            let stepped =
                match self.judge_steps(record, &watched, &readings, &mut steps, replay.as_ref(), polled_at_ms).await {
                    Ok(stepped) => stepped,
                    Err(end) => return end,
                };
            let weight = steps.release_weight();
            if weight != routed {
                self.route(record, weight).await;
                routed = weight;
            }
            if let Some(replay) = replay.as_mut() {
                if stepped {
                    replay.begin_step();
                }
                if steps.in_partial_step() {
                    self.drive_replay(replay, wanted).await;
                }
            }
            if let Some(end) = deployment_stop(&watched, &readings, started.elapsed()) {
                if let Some(alarm) = self.alarm_behind_stop(&watched, &readings, record.started_ms).await {
                    return self.stop_on_alarm(record, &watched, &alarm, &mut steps, replay.as_ref()).await;
                }
                return self.with_hook_verdict(end, record.started_ms).await;
            }
            note_succeeded(record, &watched, &readings);
            if readings.iter().all(|r| r.view.status == DeploymentStatus::Succeeded) {
                self.tell(Event::AllSucceeded { after: started.elapsed() });
                return WatchEnd::Succeeded;
            }
            if let Some(end) = self.keep_lock(&mut renewed).await {
                return end;
            }
            self.cloud.pause(s.poll_interval).await;
        }
    }

    /// One reading of every deployment (its status, and while it runs, the alias and
    /// its lifecycle steps) and of every watched alarm.
    async fn poll(&self, record: &ReleaseRecord, watched: &[Watched]) -> Result<(Vec<Reading>, Vec<AlarmView>)> {
        let jobs = watched.iter().map(|w| (w.function.clone(), w.id.clone()));
        let deployments = self.all(jobs, |cloud, (name, id)| async move {
            let view = cloud.get(&id).await?;
            if view.status.is_terminal() {
                return Ok((view, None, Vec::new(), None));
            }
            let alias = cloud.alias(&name, ALIAS).await?;
            let (steps, steps_error) = match cloud.lifecycle(&id).await {
                Ok(steps) => (steps, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            Ok((view, Some(alias), steps, steps_error))
        });
        let names = self.settings.watched_alarms();
        let alarms = self.cloud.describe(&names);
        let (deployments, alarms) = tokio::join!(deployments, alarms);
        let readings = deployments?
            .into_iter()
            .zip(watched)
            .map(|((view, alias, steps, steps_error), w)| {
                let target = record.functions.get(&w.artifact).and_then(|f| f.version.clone()).unwrap_or_default();
                let percent_on_target = match (&alias, view.status) {
                    (Some(a), _) => Some(a.percent_on(&target)),
                    (None, DeploymentStatus::Succeeded) => Some(100.0),
                    (None, _) => None,
                };
                Reading { view, percent_on_target, steps, steps_error }
            })
            .collect();
        Ok((readings, alarms?))
    }

    /// The release stopped on `alarm`: the steps it cut short judged as far as they
    /// went, the judge's numbers beside the alarm's.
    async fn stop_on_alarm(
        &self,
        record: &mut ReleaseRecord,
        watched: &[Watched],
        alarm: &AlarmView,
        steps: &mut Steps,
        replay: Option<&Replay>,
    ) -> WatchEnd {
        let mut cut: Vec<String> =
            watched.iter().filter(|w| w.alarms.contains(&alarm.name)).map(|w| w.artifact.clone()).collect();
        if cut.is_empty() {
            cut = watched.iter().map(|w| w.artifact.clone()).collect();
        }
        let judged = self.judge_cut_short(record, &cut, steps, replay).await;
        let mut end = self.alarm_stop(alarm);
        if let (WatchEnd::Stop(stop), false) = (&mut end, judged.is_empty()) {
            stop.reason.push_str(&format!("; the judge, over the step so far: {}", judged.join("; ")));
        }
        end
    }

    /// The stop on a deployment a traffic hook failed (status Failed, not on an alarm),
    /// read in the same poll as `alarm`, with the hook's verdict and the alarm beside
    /// it; None when no deployment failed so, or its hook's verdict cannot be read.
    async fn hook_failure_beside(
        &self,
        watched: &[Watched],
        readings: &[Reading],
        alarm: &AlarmView,
        since_ms: u64,
    ) -> Option<WatchEnd> {
        let (w, r) = watched
            .iter()
            .zip(readings)
            .find(|(_, r)| r.view.status == DeploymentStatus::Failed && !r.view.alarm_stop)?;
        let mut end = self.with_hook_verdict(failed_stop(w, r), since_ms).await;
        let WatchEnd::Stop(stop) = &mut end else { return None };
        if !matches!(stop.cause, StopCause::DeploymentFailed { hook: Some(_), .. }) {
            return None;
        }
        stop.reason.push_str(&format!("; alarm {} is in ALARM too", alarm.name));
        Some(end)
    }

    /// The alarm behind a deployment CodeDeploy stopped on one (ALARM_ACTIVE) before
    /// the deployer's own read saw it: the function's alarm in ALARM now, or else the
    /// one that went to ALARM last since `since_ms` (it may have gone back to OK).
    /// None when it cannot be told; the stop is then reported as CodeDeploy gave it.
    async fn alarm_behind_stop(&self, watched: &[Watched], readings: &[Reading], since_ms: u64) -> Option<AlarmView> {
        let (w, _) = watched.iter().zip(readings).find(|(_, r)| {
            r.view.alarm_stop && matches!(r.view.status, DeploymentStatus::Failed | DeploymentStatus::Stopped)
        })?;
        let names = if w.alarms.is_empty() { self.settings.watched_alarms() } else { w.alarms.clone() };
        let views = match self.cloud.describe(&names).await {
            Ok(views) => views,
            Err(error) => {
                self.tell(Event::PollFailed { error: &error, attempt: 1 });
                return None;
            }
        };
        if let Some(alarm) = views.iter().find(|a| a.state == AlarmState::Alarm) {
            return Some(alarm.clone());
        }
        let mut last: Option<(u64, &AlarmView)> = None;
        for view in &views {
            match self.cloud.alarm_history(&view.name, since_ms, now_ms()).await {
                Ok(changes) => {
                    let at = changes.iter().filter(|c| c.to == AlarmState::Alarm.as_str()).map(|c| c.at_ms).max();
                    if let Some(at) = at.filter(|at| last.is_none_or(|(t, _)| *at > t)) {
                        last = Some((at, view));
                    }
                }
                Err(error) => self.tell(Event::PollFailed { error: &error, attempt: 1 }),
            }
        }
        last.map(|(_, view)| view.clone())
    }

    fn alarm_stop(&self, alarm: &AlarmView) -> WatchEnd {
        let function = self
            .settings
            .function_of_alarm(&alarm.name)
            .map(|f| f.function_name.clone())
            .or_else(|| alarm.function_dimension.clone());
        // An alarm CodeDeploy stopped on may be back to OK by the time it is read.
        let state = match alarm.state {
            AlarmState::Alarm => "is in ALARM".to_owned(),
            other => format!("went to ALARM (now {}) and CodeDeploy stopped the deployment", other.as_str()),
        };
        let reason = format!(
            "alarm {} {state} on {}: {} = {} (threshold {}): {}",
            alarm.name,
            function.as_deref().unwrap_or("the environment"),
            alarm.metric.as_deref().unwrap_or("metric"),
            alarm.value.map_or("?".into(), |v| format!("{v}")),
            alarm.threshold.map_or("?".into(), |v| format!("{v}")),
            alarm.reason
        );
        WatchEnd::Stop(Box::new(Stop {
            reason,
            cause: StopCause::Alarm {
                alarm: alarm.name.clone(),
                function,
                metric: alarm.metric.clone(),
                value: alarm.value,
                threshold: alarm.threshold,
            },
            alarm: Some(alarm.clone()),
        }))
    }
}

impl<C: Cloud> Engine<'_, C> {
    /// A deployment a traffic hook failed, with the hook's own verdict beside
    /// CodeDeploy's "reported Failed": the failed lifecycle step names the hook, and
    /// the hook's log its reasons. A log that cannot be read leaves the stop as it was.
    async fn with_hook_verdict(&self, mut end: WatchEnd, since_ms: u64) -> WatchEnd {
        let WatchEnd::Stop(stop) = &mut end else { return end };
        let StopCause::DeploymentFailed { deployment_id, hook, .. } = &mut stop.cause else { return end };
        let steps = match self.cloud.lifecycle(deployment_id).await {
            Ok(steps) => steps,
            Err(error) => {
                self.tell(Event::PollFailed { error: &error, attempt: 1 });
                return end;
            }
        };
        let hooks = &self.settings.hooks;
        let failed_hook = steps.iter().filter(|e| e.status == StepStatus::Failed).find_map(|e| match e.step {
            LifecycleStep::BeforeAllowTraffic => Some(hooks.pre_traffic.as_str()),
            LifecycleStep::AfterAllowTraffic => Some(hooks.post_traffic.as_str()),
            _ => None,
        });
        let Some(function) = failed_hook else { return end };
        match self.cloud.hook_verdict(function, deployment_id, since_ms).await {
            Ok(Some(verdict)) => {
                stop.reason.push_str(&format!("; {function} said: {}", verdict.reason));
                *hook = Some(verdict);
            }
            Ok(None) => {
                stop.reason.push_str(&format!("; no verdict of {function} on {deployment_id} was found in its log"))
            }
            Err(error) => self.tell(Event::PollFailed { error: &error, attempt: 1 }),
        }
        end
    }

    /// Renews the lock once a minute; a stop when another deployer took it.
    async fn keep_lock(&self, renewed: &mut Instant) -> Option<WatchEnd> {
        if renewed.elapsed() <= LOCK_RENEWAL {
            return None;
        }
        match self.cloud.renew(&self.holder, self.settings.lock_ttl).await {
            Ok(Renewal::Renewed) => *renewed = Instant::now(),
            Ok(Renewal::Lost) => {
                return Some(stop(
                    format!(
                        "the release lock of {} expired and another deployer took it: stopping this release",
                        self.settings.environment
                    ),
                    StopCause::LockLost,
                ))
            }
            // Tried again at the next poll; the lock lasts lock_ttl.
            Err(error) => self.tell(Event::PollFailed { error: &error, attempt: 1 }),
        }
        None
    }

    /// Judges the steps that ended since the last poll; `Ok(true)` when one did, `Err`
    /// when the release must stop for lack of evidence.
    async fn judge_steps(
        &self,
        record: &mut ReleaseRecord,
        watched: &[Watched],
        readings: &[Reading],
        steps: &mut Steps,
        replay: Option<&Replay>,
        polled_at_ms: u64,
    ) -> std::result::Result<bool, WatchEnd> {
        let mut stepped = false;
        for (w, r) in watched.iter().zip(readings) {
            let replays = replay.map_or(0, |r| r.succeeded);
            let Some(ended) = steps.observe(&w.artifact, r.percent_on_target, replays, polled_at_ms) else { continue };
            stepped = true;
            let Some(evidence) = self.judge_step(record, ended, replay).await else { continue };
            if let Some(judgment) = evidence.judgment.as_ref().filter(|j| j.verdict == Verdict::Fail) {
                return Err(stop(
                    format!(
                        "the judge failed {} version {} in its {:.0}% step against version {}: {}",
                        evidence.function_name,
                        evidence.new_version,
                        evidence.step_percent,
                        evidence.old_version,
                        judgment.summary()
                    ),
                    StopCause::Judged {
                        function: evidence.function_name.clone(),
                        step_percent: evidence.step_percent,
                        judgment: Box::new(judgment.clone()),
                    },
                ));
            }
            if evidence.verdict == EvidenceVerdict::NoEvidence {
                return Err(stop(
                    format!(
                        "no evidence: {} served {} of the {} invocations its new version {} needed in its {:.0}% step ({} replay run(s)); this environment requires evidence",
                        evidence.function_name,
                        evidence.new.invocations,
                        evidence.min_invocations,
                        evidence.new_version,
                        evidence.step_percent,
                        evidence.replay_executions
                    ),
                    StopCause::NoEvidence {
                        function: evidence.function_name.clone(),
                        step_percent: evidence.step_percent,
                        invocations: evidence.new.invocations,
                        min_invocations: evidence.min_invocations,
                    },
                ));
            }
        }
        Ok(stepped)
    }
}

/// The stop on `w`'s deployment, which failed or was stopped, as CodeDeploy gives it.
fn failed_stop(w: &Watched, r: &Reading) -> WatchEnd {
    let message = r.view.error.clone().unwrap_or_else(|| "no reason given".into());
    stop(
        format!("deployment {} of {} ({}) {}: {message}", w.id, w.function, w.artifact, r.view.status.as_str()),
        StopCause::DeploymentFailed {
            function: w.function.clone(),
            deployment_id: w.id.clone(),
            status: r.view.status.as_str().into(),
            message,
            hook: None,
        },
    )
}

/// A deployment that failed, was stopped, or never started.
fn deployment_stop(watched: &[Watched], readings: &[Reading], watching_for: Duration) -> Option<WatchEnd> {
    for (w, r) in watched.iter().zip(readings) {
        if matches!(r.view.status, DeploymentStatus::Failed | DeploymentStatus::Stopped) {
            return Some(failed_stop(w, r));
        }
        if matches!(r.view.status, DeploymentStatus::Created | DeploymentStatus::Queued) && watching_for > START_TIMEOUT
        {
            return Some(stop(
                format!(
                    "deployment {} of {} is still {} after {}: it never started",
                    w.id,
                    w.function,
                    r.view.status.as_str(),
                    format_duration(START_TIMEOUT)
                ),
                StopCause::NotStarted {
                    function: w.function.clone(),
                    error: format!("still {} after {}", r.view.status.as_str(), format_duration(START_TIMEOUT)),
                },
            ));
        }
    }
    None
}

/// Records each function whose deployment just succeeded, with its duration.
fn note_succeeded(record: &mut ReleaseRecord, watched: &[Watched], readings: &[Reading]) {
    for (w, r) in watched.iter().zip(readings) {
        if let Some(f) = record.functions.get_mut(&w.artifact) {
            if r.view.status == DeploymentStatus::Succeeded && f.outcome == FunctionOutcome::Deploying {
                f.outcome = FunctionOutcome::Succeeded;
                f.duration_ms = Some(now_ms().saturating_sub(record.started_ms));
            }
        }
    }
}

fn stop(reason: String, cause: StopCause) -> WatchEnd {
    WatchEnd::Stop(Box::new(Stop { reason, cause, alarm: None }))
}

fn progress_rows(
    record: &ReleaseRecord,
    watched: &[Watched],
    readings: &[Reading],
    alarms: &[AlarmView],
) -> Vec<FunctionProgress> {
    let not_ok: BTreeSet<&str> = alarms.iter().filter(|a| a.state != AlarmState::Ok).map(|a| a.name.as_str()).collect();
    watched
        .iter()
        .zip(readings)
        .map(|(w, r)| {
            let f = record.functions.get(&w.artifact);
            FunctionProgress {
                artifact: w.artifact.clone(),
                previous_version: f.map(|f| f.previous_version.clone()).unwrap_or_default(),
                target_version: f.and_then(|f| f.version.clone()).unwrap_or_else(|| "?".into()),
                status: r.view.status,
                percent_on_target: r.percent_on_target,
                steps: r.steps.clone(),
                alarms_not_ok: w.alarms.iter().filter(|a| not_ok.contains(a.as_str())).cloned().collect(),
            }
        })
        .collect()
}
