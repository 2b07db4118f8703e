//! Paired replays: during a step the replay runs each recorded input through both
//! versions (a dry run pinned to the new release and one pinned to the old), so each
//! pair is the same event on old and new. Two things are judged from the pairs:
//!
//! - duration: the time the workflow spent in the function's state on each side, by
//!   Wilcoxon's signed-rank test (one-sided, new slower) with an effect-size bound on
//!   the median of the per-pair ratios and a floor in milliseconds;
//! - outputs, where the function is deterministic: the same input must give the same
//!   answer. One difference is conclusive (no statistics): a fail, or marginal when the
//!   release says it changes output on purpose.

use serde::{Deserialize, Serialize};

use super::signed_rank;
use super::{Rule, Verdict};

/// One input run through both versions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    pub old_ms: f64,
    pub new_ms: f64,
    /// Whether both versions answered the same; None when the function's outputs are
    /// not compared (it is not declared deterministic).
    pub same_output: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedTest {
    pub pairs: u32,
    pub old_median_ms: Option<f64>,
    pub new_median_ms: Option<f64>,
    /// The median over the pairs of new time / old time.
    pub median_ratio: Option<f64>,
    /// Wilcoxon's W+ (the ranks of the pairs where the new version was slower).
    pub w_plus: Option<f64>,
    /// One-sided: the chance of a W+ this large were neither version slower.
    pub p_value: Option<f64>,
    pub duration_verdict: Verdict,
    pub outputs_compared: u32,
    pub outputs_differed: u32,
    pub output_verdict: Verdict,
    /// The worse of the two.
    pub verdict: Verdict,
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) { (values[mid - 1] + values[mid]) / 2.0 } else { values[mid] })
}

impl PairedTest {
    /// The pairs of one step. `change_expected`: the release declares that it changes
    /// output on purpose (`deployer package --expect-output-change`).
    pub fn of(rule: &Rule, pairs: &[Pair], change_expected: bool) -> Self {
        let old_median_ms = median(pairs.iter().map(|p| p.old_ms).collect());
        let new_median_ms = median(pairs.iter().map(|p| p.new_ms).collect());
        let median_ratio = median(pairs.iter().filter(|p| p.old_ms > 0.0).map(|p| p.new_ms / p.old_ms).collect());
        let rank = signed_rank::greater(&pairs.iter().map(|p| (p.old_ms, p.new_ms)).collect::<Vec<_>>());
        let duration_verdict = match (rank, median_ratio, old_median_ms, new_median_ms) {
            _ if (pairs.len() as u32) < rule.min_pairs => Verdict::NotJudged,
            (None, ..) => Verdict::Pass,
            (Some(rank), Some(ratio), Some(old), Some(new)) => {
                let matters = new - old >= rule.min_median_slowdown_ms;
                if matters && rank.p_value < rule.alpha && ratio > rule.max_median_ratio {
                    Verdict::Fail
                } else if matters && rank.p_value < rule.marginal_alpha && ratio > rule.marginal_median_ratio {
                    Verdict::Marginal
                } else {
                    Verdict::Pass
                }
            }
            _ => Verdict::NotJudged,
        };
        let compared: Vec<bool> = pairs.iter().filter_map(|p| p.same_output).collect();
        let differed = compared.iter().filter(|same| !**same).count() as u32;
        let output_verdict = match (compared.len(), differed, change_expected) {
            (0, ..) => Verdict::NotJudged,
            (_, 0, _) => Verdict::Pass,
            (_, _, true) => Verdict::Marginal,
            (_, _, false) => Verdict::Fail,
        };
        PairedTest {
            pairs: pairs.len() as u32,
            old_median_ms,
            new_median_ms,
            median_ratio,
            w_plus: rank.map(|r| r.w_plus),
            p_value: rank.map(|r| r.p_value),
            duration_verdict,
            outputs_compared: compared.len() as u32,
            outputs_differed: differed,
            output_verdict,
            verdict: duration_verdict.max(output_verdict),
        }
    }

    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        match (self.new_median_ms, self.old_median_ms, self.median_ratio, self.p_value) {
            (Some(n), Some(o), Some(r), Some(p)) => parts.push(format!(
                "paired replays: median {n:.0} ms vs {o:.0} ms (x{r:.2}, signed-rank p = {p:.3}, {} pairs): {}",
                self.pairs,
                self.duration_verdict.as_str()
            )),
            _ => parts.push(format!("paired replays: {} pairs: {}", self.pairs, self.duration_verdict.as_str())),
        }
        if self.outputs_compared > 0 {
            parts.push(format!(
                "outputs differed in {} of {} pairs: {}",
                self.outputs_differed,
                self.outputs_compared,
                self.output_verdict.as_str()
            ));
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(old: &[f64], new: &[f64]) -> Vec<Pair> {
        old.iter().zip(new).map(|(o, n)| Pair { old_ms: *o, new_ms: *n, same_output: None }).collect()
    }

    #[test]
    fn a_version_surely_twice_as_slow_fails_and_one_a_little_slower_passes() {
        let rule = Rule::default();
        let old = [200.0, 210.0, 190.0, 205.0, 198.0, 202.0, 207.0, 195.0];
        let twice: Vec<f64> = old.iter().map(|o| o * 2.0 + 3.0).collect();
        let t = PairedTest::of(&rule, &pairs(&old, &twice), false);
        assert_eq!((t.pairs, t.duration_verdict, t.verdict), (8, Verdict::Fail, Verdict::Fail));
        assert!((t.p_value.unwrap() - 1.0 / 256.0).abs() < 1e-12, "{t:?}");
        assert!(t.summary().contains("signed-rank p = 0.004, 8 pairs): fail"), "{}", t.summary());
        // x1.3, surely: marginal.
        let slower: Vec<f64> = old.iter().map(|o| o * 1.3).collect();
        assert_eq!(PairedTest::of(&rule, &pairs(&old, &slower), false).duration_verdict, Verdict::Marginal);
        // x1.05: pass, however sure.
        let bit: Vec<f64> = old.iter().map(|o| o * 1.05).collect();
        assert_eq!(PairedTest::of(&rule, &pairs(&old, &bit), false).duration_verdict, Verdict::Pass);
    }

    #[test]
    fn few_pairs_noise_and_millisecond_functions_are_not_failed() {
        let rule = Rule::default();
        // Twice as slow, but three pairs: under min_pairs.
        let t = PairedTest::of(&rule, &pairs(&[100.0, 100.0, 100.0], &[200.0, 200.0, 200.0]), false);
        assert_eq!(t.duration_verdict, Verdict::NotJudged);
        // Twice as slow in the median, but half the pairs faster: not sure.
        let old = [100.0, 100.0, 100.0, 100.0, 100.0, 100.0];
        let new = [250.0, 60.0, 240.0, 70.0, 230.0, 80.0];
        assert_eq!(PairedTest::of(&rule, &pairs(&old, &new), false).duration_verdict, Verdict::Pass);
        // x3 but 10 ms: under the floor.
        let old = [5.0; 8];
        let new = [15.0, 15.1, 15.2, 15.3, 15.4, 15.5, 15.6, 15.7];
        assert_eq!(PairedTest::of(&rule, &pairs(&old, &new), false).duration_verdict, Verdict::Pass);
    }

    #[test]
    fn a_deterministic_function_answering_differently_fails_unless_the_release_says_so() {
        let rule = Rule::default();
        let mut ps = pairs(&[100.0; 6], &[100.0; 6]);
        for p in &mut ps {
            p.same_output = Some(true);
        }
        let t = PairedTest::of(&rule, &ps, false);
        assert_eq!((t.output_verdict, t.outputs_compared, t.verdict), (Verdict::Pass, 6, Verdict::Pass));
        ps[2].same_output = Some(false);
        let t = PairedTest::of(&rule, &ps, false);
        assert_eq!((t.output_verdict, t.outputs_differed, t.verdict), (Verdict::Fail, 1, Verdict::Fail));
        assert!(t.summary().ends_with("outputs differed in 1 of 6 pairs: fail"), "{}", t.summary());
        assert_eq!(PairedTest::of(&rule, &ps, true).verdict, Verdict::Marginal);
        // One pair is enough to compare outputs, though not durations.
        let t = PairedTest::of(&rule, &ps[2..3], false);
        assert_eq!((t.duration_verdict, t.output_verdict), (Verdict::NotJudged, Verdict::Fail));
    }
}
