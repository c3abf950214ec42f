//! Human-readable figures shared by the PDF and the CLI. One place, so the PDF, the CSV and
//! the tests agree on how a duration or an area is spelled.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// `3725.0` → `"1 h 02 min 05 s"`; under an hour `"12 min 05 s"`; under a minute `"42 s"`.
pub fn duration(duration_s: f64) -> String {
    if !duration_s.is_finite() || duration_s < 0.0 {
        return "n/a".to_owned();
    }
    let total = duration_s.round() as u64;
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    if h > 0 {
        format!("{h} h {m:02} min {s:02} s")
    } else if m > 0 {
        format!("{m} min {s:02} s")
    } else {
        format!("{s} s")
    }
}

/// Hours with one decimal: `5400.0` → `"1.5 h"`.
pub fn hours(duration_s: f64) -> String {
    format!("{:.1} h", duration_s / 3600.0)
}

/// Square metres without separators plus hectares: `"123456 m² (12.35 ha)"`.
pub fn area(area_m2: f64) -> String {
    format!("{area_m2:.0} m² ({:.2} ha)", area_m2 / 10_000.0)
}

/// Metres under 10 km, otherwise kilometres: `"842 m"`, `"12.34 km"`.
pub fn distance(distance_m: f64) -> String {
    if distance_m < 10_000.0 {
        format!("{distance_m:.0} m")
    } else {
        format!("{:.2} km", distance_m / 1000.0)
    }
}

/// `"2026-11-26 14:02:03 Europe/Amsterdam (UTC+01:00)"` in the given zone: the IANA name and
/// the offset, since many zones' abbreviations are only `+08` (Asia/Singapore).
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    format!(
        "{} {} (UTC{})",
        local.format("%Y-%m-%d %H:%M:%S"),
        tz.name(),
        local.format("%:z")
    )
}

/// `"14:02:03"` in the given zone (for event lists within one day).
pub fn local_clock(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%H:%M:%S").to_string()
}

/// `"2026-11-26 13:02:03 UTC"`.
pub fn utc_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// ISO-8601 UTC with milliseconds: `"2026-11-26T13:02:03.100Z"`.
pub fn iso_utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A value or the reason it is missing: `opt(Some(3.0), |v| ..., "no telemetry")`.
pub fn or_missing<T>(v: Option<T>, f: impl FnOnce(T) -> String, missing: &str) -> String {
    v.map_or_else(|| format!("n/a ({missing})"), f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(3725.0), "1 h 02 min 05 s");
        assert_eq!(duration(725.4), "12 min 05 s");
        assert_eq!(duration(42.0), "42 s");
        assert_eq!(duration(f64::NAN), "n/a");
    }

    #[test]
    fn areas_and_distances() {
        assert_eq!(area(123_456.4), "123456 m² (12.35 ha)");
        assert_eq!(distance(842.2), "842 m");
        assert_eq!(distance(12_345.0), "12.35 km");
        assert_eq!(
            or_missing(None::<f64>, |v| format!("{v}"), "no telemetry"),
            "n/a (no telemetry)"
        );
    }

    #[test]
    fn times_in_zone_and_utc() {
        let t = DateTime::from_timestamp(1_764_162_123, 100_000_000).unwrap_or_default();
        assert_eq!(utc_time(t), "2025-11-26 13:02:03 UTC");
        assert_eq!(
            local_time(t, chrono_tz::Europe::Amsterdam),
            "2025-11-26 14:02:03 Europe/Amsterdam (UTC+01:00)"
        );
        assert_eq!(
            local_time(t, chrono_tz::Asia::Singapore),
            "2025-11-26 21:02:03 Asia/Singapore (UTC+08:00)"
        );
        assert_eq!(iso_utc(t), "2025-11-26T13:02:03.100Z");
    }
}
