//! Wilcoxon's signed-rank test on paired measurements (the same input run through
//! both versions), one-sided: is the second of each pair larger? Pairs that tie are
//! dropped (Wilcoxon's own treatment); equal magnitudes share their average rank.
//!
//! The p-value is exact for small samples without tied magnitudes (the null
//! distribution of W+ counted over the 2^n sign patterns), and otherwise the normal
//! approximation with the tie correction and a continuity correction, from statrs'
//! normal distribution: the same split R's `wilcox.test` makes.

use statrs::distribution::{ContinuousCDF, Normal};

/// Samples up to this size, without tied magnitudes, get the exact distribution.
const EXACT_UP_TO: usize = 50;

/// The test's statistic and p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignedRank {
    /// Pairs that differ (ties dropped).
    pub n: usize,
    /// The sum of the ranks of the positive differences.
    pub w_plus: f64,
    /// P(W+ >= observed) were the differences symmetric about zero.
    pub p_value: f64,
    pub exact: bool,
}

/// One-sided test that `after - before` tends to be positive, over the pairs
/// `(before, after)`. None when every pair ties (nothing to rank).
pub fn greater(pairs: &[(f64, f64)]) -> Option<SignedRank> {
    let mut diffs: Vec<f64> = pairs.iter().map(|(before, after)| after - before).filter(|d| *d != 0.0).collect();
    if diffs.is_empty() {
        return None;
    }
    diffs.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    let n = diffs.len();
    let (ranks, tie_term) = super::ranks::average(&diffs.iter().map(|d| d.abs()).collect::<Vec<_>>());
    let w_plus: f64 = diffs.iter().zip(&ranks).filter(|(d, _)| **d > 0.0).map(|(_, r)| r).sum();
    if tie_term == 0.0 && n <= EXACT_UP_TO {
        return Some(SignedRank { n, w_plus, p_value: exact_upper_tail(n, w_plus.round() as usize), exact: true });
    }
    let nf = n as f64;
    let mean = nf * (nf + 1.0) / 4.0;
    let variance = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term / 48.0;
    let p_value = if variance <= 0.0 {
        if w_plus > mean {
            0.0
        } else {
            1.0
        }
    } else {
        let z = (w_plus - mean - 0.5) / variance.sqrt();
        Normal::standard().sf(z)
    };
    Some(SignedRank { n, w_plus, p_value, exact: false })
}

/// P(W+ >= w) under the null for n untied pairs: each of the 2^n sign patterns is
/// equally likely, and `ways[s]` counts the patterns whose positive ranks sum to s.
fn exact_upper_tail(n: usize, w: usize) -> f64 {
    let max = n * (n + 1) / 2;
    if w > max {
        return 0.0;
    }
    let mut ways = vec![0.0_f64; max + 1];
    ways[0] = 1.0;
    for rank in 1..=n {
        for s in (rank..=max).rev() {
            ways[s] += ways[s - rank];
        }
    }
    let total: f64 = ways.iter().sum();
    ways[w..].iter().sum::<f64>() / total
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook case (Hollander & Wolfe, the depression scale before and after a
    /// drug; R's `?wilcox.test` example): V = 40, p = 0.01953 one-sided, exact.
    #[test]
    #[allow(clippy::approx_constant, reason = "3.14 is a measurement of the example, not pi")]
    fn the_textbook_example_gives_its_published_statistic_and_p_value() {
        let x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
        let y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
        // x is "after" against y "before": greater asks whether x - y tends above 0.
        let pairs: Vec<(f64, f64)> = y.iter().copied().zip(x.iter().copied()).collect();
        let t = greater(&pairs).unwrap();
        assert_eq!((t.n, t.w_plus, t.exact), (9, 40.0, true));
        assert!((t.p_value - 10.0 / 512.0).abs() < 1e-12, "{t:?}");
        assert!((t.p_value - 0.01953).abs() < 5e-6, "{t:?}");
    }

    #[test]
    fn the_exact_distribution_is_the_count_of_sign_patterns() {
        // n = 3: sums of subsets of {1,2,3}: 0,1,2,3,3,4,5,6.
        assert_eq!(exact_upper_tail(3, 6), 1.0 / 8.0);
        assert_eq!(exact_upper_tail(3, 3), 5.0 / 8.0);
        assert_eq!(exact_upper_tail(3, 0), 1.0);
        assert_eq!(exact_upper_tail(3, 7), 0.0);
    }

    #[test]
    fn every_pair_slower_is_significant_and_mixed_signs_are_not() {
        let slower: Vec<(f64, f64)> = (1..=10).map(|i| (100.0, 100.0 + f64::from(i) * 7.0)).collect();
        let t = greater(&slower).unwrap();
        // All ten positive: only one pattern of 1024 reaches W+ = 55.
        assert_eq!(t.w_plus, 55.0);
        assert!((t.p_value - 1.0 / 1024.0).abs() < 1e-12, "{t:?}");
        let faster: Vec<(f64, f64)> = slower.iter().map(|(a, b)| (*b, *a)).collect();
        assert!((greater(&faster).unwrap().p_value - 1.0).abs() < 1e-12);
        let mixed: Vec<(f64, f64)> =
            (1..=10).map(|i| (100.0, 100.0 + if i % 2 == 0 { 1.0 } else { -1.0 } * f64::from(i))).collect();
        assert!(greater(&mixed).unwrap().p_value > 0.3);
    }

    #[test]
    fn ties_are_dropped_or_share_a_rank_and_take_the_normal_approximation() {
        assert_eq!(greater(&[(5.0, 5.0), (7.0, 7.0)]), None);
        // Four pairs, two of them tie at zero: n = 2 remains.
        let t = greater(&[(5.0, 5.0), (1.0, 2.0), (1.0, 3.0), (4.0, 4.0)]).unwrap();
        assert_eq!((t.n, t.w_plus), (2, 3.0));
        // Magnitudes 1, 1, 2, 2, 3, 3 ... tie: average ranks, normal approximation.
        let tied: Vec<(f64, f64)> = (0..12).map(|i| (10.0, 10.0 + f64::from(i / 2 + 1))).collect();
        let t = greater(&tied).unwrap();
        assert!(!t.exact);
        assert_eq!(t.w_plus, 78.0, "every rank positive: 1 + ... + 12");
        // z = (78 - 39 - 0.5) / sqrt(162.5 - 6 * 6 / 48): far in the upper tail.
        let z = (78.0 - 39.0 - 0.5) / (162.5_f64 - 36.0 / 48.0).sqrt();
        assert!((t.p_value - Normal::standard().sf(z)).abs() < 1e-12, "{t:?}");
        assert!((t.p_value - 0.00124).abs() < 1e-5, "{t:?}");
    }

    #[test]
    fn the_normal_approximation_agrees_with_the_exact_distribution_for_larger_samples() {
        // 60 untied pairs are beyond the exact range; the same pattern at 50 is exact.
        let pattern = |n: u32| -> Vec<(f64, f64)> {
            (1..=n).map(|i| (0.0, if i % 3 == 0 { -f64::from(i) } else { f64::from(i) })).collect()
        };
        let approx = greater(&pattern(60)).unwrap();
        assert!(!approx.exact);
        let exact = greater(&pattern(50)).unwrap();
        assert!(exact.exact);
        // The approximation at n = 50, computed by hand, is within a few thousandths of
        // the exact tail.
        let (n, w) = (50.0_f64, exact.w_plus);
        let z = (w - n * (n + 1.0) / 4.0 - 0.5) / (n * (n + 1.0) * (2.0 * n + 1.0) / 24.0).sqrt();
        assert!((Normal::standard().sf(z) - exact.p_value).abs() < 0.005, "{exact:?} vs z {z}");
        assert!(approx.p_value < 0.05 && exact.p_value < 0.05);
    }
}
