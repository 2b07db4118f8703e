//! Timestamps as AWS writes them: ISO 8601 in XML replies and alarm data, epoch
//! seconds in JSON and CBOR.

/// Seconds since the epoch -> `2026-11-23T06:40:00.000Z`.
pub fn iso8601(epoch: f64) -> String {
    let millis = (epoch * 1000.0).round() as i64;
    let (secs, ms) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `2026-11-23T06:40:00Z` (fraction and offset optional) or epoch seconds -> epoch seconds.
pub fn parse(text: &str) -> Option<f64> {
    if let Ok(n) = text.trim().parse::<f64>() {
        return Some(n).filter(|n| n.is_finite());
    }
    let s = text.trim().trim_end_matches('Z');
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (time, offset) = match time.rfind(['+', '-']) {
        Some(i) if i > 0 => (&time[..i], Some(&time[i..])),
        _ => (time, None),
    };
    let mut t = time.split(':');
    let (hh, mm) = (t.next()?.parse::<i64>().ok()?, t.next()?.parse::<i64>().ok()?);
    let ss: f64 = t.next().unwrap_or("0").parse().ok()?;
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let mut epoch = (days * 86_400 + hh * 3600 + mm * 60) as f64 + ss;
    if let Some(offset) = offset {
        let sign = if offset.starts_with('-') { -1.0 } else { 1.0 };
        let mut o = offset[1..].split(':');
        let oh: f64 = o.next()?.parse().ok()?;
        let om: f64 = o.next().unwrap_or("0").parse().ok()?;
        epoch -= sign * (oh * 3600.0 + om * 60.0);
    }
    Some(epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        let t = parse("2026-11-23T06:40:05.250Z").unwrap_or_default();
        assert_eq!(iso8601(t), "2026-11-23T06:40:05.250Z");
        assert_eq!(parse("1970-01-02T00:00:00+01:00"), Some(82_800.0));
        assert_eq!(parse("12.5"), Some(12.5));
        assert_eq!(parse("yesterday"), None);
    }
}
