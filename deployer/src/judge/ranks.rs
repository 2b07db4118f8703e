//! Ranks for the rank tests ([`super::signed_rank`], [`super::rank_sum`]): equal
//! values share their average rank, and the ties' term sum(t^3 - t) corrects the
//! normal approximation's variance.

/// The ranks (1-based) of `sorted` (ascending), equal values sharing their average,
/// and sum(t^3 - t) over the runs of t equal values.
pub fn average(sorted: &[f64]) -> (Vec<f64>, f64) {
    let n = sorted.len();
    let mut ranks = vec![0.0; n];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && sorted[j + 1] == sorted[i] {
            j += 1;
        }
        ranks[i..=j].fill((i + j) as f64 / 2.0 + 1.0);
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    (ranks, tie_term)
}

#[cfg(test)]
mod tests {
    #[test]
    fn equal_values_share_their_average_rank() {
        let (ranks, ties) = super::average(&[1.0, 2.0, 2.0, 2.0, 5.0, 7.0, 7.0]);
        assert_eq!(ranks, vec![1.0, 3.0, 3.0, 3.0, 5.0, 6.5, 6.5]);
        assert_eq!(ties, 24.0 + 6.0);
        assert_eq!(super::average(&[3.0, 4.0]), (vec![1.0, 2.0], 0.0));
    }
}
