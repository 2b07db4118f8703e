//! CloudWatch's alarm vocabulary as types: states, comparison operators and the
//! treatment of missing data, each serialised as the string AWS uses.

use serde::{Deserialize, Serialize};

use crate::api::{ApiError, ApiResult};

/// An alarm's state (`StateValue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlarmState {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl AlarmState {
    pub const ALL: [Self; 3] = [Self::Ok, Self::Alarm, Self::InsufficientData];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Alarm => "ALARM",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for AlarmState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `ComparisonOperator` (the anomaly-detection ones are not supported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl Comparison {
    pub const ALL: [Self; 4] = [
        Self::GreaterThanOrEqualToThreshold,
        Self::GreaterThanThreshold,
        Self::LessThanThreshold,
        Self::LessThanOrEqualToThreshold,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            Self::GreaterThanThreshold => "GreaterThanThreshold",
            Self::LessThanThreshold => "LessThanThreshold",
            Self::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
        }
    }

    pub fn parse(text: &str) -> ApiResult<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text).ok_or_else(|| {
            let all: Vec<&str> = Self::ALL.iter().map(|c| c.as_str()).collect();
            ApiError::new(
                "InvalidParameterValue",
                format!("ComparisonOperator {text} is not one of {}", all.join(", ")),
            )
        })
    }

    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::GreaterThanOrEqualToThreshold => value >= threshold,
            Self::GreaterThanThreshold => value > threshold,
            Self::LessThanThreshold => value < threshold,
            Self::LessThanOrEqualToThreshold => value <= threshold,
        }
    }

    /// As CloudWatch's state reasons word it.
    pub fn words(self) -> &'static str {
        match self {
            Self::GreaterThanOrEqualToThreshold => "greater than or equal to",
            Self::GreaterThanThreshold => "greater than",
            Self::LessThanThreshold => "less than",
            Self::LessThanOrEqualToThreshold => "less than or equal to",
        }
    }
}

/// `TreatMissingData`: how periods without datapoints count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissing {
    Breaching,
    NotBreaching,
    Ignore,
    Missing,
}

impl TreatMissing {
    pub const ALL: [Self; 4] = [Self::Breaching, Self::NotBreaching, Self::Ignore, Self::Missing];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Breaching => "breaching",
            Self::NotBreaching => "notBreaching",
            Self::Ignore => "ignore",
            Self::Missing => "missing",
        }
    }

    pub fn parse(text: &str) -> ApiResult<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text).ok_or_else(|| {
            let all: Vec<&str> = Self::ALL.iter().map(|t| t.as_str()).collect();
            ApiError::new("InvalidParameterValue", format!("TreatMissingData must be one of {}", all.join(", ")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_as_aws_strings() {
        for state in AlarmState::ALL {
            assert_eq!(serde_json::to_value(state).unwrap_or_default(), state.as_str());
            assert_eq!(AlarmState::parse(state.as_str()), Some(state));
        }
        for c in Comparison::ALL {
            assert_eq!(serde_json::to_value(c).unwrap_or_default(), c.as_str());
        }
        for t in TreatMissing::ALL {
            assert_eq!(serde_json::to_value(t).unwrap_or_default(), t.as_str());
            assert_eq!(TreatMissing::parse(t.as_str()), Ok(t));
        }
        assert_eq!(Comparison::parse("Bigger").unwrap_err().code, "InvalidParameterValue");
    }

    #[test]
    fn comparisons_compare() {
        assert!(Comparison::GreaterThanOrEqualToThreshold.breaches(1.0, 1.0));
        assert!(!Comparison::GreaterThanThreshold.breaches(1.0, 1.0));
        assert!(Comparison::LessThanOrEqualToThreshold.breaches(1.0, 1.0));
        assert!(!Comparison::LessThanThreshold.breaches(1.0, 1.0));
    }
}
