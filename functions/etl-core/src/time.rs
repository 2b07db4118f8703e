//! Dates and timestamps without a calendar library: the run date (`YYYY-MM-DD`) and
//! RFC 3339 timestamps normalised to UTC.

/// A calendar date, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Date {
    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year = i32::try_from(digits(&s[0..4])?).ok()?;
        let (month, day) = (digits(&s[5..7])?, digits(&s[8..10])?);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Self { year, month, day })
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(self) -> i64 {
        let (y, m) = if self.month <= 2 {
            (i64::from(self.year) - 1, i64::from(self.month) + 9)
        } else {
            (i64::from(self.year), i64::from(self.month) - 3)
        };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * m + 2) / 5 + i64::from(self.day) - 1;
        era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    }

    pub fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        Self { year: (yoe + era * 400 + i64::from(month <= 2)) as i32, month, day }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// An instant, as seconds since the epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(pub i64);

impl Instant {
    /// Parses RFC 3339: `2026-11-22T13:45:10Z`, with optional fraction and `+hh:mm`
    /// offset. Fractions are truncated to the second.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 20 || (b[10] != b'T' && b[10] != b't' && b[10] != b' ') || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let date = Date::parse(&s[..10])?;
        let (h, m, sec) = (digits(&s[11..13])?, digits(&s[14..16])?, digits(&s[17..19])?);
        if h > 23 || m > 59 || sec > 60 {
            return None;
        }
        let mut rest = &s[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let end = frac.find(|c: char| !c.is_ascii_digit()).unwrap_or(frac.len());
            if end == 0 {
                return None;
            }
            rest = &frac[end..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ => {
                let sign = match rest.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                    return None;
                }
                let (oh, om) = (digits(&rest[1..3])?, digits(&rest[4..6])?);
                if oh > 23 || om > 59 {
                    return None;
                }
                sign * i64::from(oh * 3600 + om * 60)
            }
        };
        let local = date.days_since_epoch() * 86_400 + i64::from(h * 3600 + m * 60 + sec.min(59));
        Some(Self(local - offset))
    }

    pub fn date(self) -> Date {
        Date::from_days(self.0.div_euclid(86_400))
    }

    /// Writes `YYYY-MM-DDThh:mm:ssZ` (by hand: this runs once per record).
    pub fn write_rfc3339(self, out: &mut String) {
        let date = self.date();
        let secs = self.0.rem_euclid(86_400);
        let year = date.year.clamp(0, 9999) as u32;
        let two = |n: u32| [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8];
        let mut buf = [0u8; 20];
        buf[..2].copy_from_slice(&two(year / 100));
        buf[2..4].copy_from_slice(&two(year % 100));
        buf[4] = b'-';
        buf[5..7].copy_from_slice(&two(date.month));
        buf[7] = b'-';
        buf[8..10].copy_from_slice(&two(date.day));
        buf[10] = b'T';
        buf[11..13].copy_from_slice(&two((secs / 3600) as u32));
        buf[13] = b':';
        buf[14..16].copy_from_slice(&two((secs % 3600 / 60) as u32));
        buf[16] = b':';
        buf[17..19].copy_from_slice(&two((secs % 60) as u32));
        buf[19] = b'Z';
        out.push_str(std::str::from_utf8(&buf).unwrap_or("1970-01-01T00:00:00Z"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(Date::parse("2024-02-29").map(|d| d.to_string()).as_deref(), Some("2024-02-29"));
        for bad in ["2023-02-29", "2026-13-01", "2026-1-01", "20261101", "2026-11-31", "abcd-ef-gh", ""] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
        let d = Date::parse("2026-11-22").unwrap();
        assert_eq!(Date::from_days(d.days_since_epoch()), d);
        assert_eq!(Date::parse("1970-01-01").unwrap().days_since_epoch(), 0);
    }

    #[test]
    fn timestamps_normalise_to_utc() {
        let t = Instant::parse_rfc3339("2026-11-22T00:30:00+01:00").unwrap();
        let mut s = String::new();
        t.write_rfc3339(&mut s);
        assert_eq!(s, "2026-11-21T23:30:00Z");
        assert_eq!(t.date().to_string(), "2026-11-21");
        assert_eq!(Instant::parse_rfc3339("2026-11-22T13:45:10.123456Z").unwrap().0 % 60, 10);
        for bad in [
            "2026-11-22",
            "2026-11-22T25:00:00Z",
            "2026-11-22T10:00:00",
            "2026-11-22T10:00:00+1",
            "2026-11-22T10:00:00.Z",
        ] {
            assert!(Instant::parse_rfc3339(bad).is_none(), "{bad}");
        }
    }
}
