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
    text.and_then(parse_lenient).map(format)
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
        for bad in ["", "  ", "yesterday", "2023-13-45"] {
            assert_eq!(normalize(Some(bad)), None, "{bad}");
        }
    }
}
