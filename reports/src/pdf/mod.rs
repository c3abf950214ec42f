//! PDF writers: the mission report and the organisation summary, to any `Write`.
//!
//! Embedded `DejaVu Sans` with a CJK fallback, subset to the glyphs used ([`fonts`]), A4,
//! multi-page with "Page i of n". Charts and the map
//! are drawn with plotters into bitmaps and embedded as PNG images.

pub mod charts;
pub mod fonts;
pub mod layout;

use crate::error::ReportError;
use crate::format;
use crate::missed::MissedRuns;
use crate::mission::{DataIssue, EventKind, MissionReport, Verdict};
use crate::summary::{OrgReport, OrgSummary, SiteSummary, Totals};
use charts::{PALETTE, PX_PER_PT};
use layout::{ACCENT, CONTENT_W_PT, GOOD, INK, Layout, MARGIN_PT, MUTED, PAGE_W_PT, WARN};
use std::io::Write;

const MISSION_WHAT: &str = "mission PDF";
const ORG_WHAT: &str = "organisation PDF";

fn px(pt: f32) -> u32 {
    (pt * PX_PER_PT).round() as u32
}

/// The coloured band at the top of the first page. The title wraps to two lines and the
/// subtitle to two, each shortened with an ellipsis past that; the band grows to fit.
fn title_band(l: &mut Layout, kicker: &str, title: &str, subtitle: &str) {
    let title_lines = l.fit(title, 20.0, true, CONTENT_W_PT, 2);
    let sub_lines = l.fit(subtitle, 9.5, false, CONTENT_W_PT, 2);
    let extra = 24.0 * (title_lines.len().saturating_sub(1) as f32)
        + 12.0 * (sub_lines.len().saturating_sub(1) as f32);
    let h = 64.0 + extra;
    l.fill_rect(0.0, 0.0, PAGE_W_PT, h + MARGIN_PT - 10.0, ACCENT);
    l.text_at(
        MARGIN_PT,
        MARGIN_PT + 4.0,
        9.0,
        true,
        (0.78, 0.86, 0.95),
        kicker,
    );
    let mut y = MARGIN_PT + 28.0;
    for line in &title_lines {
        l.text_at(MARGIN_PT, y, 20.0, true, (1.0, 1.0, 1.0), line);
        y += 24.0;
    }
    y += 16.0 - 24.0;
    for line in &sub_lines {
        l.text_at(MARGIN_PT, y, 9.5, false, (0.88, 0.92, 0.97), line);
        y += 12.0;
    }
    l.y = h + MARGIN_PT + 4.0;
}

fn opt_or(v: Option<String>, why: &str) -> String {
    v.unwrap_or_else(|| format!("n/a ({why})"))
}

// --- mission ----------------------------------------------------------------------------

/// The "why missing" phrase for flight figures.
fn missing_reason(r: &MissionReport) -> &'static str {
    if r.samples.is_empty() {
        "no telemetry"
    } else {
        "not measurable"
    }
}

/// The summary table rows of a mission report, as `(label, value)` pairs. Shared with the
/// CLI's text output.
pub fn mission_summary_pairs(r: &MissionReport) -> Vec<(&'static str, String)> {
    let tz = r.context.timezone;
    let why = missing_reason(r);
    let pct = |v: Option<f64>| v.map_or_else(String::new, |p| format!(" = {p:.1} % of the area"));
    vec![
        (
            "Start (site time)",
            opt_or(r.start.map(|t| format::local_time(t, tz)), why),
        ),
        ("Start (UTC)", opt_or(r.start.map(format::utc_time), why)),
        (
            "End (site time)",
            opt_or(r.end.map(|t| format::local_time(t, tz)), why),
        ),
        ("End (UTC)", opt_or(r.end.map(format::utc_time), why)),
        ("Duration", opt_or(r.duration_s.map(format::duration), why)),
        (
            "Distance flown",
            opt_or(r.distance_m.map(format::distance), why),
        ),
        (
            "Survey area",
            opt_or(r.survey_area_m2.map(format::area), "no survey polygon"),
        ),
        (
            "Area covered",
            opt_or(
                r.covered_area_m2
                    .map(|a| format!("{}{}", format::area(a), pct(r.coverage_pct))),
                why,
            ),
        ),
        (
            "Photos (estimated)",
            opt_or(
                r.photos
                    .map(|p| format!("{p} (one every {:.1} m)", r.trigger_spacing_m)),
                why,
            ),
        ),
        (
            "Camera footprint",
            opt_or(
                r.footprint_width_m
                    .map(|w| format!("{w:.1} m across the track")),
                "never at survey altitude",
            ),
        ),
        (
            "Battery used",
            opt_or(
                r.battery_used_pct
                    .zip(r.battery_start_pct.zip(r.battery_end_pct))
                    .map(|(u, (a, b))| format!("{u:.1} % ({a:.1} % to {b:.1} %)")),
                why,
            ),
        ),
        (
            "Max altitude",
            opt_or(
                r.max_alt_rel_m.map(|a| {
                    // A terrain-following mission plans its height over the ground.
                    let over = if r.flown_agl.is_some() {
                        " over the ground"
                    } else {
                        ""
                    };
                    format!(
                        "{a:.1} m above takeoff (planned {:.1} m{over})",
                        r.planned_alt_m
                    )
                }),
                why,
            ),
        ),
        (
            "Max speed",
            opt_or(r.max_speed_mps.map(|s| format!("{s:.1} m/s")), why),
        ),
        (
            "Cross-track error",
            opt_or(
                r.cross_track_mean_m
                    .zip(r.cross_track_max_m)
                    .map(|(m, x)| format!("mean {m:.2} m, max {x:.2} m")),
                why,
            ),
        ),
        (
            "Pauses / resumes",
            format!(
                "{} / {}",
                r.count(EventKind::Paused),
                r.count(EventKind::Resumed)
            ),
        ),
        (
            "Aborts / RTH / alerts",
            format!(
                "{} / {} / {}",
                r.count(EventKind::Aborted),
                r.count(EventKind::ReturnToLaunch),
                r.count(EventKind::Alert)
            ),
        ),
        (
            "Forecast at start",
            r.weather.forecast.as_ref().map_or_else(
                || "not recorded".to_owned(),
                aviary_core::weather_log::StartForecast::line,
            ),
        ),
        (
            "Wind measured",
            r.weather.measured.as_ref().map_or_else(
                || "not reported by the autopilot".to_owned(),
                aviary_core::weather_log::MeasuredWind::line,
            ),
        ),
        ("Telemetry samples", r.samples.len().to_string()),
        ("Mission status", r.status.to_string()),
    ]
}

/// A figure of the planned-vs-actual table in its unit.
fn figure(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(
        || "n/a".to_owned(),
        |v| match unit {
            "m" => format::distance(v),
            "s" => format::duration(v),
            "m²" => format::area(v),
            "photos" => format!("{v:.0}"),
            "%" => format!("{v:.1} %"),
            _ => format!("{v:.1} {unit}"),
        },
    )
}

/// The planned-vs-actual table; a row past [`crate::planned::FLAG_PCT`] says "(check)".
fn planned_table(l: &mut Layout, r: &MissionReport) {
    let rows: Vec<Vec<String>> = r
        .planned_vs_actual
        .iter()
        .map(|c| {
            vec![
                c.what.to_owned(),
                figure(c.planned, c.unit),
                figure(c.actual, c.unit),
                c.difference_text(),
            ]
        })
        .collect();
    l.table(
        Some(&["Figure", "Planned", "Actual", "Difference"]),
        &rows,
        &[130.0, 130.0, 130.0, CONTENT_W_PT - 390.0],
        8.5,
    );
}

/// One time-series chart: what, caption, y label, colour, value.
type ChartSpec = (
    &'static str,
    &'static str,
    &'static str,
    plotters::style::RGBColor,
    fn(&aviary_core::TelemetrySample) -> f64,
);

/// Splits the samples at gaps into `(minutes since start, value)` runs.
fn series(
    r: &MissionReport,
    value: impl Fn(&aviary_core::TelemetrySample) -> f64,
) -> Vec<Vec<(f64, f64)>> {
    let Some(t0) = r.start else { return Vec::new() };
    let gap_ends: std::collections::HashSet<_> = r
        .issues
        .iter()
        .filter_map(|i| {
            if let DataIssue::Gap { to, .. } = i {
                Some(*to)
            } else {
                None
            }
        })
        .collect();
    let mut out = vec![Vec::with_capacity(r.samples.len())];
    for s in &r.samples {
        if gap_ends.contains(&s.time) {
            out.push(Vec::new());
        }
        let x = (s.time - t0).num_milliseconds() as f64 / 60_000.0;
        if let Some(run) = out.last_mut() {
            run.push((x, value(s)));
        }
    }
    out
}

/// Writes the mission report PDF to `w`; returns the number of pages.
pub fn write_mission_pdf<W: Write>(w: &mut W, r: &MissionReport) -> Result<usize, ReportError> {
    let tz = r.context.timezone;
    let mut l = Layout::new(
        &format!("Mission report: {}", r.mission_name),
        &format!("Aviary mission report - {}", r.mission_name),
    )?;
    let drone = r
        .context
        .drone_label
        .clone()
        .unwrap_or_else(|| "no drone assigned".to_owned());
    title_band(
        &mut l,
        "AVIARY  MISSION REPORT",
        &r.mission_name,
        &format!(
            "Site {} ({}) - drone {} - mission {}",
            r.context.site_name,
            tz.name(),
            drone,
            r.mission_id
        ),
    );

    let (color, verdict) = match r.verdict {
        Verdict::Completed => (GOOD, r.verdict.label()),
        _ => (WARN, r.verdict.label()),
    };
    l.y += 22.0;
    l.text_at(
        MARGIN_PT,
        l.y,
        15.0,
        true,
        color,
        &format!("Verdict: {verdict}"),
    );
    l.y += 4.0;
    for line in r.issue_lines() {
        l.paragraph(&format!("! {line}"), 9.5, WARN);
    }

    l.heading("Summary");
    let pairs = mission_summary_pairs(r);
    let rows: Vec<Vec<String>> = pairs
        .chunks(2)
        .map(|c| {
            let mut row = vec![c[0].0.to_owned(), c[0].1.clone()];
            if let Some((k, v)) = c.get(1) {
                row.extend([(*k).to_owned(), v.clone()]);
            }
            row
        })
        .collect();
    // Wide enough for the longest key ("Aborts / RTH / alerts") on one line in DejaVu Sans Bold.
    let kw = 118.0;
    l.table(
        None,
        &rows,
        &[kw, CONTENT_W_PT / 2.0 - kw, kw, CONTENT_W_PT / 2.0 - kw],
        8.5,
    );

    l.heading("Planned vs actual");
    planned_table(&mut l, r);

    // The map's heading goes with the map: a new page unless the smallest map fits here.
    l.ensure(290.0);
    l.heading("Map");
    let map_h = l.remaining_pt().clamp(240.0, 400.0) - 12.0;
    l.image(
        "mission map",
        charts::mission_map(r, px(CONTENT_W_PT), px(map_h))?,
    )?;

    // The charts follow the map on its page when they fit (each image breaks the page
    // itself), so no page is left half empty.
    l.heading("Flight data");
    if r.samples.is_empty() {
        l.paragraph(
            "No telemetry is stored for this mission, so there are no charts.",
            10.0,
            WARN,
        );
    } else {
        let start = r
            .start
            .map(|t| format::local_time(t, tz))
            .unwrap_or_default();
        let chart_h = 150.0;
        let charts: [ChartSpec; 3] = [
            (
                "altitude chart",
                "Altitude above takeoff",
                "altitude (m)",
                PALETTE[0],
                |s| s.alt_rel_m,
            ),
            (
                "speed chart",
                "Ground speed",
                "speed (m/s)",
                PALETTE[1],
                |s| s.speed_mps,
            ),
            ("battery chart", "Battery", "battery (%)", PALETTE[2], |s| {
                s.battery_pct
            }),
        ];
        for (what, caption, y_label, color, f) in charts {
            let bmp = charts::time_series(
                what,
                caption,
                y_label,
                &series(r, f),
                color,
                px(CONTENT_W_PT),
                px(chart_h),
            )?;
            l.image(what, bmp)?;
        }
        l.paragraph(&format!("Time axis: minutes since the first sample at {start}. Gaps in telemetry are left blank."), 8.5, MUTED);
    }

    l.heading("Events");
    if r.events.is_empty() {
        l.paragraph(
            "No pause, resume, abort, return-to-launch or alert was recorded for this mission.",
            9.5,
            INK,
        );
    } else {
        let rows: Vec<Vec<String>> = r
            .events
            .iter()
            .map(|e| {
                vec![
                    format::local_clock(e.time, tz),
                    format::utc_time(e.time),
                    e.kind.label().to_owned(),
                    e.sentence(),
                ]
            })
            .collect();
        l.table(
            Some(&["Site time", "UTC", "Event", "Detail"]),
            &rows,
            &[62.0, 118.0, 90.0, CONTENT_W_PT - 270.0],
            8.5,
        );
    }
    if !r.commands.is_empty() {
        l.heading("Commands sent");
        let rows: Vec<Vec<String>> = r
            .commands
            .iter()
            .map(|c| {
                let answered = c.answered_at.map_or_else(
                    || "no answer yet".to_owned(),
                    |a| {
                        format!(
                            "{} (+{:.1} s)",
                            format::local_clock(a, tz),
                            (a - c.sent_at).num_milliseconds() as f64 / 1000.0
                        )
                    },
                );
                vec![
                    format::local_clock(c.sent_at, tz),
                    c.action.clone(),
                    c.status.clone(),
                    answered,
                    c.detail.clone(),
                ]
            })
            .collect();
        l.table(
            Some(&["Sent (site)", "Action", "Outcome", "Answered", "Detail"]),
            &rows,
            &[62.0, 90.0, 70.0, 90.0, CONTENT_W_PT - 312.0],
            8.5,
        );
    }

    l.heading("Data quality");
    if r.issues.is_empty() {
        l.paragraph(
            &format!(
                "{} telemetry samples, in order, no duplicates, no gaps.",
                r.samples.len()
            ),
            9.5,
            INK,
        );
    } else {
        for line in r.issue_lines() {
            l.paragraph(&format!("- {line}"), 9.5, INK);
        }
    }
    l.heading("Method");
    l.paragraph(
        "All figures come from the stored telemetry; the plan is used only as the reference. Distance sums the \
         great-circle steps between samples (a gap is bridged by a straight line). Area covered is the part of the survey \
         polygon swept by the camera footprint along the track flown at survey altitude (at least 80 % of the planned \
         altitude), measured on a grid of 1/48 of the footprint width; telemetry gaps are not counted as covered. The footprint assumes a 13.2 x 8.8 mm \
         sensor behind an 8.8 mm lens. Photos are the distance flown at survey altitude divided by the trigger spacing. \
         Cross-track deviation is each surveying sample's distance to the planned path.",
        8.5,
        MUTED,
    );
    l.finish(w, MISSION_WHAT)
}

// --- organisation -----------------------------------------------------------------------

fn totals_rows(t: &Totals) -> Vec<Vec<String>> {
    let by_status = t
        .by_status
        .nonzero()
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut rows = vec![
        vec!["Missions".to_owned(), t.missions.to_string()],
        vec![
            "By status".to_owned(),
            if by_status.is_empty() {
                "none".to_owned()
            } else {
                by_status
            },
        ],
        vec![
            "Flight time".to_owned(),
            format!(
                "{} ({})",
                format::hours(t.flight_s),
                format::duration(t.flight_s)
            ),
        ],
        vec!["Distance flown".to_owned(), format::distance(t.distance_m)],
        vec!["Area covered".to_owned(), format::area(t.covered_area_m2)],
        vec![
            "Success rate".to_owned(),
            t.success_rate_pct().map_or_else(
                || "n/a (no mission ended)".to_owned(),
                |p| format!("{p:.1} % of ended missions completed"),
            ),
        ],
    ];
    if t.flown_without_telemetry > 0 {
        rows.push(vec![
            "Missing telemetry".to_owned(),
            format!(
                "{} flown {} no telemetry; {} time, distance and area are not in the sums",
                t.flown_without_telemetry,
                if t.flown_without_telemetry == 1 {
                    "mission has"
                } else {
                    "missions have"
                },
                if t.flown_without_telemetry == 1 {
                    "its"
                } else {
                    "their"
                }
            ),
        ]);
    }
    rows
}

/// The battery health chart of a site's drones, when any drone has a battery cycle.
fn battery_chart(l: &mut Layout, s: &SiteSummary) -> Result<(), ReportError> {
    let t0 = s
        .drones
        .iter()
        .filter_map(|d| d.battery.first().map(|p| p.time))
        .min();
    if let Some(t0) = t0 {
        let series: Vec<(String, Vec<(f64, f64)>)> = s
            .drones
            .iter()
            .filter(|d| !d.battery.is_empty())
            .map(|d| {
                let pts = d
                    .battery
                    .iter()
                    .map(|p| {
                        (
                            (p.time - t0).num_seconds() as f64 / 86_400.0,
                            p.endurance_min,
                        )
                    })
                    .collect();
                (d.serial.clone(), pts)
            })
            .collect();
        let caption = "Battery health: flight minutes per full charge, per cycle";
        let x_label = format!(
            "days since {}",
            t0.with_timezone(&s.timezone).format("%Y-%m-%d")
        );
        l.image(
            "battery trend chart",
            charts::multi_series(
                "battery trend chart",
                caption,
                &x_label,
                "minutes per 100 %",
                &series,
                px(CONTENT_W_PT),
                px(190.0),
            )?,
        )?;
    }
    Ok(())
}

fn site_page(
    l: &mut Layout,
    s: &SiteSummary,
    grouping: crate::summary::Grouping,
) -> Result<(), ReportError> {
    l.new_page();
    l.heading(&format!("Site: {} ({})", s.name, s.timezone.name()));
    l.table(
        None,
        &totals_rows(&s.totals),
        &[110.0, CONTENT_W_PT - 110.0],
        9.0,
    );
    if s.totals.missions == 0 || s.buckets.is_empty() {
        l.paragraph("No missions at this site in the period.", 9.5, INK);
    } else {
        let hours: Vec<(String, f64)> = s
            .buckets
            .iter()
            .map(|b| (b.label.clone(), b.totals.flight_s / 3600.0))
            .collect();
        let count: Vec<(String, u32)> = s
            .buckets
            .iter()
            .map(|b| (b.label.clone(), b.totals.missions))
            .collect();
        let h = 130.0;
        l.image(
            "flight hours chart",
            charts::bars(
                "flight hours chart",
                &format!("Flight hours per {}", grouping.as_str()),
                "hours",
                &hours,
                PALETTE[0],
                px(CONTENT_W_PT),
                px(h),
            )?,
        )?;
        l.image(
            "missions chart",
            charts::count_bars(
                "missions chart",
                &format!("Missions per {}", grouping.as_str()),
                "missions",
                &count,
                PALETTE[1],
                px(CONTENT_W_PT),
                px(h),
            )?,
        )?;
        // The charts stay together above the tables, which flow onto the next pages.
        battery_chart(l, s)?;
        let rows: Vec<Vec<String>> = s
            .buckets
            .iter()
            .map(|b| {
                let t = &b.totals;
                vec![
                    b.label.clone(),
                    t.missions.to_string(),
                    t.by_status
                        .get(aviary_core::MissionStatus::Completed)
                        .to_string(),
                    (t.by_status.get(aviary_core::MissionStatus::Aborted)
                        + t.by_status.get(aviary_core::MissionStatus::Failed))
                    .to_string(),
                    t.success_rate_pct()
                        .map_or_else(|| "-".to_owned(), |p| format!("{p:.0} %")),
                    format!("{:.1}", t.flight_s / 3600.0),
                    format::distance(t.distance_m),
                    format!("{:.2}", t.covered_area_m2 / 10_000.0),
                ]
            })
            .collect();
        l.heading(&format!("Per {} (site local time)", grouping.as_str()));
        l.table(
            Some(&[
                "Period",
                "Missions",
                "Completed",
                "Aborted/failed",
                "Success",
                "Flight h",
                "Distance",
                "Area ha",
            ]),
            &rows,
            &[
                75.0,
                55.0,
                62.0,
                80.0,
                55.0,
                55.0,
                65.0,
                CONTENT_W_PT - 447.0,
            ],
            8.5,
        );
    }
    l.heading("Drones");
    if s.drones.is_empty() {
        l.paragraph("No drones registered at or flying for this site.", 9.5, INK);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = s
        .drones
        .iter()
        .map(|d| {
            vec![
                d.serial.clone(),
                d.status
                    .map_or_else(|| "unregistered".to_owned(), |s| s.to_string()),
                d.missions.to_string(),
                format!("{:.1}", d.flight_s / 3600.0),
                format!("{:.2} %", d.utilisation_pct),
                d.endurance_change_pct.map_or_else(
                    || {
                        format!(
                            "n/a ({} {})",
                            d.battery.len(),
                            if d.battery.len() == 1 {
                                "cycle"
                            } else {
                                "cycles"
                            }
                        )
                    },
                    |c| format!("{c:+.1} % over {} cycles", d.battery.len()),
                ),
                if d.maintenance.is_empty() {
                    "-".to_owned()
                } else {
                    d.maintenance
                        .iter()
                        .map(crate::summary::MaintenanceReason::describe)
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            ]
        })
        .collect();
    l.table(
        Some(&[
            "Drone",
            "Status",
            "Missions",
            "Flight h",
            "Utilisation",
            "Endurance trend",
            "Maintenance",
        ]),
        &rows,
        &[80.0, 62.0, 48.0, 45.0, 58.0, 92.0, CONTENT_W_PT - 385.0],
        8.0,
    );
    Ok(())
}

/// Writes the organisation summary PDF to `w`: totals, sites, maintenance, then one or more
/// pages per site with charts. Returns the number of pages.
pub fn write_org_pdf<W: Write>(
    w: &mut W,
    org_name: &str,
    s: &OrgSummary,
    missed: &MissedRuns,
) -> Result<usize, ReportError> {
    let period = format!(
        "{} to {} (UTC)",
        s.from.format("%Y-%m-%d %H:%M"),
        s.to.format("%Y-%m-%d %H:%M")
    );
    let mut l = Layout::new(
        &format!("Organisation report: {org_name}"),
        &format!("Aviary organisation report - {org_name} - {period}"),
    )?;
    title_band(
        &mut l,
        "AVIARY  ORGANISATION REPORT",
        org_name,
        &format!(
            "Period {period}; grouped by {} in each site's local time",
            s.grouping.as_str()
        ),
    );
    l.heading("Totals");
    l.table(
        None,
        &totals_rows(&s.totals),
        &[110.0, CONTENT_W_PT - 110.0],
        9.0,
    );
    if s.unknown_site_missions > 0 {
        l.paragraph(&format!("{} missions belong to sites that are not in the store; they are in the totals only.", s.unknown_site_missions), 9.0, WARN);
    }
    l.heading("Sites");
    let rows: Vec<Vec<String>> = s
        .sites
        .iter()
        .map(|x| {
            let t = &x.totals;
            vec![
                x.name.clone(),
                x.timezone.name().to_owned(),
                t.missions.to_string(),
                t.success_rate_pct()
                    .map_or_else(|| "-".to_owned(), |p| format!("{p:.0} %")),
                format!("{:.1}", t.flight_s / 3600.0),
                format::distance(t.distance_m),
                format!("{:.2}", t.covered_area_m2 / 10_000.0),
                x.drones.len().to_string(),
            ]
        })
        .collect();
    l.table(
        Some(&[
            "Site",
            "Time zone",
            "Missions",
            "Success",
            "Flight h",
            "Distance",
            "Area ha",
            "Drones",
        ]),
        &rows,
        &[
            110.0,
            100.0,
            52.0,
            52.0,
            50.0,
            60.0,
            45.0,
            CONTENT_W_PT - 469.0,
        ],
        8.5,
    );
    missed_runs_table(&mut l, missed);
    l.heading("Drones due for maintenance");
    let due = s.maintenance_due();
    if due.is_empty() {
        l.paragraph("No drone is due for maintenance.", 9.5, INK);
    } else {
        let rows: Vec<Vec<String>> = due
            .iter()
            .map(|(site, d)| {
                vec![
                    (*site).to_owned(),
                    d.serial.clone(),
                    d.maintenance
                        .iter()
                        .map(crate::summary::MaintenanceReason::describe)
                        .collect::<Vec<_>>()
                        .join("; "),
                ]
            })
            .collect();
        l.table(
            Some(&["Site", "Drone", "Why"]),
            &rows,
            &[120.0, 110.0, CONTENT_W_PT - 230.0],
            8.5,
        );
    }
    for site in &s.sites {
        site_page(&mut l, site, s.grouping)?;
        site_missed_runs(&mut l, missed.site(site.site_id));
    }
    l.finish(w, ORG_WHAT)
}

/// The organisation page's "Missed scheduled runs": per site, how many and why.
fn missed_runs_table(l: &mut Layout, missed: &MissedRuns) {
    l.heading("Missed scheduled runs");
    if missed.total() == 0 {
        l.paragraph("No scheduled run was missed in the period.", 9.5, INK);
        return;
    }
    let rows: Vec<Vec<String>> = missed
        .sites
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.runs.len().to_string(),
                if s.runs.is_empty() {
                    "-".to_owned()
                } else {
                    s.reasons_text()
                },
            ]
        })
        .collect();
    l.table(
        Some(&["Site", "Missed", "Runs per reason"]),
        &rows,
        &[120.0, 52.0, CONTENT_W_PT - 172.0],
        8.5,
    );
}

/// A site page's list of its missed runs, each with every reason.
fn site_missed_runs(l: &mut Layout, missed: Option<&crate::missed::SiteMissedRuns>) {
    let Some(m) = missed.filter(|m| !m.runs.is_empty()) else {
        return;
    };
    l.heading(&format!("Missed scheduled runs: {}", m.runs.len()));
    let rows: Vec<Vec<String>> = m
        .runs
        .iter()
        .map(|r| vec![r.due_local.clone(), r.mission.clone(), r.reasons_text()])
        .collect();
    l.table(
        Some(&["Due (local)", "Mission", "Why"]),
        &rows,
        &[110.0, 130.0, CONTENT_W_PT - 240.0],
        8.5,
    );
}

impl OrgReport {
    /// Writes the summary as PDF; returns the number of pages.
    pub fn write_pdf<W: std::io::Write>(&self, w: &mut W) -> Result<usize, ReportError> {
        write_org_pdf(w, &self.org_name, &self.summary, &self.missed_runs)
    }
}
