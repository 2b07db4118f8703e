//! The Mann-Whitney U test (Wilcoxon's rank-sum) on two independent samples,
//! one-sided: does the second tend to be larger? Kayenta's way of comparing a canary's
//! metric with the baseline's: the samples are the two versions' per-minute values
//! over the same window. Equal values share their average rank.
//!
//! The p-value is exact for small samples without ties (the null distribution of U
//! counted over every way to split the ranks), otherwise the normal approximation with
//! the tie and continuity corrections, from statrs' normal distribution.

use statrs::distribution::{ContinuousCDF, Normal};

/// Samples whose sizes multiply to at most this, without ties, get the exact
/// distribution (a count over (n1 + n2 choose n1) splits, kept small).
const EXACT_UP_TO: usize = 400;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankSum {
    /// How often a value of the second sample beats one of the first (ties count half).
    pub u: f64,
    /// P(U >= observed) were both drawn from one distribution.
    pub p_value: f64,
    pub exact: bool,
}

/// One-sided test that `second` tends to be larger than `first`. None when either is
/// empty.
pub fn greater(first: &[f64], second: &[f64]) -> Option<RankSum> {
    let (n1, n2) = (first.len(), second.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut all: Vec<(f64, bool)> =
        first.iter().map(|v| (*v, false)).chain(second.iter().map(|v| (*v, true))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (ranks, tie_term) = super::ranks::average(&all.iter().map(|(v, _)| *v).collect::<Vec<_>>());
    let rank_sum_second: f64 = all.iter().zip(&ranks).filter(|((_, second), _)| *second).map(|(_, r)| r).sum();
    let (f1, f2) = (n1 as f64, n2 as f64);
    let u = rank_sum_second - f2 * (f2 + 1.0) / 2.0;
    if tie_term == 0.0 && n1 * n2 <= EXACT_UP_TO {
        return Some(RankSum { u, p_value: exact_upper_tail(n1, n2, u.round() as usize), exact: true });
    }
    let nf = f1 + f2;
    let mean = f1 * f2 / 2.0;
    let variance = f1 * f2 / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    let p_value = if variance <= 0.0 {
        if u > mean {
            0.0
        } else {
            1.0
        }
    } else {
        Normal::standard().sf((u - mean - 0.5) / variance.sqrt())
    };
    Some(RankSum { u, p_value, exact: false })
}

/// P(U >= u) under the null for samples of n1 and n2 untied values: `ways[k][s]`
/// counts the ways k of the second sample's values take ranks whose U is s, built
/// one value at a time.
fn exact_upper_tail(n1: usize, n2: usize, u: usize) -> f64 {
    let max = n1 * n2;
    if u > max {
        return 0.0;
    }
    // f(m, k) over U: the distribution of U for m values in all with k from the
    // second sample, by the recurrence on whether the largest is from the second.
    let mut table = vec![vec![vec![0.0_f64; max + 1]; n2 + 1]; n1 + n2 + 1];
    for (m, row) in table.iter_mut().enumerate() {
        if m <= n1 {
            row[0][0] = 1.0;
        }
    }
    for m in 1..=n1 + n2 {
        for k in 1..=n2.min(m) {
            let firsts = m - k;
            if firsts > n1 {
                continue;
            }
            for s in 0..=max {
                // The largest from the second sample beats all `firsts` of the first.
                let with = if s >= firsts { table[m - 1][k - 1][s - firsts] } else { 0.0 };
                let without = if firsts >= 1 { table[m - 1][k][s] } else { 0.0 };
                table[m][k][s] = with + without;
            }
        }
    }
    let ways = &table[n1 + n2][n2];
    let total: f64 = ways.iter().sum();
    ways[u..].iter().sum::<f64>() / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exact_distribution_is_the_count_of_the_splits_of_the_ranks() {
        // n1 = n2 = 2: the 6 splits give U = 0, 1, 2, 2, 3, 4.
        assert!((exact_upper_tail(2, 2, 4) - 1.0 / 6.0).abs() < 1e-12);
        assert!((exact_upper_tail(2, 2, 2) - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(exact_upper_tail(2, 2, 0), 1.0);
        assert_eq!(exact_upper_tail(2, 2, 5), 0.0);
        // Every second value above every first: 1 / (n1 + n2 choose n1).
        assert!((exact_upper_tail(5, 5, 25) - 1.0 / 252.0).abs() < 1e-12);
    }

    /// The textbook case (Hollander & Wolfe; R's `?wilcox.test` example, permeability
    /// constants of the placental membrane at term and at 12-26 weeks):
    /// `wilcox.test(x, y, alternative = "greater")` gives W = 35, p = 0.1272.
    #[test]
    fn the_textbook_example_gives_its_published_statistic_and_p_value() {
        let x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
        let y = [1.15, 0.88, 0.90, 0.74, 1.21];
        // R's W for x against y is this test's U for y (first) against x (second).
        let t = greater(&y, &x).unwrap();
        assert_eq!((t.u, t.exact), (35.0, true));
        assert!((t.p_value - 0.1272).abs() < 5e-5, "{t:?}");
    }

    #[test]
    fn a_slower_series_is_significant_and_the_normal_approximation_takes_ties() {
        let old: Vec<f64> = (0..8).map(|i| 100.0 + f64::from(i)).collect();
        let new: Vec<f64> = (0..8).map(|i| 200.0 + f64::from(i)).collect();
        let t = greater(&old, &new).unwrap();
        assert_eq!(t.u, 64.0);
        assert!((t.p_value - 1.0 / 12_870.0).abs() < 1e-12, "one split of (16 choose 8): {t:?}");
        assert!((greater(&new, &old).unwrap().p_value - 1.0).abs() < 1e-12);
        assert_eq!(greater(&[], &new), None);
        // Ties: three of each equal value, normal approximation with its correction.
        let a = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0];
        let b = [2.0, 2.0, 2.0, 3.0, 3.0, 3.0];
        let t = greater(&a, &b).unwrap();
        assert!(!t.exact);
        assert_eq!(t.u, 31.5, "9 ties count half: 27 + 4.5");
        let (f, n) = (6.0_f64, 12.0_f64);
        // Three 1s, six 2s, three 3s: sum(t^3 - t) = 24 + 210 + 24.
        let ties = 2.0 * (27.0 - 3.0) + (216.0 - 6.0);
        let sd = (f * f / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)))).sqrt();
        assert!((t.p_value - Normal::standard().sf((31.5 - 18.0 - 0.5) / sd)).abs() < 1e-12, "{t:?}");
    }
}
