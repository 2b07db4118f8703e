//! Traffic routing for the Lambda compute platform: the predefined deployment
//! configurations, custom ones' validation, and the weight schedule each implies.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::api::{ApiError, ApiResult, Params};

const INVALID: &str = "InvalidTrafficRoutingConfigurationException";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficRoutingConfig {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_based_canary: Option<TimeBasedCanary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_based_linear: Option<TimeBasedLinear>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeBasedCanary {
    pub canary_percentage: i64,
    pub canary_interval: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeBasedLinear {
    pub linear_percentage: i64,
    pub linear_interval: i64,
}

impl TrafficRoutingConfig {
    fn canary(percentage: i64, minutes: i64) -> Self {
        Self {
            kind: "TimeBasedCanary".into(),
            time_based_canary: Some(TimeBasedCanary { canary_percentage: percentage, canary_interval: minutes }),
            time_based_linear: None,
        }
    }

    fn linear(percentage: i64, minutes: i64) -> Self {
        Self {
            kind: "TimeBasedLinear".into(),
            time_based_canary: None,
            time_based_linear: Some(TimeBasedLinear { linear_percentage: percentage, linear_interval: minutes }),
        }
    }

    fn all_at_once() -> Self {
        Self { kind: "AllAtOnce".into(), time_based_canary: None, time_based_linear: None }
    }

    /// Reads `trafficRoutingConfig` from a CreateDeploymentConfig request.
    pub fn from_params(input: &Params<'_>) -> ApiResult<Self> {
        let number = |block: &Params<'_>, field: &str| -> ApiResult<i64> {
            block.i64(field)?.ok_or_else(|| ApiError::new(INVALID, format!("{} is required", block.name(field))))
        };
        let time_based_canary = match input.object("timeBasedCanary")? {
            Some(c) => Some(TimeBasedCanary {
                canary_percentage: number(&c, "canaryPercentage")?,
                canary_interval: number(&c, "canaryInterval")?,
            }),
            None => None,
        };
        let time_based_linear = match input.object("timeBasedLinear")? {
            Some(l) => Some(TimeBasedLinear {
                linear_percentage: number(&l, "linearPercentage")?,
                linear_interval: number(&l, "linearInterval")?,
            }),
            None => None,
        };
        Ok(Self { kind: input.required_str("type", INVALID)?, time_based_canary, time_based_linear })
    }

    /// Checks a custom configuration as CreateDeploymentConfig does.
    pub fn validate(&self) -> ApiResult<()> {
        let bad = |m: String| Err(ApiError::new(INVALID, m));
        match (self.kind.as_str(), &self.time_based_canary, &self.time_based_linear) {
            ("AllAtOnce", None, None) => Ok(()),
            ("TimeBasedCanary", Some(c), None) => {
                if !(1..=99).contains(&c.canary_percentage) {
                    return bad(format!("canaryPercentage must be between 1 and 99, got {}", c.canary_percentage));
                }
                if !(1..=2880).contains(&c.canary_interval) {
                    return bad(format!(
                        "canaryInterval must be between 1 and 2880 minutes, got {}",
                        c.canary_interval
                    ));
                }
                Ok(())
            }
            ("TimeBasedLinear", None, Some(l)) => {
                if !(1..=99).contains(&l.linear_percentage) {
                    return bad(format!("linearPercentage must be between 1 and 99, got {}", l.linear_percentage));
                }
                if !(1..=2880).contains(&l.linear_interval) {
                    return bad(format!(
                        "linearInterval must be between 1 and 2880 minutes, got {}",
                        l.linear_interval
                    ));
                }
                Ok(())
            }
            (kind, _, _) => bad(format!(
                "trafficRoutingConfig of type {kind:?} must carry exactly the matching block \
                 (AllAtOnce: none, TimeBasedCanary: timeBasedCanary, TimeBasedLinear: timeBasedLinear)"
            )),
        }
    }

    /// The alias weights of the new version over time: each step sets the weight,
    /// then waits (in CodeDeploy minutes) before the next. The last step is 100 %.
    pub fn schedule(&self) -> Vec<Step> {
        match (&self.time_based_canary, &self.time_based_linear) {
            (Some(c), _) if self.kind == "TimeBasedCanary" => vec![
                Step { percent: c.canary_percentage as f64, wait: minutes(c.canary_interval) },
                Step { percent: 100.0, wait: Duration::ZERO },
            ],
            (_, Some(l)) if self.kind == "TimeBasedLinear" => {
                let mut steps = Vec::new();
                let mut percent = l.linear_percentage;
                while percent < 100 {
                    steps.push(Step { percent: percent as f64, wait: minutes(l.linear_interval) });
                    percent += l.linear_percentage;
                }
                steps.push(Step { percent: 100.0, wait: Duration::ZERO });
                steps
            }
            _ => vec![Step { percent: 100.0, wait: Duration::ZERO }],
        }
    }
}

fn minutes(m: i64) -> Duration {
    Duration::from_secs(u64::try_from(m).unwrap_or(0) * 60)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub percent: f64,
    /// Unscaled: the clock compresses it.
    pub wait: Duration,
}

/// The predefined Lambda configurations, by name.
pub fn predefined(name: &str) -> Option<TrafficRoutingConfig> {
    let config = match name {
        "CodeDeployDefault.LambdaAllAtOnce" => TrafficRoutingConfig::all_at_once(),
        "CodeDeployDefault.LambdaCanary10Percent5Minutes" => TrafficRoutingConfig::canary(10, 5),
        "CodeDeployDefault.LambdaCanary10Percent10Minutes" => TrafficRoutingConfig::canary(10, 10),
        "CodeDeployDefault.LambdaCanary10Percent15Minutes" => TrafficRoutingConfig::canary(10, 15),
        "CodeDeployDefault.LambdaCanary10Percent30Minutes" => TrafficRoutingConfig::canary(10, 30),
        "CodeDeployDefault.LambdaLinear10PercentEvery1Minute" => TrafficRoutingConfig::linear(10, 1),
        "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes" => TrafficRoutingConfig::linear(10, 2),
        "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes" => TrafficRoutingConfig::linear(10, 3),
        "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes" => TrafficRoutingConfig::linear(10, 10),
        _ => return None,
    };
    Some(config)
}

pub const PREDEFINED: [&str; 9] = [
    "CodeDeployDefault.LambdaAllAtOnce",
    "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "CodeDeployDefault.LambdaCanary10Percent10Minutes",
    "CodeDeployDefault.LambdaCanary10Percent15Minutes",
    "CodeDeployDefault.LambdaCanary10Percent30Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn percents(config: &TrafficRoutingConfig) -> Vec<f64> {
        config.schedule().iter().map(|s| s.percent).collect()
    }

    #[test]
    fn canary_shifts_once_then_everything() {
        let config = predefined("CodeDeployDefault.LambdaCanary10Percent5Minutes").unwrap();
        let steps = config.schedule();
        assert_eq!(percents(&config), [10.0, 100.0]);
        assert_eq!(steps[0].wait, Duration::from_secs(300));
    }

    #[test]
    fn linear_steps_until_full() {
        let config = predefined("CodeDeployDefault.LambdaLinear10PercentEvery1Minute").unwrap();
        assert_eq!(percents(&config), [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]);
        let custom = TrafficRoutingConfig::linear(30, 2);
        assert_eq!(percents(&custom), [30.0, 60.0, 90.0, 100.0]);
        assert!(custom.schedule()[..3].iter().all(|s| s.wait == Duration::from_secs(120)));
    }

    #[test]
    fn all_at_once_is_one_step() {
        assert_eq!(percents(&predefined("CodeDeployDefault.LambdaAllAtOnce").unwrap()), [100.0]);
    }

    #[test]
    fn every_predefined_name_resolves() {
        for name in PREDEFINED {
            predefined(name).unwrap().validate().unwrap();
        }
        assert!(predefined("CodeDeployDefault.OneAtATime").is_none(), "server configs are not Lambda configs");
    }

    #[test]
    fn custom_configs_are_validated() {
        assert!(TrafficRoutingConfig::canary(100, 5).validate().is_err());
        assert!(TrafficRoutingConfig::canary(10, 0).validate().is_err());
        assert!(TrafficRoutingConfig::linear(0, 1).validate().is_err());
        let mismatched =
            TrafficRoutingConfig { kind: "TimeBasedCanary".into(), time_based_canary: None, time_based_linear: None };
        assert_eq!(mismatched.validate().unwrap_err().code, "InvalidTrafficRoutingConfigurationException");
    }
}
