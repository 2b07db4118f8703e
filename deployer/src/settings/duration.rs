//! Durations as the settings write them (`500ms`, `30s`, `10m`, `2h`) and as the
//! deployer prints them.

use std::path::Path;
use std::time::Duration;

use crate::error::{DeployError, Result};

/// `500ms`, `30s`, `10m`, `2h`, or a bare `0`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        "h" => n.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    }
}

pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if d.as_millis() < 1000 {
        format!("{}ms", d.as_millis())
    } else if s < 120 {
        format!("{:.1}s", d.as_secs_f64())
    } else if s < 7200 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{}h{}m", s / 3600, (s % 3600) / 60)
    }
}

/// A settings field's duration, or `default` when the field is absent.
pub(super) fn field_duration(file: &Path, field: &str, text: Option<&str>, default: Duration) -> Result<Duration> {
    match text {
        None => Ok(default),
        Some(t) => parse_duration(t).ok_or_else(|| {
            DeployError::settings(
                file,
                field,
                format!("{t:?} is not a duration"),
                "write a number with a unit: 500ms, 30s, 10m, 2h",
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5d"), None);
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
    }
}
