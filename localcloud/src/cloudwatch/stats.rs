//! Statistics over datapoints, as CloudWatch computes them.

/// One stored datapoint: a single value (count 1) or a pre-aggregated set.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Point {
    pub t: f64,
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Point {
    pub fn value(t: f64, v: f64) -> Self {
        Self { t, count: 1.0, sum: v, min: v, max: v }
    }
}

/// The statistics CloudWatch accepts, including percentiles such as `p99` or `p99.9`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
    Percentile(f64),
}

impl Stat {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "SampleCount" => Self::SampleCount,
            "Average" => Self::Average,
            "Sum" => Self::Sum,
            "Minimum" => Self::Minimum,
            "Maximum" => Self::Maximum,
            p => {
                let n: f64 = p.strip_prefix('p')?.parse().ok()?;
                if !(0.0..=100.0).contains(&n) {
                    return None;
                }
                Self::Percentile(n)
            }
        })
    }

    /// The statistic over `points`, or None when there are none.
    pub fn compute(self, points: &[Point]) -> Option<f64> {
        if points.is_empty() {
            return None;
        }
        let count: f64 = points.iter().map(|p| p.count).sum();
        let sum: f64 = points.iter().map(|p| p.sum).sum();
        Some(match self {
            Self::SampleCount => count,
            Self::Sum => sum,
            Self::Average => sum / count.max(f64::MIN_POSITIVE),
            Self::Minimum => points.iter().map(|p| p.min).fold(f64::INFINITY, f64::min),
            Self::Maximum => points.iter().map(|p| p.max).fold(f64::NEG_INFINITY, f64::max),
            Self::Percentile(q) => {
                // Nearest rank over the values; an aggregated point counts as its mean, `count` times.
                let mut values: Vec<(f64, f64)> =
                    points.iter().map(|p| (p.sum / p.count.max(f64::MIN_POSITIVE), p.count)).collect();
                values.sort_by(|a, b| a.0.total_cmp(&b.0));
                let rank = (q / 100.0 * count).ceil().max(1.0);
                let mut seen = 0.0;
                let mut answer = values.last().map_or(0.0, |v| v.0);
                for (value, weight) in values {
                    seen += weight;
                    if seen >= rank {
                        answer = value;
                        break;
                    }
                }
                answer
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(values: &[f64]) -> Vec<Point> {
        values.iter().map(|v| Point::value(0.0, *v)).collect()
    }

    #[test]
    fn basic_statistics() {
        let p = points(&[1.0, 2.0, 3.0, 10.0]);
        assert_eq!(Stat::Sum.compute(&p), Some(16.0));
        assert_eq!(Stat::Average.compute(&p), Some(4.0));
        assert_eq!(Stat::SampleCount.compute(&p), Some(4.0));
        assert_eq!(Stat::Minimum.compute(&p), Some(1.0));
        assert_eq!(Stat::Maximum.compute(&p), Some(10.0));
        assert_eq!(Stat::Sum.compute(&[]), None);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let p = points(&(1..=100).map(f64::from).collect::<Vec<_>>());
        assert_eq!(Stat::parse("p99").unwrap().compute(&p), Some(99.0));
        assert_eq!(Stat::parse("p50").unwrap().compute(&p), Some(50.0));
        assert_eq!(Stat::parse("p100").unwrap().compute(&p), Some(100.0));
        assert_eq!(Stat::parse("p99.9").unwrap().compute(&p), Some(100.0));
        assert!(Stat::parse("p101").is_none() && Stat::parse("Median").is_none());
    }
}
