//! Just enough RFC 3339 to read `metadata.creationTimestamp`.
//!
//! kstatus needs the creation time for one rule (a Pod gets a grace window
//! before it is reported unschedulable); a date-time dependency would be
//! heavier than this parser.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch (negative before it).
pub(crate) type UnixNanos = i128;

const NANOS_PER_SEC: i128 = 1_000_000_000;

pub(crate) fn system_time_nanos(time: SystemTime) -> UnixNanos {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => duration_nanos(after),
        Err(before) => -duration_nanos(before.duration()),
    }
}

pub(crate) fn duration_nanos(duration: Duration) -> UnixNanos {
    i128::from(duration.as_secs()) * NANOS_PER_SEC + i128::from(duration.subsec_nanos())
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `None` when malformed.
pub(crate) fn parse_rfc3339(text: &str) -> Option<UnixNanos> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = bytes.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        part.iter().try_fold(0i64, |acc, b| {
            acc.checked_mul(10)?.checked_add(i64::from(b - b'0'))
        })
    };
    let expect =
        |index: usize, allowed: &[u8]| bytes.get(index).is_some_and(|b| allowed.contains(b));

    if !(expect(4, b"-")
        && expect(7, b"-")
        && expect(10, b"Tt")
        && expect(13, b":")
        && expect(16, b":"))
    {
        return None;
    }
    let year = digits(0..4)?;
    let month = digits(5..7)?;
    let day = digits(8..10)?;
    let hour = digits(11..13)?;
    let minute = digits(14..16)?;
    let second = digits(17..19)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }

    // Optional fraction of a second, then the zone.
    let mut index = 19;
    let mut nanos: i128 = 0;
    if bytes.get(index) == Some(&b'.') {
        let start = index + 1;
        let end = start
            + bytes[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        if end == start {
            return None;
        }
        // Only the first nine digits carry meaning at nanosecond precision.
        let kept = &bytes[start..end.min(start + 9)];
        let mut value: i128 = 0;
        for b in kept {
            value = value * 10 + i128::from(b - b'0');
        }
        for _ in kept.len()..9 {
            value *= 10;
        }
        nanos = value;
        index = end;
    }
    let offset_seconds = match bytes.get(index..)? {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest[2] == b':' => {
            let hours = digits(index + 1..index + 3)?;
            let minutes = digits(index + 4..index + 6)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };

    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(i128::from(seconds) * NANOS_PER_SEC + nanos)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utc_and_offsets() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2019-06-04T01:17:13Z"),
            Some(1_559_611_033 * NANOS_PER_SEC)
        );
        assert_eq!(
            parse_rfc3339("2019-06-04T03:17:13+02:00"),
            parse_rfc3339("2019-06-04T01:17:13Z")
        );
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00.5-00:30"),
            Some((951_782_400 + 1800) * NANOS_PER_SEC + 500_000_000)
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some(-NANOS_PER_SEC));
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "2019-06-04",
            "2019-06-04 01:17:13Z",
            "2019-13-01T00:00:00Z",
            "2019-02-29T00:00:00Z",
            "2019-06-04T24:00:00Z",
            "2019-06-04T01:17:13",
            "2019-06-04T01:17:13.Z",
            "2019-06-04T01:17:13+0200",
            "2019-06-04T01:17:13Zjunk",
            "２０19-06-04T01:17:13Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn converts_system_times() {
        assert_eq!(
            system_time_nanos(UNIX_EPOCH + Duration::from_millis(1500)),
            1_500_000_000
        );
        assert_eq!(
            system_time_nanos(UNIX_EPOCH - Duration::from_secs(2)),
            -2 * NANOS_PER_SEC
        );
    }
}
