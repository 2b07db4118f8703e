//! Duration: the new version's p99 (and p50) of the step against the old version's,
//! both from CloudWatch's per-version statistics over the same window: an effect-size
//! bound on the ratio, with a floor in milliseconds under which a slowdown is noise.
//! CloudWatch gives percentiles, not samples; where the step spans enough periods,
//! each version's per-minute p99s are the samples of a Mann-Whitney test ([`rank_sum`],
//! Kayenta's comparison of a canary's metric with the baseline's), so a slowdown must
//! also be consistent across the minutes to fail the step.

use serde::{Deserialize, Serialize};

use super::{rank_sum, Rule, Verdict};

/// Per-minute values each version needs before the rank test counts.
pub const MIN_MINUTES: usize = 3;
use crate::cloud::VersionStats;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DurationTest {
    pub new_p50_ms: Option<f64>,
    pub old_p50_ms: Option<f64>,
    pub new_p99_ms: Option<f64>,
    pub old_p99_ms: Option<f64>,
    /// New p99 over old p99.
    pub p99_ratio: Option<f64>,
    /// The per-minute p99s read of each version (new, old).
    #[serde(default)]
    pub minutes: (u32, u32),
    /// Mann-Whitney's one-sided p-value that the new version's per-minute p99s are
    /// larger; None with fewer than [`MIN_MINUTES`] a side.
    #[serde(default)]
    pub rank_p_value: Option<f64>,
    pub verdict: Verdict,
}

impl DurationTest {
    pub fn of(rule: &Rule, new: &VersionStats, old: &VersionStats) -> Self {
        let mut test = DurationTest {
            new_p50_ms: new.p50_ms,
            old_p50_ms: old.p50_ms,
            new_p99_ms: new.p99_ms,
            old_p99_ms: old.p99_ms,
            p99_ratio: None,
            minutes: (0, 0),
            rank_p_value: None,
            verdict: Verdict::NotJudged,
        };
        let (Some(n), Some(o)) = (new.p99_ms, old.p99_ms) else { return test };
        if new.invocations <= 0.0 || old.invocations <= 0.0 || o <= 0.0 {
            return test;
        }
        let ratio = n / o;
        test.p99_ratio = Some(ratio);
        let enough = f64::from(rule.min_p99_invocations);
        if new.invocations < enough || old.invocations < enough {
            return test;
        }
        let slower_by = n - o;
        test.verdict = if slower_by < rule.min_p99_slowdown_ms || ratio <= rule.marginal_p99_ratio {
            Verdict::Pass
        } else if ratio > rule.max_p99_ratio {
            Verdict::Fail
        } else {
            Verdict::Marginal
        };
        test
    }

    /// The same test with the step's per-minute p99s of each version: with enough of
    /// them, a slowdown over the bounds fails only if the rank test finds it consistent.
    pub fn with_minutes(mut self, rule: &Rule, new: &[f64], old: &[f64]) -> Self {
        self.minutes = (new.len() as u32, old.len() as u32);
        if new.len() < MIN_MINUTES || old.len() < MIN_MINUTES {
            return self;
        }
        let Some(rank) = rank_sum::greater(old, new) else { return self };
        self.rank_p_value = Some(rank.p_value);
        self.verdict = match self.verdict {
            Verdict::Fail if rank.p_value < rule.alpha => Verdict::Fail,
            Verdict::Fail | Verdict::Marginal if rank.p_value < rule.marginal_alpha => Verdict::Marginal,
            Verdict::Fail | Verdict::Marginal => Verdict::Pass,
            other => other,
        };
        self
    }

    pub fn summary(&self) -> String {
        let rank = self
            .rank_p_value
            .map(|p| format!(", rank-sum p = {p:.3} over {}+{} minutes", self.minutes.0, self.minutes.1))
            .unwrap_or_default();
        match (self.new_p99_ms, self.old_p99_ms, self.p99_ratio) {
            (Some(n), Some(o), Some(r)) if self.too_few() => {
                format!("p99 {n:.0} ms vs {o:.0} ms (x{r:.2}): not judged, too few invocations for a p99")
            }
            (Some(n), Some(o), Some(r)) => {
                format!("p99 {n:.0} ms vs {o:.0} ms (x{r:.2}{rank}): {}", self.verdict.as_str())
            }
            _ => format!("duration: {}", self.verdict.as_str()),
        }
    }

    /// Why a test with both percentiles was not judged, for the summary.
    fn too_few(&self) -> bool {
        self.verdict == Verdict::NotJudged && self.p99_ratio.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(p99: f64) -> VersionStats {
        VersionStats { invocations: 100.0, errors: 0.0, p50_ms: Some(p99 / 2.0), p99_ms: Some(p99) }
    }

    fn verdict(new: f64, old: f64) -> Verdict {
        DurationTest::of(&Rule::default(), &stats(new), &stats(old)).verdict
    }

    #[test]
    fn slowdowns_are_judged_by_ratio_above_a_floor() {
        assert_eq!(verdict(200.0, 200.0), Verdict::Pass);
        assert_eq!(verdict(150.0, 200.0), Verdict::Pass, "faster");
        assert_eq!(verdict(260.0, 200.0), Verdict::Marginal, "x1.3");
        assert_eq!(verdict(400.0, 200.0), Verdict::Fail, "x2");
        // x3, but 20 ms: under the 50 ms floor.
        assert_eq!(verdict(30.0, 10.0), Verdict::Pass);
    }

    #[test]
    fn with_enough_minutes_a_slowdown_must_be_consistent_to_fail() {
        let rule = Rule::default();
        let twice = DurationTest::of(&rule, &stats(400.0), &stats(200.0));
        let old = [190.0, 200.0, 210.0, 205.0, 198.0];
        // Every minute slower: the rank test agrees (p = 1/252), the step fails.
        let t = twice.clone().with_minutes(&rule, &[390.0, 400.0, 410.0, 405.0, 399.0], &old);
        assert_eq!((t.verdict, t.minutes), (Verdict::Fail, (5, 5)));
        assert!((t.rank_p_value.unwrap() - 1.0 / 252.0).abs() < 1e-12, "{t:?}");
        // Four minutes a side cannot reach alpha 0.01 (at best 1/70): marginal.
        let t = twice.clone().with_minutes(&rule, &[390.0, 400.0, 410.0, 405.0], &old[..4]);
        assert_eq!(t.verdict, Verdict::Marginal, "{t:?}");
        // One slow minute made the step's p99: not consistent, not failed.
        let t = twice.clone().with_minutes(&rule, &[195.0, 400.0, 200.0, 205.0, 199.0], &old);
        assert_eq!(t.verdict, Verdict::Pass, "{t:?}");
        assert!(t.summary().contains("rank-sum p = "), "{}", t.summary());
        // Too few minutes: the ratio alone, as before.
        let t = twice.clone().with_minutes(&rule, &[400.0, 410.0], &old);
        assert_eq!((t.verdict, t.rank_p_value), (Verdict::Fail, None));
        // A pass stays a pass whatever the minutes say.
        let same = DurationTest::of(&rule, &stats(200.0), &stats(200.0)).with_minutes(&rule, &[300.0; 4], &old);
        assert_eq!(same.verdict, Verdict::Pass);
    }

    #[test]
    fn the_p99_of_a_handful_of_invocations_is_not_judged() {
        let rule = Rule::default();
        let few = |p99: f64| VersionStats { invocations: 8.0, errors: 0.0, p50_ms: Some(p99 / 2.0), p99_ms: Some(p99) };
        // A cold start made the new version's p99 of eight.
        let t = DurationTest::of(&rule, &few(1685.0), &few(925.0));
        assert_eq!((t.verdict, t.p99_ratio.map(|r| (r * 100.0).round())), (Verdict::NotJudged, Some(182.0)));
        assert_eq!(t.summary(), "p99 1685 ms vs 925 ms (x1.82): not judged, too few invocations for a p99");
        let lenient = Rule { min_p99_invocations: 5, ..rule };
        assert_eq!(DurationTest::of(&lenient, &few(1685.0), &few(925.0)).verdict, Verdict::Fail);
    }

    #[test]
    fn without_both_percentiles_there_is_nothing_to_judge() {
        let none = VersionStats { invocations: 0.0, ..VersionStats::default() };
        assert_eq!(DurationTest::of(&Rule::default(), &stats(400.0), &none).verdict, Verdict::NotJudged);
        assert_eq!(DurationTest::of(&Rule::default(), &none, &stats(400.0)).verdict, Verdict::NotJudged);
    }
}
