//! CSV writers to any [`Write`]: mission summary rows, the mission history, and raw
//! telemetry (one row per sample, ISO-8601 UTC times, units in the headers).
//!
//! Missing figures are empty cells, never zeros; the `data_issues` column says why.

use crate::error::ReportError;
use crate::format;
use crate::mission::MissionReport;
use crate::summary::{MissionRecord, OrgReport};
use aviary_core::{DroneId, MissionId, TelemetrySample};
use chrono::{DateTime, Datelike, Timelike, Utc};
use std::fmt::Write as _;
use std::io::Write;

const SUMMARY_WHAT: &str = "mission summary CSV";
const TELEMETRY_WHAT: &str = "telemetry CSV";
const HISTORY_WHAT: &str = "mission history CSV";

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(String::new, |v| format!("{v:.decimals$}"))
}

fn opt_time(v: Option<DateTime<Utc>>) -> String {
    v.map_or_else(String::new, crate::format::iso_utc)
}

/// The planned figure `what` of `r`'s planned-vs-actual rows, empty when unknown.
fn planned(r: &MissionReport, what: &str, decimals: usize) -> String {
    opt(
        r.planned_vs_actual
            .iter()
            .find(|c| c.what == what)
            .and_then(|c| c.planned),
        decimals,
    )
}

/// Header of [`write_mission_summaries`].
pub const SUMMARY_HEADER: [&str; 36] = [
    "mission_id",
    "mission_name",
    "site",
    "drone",
    "status",
    "verdict",
    "start_utc",
    "end_utc",
    "start_local",
    "timezone",
    "duration_s",
    "distance_m",
    "survey_area_m2",
    "covered_area_m2",
    "coverage_pct",
    "photos",
    "battery_used_pct",
    "max_alt_rel_m",
    "max_speed_mps",
    "cross_track_mean_m",
    "cross_track_max_m",
    "pauses",
    "alerts",
    "data_issues",
    "events",
    "planned_distance_m",
    "planned_duration_s",
    "planned_speed_mps",
    "mean_survey_speed_mps",
    "planned_photos",
    "planned_battery_used_pct",
    "forecast_at_start",
    "wind_measured",
    "planned_agl_m",
    "mean_agl_m",
    "min_agl_m",
];

/// Writes one summary row per report, with a header.
pub fn write_mission_summaries<W: Write>(
    w: W,
    reports: &[&MissionReport],
) -> Result<(), ReportError> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(SUMMARY_HEADER)
        .map_err(ReportError::csv(SUMMARY_WHAT))?;
    for r in reports {
        let tz = r.context.timezone;
        out.write_record([
            r.mission_id.to_string(),
            r.mission_name.clone(),
            r.context.site_name.clone(),
            r.context.drone_label.clone().unwrap_or_default(),
            r.status.as_str().to_owned(),
            r.verdict.label(),
            opt_time(r.start),
            opt_time(r.end),
            r.start
                .map_or_else(String::new, |t| t.with_timezone(&tz).to_rfc3339()),
            tz.name().to_owned(),
            opt(r.duration_s, 1),
            opt(r.distance_m, 1),
            opt(r.survey_area_m2, 1),
            opt(r.covered_area_m2, 1),
            opt(r.coverage_pct, 2),
            r.photos.map_or_else(String::new, |p| p.to_string()),
            opt(r.battery_used_pct, 1),
            opt(r.max_alt_rel_m, 1),
            opt(r.max_speed_mps, 2),
            opt(r.cross_track_mean_m, 2),
            opt(r.cross_track_max_m, 2),
            r.count(crate::mission::EventKind::Paused).to_string(),
            r.count(crate::mission::EventKind::Alert).to_string(),
            r.issue_lines().join("; "),
            r.events
                .iter()
                .map(|e| format!("{} {}", format::iso_utc(e.time), e.sentence()))
                .collect::<Vec<_>>()
                .join(" | "),
            planned(r, "Distance", 1),
            planned(r, "Duration", 1),
            planned(r, "Speed (surveying)", 2),
            opt(
                r.planned_vs_actual
                    .iter()
                    .find(|c| c.what == "Speed (surveying)")
                    .and_then(|c| c.actual),
                2,
            ),
            planned(r, "Photos", 0),
            planned(r, "Battery used", 1),
            r.weather
                .forecast
                .as_ref()
                .map_or_else(String::new, aviary_core::weather_log::StartForecast::line),
            r.weather
                .measured
                .as_ref()
                .map_or_else(String::new, aviary_core::weather_log::MeasuredWind::line),
            // A terrain-following mission's height above the ground, planned and flown
            // (empty for a mission flown above home).
            planned(r, "Height above ground (mean)", 1),
            opt(r.flown_agl.map(|a| a.mean_m), 1),
            opt(r.flown_agl.map(|a| a.min_m), 1),
        ])
        .map_err(ReportError::csv(SUMMARY_WHAT))?;
    }
    out.flush().map_err(ReportError::write(SUMMARY_WHAT))
}

/// Header of [`write_history`]. `start_local` and `end_local` are ISO 8601 with the site's
/// offset; `timezone` is the site's IANA zone and `utc_offset` its offset at the start (or
/// the end, or the creation of a mission never flown), as `+08:00`.
pub const HISTORY_HEADER: [&str; 16] = [
    "mission_id",
    "mission_name",
    "site",
    "drone",
    "status",
    "start_utc",
    "end_utc",
    "start_local",
    "end_local",
    "timezone",
    "utc_offset",
    "flight_s",
    "distance_m",
    "covered_area_m2",
    "battery_used_pct",
    "telemetry",
];

/// Writes the mission history (one row per record); `site` resolves a record's site to its
/// name and time zone (`None` for a site not in the store: the local columns stay empty),
/// `drone_name` its drone to a name.
pub fn write_history<W: Write>(
    w: W,
    records: &[&MissionRecord],
    site: impl Fn(&MissionRecord) -> (String, Option<chrono_tz::Tz>),
    drone_name: impl Fn(&MissionRecord) -> String,
) -> Result<(), ReportError> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(HISTORY_HEADER)
        .map_err(ReportError::csv(HISTORY_WHAT))?;
    for r in records {
        let telemetry = if !r.was_flown() {
            "not flown"
        } else if r.flight_s.is_some() {
            "yes"
        } else {
            "missing"
        };
        let (site_name, tz) = site(r);
        let local = |t: Option<DateTime<Utc>>| match (t, tz) {
            (Some(t), Some(tz)) => t.with_timezone(&tz).to_rfc3339(),
            _ => String::new(),
        };
        let offset = tz.map_or_else(String::new, |tz| {
            let at = r.start.or(r.end).unwrap_or(r.created_at);
            at.with_timezone(&tz).format("%:z").to_string()
        });
        out.write_record([
            r.id.to_string(),
            r.name.clone(),
            site_name,
            drone_name(r),
            r.status.as_str().to_owned(),
            opt_time(r.start),
            opt_time(r.end),
            local(r.start),
            local(r.end),
            tz.map_or_else(String::new, |tz| tz.name().to_owned()),
            offset,
            opt(r.flight_s, 1),
            opt(r.distance_m, 1),
            opt(r.covered_area_m2, 1),
            opt(r.battery_used_pct, 1),
            telemetry.to_owned(),
        ])
        .map_err(ReportError::csv(HISTORY_WHAT))?;
    }
    out.flush().map_err(ReportError::write(HISTORY_WHAT))
}

/// Header of [`write_telemetry`].
pub const TELEMETRY_HEADER: [&str; 11] = [
    "time_utc",
    "mission_id",
    "drone_id",
    "lat_deg",
    "lon_deg",
    "alt_rel_m",
    "speed_mps",
    "heading_deg",
    "battery_pct",
    "signal_pct",
    "status",
];

/// Writes raw telemetry, one row per sample, in the order given.
///
/// Built for a million rows a second: ids are formatted once per change, the time stamp's
/// date and time of day once per second, and numbers into one reused buffer.
pub fn write_telemetry<W: Write>(w: W, samples: &[TelemetrySample]) -> Result<(), ReportError> {
    let mut out = csv::WriterBuilder::new()
        .buffer_capacity(1 << 16)
        .from_writer(w);
    out.write_record(TELEMETRY_HEADER)
        .map_err(ReportError::csv(TELEMETRY_WHAT))?;
    let mut mission_cache: Option<(Option<MissionId>, String)> = None;
    let mut drone_cache: Option<(DroneId, String)> = None;
    let mut second_cache: Option<(i64, String)> = None;
    let mut time = String::with_capacity(32);
    let mut num = String::with_capacity(32);
    let e = ReportError::csv(TELEMETRY_WHAT);
    let mut err = None;
    for s in samples {
        let secs = s.time.timestamp();
        if second_cache.as_ref().is_none_or(|(c, _)| *c != secs) {
            let t = s.time;
            let mut prefix = String::with_capacity(20);
            let _ = write!(
                prefix,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
            second_cache = Some((secs, prefix));
        }
        time.clear();
        if let Some((_, prefix)) = &second_cache {
            time.push_str(prefix);
        }
        let _ = write!(time, "{:03}Z", s.time.timestamp_subsec_millis().min(999));
        if mission_cache
            .as_ref()
            .is_none_or(|(m, _)| *m != s.mission_id)
        {
            mission_cache = Some((
                s.mission_id,
                s.mission_id.map_or_else(String::new, |m| m.to_string()),
            ));
        }
        if drone_cache.as_ref().is_none_or(|(d, _)| *d != s.drone_id) {
            drone_cache = Some((s.drone_id, s.drone_id.to_string()));
        }
        let fields = (|| -> Result<(), csv::Error> {
            out.write_field(&time)?;
            out.write_field(mission_cache.as_ref().map_or("", |(_, m)| m.as_str()))?;
            out.write_field(drone_cache.as_ref().map_or("", |(_, d)| d.as_str()))?;
            for (v, decimals) in [
                (s.pos.lat_deg, 7),
                (s.pos.lon_deg, 7),
                (s.alt_rel_m, 2),
                (s.speed_mps, 2),
                (s.heading_deg, 1),
                (s.battery_pct, 1),
                (s.signal_pct, 0),
            ] {
                num.clear();
                push_fixed(&mut num, v, decimals);
                out.write_field(&num)?;
            }
            out.write_field(s.status.as_str())?;
            out.write_record(None::<&[u8]>)
        })();
        if let Err(x) = fields {
            err = Some(x);
            break;
        }
    }
    if let Some(x) = err {
        return Err(e(x));
    }
    out.flush().map_err(ReportError::write(TELEMETRY_WHAT))
}

/// Appends `v` with exactly `decimals` decimals (as `format!("{v:.decimals$}")` would, up
/// to the last-digit rounding of exact halves), about ten times faster: the telemetry CSV
/// writes seven numbers per row.
fn push_fixed(buf: &mut String, v: f64, decimals: usize) {
    const POW10: [f64; 10] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
    let Some(&scale) = POW10.get(decimals) else {
        let _ = write!(buf, "{v:.decimals$}");
        return;
    };
    let scaled = (v.abs() * scale).round();
    if !scaled.is_finite() || scaled >= 9.0e15 {
        let _ = write!(buf, "{v:.decimals$}");
        return;
    }
    let n = scaled as u64;
    let scale_u = scale as u64;
    if v.is_sign_negative() && n != 0 {
        buf.push('-');
    }
    let _ = write!(buf, "{}", n / scale_u);
    if decimals > 0 {
        buf.push('.');
        let frac = n % scale_u;
        let digits = frac.checked_ilog10().map_or(1, |d| d as usize + 1);
        for _ in digits..decimals {
            buf.push('0');
        }
        let _ = write!(buf, "{frac}");
    }
}

// --- the organisation report's history --------------------------------------------------

impl OrgReport {
    /// Writes the period's missed scheduled runs per site as CSV
    /// ([`crate::missed::write_missed_runs_csv`]).
    pub fn write_missed_runs_csv<W: std::io::Write>(&self, w: W) -> Result<(), ReportError> {
        crate::missed::write_missed_runs_csv(w, &self.missed_runs)
    }

    /// Writes the period's mission history as CSV.
    pub fn write_history_csv<W: std::io::Write>(&self, w: W) -> Result<(), ReportError> {
        let rows: Vec<&MissionRecord> = self.history.iter().collect();
        write_history(
            w,
            &rows,
            |r| {
                (
                    self.site_names
                        .get(&r.site_id)
                        .cloned()
                        .unwrap_or_else(|| r.site_id.to_string()),
                    self.site_timezones.get(&r.site_id).copied(),
                )
            },
            |r| {
                r.drone_id.map_or_else(String::new, |d| {
                    self.drone_names
                        .get(&d)
                        .cloned()
                        .unwrap_or_else(|| d.to_string())
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixed_formatting_matches_std() {
        for (v, d) in [
            (52.001_234_567_8, 7),
            (-4.35, 7),
            (0.0, 2),
            (-0.001, 2),
            (50.0, 2),
            (359.96, 1),
            (95.0, 0),
            (-122.419_400_1, 7),
            (0.000_000_4, 7),
            (1e20, 2),
        ] {
            let mut s = String::new();
            super::push_fixed(&mut s, v, d);
            let expected = format!("{v:.d$}");
            // std prints "-0.00" for tiny negatives; a CSV reader reads both as zero.
            let expected = if expected
                .trim_start_matches('-')
                .chars()
                .all(|c| c == '0' || c == '.')
            {
                expected.trim_start_matches('-').to_owned()
            } else {
                expected
            };
            assert_eq!(s, expected, "{v} with {d} decimals");
        }
    }

    use super::*;
    use crate::mission::{ReportContext, ReportOptions, analyze};
    use crate::testdata;
    use aviary_core::MissionStatus;

    #[test]
    fn telemetry_rows_have_iso_times_and_units() {
        let (_, samples) = testdata::flown_lawnmower(MissionStatus::Completed, 10.0);
        let mut buf = Vec::new();
        write_telemetry(&mut buf, &samples[..25]).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(buf).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 26);
        assert_eq!(lines[0], TELEMETRY_HEADER.join(","));
        assert!(
            lines[1].starts_with("2026-11-26T13:00:00.000Z,"),
            "{}",
            lines[1]
        );
        assert!(
            lines[12].starts_with("2026-11-26T13:00:01.100Z,"),
            "{}",
            lines[12]
        );
        assert!(lines[1].ends_with(",95,in_mission"), "{}", lines[1]);
    }

    #[test]
    fn summary_leaves_missing_figures_empty() {
        let (mission, _) = testdata::flown_lawnmower(MissionStatus::Completed, 10.0);
        let ctx = ReportContext {
            site_name: "S".into(),
            timezone: chrono_tz::Europe::Amsterdam,
            drone_label: None,
        };
        let r = analyze(
            &mission,
            ctx,
            Vec::new(),
            Vec::new(),
            Vec::new(),
            &ReportOptions::default(),
        );
        let mut buf = Vec::new();
        write_mission_summaries(&mut buf, &[&r]).unwrap_or_else(|e| panic!("{e}"));
        let mut rd = csv::Reader::from_reader(buf.as_slice());
        let row = rd.records().next().and_then(Result::ok).unwrap_or_default();
        assert_eq!(&row[11], "", "distance must be empty, not 0");
        assert!(row[23].contains("no telemetry"), "{:?}", &row[23]);
    }

    #[test]
    fn a_failing_writer_is_an_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "disk full",
                ))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (_, samples) = testdata::flown_lawnmower(MissionStatus::Completed, 10.0);
        let e = write_telemetry(Full, &samples)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("telemetry CSV") && e.contains("disk full"),
            "{e}"
        );
    }
}
