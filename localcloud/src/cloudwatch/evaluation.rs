//! Alarm evaluation as CloudWatch does it: over the last EvaluationPeriods periods,
//! ALARM when at least DatapointsToAlarm breach the threshold, periods without data
//! treated per TreatMissingData; every state change recorded in the history and
//! queued for notification.

use super::alarms::{Alarm, HistoryItem, HISTORY_LIMIT};
use super::metric_store::{span_ending, MetricKey};
use super::state::{AlarmState, TreatMissing};
use super::{Account, CloudWatch};
use crate::api::time::iso8601;
use crate::clock::Clock;

/// A state change to announce: (account, alarm snapshot, old state).
pub struct Transition {
    pub account: String,
    pub alarm: Alarm,
    pub old_state: AlarmState,
}

/// Moves `alarm` to `state`, recording it in `history` and, when the state
/// changed, in `transitions`.
#[allow(clippy::too_many_arguments)]
pub fn transition(
    account: &str,
    alarm: &mut Alarm,
    state: AlarmState,
    reason: String,
    data: Option<String>,
    now: f64,
    transitions: &mut Vec<Transition>,
    history: &mut Vec<HistoryItem>,
) {
    let old_state = std::mem::replace(&mut alarm.state, state);
    alarm.state_reason = reason;
    alarm.state_reason_data = data;
    alarm.state_updated = now;
    history.push(HistoryItem {
        alarm_name: alarm.name.clone(),
        timestamp: now,
        old_state,
        new_state: state,
        reason: alarm.state_reason.clone(),
    });
    if history.len() > HISTORY_LIMIT {
        history.drain(..history.len() - HISTORY_LIMIT);
    }
    if old_state != state {
        transitions.push(Transition { account: account.to_owned(), alarm: alarm.clone(), old_state });
    }
}

impl CloudWatch {
    /// Evaluates every alarm of every account; announces transitions.
    pub async fn evaluate_all(&self) {
        let transitions = {
            let mut accounts = self.lock();
            let now = Clock::now_epoch();
            let mut transitions = Vec::new();
            for (account, a) in accounts.iter_mut() {
                let names: Vec<String> = a.alarms.keys().cloned().collect();
                for name in names {
                    self.evaluate_one(account, a, &name, now, &mut transitions);
                }
            }
            if !transitions.is_empty() {
                self.save(&accounts);
            }
            transitions
        };
        self.announce(transitions).await;
    }

    /// Evaluates the alarm `name` at `now` (unless SetAlarmState holds it).
    pub(super) fn evaluate_one(
        &self,
        account: &str,
        a: &mut Account,
        name: &str,
        now: f64,
        transitions: &mut Vec<Transition>,
    ) {
        let Some(alarm) = a.alarms.get(name) else { return };
        if alarm.held_until.is_some_and(|t| now < t) {
            return;
        }
        let width = self.width(alarm.period);
        let n = usize::try_from(alarm.evaluation_periods).unwrap_or(1);
        let m = alarm.datapoints_to_alarm.map_or(n, |d| usize::try_from(d).unwrap_or(n));
        let key = MetricKey::new(&alarm.namespace, &alarm.metric_name, alarm.dimensions.clone());
        let points = a.metrics.points(&key);
        let stat = alarm.stat();
        // Periods end now: the newest period is the one still filling, so a breach is seen
        // within one evaluation tick.
        let values: Vec<Option<f64>> = (0..n)
            .map(|i| {
                let end = now - width * i as f64;
                stat.compute(span_ending(points, end - width, end))
            })
            .collect();
        let present: Vec<f64> = values.iter().flatten().copied().collect();
        let missing = n - present.len();
        let mut breaching = present.iter().filter(|v| alarm.breaches(**v)).count();
        let treat = alarm.treat_missing();
        if treat == TreatMissing::Breaching {
            breaching += missing;
        }
        let shown: Vec<String> = present.iter().map(|v| format!("{v}")).collect();
        let (state, reason) = if breaching >= m {
            (AlarmState::Alarm, format!(
                "Threshold Crossed: {breaching} out of the last {n} datapoints [{}] was {} the threshold ({}) (minimum {m} datapoints for OK -> ALARM transition).",
                shown.join(", "),
                alarm.comparison_operator.words(),
                alarm.threshold
            ))
        } else if present.is_empty() && treat == TreatMissing::Missing {
            (AlarmState::InsufficientData, format!("Insufficient Data: {n} datapoints were unknown."))
        } else if present.is_empty() && treat == TreatMissing::Ignore {
            return;
        } else {
            (
                AlarmState::Ok,
                format!(
                    "Threshold Crossed: {} datapoints [{}] were not {} the threshold ({}).",
                    n - breaching,
                    shown.join(", "),
                    alarm.comparison_operator.words(),
                    alarm.threshold
                ),
            )
        };
        if state == alarm.state {
            return;
        }
        let data = serde_json::json!({
            "version": "1.0",
            "queryDate": iso8601(now),
            "statistic": alarm.statistic.clone().or(alarm.extended_statistic.clone()),
            "period": alarm.period,
            "recentDatapoints": present,
            "threshold": alarm.threshold,
            "evaluatedDatapoints": values.iter().map(|v| serde_json::json!({"value": v})).collect::<Vec<_>>(),
        })
        .to_string();
        let Account { alarms, history, .. } = a;
        if let Some(alarm) = alarms.get_mut(name) {
            alarm.held_until = None;
            transition(account, alarm, state, reason, Some(data), now, transitions, history);
        }
    }
}
