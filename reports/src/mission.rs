//! The mission report: what a mission actually did, computed from its stored telemetry (the
//! plan is used only as the reference for coverage and cross-track deviation).
//!
//! [`analyze`] is pure: it takes the mission, its context, its samples and its events, and
//! never fails. Bad input becomes a [`DataIssue`] in the report (no telemetry, gaps,
//! out-of-order or duplicate samples, a mission still in progress), and every figure that
//! cannot be measured is `None` and printed with its reason, never as a silent zero.
//! [`load_mission_report`] reads the inputs from the [`Store`].

use crate::coverage::raster_coverage;
use crate::error::ReportError;
use crate::format;
use aviary_core::{
    LatLon, Mission, MissionId, MissionStatus, SurveyArea, TelemetrySample, WaypointAction,
};
use aviary_planner::frame::point_segment_distance_m;
use aviary_planner::{BUILTIN_CAMERAS, Camera, LocalFrame};
use aviary_store::{
    CommandAck, CommandEntry, MissionResult, ResultSource, Store, StoreError, TelemetryRange,
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use geo::{Area, BooleanOps, Coord, LineString, MultiPolygon, Polygon};

// --- inputs -----------------------------------------------------------------------------

/// Tunables of the analysis. [`ReportOptions::default`] is what the app and the CLI use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportOptions {
    /// Camera for the footprint (coverage) and trigger spacing (photos); `None`: the
    /// mission's stored camera (the planner's default camera when it names none).
    pub camera: Option<Camera>,
    /// A pause between samples longer than this is always a gap, seconds.
    pub gap_min_s: f64,
    /// A pause longer than this many median sample intervals is a gap (10 Hz telemetry with
    /// the 2 s floor: anything over 2 s).
    pub gap_factor: f64,
    /// A completed mission that covered less than this share of the survey area is reported
    /// as partial, percent.
    pub completed_min_coverage_pct: f64,
    /// A sample counts as surveying (camera on) when its altitude is at least this fraction
    /// of the planned altitude.
    pub survey_alt_fraction: f64,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            camera: None,
            gap_min_s: 2.0,
            gap_factor: 10.0,
            completed_min_coverage_pct: 95.0,
            survey_alt_fraction: 0.8,
        }
    }
}

/// Names and the time zone the report is written in.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportContext {
    /// Site name.
    pub site_name: String,
    /// Site time zone; local times in the report are in this zone.
    pub timezone: Tz,
    /// Drone label (serial number and model), `None` when no drone was assigned.
    pub drone_label: Option<String>,
}

/// What kind of thing happened during a mission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The mission started.
    Started,
    /// The operator paused it.
    Paused,
    /// The operator resumed it.
    Resumed,
    /// The operator aborted it.
    Aborted,
    /// The drone was sent home (return to launch).
    ReturnToLaunch,
    /// The drone reached the last waypoint.
    Finished,
    /// The mission failed (link lost, battery critical, pause timeout, vehicle fault).
    Failed,
    /// An alert was raised (battery, link, geofence, ...).
    Alert,
    /// Anything else recorded against the mission.
    Other,
}

impl EventKind {
    /// Label used in the PDF and CSV.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Started => "start",
            Self::Paused => "pause",
            Self::Resumed => "resume",
            Self::Aborted => "abort",
            Self::ReturnToLaunch => "return to launch",
            Self::Finished => "finish",
            Self::Failed => "failure",
            Self::Alert => "alert",
            Self::Other => "other",
        }
    }

    /// Classifies an audit-log action (`mission.pause`, `alert.battery_low`, `command.rtl`).
    pub fn from_action(action: &str) -> Self {
        let a = action.to_ascii_lowercase();
        match a.as_str() {
            "mission.start" => Self::Started,
            "mission.pause" => Self::Paused,
            "mission.resume" => Self::Resumed,
            "mission.abort" => Self::Aborted,
            "mission.finish" => Self::Finished,
            "mission.fail" => Self::Failed,
            _ if a.contains("alert") => Self::Alert,
            _ if is_rtl(&a) => Self::ReturnToLaunch,
            _ => Self::Other,
        }
    }
}

fn is_rtl(action_lower: &str) -> bool {
    [
        "rtl",
        "rth",
        "return_to_launch",
        "return-to-launch",
        "return to launch",
        "return_home",
    ]
    .iter()
    .any(|k| action_lower.contains(k))
}

/// Something that happened during a mission, with its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedEvent {
    /// When, UTC.
    pub time: DateTime<Utc>,
    /// What.
    pub kind: EventKind,
    /// The recorded action and detail, as stored.
    pub detail: String,
}

impl TimedEvent {
    /// The event as a sentence ("Mission started; now in progress.").
    pub fn sentence(&self) -> String {
        crate::events::sentence_from_stored(&self.detail)
    }
}

/// A command sent to the drone for this mission, with when it was sent and answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRecord {
    /// Action, e.g. `pause`, `rtl`.
    pub action: String,
    /// Outcome: pending, confirmed, failed.
    pub status: String,
    /// Extra detail.
    pub detail: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// When the drone's answer (or the give-up) was recorded; `None` while pending.
    pub answered_at: Option<DateTime<Utc>>,
}

impl CommandRecord {
    /// The record of a stored command.
    pub fn from_entry(c: CommandEntry) -> Self {
        let answered_at = (c.ack != CommandAck::Pending).then_some(c.updated_at);
        Self {
            action: c.action,
            status: c.ack.as_str().to_owned(),
            detail: c.detail,
            sent_at: c.sent_at,
            answered_at,
        }
    }
}

// --- outputs ----------------------------------------------------------------------------

/// A problem with the input that the reader of the report must know about.
#[derive(Debug, Clone, PartialEq)]
pub enum DataIssue {
    /// Not a single telemetry sample is stored for the mission.
    NoTelemetry,
    /// No sample between `from` and `to`.
    Gap {
        /// Last sample before the gap.
        from: DateTime<Utc>,
        /// First sample after it.
        to: DateTime<Utc>,
    },
    /// Samples arrived out of time order (they were sorted before analysis).
    OutOfOrder {
        /// How many samples were earlier than their predecessor.
        count: usize,
    },
    /// Several samples carried the same time stamp (the first was kept).
    Duplicates {
        /// How many samples were dropped.
        count: usize,
    },
    /// Samples with a non-finite position, altitude, speed or battery (they were dropped).
    InvalidSamples {
        /// How many.
        count: usize,
    },
    /// The mission has not ended; figures cover the telemetry so far.
    InProgress {
        /// Its status.
        status: MissionStatus,
        /// Newest sample, if any.
        last_sample: Option<DateTime<Utc>>,
    },
    /// The mission has no usable survey polygon, so coverage cannot be computed.
    NoSurveyArea,
    /// The mission has fewer than two waypoints, so deviation cannot be computed.
    NoPlannedPath,
    /// The drone never reached survey altitude, so no photos and no coverage.
    NeverAtSurveyAltitude {
        /// Highest altitude seen, metres.
        max_alt_rel_m: f64,
        /// Planned altitude, metres.
        planned_alt_m: f64,
    },
    /// The mission's site is not in the store; times are shown in UTC.
    UnknownSite,
    /// The mission names a camera the planner does not know; the default camera was used.
    UnknownCamera {
        /// The stored name.
        name: String,
    },
}

impl DataIssue {
    /// A sentence for the report, times in `tz`: `"telemetry gap 14:02–14:05 (3 min 00 s)"`.
    pub fn describe(&self, tz: Tz) -> String {
        match self {
            Self::NoTelemetry => {
                "no telemetry stored for this mission: flight figures cannot be computed".to_owned()
            }
            Self::Gap { from, to } => {
                let secs = (*to - *from).num_milliseconds() as f64 / 1000.0;
                let pattern = if secs >= 60.0 { "%H:%M" } else { "%H:%M:%S" };
                format!(
                    "telemetry gap {}–{} ({})",
                    from.with_timezone(&tz).format(pattern),
                    to.with_timezone(&tz).format(pattern),
                    format::duration(secs)
                )
            }
            Self::OutOfOrder { count } => {
                format!("{count} telemetry samples arrived out of order (sorted by time)")
            }
            Self::Duplicates { count } => {
                format!("{count} duplicate telemetry samples (same time stamp) ignored")
            }
            Self::InvalidSamples { count } => {
                format!("{count} telemetry samples with invalid values ignored")
            }
            Self::InProgress {
                status,
                last_sample,
            } => match last_sample {
                Some(t) => format!(
                    "mission is still {status}: figures cover telemetry up to {}",
                    format::local_time(*t, tz)
                ),
                None => format!("mission is still {status} and has no telemetry yet"),
            },
            Self::NoSurveyArea => {
                "mission has no survey polygon: area covered cannot be computed".to_owned()
            }
            Self::NoPlannedPath => {
                "mission has no planned path: deviation cannot be computed".to_owned()
            }
            Self::NeverAtSurveyAltitude {
                max_alt_rel_m,
                planned_alt_m,
            } => format!(
                "drone never reached survey altitude (max {max_alt_rel_m:.1} m of planned {planned_alt_m:.1} m): no photos, no coverage"
            ),
            Self::UnknownSite => "mission's site is not in the store: times are in UTC".to_owned(),
            Self::UnknownCamera { name } => format!(
                "camera {name:?} is not a built-in camera: photos and coverage use the default camera"
            ),
        }
    }
}

/// The overall outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Finished and covered at least [`ReportOptions::completed_min_coverage_pct`].
    Completed,
    /// Finished but covered less of the area.
    Partial {
        /// Share of the survey area covered, percent.
        covered_pct: f64,
    },
    /// Stopped by the operator.
    Aborted {
        /// Share covered before the abort, percent, if measurable.
        covered_pct: Option<f64>,
    },
    /// Failed in flight.
    Failed {
        /// Share covered before the failure, percent, if measurable.
        covered_pct: Option<f64>,
    },
    /// Still flying or paused.
    InProgress,
    /// Never flown (planned or deleted).
    NotFlown,
    /// Marked completed but there is no telemetry to verify it.
    Unverified,
}

impl Verdict {
    /// Short label: `"partial (63.2 % covered)"`.
    pub fn label(&self) -> String {
        // Truncate rather than round: 94.97 % must not read as the 95 % threshold.
        let floor1 = |p: f64| (p * 10.0).floor() / 10.0;
        let pct = |p: Option<f64>| {
            p.map_or_else(String::new, |p| format!(" ({:.1} % covered)", floor1(p)))
        };
        match self {
            Self::Completed => "completed".to_owned(),
            Self::Partial { covered_pct } => {
                format!("partial ({:.1} % covered)", floor1(*covered_pct))
            }
            Self::Aborted { covered_pct } => format!("aborted{}", pct(*covered_pct)),
            Self::Failed { covered_pct } => format!("failed{}", pct(*covered_pct)),
            Self::InProgress => "in progress".to_owned(),
            Self::NotFlown => "not flown".to_owned(),
            Self::Unverified => "completed, not verified (no telemetry)".to_owned(),
        }
    }
}

/// Everything the mission report says.
#[derive(Debug, Clone)]
pub struct MissionReport {
    /// Mission id.
    pub mission_id: MissionId,
    /// Mission name.
    pub mission_name: String,
    /// Lifecycle status as stored.
    pub status: MissionStatus,
    /// Site name, time zone and drone.
    pub context: ReportContext,
    /// First telemetry sample.
    pub start: Option<DateTime<Utc>>,
    /// Last telemetry sample.
    pub end: Option<DateTime<Utc>>,
    /// `end - start`, seconds.
    pub duration_s: Option<f64>,
    /// Length of the flown track, metres (gaps bridged by a straight line).
    pub distance_m: Option<f64>,
    /// Survey polygon area (holes removed), m².
    pub survey_area_m2: Option<f64>,
    /// Survey polygon area swept by the camera footprint along the track flown at survey
    /// altitude (a raster of the footprint, [`crate::coverage`]), m².
    pub covered_area_m2: Option<f64>,
    /// `covered_area_m2 / survey_area_m2`, percent.
    pub coverage_pct: Option<f64>,
    /// Estimated photos: distance flown at survey altitude / trigger spacing.
    pub photos: Option<u64>,
    /// Camera trigger spacing used for `photos`, metres.
    pub trigger_spacing_m: f64,
    /// Camera footprint width across the track used for coverage, metres.
    pub footprint_width_m: Option<f64>,
    /// Battery at the first sample, percent.
    pub battery_start_pct: Option<f64>,
    /// Battery at the last sample, percent.
    pub battery_end_pct: Option<f64>,
    /// `battery_start_pct - battery_end_pct`, percent points.
    pub battery_used_pct: Option<f64>,
    /// Highest altitude above takeoff, metres.
    pub max_alt_rel_m: Option<f64>,
    /// Highest ground speed, m/s.
    pub max_speed_mps: Option<f64>,
    /// Mean distance from the planned path while surveying, metres.
    pub cross_track_mean_m: Option<f64>,
    /// Largest distance from the planned path while surveying, metres.
    pub cross_track_max_m: Option<f64>,
    /// Pauses, resumes, aborts, returns to launch, alerts, in time order.
    pub events: Vec<TimedEvent>,
    /// Commands sent, in order (no times stored).
    pub commands: Vec<CommandRecord>,
    /// Problems with the input.
    pub issues: Vec<DataIssue>,
    /// Overall outcome.
    pub verdict: Verdict,
    /// Telemetry samples as analysed (sorted, de-duplicated, valid).
    pub samples: Vec<TelemetrySample>,
    /// Planned waypoints' positions.
    pub planned_path: Vec<LatLon>,
    /// The survey polygon.
    pub survey_area: SurveyArea,
    /// Planned altitude, metres.
    pub planned_alt_m: f64,
    /// The frame `covered` is expressed in.
    pub frame: LocalFrame,
    /// The covered cells in `frame`, as rectangles (for the map).
    pub covered: Option<MultiPolygon<f64>>,
    /// The plan's distance, duration, speed, photos, battery and area beside the flight's.
    pub planned_vs_actual: Vec<crate::planned::Comparison>,
    /// The forecast at the start and the wind the drone measured, when recorded.
    pub weather: aviary_store::MissionWeather,
    /// A terrain-following mission's height above the ground while surveying (from the
    /// ground under its planned path); `None` for a mission flown above home.
    pub flown_agl: Option<crate::terrain::FlownAgl>,
}

impl MissionReport {
    /// Number of events of `kind`.
    pub fn count(&self, kind: EventKind) -> usize {
        self.events.iter().filter(|e| e.kind == kind).count()
            + if kind == EventKind::ReturnToLaunch {
                self.commands
                    .iter()
                    .filter(|c| is_rtl(&c.action.to_ascii_lowercase()))
                    .count()
            } else {
                0
            }
    }

    /// Every issue as a sentence in the site's time zone.
    pub fn issue_lines(&self) -> Vec<String> {
        self.issues
            .iter()
            .map(|i| i.describe(self.context.timezone))
            .collect()
    }
}

// --- analysis ---------------------------------------------------------------------------

/// Computes the report. Never fails: problems become [`DataIssue`]s.
pub fn analyze(
    mission: &Mission,
    context: ReportContext,
    samples: Vec<TelemetrySample>,
    mut events: Vec<TimedEvent>,
    commands: Vec<CommandRecord>,
    opts: &ReportOptions,
) -> MissionReport {
    let mut issues = Vec::new();
    let samples = clean(samples, &mut issues);
    let gaps = find_gaps(&samples, opts);
    issues.extend(gaps.iter().map(|&i| DataIssue::Gap {
        from: samples[i - 1].time,
        to: samples[i].time,
    }));
    if samples.is_empty() {
        issues.insert(0, DataIssue::NoTelemetry);
    }
    if mission.status.is_active() {
        issues.insert(
            0,
            DataIssue::InProgress {
                status: mission.status,
                last_sample: samples.last().map(|s| s.time),
            },
        );
    }

    let planned_alt_m = mission.parameters.altitude_m;
    let origin = mission
        .survey_area
        .exterior
        .first()
        .or_else(|| mission.waypoints.first().map(|w| &w.pos))
        .or_else(|| samples.first().map(|s| &s.pos))
        .copied()
        .unwrap_or_default();
    let frame = LocalFrame::new(origin);
    let xy: Vec<Coord<f64>> = samples.iter().map(|s| frame.to_local(s.pos)).collect();
    let camera = report_camera(mission, opts, &mut issues);
    let survey_alt_m = if planned_alt_m > 0.0 {
        planned_alt_m * opts.survey_alt_fraction
    } else {
        2.0
    };
    // Height over the ground the camera sees: above home, or above the terrain for a
    // terrain-following mission (from the ground under its planned path).
    let ground = crate::terrain::GroundModel::of(mission);
    let heights_m: Vec<f64> = samples
        .iter()
        .map(|s| ground.as_ref().map_or(s.alt_rel_m, |g| g.agl_m(s)))
        .collect();
    let surveying: Vec<bool> = heights_m.iter().map(|h| *h >= survey_alt_m).collect();
    let flown_agl = ground.as_ref().and_then(|g| {
        let over = |s: &&TelemetrySample| g.over_survey(s.pos);
        let first = samples.iter().position(|s| over(&s))?;
        let last = samples.iter().rposition(|s| over(&s))?;
        crate::terrain::FlownAgl::of(heights_m[first..=last].iter().copied())
    });

    // Gap boundaries as a lookup: `is_gap[i]` means no flight is known between i-1 and i.
    let mut is_gap = vec![false; samples.len()];
    for &g in &gaps {
        is_gap[g] = true;
    }

    let (first, last) = (samples.first(), samples.last());
    let start = first.map(|s| s.time);
    let end = last.map(|s| s.time);
    let duration_s = start
        .zip(end)
        .map(|(a, b)| (b - a).num_milliseconds() as f64 / 1000.0);
    let mut distance_m = 0.0;
    let mut survey_distance_m = 0.0;
    for i in 1..samples.len() {
        let d = samples[i - 1].pos.distance_m(samples[i].pos);
        distance_m += d;
        if surveying[i - 1] && surveying[i] {
            survey_distance_m += d;
        }
    }
    let flown = !samples.is_empty();
    let max_alt_rel_m = samples.iter().map(|s| s.alt_rel_m).reduce(f64::max);
    let max_speed_mps = samples.iter().map(|s| s.speed_mps).reduce(f64::max);
    let any_surveying = surveying.iter().any(|&s| s);
    if flown && !any_surveying {
        issues.push(DataIssue::NeverAtSurveyAltitude {
            max_alt_rel_m: max_alt_rel_m.unwrap_or(0.0),
            planned_alt_m,
        });
    }

    let trigger_spacing_m = mission
        .waypoints
        .iter()
        .find_map(|w| match w.action {
            WaypointAction::CameraTriggerStart { distance_m } if distance_m > 0.0 => {
                Some(distance_m)
            }
            _ => None,
        })
        .unwrap_or_else(|| {
            camera.trigger_distance_m(planned_alt_m, mission.parameters.front_overlap_pct)
        });
    let photos = (flown && trigger_spacing_m > 0.0).then(|| {
        if survey_distance_m > 0.0 {
            (survey_distance_m / trigger_spacing_m).floor() as u64 + 1
        } else {
            0
        }
    });

    // Coverage.
    let survey_poly = survey_polygon(&mission.survey_area, &frame);
    if survey_poly.is_none() {
        issues.push(DataIssue::NoSurveyArea);
    }
    let survey_area_m2 = survey_poly.as_ref().map(Area::unsigned_area);
    let footprint_width_m = any_surveying.then(|| {
        let mut alts: Vec<f64> = heights_m
            .iter()
            .zip(&surveying)
            .filter(|(_, s)| **s)
            .map(|(h, _)| *h)
            .collect();
        camera.footprint_side_m(median(&mut alts))
    });
    let coverage = match (&survey_poly, footprint_width_m) {
        (Some(poly), Some(width_m)) => {
            Some(raster_coverage(&xy, &surveying, &is_gap, width_m, poly))
        }
        (Some(_), None) if flown => Some(crate::coverage::Coverage {
            covered_pct: 0.0,
            shape: MultiPolygon::new(Vec::new()),
            cell_m: 0.0,
        }),
        _ => None,
    };
    let coverage_pct = coverage.as_ref().map(|c| c.covered_pct.min(100.0));
    let covered_area_m2 = coverage_pct
        .zip(survey_area_m2)
        .map(|(pct, area)| pct / 100.0 * area);
    let covered = coverage.map(|c| c.shape);

    // Deviation from the planned path.
    let planned_path: Vec<LatLon> = mission.waypoints.iter().map(|w| w.pos).collect();
    let plan_xy: Vec<Coord<f64>> = planned_path.iter().map(|p| frame.to_local(*p)).collect();
    if plan_xy.len() < 2 {
        issues.push(DataIssue::NoPlannedPath);
    }
    let (cross_track_mean_m, cross_track_max_m) = cross_track(&xy, &surveying, &plan_xy);

    let battery_start_pct = first.map(|s| s.battery_pct);
    let battery_end_pct = last.map(|s| s.battery_pct);
    let battery_used_pct = battery_start_pct.zip(battery_end_pct).map(|(a, b)| a - b);

    events.sort_by_key(|e| e.time);
    let verdict = verdict(mission.status, flown, coverage_pct, opts);

    let mut report = MissionReport {
        mission_id: mission.id,
        mission_name: mission.name.clone(),
        status: mission.status,
        context,
        start,
        end,
        duration_s,
        distance_m: flown.then_some(distance_m),
        survey_area_m2,
        covered_area_m2,
        coverage_pct,
        photos,
        trigger_spacing_m,
        footprint_width_m,
        battery_start_pct,
        battery_end_pct,
        battery_used_pct,
        max_alt_rel_m,
        max_speed_mps,
        cross_track_mean_m,
        cross_track_max_m,
        events,
        commands,
        issues,
        verdict,
        samples,
        planned_path,
        survey_area: mission.survey_area.clone(),
        planned_alt_m,
        frame,
        covered,
        planned_vs_actual: Vec::new(),
        weather: aviary_store::MissionWeather::default(),
        flown_agl,
    };
    let flown = crate::planned::Flown {
        samples: &report.samples,
        surveying: &surveying,
        agl: report.flown_agl,
        distance_m: report.distance_m,
        duration_s: report.duration_s,
        photos: report.photos,
        trigger_spacing_m: report.trigger_spacing_m,
        battery_used_pct: report.battery_used_pct,
        survey_area_m2: report.survey_area_m2,
        covered_area_m2: report.covered_area_m2,
    };
    report.planned_vs_actual = crate::planned::compare(mission, &flown, survey_alt_m);
    report
}

fn verdict(
    status: MissionStatus,
    flown: bool,
    coverage_pct: Option<f64>,
    opts: &ReportOptions,
) -> Verdict {
    match status {
        MissionStatus::Planned | MissionStatus::Deleted => Verdict::NotFlown,
        MissionStatus::InProgress | MissionStatus::Paused => Verdict::InProgress,
        MissionStatus::Completed if !flown => Verdict::Unverified,
        MissionStatus::Completed => match coverage_pct {
            Some(p) if p < opts.completed_min_coverage_pct => Verdict::Partial { covered_pct: p },
            _ => Verdict::Completed,
        },
        MissionStatus::Aborted => Verdict::Aborted {
            covered_pct: coverage_pct,
        },
        MissionStatus::Failed => Verdict::Failed {
            covered_pct: coverage_pct,
        },
    }
}

/// Drops invalid samples, sorts by time and removes duplicate time stamps, recording each.
fn clean(mut samples: Vec<TelemetrySample>, issues: &mut Vec<DataIssue>) -> Vec<TelemetrySample> {
    let before = samples.len();
    samples.retain(|s| {
        s.pos.lat_deg.is_finite()
            && s.pos.lon_deg.is_finite()
            && (-90.0..=90.0).contains(&s.pos.lat_deg)
            && (-180.0..=180.0).contains(&s.pos.lon_deg)
            && s.alt_rel_m.is_finite()
            && s.speed_mps.is_finite()
            && s.battery_pct.is_finite()
    });
    if samples.len() < before {
        issues.push(DataIssue::InvalidSamples {
            count: before - samples.len(),
        });
    }
    let out_of_order = samples.windows(2).filter(|w| w[1].time < w[0].time).count();
    if out_of_order > 0 {
        issues.push(DataIssue::OutOfOrder {
            count: out_of_order,
        });
        samples.sort_by_key(|s| s.time);
    }
    let before = samples.len();
    samples.dedup_by_key(|s| s.time);
    if samples.len() < before {
        issues.push(DataIssue::Duplicates {
            count: before - samples.len(),
        });
    }
    samples
}

/// Indices `i` such that the pause between sample `i-1` and `i` is a gap.
fn find_gaps(samples: &[TelemetrySample], opts: &ReportOptions) -> Vec<usize> {
    if samples.len() < 3 {
        return Vec::new();
    }
    let dts: Vec<f64> = samples
        .windows(2)
        .map(|w| {
            (w[1].time - w[0].time)
                .num_microseconds()
                .unwrap_or(i64::MAX) as f64
                / 1e6
        })
        .collect();
    let mut sorted = dts.clone();
    let threshold_s = opts.gap_min_s.max(opts.gap_factor * median(&mut sorted));
    dts.iter()
        .enumerate()
        .filter(|(_, dt)| **dt > threshold_s)
        .map(|(i, _)| i + 1)
        .collect()
}

/// The camera of the report: the options' override, else the mission's stored camera, else the
/// planner's default (an unknown stored name is an issue in the report, not a failure).
fn report_camera(mission: &Mission, opts: &ReportOptions, issues: &mut Vec<DataIssue>) -> Camera {
    let default = BUILTIN_CAMERAS[0].camera;
    if let Some(c) = opts.camera {
        return c;
    }
    match &mission.parameters.camera {
        None => default,
        Some(name) => aviary_planner::builtin_camera(name).unwrap_or_else(|_| {
            issues.push(DataIssue::UnknownCamera { name: name.clone() });
            default
        }),
    }
}

/// Median of `v` (reorders it); 0 for an empty slice.
fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    *m
}

/// The survey polygon in `frame`, `None` when it has fewer than three corners or no area.
fn survey_polygon(area: &SurveyArea, frame: &LocalFrame) -> Option<MultiPolygon<f64>> {
    if area.exterior.len() < 3 {
        return None;
    }
    let ring = |pts: &[LatLon]| {
        LineString::from(pts.iter().map(|p| frame.to_local(*p)).collect::<Vec<_>>())
    };
    let holes = area
        .holes
        .iter()
        .filter(|h| h.len() >= 3)
        .map(|h| ring(h))
        .collect();
    let poly = Polygon::new(ring(&area.exterior), holes);
    // A self-intersecting or wrongly wound ring is normalised by a union with nothing.
    let mp = MultiPolygon::new(vec![poly]).union(&MultiPolygon::new(Vec::new()));
    (mp.unsigned_area() > 0.0).then_some(mp)
}

/// Mean and max distance of surveying samples from the planned polyline.
fn cross_track(
    xy: &[Coord<f64>],
    surveying: &[bool],
    plan: &[Coord<f64>],
) -> (Option<f64>, Option<f64>) {
    if plan.len() < 2 {
        return (None, None);
    }
    let segs = plan.len() - 1;
    let seg_dist = |p: Coord<f64>, i: usize| point_segment_distance_m(p, plan[i], plan[i + 1]);
    let global = |p: Coord<f64>| {
        (0..segs)
            .map(|i| (seg_dist(p, i), i))
            .min_by(|a, b| a.0.total_cmp(&b.0))
    };
    let (mut sum, mut max, mut n) = (0.0_f64, 0.0_f64, 0_usize);
    let mut hint: Option<usize> = None;
    for (p, _) in xy.iter().zip(surveying).filter(|(_, s)| **s) {
        // The drone follows the plan in order, so the nearest segment is almost always near
        // the previous one; search globally only when the local answer is not convincing.
        let local = hint.and_then(|h| {
            (h.saturating_sub(2)..(h + 6).min(segs))
                .map(|i| (seg_dist(*p, i), i))
                .min_by(|a, b| a.0.total_cmp(&b.0))
        });
        let best = match local {
            Some((d, i)) if d < 5.0 => Some((d, i)),
            _ => global(*p),
        };
        if let Some((d, i)) = best {
            hint = Some(i);
            sum += d;
            max = max.max(d);
            n += 1;
        }
    }
    if n == 0 {
        (None, None)
    } else {
        (Some(sum / n as f64), Some(max))
    }
}

// --- loading ----------------------------------------------------------------------------

/// Reads a mission, its site, drone, telemetry, audit events and commands from `store` and
/// analyses them.
pub fn load_mission_report(
    store: &Store,
    id: MissionId,
    opts: &ReportOptions,
) -> Result<MissionReport, ReportError> {
    let mission = store.get_mission(id)?;
    let site = store
        .list_sites()?
        .into_iter()
        .find(|s| s.id == mission.site_id);
    let drone_label = match mission.drone_id {
        None => None,
        Some(d) => match store.get_drone(d) {
            Ok(drone) => Some(format!("{} ({})", drone.serial_number, drone.model)),
            Err(StoreError::NotFound { .. }) => Some(format!("{d} (no longer registered)")),
            Err(e) => return Err(e.into()),
        },
    };
    let context = ReportContext {
        site_name: site.as_ref().map_or_else(
            || format!("unknown site {}", mission.site_id),
            |s| s.name.clone(),
        ),
        timezone: site.as_ref().map_or(Tz::UTC, |s| s.timezone),
        drone_label,
    };
    let samples = store.mission_telemetry(id, TelemetryRange::all())?;
    let events = store
        .audit_for_target(&id.to_string())?
        .into_iter()
        .map(|a| TimedEvent {
            time: a.time,
            kind: EventKind::from_action(&a.action),
            detail: if a.detail.is_empty() {
                a.action
            } else {
                format!("{}: {}", a.action, a.detail)
            },
        })
        .collect();
    let commands = store
        .mission_commands(id)?
        .into_iter()
        .map(CommandRecord::from_entry)
        .collect();
    let mut report = analyze(&mission, context, samples, events, commands, opts);
    report.weather = store.mission_weather(id)?;
    if site.is_none() {
        report.issues.push(DataIssue::UnknownSite);
    }
    save_result(store, &mission, &report)?;
    Ok(report)
}

/// The complete result of an ended mission, from its report, stamped `computed_at`; `None`
/// while the mission has not ended (or was deleted before flying).
pub fn result_of(
    mission: &Mission,
    report: &MissionReport,
    computed_at: DateTime<Utc>,
) -> Option<MissionResult> {
    let outcome = mission.status;
    if !outcome.is_terminal() || outcome == MissionStatus::Deleted {
        return None;
    }
    let battery =
        |pick: fn(f64, f64) -> f64| report.samples.iter().map(|s| s.battery_pct).reduce(pick);
    Some(MissionResult {
        mission_id: mission.id,
        outcome,
        ended_at: mission
            .actual_end
            .or(report.end)
            .unwrap_or(mission.created_at),
        samples: report.samples.len() as u64,
        first_sample: report.start,
        last_sample: report.end,
        duration_s: report.duration_s,
        distance_m: report.distance_m,
        covered_area_m2: report.covered_area_m2,
        coverage_pct: report.coverage_pct,
        photos: report.photos,
        battery_start_pct: report.battery_start_pct,
        battery_end_pct: report.battery_end_pct,
        battery_max_pct: battery(f64::max),
        battery_min_pct: battery(f64::min),
        source: ResultSource::Report,
        computed_at,
    })
}

/// Stores the complete result of an ended mission (coverage and photos included), so the
/// summaries read it instead of the telemetry next time. A store opened read-only
/// ([`Store::open_read_only`], a read-only copy) keeps nothing: the report is still complete,
/// it is only computed again next time.
pub fn save_result(
    store: &Store,
    mission: &Mission,
    report: &MissionReport,
) -> Result<(), ReportError> {
    if let Some(r) = result_of(mission, report, store.clock().now()) {
        match store.save_mission_result(&r) {
            Ok(()) | Err(StoreError::ReadOnly { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn ctx() -> ReportContext {
        ReportContext {
            site_name: "Test site".into(),
            timezone: chrono_tz::Europe::Amsterdam,
            drone_label: None,
        }
    }

    #[test]
    fn lawnmower_flight_is_complete_and_accurate() {
        let (mission, samples) = testdata::flown_lawnmower(MissionStatus::Completed, 10.0);
        let n = samples.len();
        let r = analyze(
            &mission,
            ctx(),
            samples,
            Vec::new(),
            Vec::new(),
            &ReportOptions::default(),
        );
        assert_eq!(r.samples.len(), n);
        assert!(r.issues.is_empty(), "{:?}", r.issue_lines());
        assert_eq!(r.verdict, Verdict::Completed, "{:?}", r.coverage_pct);
        let planned_len: f64 = mission
            .waypoints
            .windows(2)
            .map(|w| w[0].pos.distance_m(w[1].pos))
            .sum();
        let dist = r.distance_m.unwrap_or_default();
        assert!(
            (dist - planned_len).abs() / planned_len < 0.01,
            "flown {dist} planned {planned_len}"
        );
        let expected_s = planned_len / testdata::SPEED_MPS;
        assert!((r.duration_s.unwrap_or_default() - expected_s).abs() < 1.0);
        assert!(
            r.cross_track_max_m.unwrap_or(f64::MAX) < 0.5,
            "{:?}",
            r.cross_track_max_m
        );
        assert!(
            r.coverage_pct.unwrap_or_default() > 99.0,
            "{:?}",
            r.coverage_pct
        );
        // The planner's frame and figure for the same polygon: the WGS84 area of a rectangle
        // laid out 300 × 200 m on the mean sphere (60,230 m² at 52.4° N; the report's old
        // spherical frame said 60,000).
        let area = r.survey_area_m2.unwrap_or_default();
        let planned =
            aviary_planner::Area::new(std::slice::from_ref(&mission.survey_area), &[], f64::MAX)
                .map(|a| a.area_m2())
                .unwrap_or_default();
        assert!(
            (area - planned).abs() < 1.0,
            "{area} vs the planner's {planned}"
        );
        assert!(
            (area - testdata::AREA_W_M * testdata::AREA_H_M).abs() < 300.0,
            "{area}"
        );
        assert!(r.battery_used_pct.unwrap_or_default() > 0.0);
        assert!((r.max_alt_rel_m.unwrap_or_default() - 50.0).abs() < 1e-9);
        // Photos: the 10 m trigger spacing along the surveying distance.
        let photos = r.photos.unwrap_or_default();
        assert!(photos > 50 && photos < (dist / 10.0) as u64 + 2, "{photos}");
    }

    #[test]
    fn the_stored_camera_sets_footprint_and_photo_spacing() {
        let (mut mission, samples) = testdata::flown_lawnmower(MissionStatus::Completed, 10.0);
        let report = |mission: &Mission, samples: Vec<TelemetrySample>| {
            analyze(
                mission,
                ctx(),
                samples,
                Vec::new(),
                Vec::new(),
                &ReportOptions::default(),
            )
        };
        let default = report(&mission, samples.clone());
        assert!((default.footprint_width_m.unwrap_or_default() - 75.0).abs() < 1e-9);
        // A Mavic 3E (17.3 mm × 13.0 mm, 12.29 mm) at 50 m: 70.38 m across the track, and
        // photos every 10.58 m at 80 % front overlap when the items name no spacing.
        mission.parameters.camera = Some("mavic3e".into());
        mission
            .waypoints
            .retain(|w| !matches!(w.action, WaypointAction::CameraTriggerStart { .. }));
        let mavic = report(&mission, samples.clone());
        let footprint = mavic.footprint_width_m.unwrap_or_default();
        assert!(
            (footprint - 50.0 * 17.3 / 12.29).abs() < 1e-9,
            "{footprint}"
        );
        assert!((mavic.trigger_spacing_m - 50.0 * 13.0 / 12.29 * 0.2).abs() < 1e-9);
        assert!(mavic.issues.is_empty(), "{:?}", mavic.issue_lines());
        mission.parameters.camera = Some("hasselblad".into());
        let unknown = report(&mission, samples);
        assert!(unknown.issues.contains(&DataIssue::UnknownCamera {
            name: "hasselblad".into()
        }));
        assert_eq!(unknown.footprint_width_m, default.footprint_width_m);
    }

    #[test]
    fn no_telemetry_is_said_not_zero() {
        let (mission, _) = testdata::flown_lawnmower(MissionStatus::Completed, 10.0);
        let r = analyze(
            &mission,
            ctx(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            &ReportOptions::default(),
        );
        assert_eq!(r.issues.first(), Some(&DataIssue::NoTelemetry));
        assert_eq!(r.verdict, Verdict::Unverified);
        assert_eq!(r.distance_m, None);
        assert_eq!(r.duration_s, None);
        assert_eq!(r.covered_area_m2, None);
        assert_eq!(r.photos, None);
        assert!(r.survey_area_m2.is_some());
    }

    #[test]
    fn gap_is_reported_in_site_time() {
        let (mission, mut samples) = testdata::flown_lawnmower(MissionStatus::Completed, 10.0);
        // Remove three minutes of samples starting 60 s into the flight.
        let t0 = samples[0].time;
        samples.retain(|s| {
            let dt = (s.time - t0).num_seconds();
            !(60..240).contains(&dt)
        });
        let r = analyze(
            &mission,
            ctx(),
            samples,
            Vec::new(),
            Vec::new(),
            &ReportOptions::default(),
        );
        let gaps: Vec<_> = r
            .issues
            .iter()
            .filter(|i| matches!(i, DataIssue::Gap { .. }))
            .collect();
        assert_eq!(gaps.len(), 1, "{:?}", r.issue_lines());
        let line = gaps[0].describe(chrono_tz::Europe::Amsterdam);
        // testdata starts at 13:00:00 UTC = 14:00:00 CET.
        assert!(
            line.starts_with("telemetry gap 14:00–14:04")
                || line.starts_with("telemetry gap 14:00–14:03"),
            "{line}"
        );
        assert!(line.contains("3 min"), "{line}");
        // The gap is not counted as covered: coverage drops below complete.
        assert!(
            matches!(r.verdict, Verdict::Partial { .. }),
            "{:?}",
            r.verdict
        );
    }

    #[test]
    fn out_of_order_and_duplicates_are_repaired_and_reported() {
        let (mission, samples) = testdata::flown_lawnmower(MissionStatus::Completed, 10.0);
        let clean = analyze(
            &mission,
            ctx(),
            samples.clone(),
            Vec::new(),
            Vec::new(),
            &ReportOptions::default(),
        );
        let mut messy = samples;
        messy.swap(100, 101);
        messy.swap(500, 510);
        let dup = messy[200];
        messy.insert(201, dup);
        let r = analyze(
            &mission,
            ctx(),
            messy,
            Vec::new(),
            Vec::new(),
            &ReportOptions::default(),
        );
        assert!(
            r.issues.contains(&DataIssue::Duplicates { count: 1 }),
            "{:?}",
            r.issues
        );
        assert!(
            r.issues
                .iter()
                .any(|i| matches!(i, DataIssue::OutOfOrder { count } if *count >= 2)),
            "{:?}",
            r.issues
        );
        assert_eq!(r.samples.len(), clean.samples.len());
        assert!(
            (r.distance_m.unwrap_or_default() - clean.distance_m.unwrap_or_default()).abs() < 1e-6
        );
    }

    #[test]
    fn in_progress_and_aborted_missions() {
        let (mut mission, mut samples) = testdata::flown_lawnmower(MissionStatus::InProgress, 10.0);
        samples.truncate(samples.len() / 3);
        let r = analyze(
            &mission,
            ctx(),
            samples.clone(),
            Vec::new(),
            Vec::new(),
            &ReportOptions::default(),
        );
        assert_eq!(r.verdict, Verdict::InProgress);
        assert!(
            matches!(
                r.issues.first(),
                Some(DataIssue::InProgress {
                    last_sample: Some(_),
                    ..
                })
            ),
            "{:?}",
            r.issues
        );
        assert!(
            r.issue_lines()[0].contains("still in progress"),
            "{:?}",
            r.issue_lines()
        );
        mission.status = MissionStatus::Aborted;
        let r = analyze(
            &mission,
            ctx(),
            samples,
            Vec::new(),
            Vec::new(),
            &ReportOptions::default(),
        );
        match r.verdict {
            Verdict::Aborted {
                covered_pct: Some(p),
            } => assert!(p > 15.0 && p < 60.0, "{p}"),
            v => panic!("unexpected verdict {v:?}"),
        }
    }

    #[test]
    fn deviation_is_measured_against_the_plan() {
        let (mission, mut samples) = testdata::flown_lawnmower(MissionStatus::Completed, 10.0);
        for s in &mut samples {
            s.pos = s.pos.offset_ne(0.0, 3.0);
        }
        let r = analyze(
            &mission,
            ctx(),
            samples,
            Vec::new(),
            Vec::new(),
            &ReportOptions::default(),
        );
        // A 3 m eastward shift is 3 m off the north-south transects and 0 m along the
        // east-west connectors.
        let max = r.cross_track_max_m.unwrap_or_default();
        let mean = r.cross_track_mean_m.unwrap_or_default();
        assert!((max - 3.0).abs() < 0.1, "max {max}");
        assert!(mean > 2.0 && mean <= 3.0, "mean {mean}");
    }

    #[test]
    fn events_are_classified_and_counted() {
        let (mission, samples) = testdata::flown_lawnmower(MissionStatus::Completed, 10.0);
        let t = samples[0].time;
        let ev = |s: i64, a: &str| TimedEvent {
            time: t + chrono::Duration::seconds(s),
            kind: EventKind::from_action(a),
            detail: a.into(),
        };
        let events = vec![
            ev(30, "mission.resume"),
            ev(10, "mission.pause"),
            ev(50, "alert.battery_low"),
            ev(0, "mission.start"),
        ];
        let commands = vec![CommandRecord {
            action: "rtl".into(),
            status: "confirmed".into(),
            detail: String::new(),
            sent_at: t + chrono::Duration::seconds(60),
            answered_at: Some(t + chrono::Duration::seconds(61)),
        }];
        let r = analyze(
            &mission,
            ctx(),
            samples,
            events,
            commands,
            &ReportOptions::default(),
        );
        let kinds: Vec<_> = r.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::Started,
                EventKind::Paused,
                EventKind::Resumed,
                EventKind::Alert
            ]
        );
        assert_eq!(r.count(EventKind::ReturnToLaunch), 1);
        assert_eq!(r.count(EventKind::Paused), 1);
    }

    #[test]
    fn invalid_samples_and_missing_geometry() {
        let (mut mission, mut samples) = testdata::flown_lawnmower(MissionStatus::Completed, 10.0);
        samples[10].pos.lat_deg = f64::NAN;
        mission.survey_area.exterior.truncate(2);
        mission.waypoints.clear();
        let r = analyze(
            &mission,
            ctx(),
            samples,
            Vec::new(),
            Vec::new(),
            &ReportOptions::default(),
        );
        assert!(r.issues.contains(&DataIssue::InvalidSamples { count: 1 }));
        assert!(r.issues.contains(&DataIssue::NoSurveyArea));
        assert!(r.issues.contains(&DataIssue::NoPlannedPath));
        assert_eq!(r.coverage_pct, None);
        assert_eq!(r.cross_track_mean_m, None);
        assert_eq!(r.verdict, Verdict::Completed);
    }
}
