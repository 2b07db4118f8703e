//! The judge: at the end of each canary or linear step, the new version against the
//! version it replaces, over the same window, rather than against a fixed threshold.
//! An error of the old version cannot roll a good release back, and a new version
//! twice as slow is caught below any alarm's threshold.
//!
//! - [`errors`]: the error rates, an exact test on counts (sound for sparse errors,
//!   where a rank test is not), with a bound on the increase that matters;
//! - [`duration`]: CloudWatch's per-version p50 and p99 of the step, with bounds on the
//!   slowdown that matters;
//! - [`paired`]: the step's paired replays (the same input through both versions):
//!   durations by [`signed_rank`] test, and outputs compared where the function is
//!   deterministic.
//!
//! One verdict per step (the worse of the three): `fail` stops and rolls the release back
//! like an alarm, with the judge's numbers as the reason; `marginal` is shown and lets
//! the release go on. Pure: the same figures give the same judgment.

pub mod duration;
pub mod errors;
pub mod paired;
pub mod rank_sum;
mod ranks;
pub mod signed_rank;

use serde::{Deserialize, Serialize};

use crate::cloud::VersionStats;

/// A test's verdict, and the step's (the worse of its tests').
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing to compare (no baseline traffic in the window, or the judge is off).
    NotJudged,
    Pass,
    /// Worse, but not by enough, or not surely enough, to stop: shown, not acted on.
    Marginal,
    /// Surely worse by more than the bound: the release stops and rolls back.
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::NotJudged => "not judged",
            Verdict::Pass => "pass",
            Verdict::Marginal => "marginal",
            Verdict::Fail => "fail",
        }
    }
}

/// The bounds an environment judges by (`judge:` in deployer.yaml).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rule {
    pub enabled: bool,
    /// One-sided p-value below which the new version's higher error rate is taken as
    /// real (a fail when it also exceeds the bound).
    pub alpha: f64,
    /// The p-value below which it is marginal.
    pub marginal_alpha: f64,
    /// The increase in error rate (a fraction: 0.01 is one point) that matters.
    pub max_error_rate_increase: f64,
    /// New p99 over old p99 above which the step fails ...
    pub max_p99_ratio: f64,
    /// ... and above which it is marginal.
    pub marginal_p99_ratio: f64,
    /// A slowdown smaller than this (ms, p99) never counts: millisecond functions
    /// vary by more than any ratio.
    pub min_p99_slowdown_ms: f64,
    /// Invocations each version must have served in the step before its p99 counts:
    /// the p99 of a handful is their slowest, often a cold start of the new version.
    pub min_p99_invocations: u32,
    /// Replays run as pairs (each input on the new release and on the old).
    pub paired: bool,
    /// Paired replays below this many are not judged for duration.
    pub min_pairs: u32,
    /// The median of the pairs' new/old time above which the step fails ...
    pub max_median_ratio: f64,
    /// ... and above which it is marginal.
    pub marginal_median_ratio: f64,
    /// A paired slowdown smaller than this (ms, medians) never counts.
    pub min_median_slowdown_ms: f64,
}

impl Default for Rule {
    fn default() -> Self {
        Self {
            enabled: true,
            alpha: 0.01,
            marginal_alpha: 0.05,
            max_error_rate_increase: 0.01,
            max_p99_ratio: 1.5,
            marginal_p99_ratio: 1.2,
            min_p99_slowdown_ms: 50.0,
            min_p99_invocations: 100,
            paired: true,
            min_pairs: 5,
            max_median_ratio: 1.5,
            marginal_median_ratio: 1.2,
            min_median_slowdown_ms: 50.0,
        }
    }
}

/// One step's judgment, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgment {
    pub verdict: Verdict,
    pub errors: errors::ErrorTest,
    pub duration: duration::DurationTest,
    /// The step's paired replays; None when there were none (no replay, or a judgment
    /// recorded before paired replays existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired: Option<paired::PairedTest>,
}

impl Judgment {
    /// The new version's figures against the old's over the same step.
    pub fn of(rule: &Rule, new: &VersionStats, old: &VersionStats) -> Self {
        let errors = errors::ErrorTest::of(rule, new, old);
        let duration = duration::DurationTest::of(rule, new, old);
        let verdict = if rule.enabled { errors.verdict.max(duration.verdict) } else { Verdict::NotJudged };
        Judgment { verdict, errors, duration, paired: None }
    }

    /// The same judgment with each version's per-minute p99s of the step weighed into
    /// the duration test (see [`duration::DurationTest::with_minutes`]).
    pub fn with_minutes(mut self, rule: &Rule, new: &[f64], old: &[f64]) -> Self {
        self.duration = self.duration.with_minutes(rule, new, old);
        self.settle(rule);
        self
    }

    /// The step's verdict: the worst of its tests', when the judge is on.
    fn settle(&mut self, rule: &Rule) {
        let paired = self.paired.as_ref().map_or(Verdict::NotJudged, |p| p.verdict);
        self.verdict =
            if rule.enabled { self.errors.verdict.max(self.duration.verdict).max(paired) } else { Verdict::NotJudged };
    }

    /// The same judgment with the step's paired replays weighed in.
    pub fn with_pairs(mut self, rule: &Rule, pairs: &[paired::Pair], change_expected: bool) -> Self {
        if pairs.is_empty() {
            return self;
        }
        self.paired = Some(paired::PairedTest::of(rule, pairs, change_expected));
        self.settle(rule);
        self
    }

    /// The numbers that decided, in a line: the reason a failed step gives.
    pub fn summary(&self) -> String {
        if self.verdict == Verdict::NotJudged && self.errors.old_invocations == 0 {
            return format!(
                "the old version served nothing in the step to compare with ({} invocations of the new)",
                self.errors.new_invocations
            );
        }
        let mut summary = format!("{}; {}", self.errors.summary(), self.duration.summary());
        if let Some(paired) = &self.paired {
            summary.push_str("; ");
            summary.push_str(&paired.summary());
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(invocations: f64, errors: f64, p99: Option<f64>) -> VersionStats {
        VersionStats { invocations, errors, p50_ms: p99.map(|p| p / 2.0), p99_ms: p99 }
    }

    #[test]
    fn the_step_takes_the_worse_verdict_and_a_disabled_judge_judges_nothing() {
        let rule = Rule::default();
        // Errors fine, twice as slow: the duration fails the step.
        let j = Judgment::of(&rule, &stats(100.0, 0.0, Some(400.0)), &stats(100.0, 0.0, Some(200.0)));
        assert_eq!((j.errors.verdict, j.duration.verdict, j.verdict), (Verdict::Pass, Verdict::Fail, Verdict::Fail));
        assert!(j.summary().contains("p99 400 ms vs 200 ms (x2.00)"), "{}", j.summary());
        // Ten errors in a hundred against none, as fast: the errors fail it.
        let j = Judgment::of(&rule, &stats(100.0, 10.0, Some(200.0)), &stats(100.0, 0.0, Some(200.0)));
        assert_eq!((j.errors.verdict, j.duration.verdict, j.verdict), (Verdict::Fail, Verdict::Pass, Verdict::Fail));
        let alone = Judgment::of(&rule, &stats(3.0, 0.0, Some(80.0)), &stats(0.0, 0.0, None));
        assert_eq!(alone.verdict, Verdict::NotJudged);
        assert_eq!(
            alone.summary(),
            "the old version served nothing in the step to compare with (3 invocations of the new)"
        );
        let off = Rule { enabled: false, ..rule };
        assert_eq!(Judgment::of(&off, &stats(100.0, 10.0, None), &stats(100.0, 0.0, None)).verdict, Verdict::NotJudged);
    }

    #[test]
    fn paired_replays_weigh_in_and_only_an_enabled_judge_acts_on_them() {
        let rule = Rule::default();
        let slow: Vec<paired::Pair> = (0..6)
            .map(|i| paired::Pair {
                old_ms: 100.0 + f64::from(i),
                new_ms: 400.0 + f64::from(i),
                same_output: Some(true),
            })
            .collect();
        // CloudWatch's figures pass; the pairs say four times as slow.
        let j = Judgment::of(&rule, &stats(100.0, 0.0, Some(200.0)), &stats(100.0, 0.0, Some(200.0)))
            .with_pairs(&rule, &slow, false);
        assert_eq!((j.errors.verdict, j.duration.verdict, j.verdict), (Verdict::Pass, Verdict::Pass, Verdict::Fail));
        assert!(j.summary().contains("paired replays: median 402 ms vs 102 ms (x3.93"), "{}", j.summary());
        let off = Rule { enabled: false, ..rule };
        let j = Judgment::of(&off, &stats(1.0, 0.0, None), &stats(1.0, 0.0, None)).with_pairs(&off, &slow, false);
        assert_eq!((j.verdict, j.paired.map(|p| p.verdict)), (Verdict::NotJudged, Some(Verdict::Fail)));
        let none = Judgment::of(&rule, &stats(1.0, 0.0, None), &stats(1.0, 0.0, None)).with_pairs(&rule, &[], false);
        assert_eq!(none.paired, None);
    }

    #[test]
    fn a_judgment_reads_back_from_the_ledger() {
        let j = Judgment::of(&Rule::default(), &stats(50.0, 1.0, Some(120.0)), &stats(50.0, 0.0, Some(100.0)));
        let text = serde_json::to_string(&j).unwrap();
        assert!(text.contains("\"verdict\":\"pass\""), "{text}");
        let back: Judgment = serde_json::from_str(&text).unwrap();
        assert_eq!((back.verdict, back.errors.new_errors, back.duration.p99_ratio), (j.verdict, 1, Some(1.2)));
        assert!((back.errors.p_value.unwrap() - 0.5).abs() < 1e-9, "{back:?}");
    }
}
