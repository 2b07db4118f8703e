//! Errors: is the new version's error rate higher than the old one's over the same
//! window? Invocations and errors are counts (CloudWatch sums), errors are sparse, and
//! the two versions serve different shares of traffic. The exact conditional test for
//! two Poisson rates fits: given the k errors both versions made together, under equal
//! rates the new version's share of them is Binomial(k, n_new / (n_new + n_old)), and
//! the one-sided p-value is P(X >= k_new). No normal approximation, so 3 errors against
//! none is judged as what it is (not significant at equal traffic: p = 0.125).

use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, DiscreteCDF};

use super::{Rule, Verdict};
use crate::cloud::VersionStats;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorTest {
    pub new_errors: u64,
    pub new_invocations: u64,
    pub old_errors: u64,
    pub old_invocations: u64,
    /// One-sided: the chance of the new version's share of the errors, or more, were
    /// the rates equal. None when there is nothing to compare.
    pub p_value: Option<f64>,
    /// The new error rate minus the old (a fraction).
    pub rate_increase: Option<f64>,
    pub verdict: Verdict,
}

/// P(X >= k) for X ~ Binomial(n, p).
pub fn upper_tail(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    match Binomial::new(p.clamp(0.0, 1.0), n) {
        // sf(x) = P(X > x), so P(X >= k) = sf(k - 1).
        Ok(b) => b.sf(k - 1),
        Err(_) => 1.0,
    }
}

fn count(x: f64) -> u64 {
    if x.is_finite() && x > 0.0 {
        x.round() as u64
    } else {
        0
    }
}

impl ErrorTest {
    pub fn of(rule: &Rule, new: &VersionStats, old: &VersionStats) -> Self {
        let (new_invocations, old_invocations) = (count(new.invocations), count(old.invocations));
        // A count of errors above the invocations (metrics from different periods) is
        // read as every invocation failing.
        let new_errors = count(new.errors).min(new_invocations);
        let old_errors = count(old.errors).min(old_invocations);
        let mut test = ErrorTest {
            new_errors,
            new_invocations,
            old_errors,
            old_invocations,
            p_value: None,
            rate_increase: None,
            verdict: Verdict::NotJudged,
        };
        if new_invocations == 0 || old_invocations == 0 {
            return test;
        }
        let rate = |errors: u64, invocations: u64| errors as f64 / invocations as f64;
        let increase = rate(new_errors, new_invocations) - rate(old_errors, old_invocations);
        let share = new_invocations as f64 / (new_invocations + old_invocations) as f64;
        let p = upper_tail(new_errors, new_errors + old_errors, share);
        test.p_value = Some(p);
        test.rate_increase = Some(increase);
        test.verdict = if increase <= 0.0 || p >= rule.marginal_alpha {
            Verdict::Pass
        } else if p < rule.alpha && increase > rule.max_error_rate_increase {
            Verdict::Fail
        } else {
            Verdict::Marginal
        };
        test
    }

    pub fn summary(&self) -> String {
        let mut s = format!(
            "errors {}/{} on the new version vs {}/{} on the old",
            self.new_errors, self.new_invocations, self.old_errors, self.old_invocations
        );
        if let (Some(p), Some(d)) = (self.p_value, self.rate_increase) {
            s.push_str(&format!(" ({:+.1} points, p = {p:.4})", d * 100.0));
        }
        s.push_str(&format!(": {}", self.verdict.as_str()));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_upper_tail_matches_the_binomial_by_hand() {
        // Ten errors, all on the new version, at equal traffic: (1/2)^10.
        assert!(close(upper_tail(10, 10, 0.5), 0.5f64.powi(10)));
        // Three of four: (C(4,3) + C(4,4)) / 2^4 = 5/16.
        assert!(close(upper_tail(3, 4, 0.5), 5.0 / 16.0));
        // Two of two with a quarter of the traffic: (1/4)^2.
        assert!(close(upper_tail(2, 2, 0.25), 0.0625));
        // The coin example of the textbooks: at least 8 heads in 10 fair tosses,
        // (45 + 10 + 1) / 1024.
        assert!(close(upper_tail(8, 10, 0.5), 56.0 / 1024.0));
        assert_eq!(upper_tail(0, 5, 0.5), 1.0);
        assert_eq!(upper_tail(6, 5, 0.5), 0.0);
    }

    fn stats(invocations: f64, errors: f64) -> VersionStats {
        VersionStats { invocations, errors, ..VersionStats::default() }
    }

    /// The verdict, and the p-value to 9 places.
    fn verdict(new: (f64, f64), old: (f64, f64)) -> (Verdict, Option<f64>) {
        let t = ErrorTest::of(&Rule::default(), &stats(new.0, new.1), &stats(old.0, old.1));
        (t.verdict, t.p_value.map(|p| (p * 1e9).round() / 1e9))
    }

    #[test]
    fn sparse_errors_are_judged_on_what_they_show() {
        // 3 against 0 at equal traffic: p = 1/8, not significant.
        assert_eq!(verdict((100.0, 3.0), (100.0, 0.0)), (Verdict::Pass, Some(0.125)));
        // 5 against 0: p = 1/32 < 0.05 but not < 0.01: marginal.
        assert_eq!(verdict((100.0, 5.0), (100.0, 0.0)).0, Verdict::Marginal);
        // 10 against 0: p < 0.001, +10 points: fail.
        assert_eq!(verdict((100.0, 10.0), (100.0, 0.0)).0, Verdict::Fail);
        // The old version's errors do not count against the new one.
        assert_eq!(verdict((100.0, 0.0), (100.0, 10.0)).0, Verdict::Pass);
        // Equal rates at unequal traffic: 1 in 10 and 9 in 90.
        assert_eq!(verdict((10.0, 1.0), (90.0, 9.0)).0, Verdict::Pass);
    }

    #[test]
    fn a_significant_but_small_increase_is_only_marginal() {
        // 300 in 100,000 against 150 in 100,000: p far below 0.01, but +0.15 points,
        // under the 1-point bound.
        let (v, p) = verdict((100_000.0, 300.0), (100_000.0, 150.0));
        assert_eq!(v, Verdict::Marginal);
        assert!(p.unwrap() < 1e-6, "{p:?}");
    }

    #[test]
    fn no_baseline_is_not_judged() {
        assert_eq!(verdict((100.0, 10.0), (0.0, 0.0)), (Verdict::NotJudged, None));
        assert_eq!(verdict((0.0, 0.0), (100.0, 1.0)), (Verdict::NotJudged, None));
    }
}
