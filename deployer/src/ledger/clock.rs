//! Wall-clock time as the ledger records it.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: u64) -> String {
    // Always three digits of milliseconds, so that log lines line up and sort as text.
    let seconds = aws_smithy_types::DateTime::from_secs(i64::try_from(ms / 1000).unwrap_or(i64::MAX));
    match seconds.fmt(aws_smithy_types::date_time::Format::DateTime) {
        Ok(text) => format!("{}.{:03}Z", text.trim_end_matches('Z'), ms % 1000),
        Err(_) => ms.to_string(),
    }
}

/// Milliseconds since the epoch of an RFC 3339 time (as [`rfc3339`] writes it).
pub fn parse_rfc3339_ms(text: &str) -> Option<u64> {
    let t = aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime).ok()?;
    u64::try_from(t.to_millis().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_back() {
        for ms in [0, 1_700_000_000_123, 1_700_000_001_000] {
            assert_eq!(parse_rfc3339_ms(&rfc3339(ms)), Some(ms));
        }
        assert_eq!(parse_rfc3339_ms("not a time"), None);
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(1_700_000_000_810), "2023-11-14T22:13:20.810Z");
        assert_eq!(rfc3339(1_700_000_001_000), "2023-11-14T22:13:21.000Z");
    }
}
