//! The judge: at the end of each canary or linear step, the new version against the
//! version it replaces, over the same window, rather than against a fixed threshold.
//! An error of the old version cannot roll a good release back, and a new version
//! twice as slow is caught below any alarm's threshold.
//!
//! - [`errors`]: the error rates, an exact test on counts (sound for sparse errors,
//!   where a rank test is not), with a bound on the increase that matters;
//! - [`duration`]: CloudWatch's per-version p50 and p99 of the step, with bounds on the
//!   slowdown that matters.
//!
//! One verdict per step (the worse of the two): `fail` stops and rolls the release back
//! like an alarm, with the judge's numbers as the reason; `marginal` is shown and lets
//! the release go on. Pure: the same figures give the same judgment.

pub mod duration;
pub mod errors;

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
        }
    }
}

/// One step's judgment, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgment {
    pub verdict: Verdict,
    pub errors: errors::ErrorTest,
    pub duration: duration::DurationTest,
}

impl Judgment {
    /// The new version's figures against the old's over the same step.
    pub fn of(rule: &Rule, new: &VersionStats, old: &VersionStats) -> Self {
        let errors = errors::ErrorTest::of(rule, new, old);
        let duration = duration::DurationTest::of(rule, new, old);
        let verdict = if rule.enabled { errors.verdict.max(duration.verdict) } else { Verdict::NotJudged };
        Judgment { verdict, errors, duration }
    }

    /// The numbers that decided, in a line: the reason a failed step gives.
    pub fn summary(&self) -> String {
        if self.verdict == Verdict::NotJudged && self.errors.old_invocations == 0 {
            return format!(
                "the old version served nothing in the step to compare with ({} invocations of the new)",
                self.errors.new_invocations
            );
        }
        format!("{}; {}", self.errors.summary(), self.duration.summary())
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
    fn a_judgment_reads_back_from_the_ledger() {
        let j = Judgment::of(&Rule::default(), &stats(50.0, 1.0, Some(120.0)), &stats(50.0, 0.0, Some(100.0)));
        let text = serde_json::to_string(&j).unwrap();
        assert!(text.contains("\"verdict\":\"pass\""), "{text}");
        let back: Judgment = serde_json::from_str(&text).unwrap();
        assert_eq!((back.verdict, back.errors.new_errors, back.duration.p99_ratio), (j.verdict, 1, Some(1.2)));
        assert!((back.errors.p_value.unwrap() - 0.5).abs() < 1e-9, "{back:?}");
    }
}
