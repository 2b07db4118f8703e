//! `judge:` in deployer.yaml: the bounds the judge holds each step's new version to
//! against the old (see `crate::judge`). Every field is optional; the defaults are
//! `crate::judge::Rule::default()`.

use serde::Deserialize;

use super::Check;
use crate::error::Result;
use crate::judge::Rule;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJudge {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub alpha: Option<f64>,
    #[serde(default)]
    pub marginal_alpha: Option<f64>,
    #[serde(default)]
    pub max_error_rate_increase: Option<f64>,
    #[serde(default)]
    pub max_p99_ratio: Option<f64>,
    #[serde(default)]
    pub marginal_p99_ratio: Option<f64>,
    #[serde(default)]
    pub min_p99_slowdown_ms: Option<f64>,
    #[serde(default)]
    pub min_p99_invocations: Option<u32>,
    #[serde(default)]
    pub paired: Option<bool>,
    #[serde(default)]
    pub min_pairs: Option<u32>,
    #[serde(default)]
    pub max_median_ratio: Option<f64>,
    #[serde(default)]
    pub marginal_median_ratio: Option<f64>,
    #[serde(default)]
    pub min_median_slowdown_ms: Option<f64>,
}

impl Check<'_> {
    pub(super) fn judge(&self, raw: Option<&RawJudge>) -> Result<Rule> {
        let raw = raw.cloned().unwrap_or_default();
        let d = Rule::default();
        let rule = Rule {
            enabled: raw.enabled.unwrap_or(d.enabled),
            alpha: raw.alpha.unwrap_or(d.alpha),
            marginal_alpha: raw.marginal_alpha.unwrap_or(d.marginal_alpha),
            max_error_rate_increase: raw.max_error_rate_increase.unwrap_or(d.max_error_rate_increase),
            max_p99_ratio: raw.max_p99_ratio.unwrap_or(d.max_p99_ratio),
            marginal_p99_ratio: raw.marginal_p99_ratio.unwrap_or(d.marginal_p99_ratio),
            min_p99_slowdown_ms: raw.min_p99_slowdown_ms.unwrap_or(d.min_p99_slowdown_ms),
            min_p99_invocations: raw.min_p99_invocations.unwrap_or(d.min_p99_invocations),
            paired: raw.paired.unwrap_or(d.paired),
            min_pairs: raw.min_pairs.unwrap_or(d.min_pairs),
            max_median_ratio: raw.max_median_ratio.unwrap_or(d.max_median_ratio),
            marginal_median_ratio: raw.marginal_median_ratio.unwrap_or(d.marginal_median_ratio),
            min_median_slowdown_ms: raw.min_median_slowdown_ms.unwrap_or(d.min_median_slowdown_ms),
        };
        let probability = |field: &str, v: f64| {
            if v > 0.0 && v < 1.0 {
                Ok(())
            } else {
                Err(self.err(
                    field,
                    format!("{v} is not a probability strictly between 0 and 1"),
                    "use for example 0.01",
                ))
            }
        };
        probability("judge.alpha", rule.alpha)?;
        probability("judge.marginal_alpha", rule.marginal_alpha)?;
        if rule.marginal_alpha < rule.alpha {
            return Err(self.err(
                "judge.marginal_alpha",
                format!("{} is below alpha {}: nothing could be marginal", rule.marginal_alpha, rule.alpha),
                "make marginal_alpha at least alpha (for example alpha 0.01, marginal_alpha 0.05)",
            ));
        }
        if !(0.0..1.0).contains(&rule.max_error_rate_increase) {
            return Err(self.err(
                "judge.max_error_rate_increase",
                format!("{} is not a fraction of invocations", rule.max_error_rate_increase),
                "use a fraction: 0.01 is one point of error rate",
            ));
        }
        if !(rule.marginal_p99_ratio >= 1.0 && rule.max_p99_ratio >= rule.marginal_p99_ratio) {
            return Err(self.err(
                "judge.max_p99_ratio",
                format!(
                    "marginal_p99_ratio {} and max_p99_ratio {} must satisfy 1 <= marginal <= max",
                    rule.marginal_p99_ratio, rule.max_p99_ratio
                ),
                "use for example marginal_p99_ratio 1.2 and max_p99_ratio 1.5",
            ));
        }
        if !(rule.marginal_median_ratio >= 1.0 && rule.max_median_ratio >= rule.marginal_median_ratio) {
            return Err(self.err(
                "judge.max_median_ratio",
                format!(
                    "marginal_median_ratio {} and max_median_ratio {} must satisfy 1 <= marginal <= max",
                    rule.marginal_median_ratio, rule.max_median_ratio
                ),
                "use for example marginal_median_ratio 1.2 and max_median_ratio 1.5",
            ));
        }
        for (field, ms) in [
            ("judge.min_p99_slowdown_ms", rule.min_p99_slowdown_ms),
            ("judge.min_median_slowdown_ms", rule.min_median_slowdown_ms),
        ] {
            if !(ms >= 0.0 && ms.is_finite()) {
                return Err(self.err(field, format!("{ms} is not a duration in milliseconds"), "use for example 50"));
            }
        }
        if !(2..=1000).contains(&rule.min_pairs) {
            return Err(self.err(
                "judge.min_pairs",
                format!("{} pairs cannot be judged by a rank test", rule.min_pairs),
                "use between 2 and 1000 (for example 5: below 5 pairs no one-sided p-value reaches 0.05)",
            ));
        }
        Ok(rule)
    }
}
