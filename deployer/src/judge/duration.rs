//! Duration: the new version's p99 (and p50) of the step against the old version's,
//! both from CloudWatch's per-version statistics over the same window. CloudWatch
//! gives percentiles, not samples, so this is an effect-size bound on the ratio, with
//! a floor in milliseconds under which a slowdown is noise.

use serde::{Deserialize, Serialize};

use super::{Rule, Verdict};
use crate::cloud::VersionStats;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DurationTest {
    pub new_p50_ms: Option<f64>,
    pub old_p50_ms: Option<f64>,
    pub new_p99_ms: Option<f64>,
    pub old_p99_ms: Option<f64>,
    /// New p99 over old p99.
    pub p99_ratio: Option<f64>,
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
            verdict: Verdict::NotJudged,
        };
        let (Some(n), Some(o)) = (new.p99_ms, old.p99_ms) else { return test };
        if new.invocations <= 0.0 || old.invocations <= 0.0 || o <= 0.0 {
            return test;
        }
        let ratio = n / o;
        test.p99_ratio = Some(ratio);
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

    pub fn summary(&self) -> String {
        match (self.new_p99_ms, self.old_p99_ms, self.p99_ratio) {
            (Some(n), Some(o), Some(r)) => {
                format!("p99 {n:.0} ms vs {o:.0} ms (x{r:.2}): {}", self.verdict.as_str())
            }
            _ => format!("duration: {}", self.verdict.as_str()),
        }
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
    fn without_both_percentiles_there_is_nothing_to_judge() {
        let none = VersionStats { invocations: 0.0, ..VersionStats::default() };
        assert_eq!(DurationTest::of(&Rule::default(), &stats(400.0), &none).verdict, Verdict::NotJudged);
        assert_eq!(DurationTest::of(&Rule::default(), &none, &stats(400.0)).verdict, Verdict::NotJudged);
    }
}
