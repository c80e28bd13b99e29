//! Lenient parsing of the API's timestamps and one canonical output form (RFC 3339, UTC, `Z`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Parses RFC 3339 (any fraction, any offset), minute precision (`2023-10-11T12:34Z`), a
/// zone-less date-time (taken as UTC) or a bare date. Empty or unparsable text gives `None`.
pub fn parse_lenient(text: &str) -> Option<DateTime<Utc>> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')).unwrap_or(s);
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(naive, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
}

/// The form every emitted timestamp takes: `2026-05-01T10:11:12Z` (fractions only when present).
pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Normalizes an optional API timestamp; `None` when absent, empty or unparsable.
pub fn normalize(text: Option<&str>) -> Option<String> {
    stamp(text).map(|(_, text)| text)
}

/// An optional API timestamp as an instant and in the output form, from one parse; `None`
/// when absent, empty or unparsable.
pub fn stamp(text: Option<&str>) -> Option<(DateTime<Utc>, String)> {
    let text = text?;
    if let Some(at) = canonical(text) {
        return Some((at, text.to_string()));
    }
    parse_lenient(text).map(|at| (at, format(at)))
}

/// The instant of a timestamp already in the output form (`2026-05-01T10:11:12Z` or with
/// milliseconds): then normalizing is a copy. Checked byte by byte: most API timestamps take
/// this path.
fn canonical(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r.clone())?.iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let millis = match b.len() {
        20 if b[19] == b'Z' => 0,
        24 if b[19] == b'.' && b[23] == b'Z' => num(20..23).filter(|ms| *ms != 0)?,
        _ => return None,
    };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, m, d, h, mi, sec) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    NaiveDate::from_ymd_opt(y as i32, m, d)?.and_hms_milli_opt(h, mi, sec, millis).filter(|_| sec < 60).map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_shapes_the_api_uses() {
        let cases = [
            ("2023-10-11T12:34:56Z", "2023-10-11T12:34:56Z"),
            ("2023-10-11T12:34:56.789Z", "2023-10-11T12:34:56.789Z"),
            ("2023-10-11T14:34:56+02:00", "2023-10-11T12:34:56Z"),
            ("2023-10-11T12:34Z", "2023-10-11T12:34:00Z"),
            ("2023-10-11T12:34:56", "2023-10-11T12:34:56Z"),
            ("2023-10-11", "2023-10-11T00:00:00Z"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(Some(input)).as_deref(), Some(want), "{input}");
        }
        // The fast path keeps canonical text as is, and refuses what is not a real time.
        let at = stamp(Some("2026-05-01T10:11:12.345Z")).unwrap().0;
        assert_eq!(at, parse_lenient("2026-05-01T10:11:12.345Z").unwrap(), "its instant is the parsed one");
        assert_eq!(normalize(Some("2026-05-01T10:11:12.345Z")).as_deref(), Some("2026-05-01T10:11:12.345Z"));
        assert_eq!(normalize(Some("2026-05-01T10:11:12.000Z")).as_deref(), Some("2026-05-01T10:11:12Z"));
        for bad in ["", "  ", "yesterday", "2023-13-45", "2023-02-30T10:00:00Z", "2023-01-01T24:00:00Z", "2023-01-01T10:00:00.12xZ"] {
            assert_eq!(normalize(Some(bad)), None, "{bad}");
        }
    }
}
