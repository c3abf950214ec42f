//! Site and organisation summaries over a period, and the mission history.
//!
//! Aggregation ([`summarize`]) is pure and works on [`MissionRecord`]s: one small row per
//! mission with the figures of its mission report. Records come from [`load_records`]: from
//! the store's `mission_figures` (one row per mission with its stored result's figures) where
//! a mission's result is complete, so 100,000 missions aggregate without reading telemetry,
//! and from the telemetry otherwise (the result is then stored for next time).
//!
//! Missions are placed in the period and in day/week/month buckets by their actual start
//! (creation time when never flown), in the local time of their site.

use crate::error::ReportError;
use crate::mission::{ReportContext, ReportOptions, analyze, save_result};
use aviary_core::{Drone, DroneId, DroneStatus, Mission, MissionId, MissionStatus, Site, SiteId};
use aviary_store::{
    MissionFigures, MissionHistoryEntry, MissionResult, RecordFilter, ResultSource, Store,
    TelemetryRange,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeMap, HashMap};

// --- records ----------------------------------------------------------------------------

/// One mission's figures, as the summaries need them.
#[derive(Debug, Clone, PartialEq)]
pub struct MissionRecord {
    /// Mission id.
    pub id: MissionId,
    /// Mission name.
    pub name: String,
    /// Site.
    pub site_id: SiteId,
    /// Drone, if one was assigned.
    pub drone_id: Option<DroneId>,
    /// Lifecycle status.
    pub status: MissionStatus,
    /// When the mission was created.
    pub created_at: DateTime<Utc>,
    /// First telemetry sample (or the recorded start when there is no telemetry).
    pub start: Option<DateTime<Utc>>,
    /// Last telemetry sample (or the recorded end).
    pub end: Option<DateTime<Utc>>,
    /// Flight time from telemetry, seconds; `None` when not flown or no telemetry.
    pub flight_s: Option<f64>,
    /// Distance flown, metres.
    pub distance_m: Option<f64>,
    /// Survey area covered, m².
    pub covered_area_m2: Option<f64>,
    /// Battery used, percent points.
    pub battery_used_pct: Option<f64>,
}

impl MissionRecord {
    /// The record of `mission` with the figures of its report.
    pub fn from_report(mission: &Mission, report: &crate::mission::MissionReport) -> Self {
        Self {
            id: mission.id,
            name: mission.name.clone(),
            site_id: mission.site_id,
            drone_id: mission.drone_id,
            status: mission.status,
            created_at: mission.created_at,
            start: report.start.or(mission.actual_start),
            end: report.end.or(mission.actual_end),
            flight_s: report.duration_s,
            distance_m: report.distance_m,
            covered_area_m2: report.covered_area_m2,
            battery_used_pct: report.battery_used_pct,
        }
    }

    /// The record of a mission that was never flown (no figures).
    pub fn unflown(mission: &Mission) -> Self {
        Self {
            id: mission.id,
            name: mission.name.clone(),
            site_id: mission.site_id,
            drone_id: mission.drone_id,
            status: mission.status,
            created_at: mission.created_at,
            start: mission.actual_start,
            end: mission.actual_end,
            flight_s: None,
            distance_m: None,
            covered_area_m2: None,
            battery_used_pct: None,
        }
    }

    /// The time that places the mission in a period: actual start, else creation.
    pub fn when(&self) -> DateTime<Utc> {
        self.start.unwrap_or(self.created_at)
    }

    /// True when the mission left the ground (started) by its status.
    pub fn was_flown(&self) -> bool {
        !matches!(self.status, MissionStatus::Planned | MissionStatus::Deleted)
    }
}

impl MissionRecord {
    /// The record of a history entry whose stored result is complete (computed by the
    /// mission report): no telemetry is read.
    pub fn from_result(e: &MissionHistoryEntry, r: &MissionResult) -> Self {
        Self::named_from_result(e, r, e.name.clone())
    }

    /// [`Self::from_result`] with the name given (moved out of the entry by the caller).
    fn named_from_result(e: &MissionHistoryEntry, r: &MissionResult, name: String) -> Self {
        Self {
            id: e.id,
            name,
            site_id: e.site_id,
            drone_id: e.drone_id,
            status: e.status,
            created_at: e.created_at,
            start: r.first_sample.or(e.actual_start),
            end: r.last_sample.or(e.actual_end),
            flight_s: r.duration_s,
            distance_m: r.distance_m,
            covered_area_m2: r.covered_area_m2,
            battery_used_pct: r
                .battery_start_pct
                .zip(r.battery_end_pct)
                .map(|(a, b)| a - b),
        }
    }
}

impl MissionRecord {
    /// The record of a mission whose stored result is complete, from its figures (the same
    /// record as [`Self::from_result`] on its history entry and result).
    fn from_figures(f: MissionFigures) -> Self {
        Self {
            id: f.id,
            name: f.name,
            site_id: f.site_id,
            drone_id: f.drone_id,
            status: f.status,
            created_at: f.created_at,
            start: f.start,
            end: f.end,
            flight_s: f.duration_s,
            distance_m: f.distance_m,
            covered_area_m2: f.covered_area_m2,
            battery_used_pct: f.battery_used_pct,
        }
    }
}

/// The record of one mission: unflown missions directly, flown ones by analysing their
/// stored telemetry. An ended mission's complete result is stored on the way, so the next
/// summary reads it instead of the telemetry.
pub fn load_record(
    store: &Store,
    mission: &Mission,
    opts: &ReportOptions,
) -> Result<MissionRecord, ReportError> {
    if mission.actual_start.is_none() && !mission.status.is_active() {
        return Ok(MissionRecord::unflown(mission));
    }
    let samples = store.mission_telemetry(mission.id, TelemetryRange::all())?;
    let ctx = ReportContext {
        site_name: String::new(),
        timezone: Tz::UTC,
        drone_label: None,
    };
    let report = analyze(mission, ctx, samples, Vec::new(), Vec::new(), opts);
    save_result(store, mission, &report)?;
    Ok(MissionRecord::from_report(mission, &report))
}

/// The record of a history entry: from its stored result when that is complete (the fast
/// path: one row per mission, no telemetry), otherwise computed from the telemetry (missions
/// still flying, ended before results were stored, or whose result lacks coverage).
pub fn record_of_entry(
    store: &Store,
    e: &MissionHistoryEntry,
    opts: &ReportOptions,
) -> Result<MissionRecord, ReportError> {
    match &e.result {
        Some(r) if r.source == ResultSource::Report => Ok(MissionRecord::from_result(e, r)),
        _ if e.actual_start.is_none() && !e.status.is_active() => Ok(MissionRecord {
            id: e.id,
            name: e.name.clone(),
            site_id: e.site_id,
            drone_id: e.drone_id,
            status: e.status,
            created_at: e.created_at,
            start: e.actual_start,
            end: e.actual_end,
            flight_s: None,
            distance_m: None,
            covered_area_m2: None,
            battery_used_pct: None,
        }),
        _ => load_record(store, &store.get_mission(e.id)?, opts),
    }
}

/// Records for every mission that could fall in a period ending at `to` (flown, or created
/// when never flown, before `to`), newest first, from the stored results where they are
/// complete and from the telemetry otherwise (see [`record_of_entry`]).
///
/// Reads the store's `mission_figures` ([`Store::mission_figures`]): one row per mission with
/// the figures a record needs, so a complete result costs no lookup and no copy of unused
/// columns. Gives the same records as [`record_of_entry`] over [`Store::mission_records`].
pub fn load_records(
    store: &Store,
    to: DateTime<Utc>,
    opts: &ReportOptions,
) -> Result<Vec<MissionRecord>, ReportError> {
    let rows = store.mission_figures(Some(to))?;
    rows.into_iter()
        .map(|f| match f.incomplete_entry() {
            None => Ok(MissionRecord::from_figures(f)),
            // No complete result: `record_of_entry` reads the telemetry, or records an
            // unflown mission; an incomplete result plays no part in either.
            Some(e) => record_of_entry(store, &e, opts),
        })
        .collect()
}

/// The mission history from `store`: missions passing `filter` (site, drone, status and the
/// period on the flight start, all in SQL), newest first, with their figures.
pub fn load_history(
    store: &Store,
    filter: &HistoryFilter,
    opts: &ReportOptions,
) -> Result<Vec<MissionRecord>, ReportError> {
    let entries = store.mission_records(&RecordFilter {
        site_id: filter.site_id,
        drone_id: filter.drone_id,
        statuses: filter.statuses.clone(),
        from: filter.from,
        to: filter.to,
        limit: 0,
    })?;
    let mut out = Vec::with_capacity(entries.len());
    for e in &entries {
        let r = record_of_entry(store, e, opts)?;
        // The record's start is the first sample, which can differ from the recorded start
        // by the time to the first sample: keep the filter's word on the period.
        if filter.matches(&r) {
            out.push(r);
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.when()));
    Ok(out)
}

/// Everything an organisation report needs, loaded from a store.
#[derive(Debug, Clone)]
pub struct OrgReport {
    /// Organisation name (the first organisation in the store).
    pub org_name: String,
    /// The summary.
    pub summary: OrgSummary,
    /// Missions in the period, newest first (the history).
    pub history: Vec<MissionRecord>,
    /// Site names by id.
    pub site_names: HashMap<SiteId, String>,
    /// Site time zones by id (the history's local time columns).
    pub site_timezones: HashMap<SiteId, Tz>,
    /// Drone serial numbers by id.
    pub drone_names: HashMap<DroneId, String>,
    /// Scheduled runs due in the period that could not start, per site.
    pub missed_runs: crate::missed::MissedRuns,
}

/// Loads sites, drones and mission records from `store` and summarises `[from, to)`.
pub fn load_org_report(
    store: &Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    grouping: Grouping,
    opts: &ReportOptions,
    policy: &MaintenancePolicy,
) -> Result<OrgReport, ReportError> {
    let org_name = store
        .list_orgs()?
        .into_iter()
        .next()
        .map_or_else(|| "Organisation".to_owned(), |o| o.name);
    let sites = store.list_sites()?;
    let drones = store.list_drones(None, None)?;
    let records = load_records(store, to, opts)?;
    let summary = summarize(&records, &sites, &drones, from, to, grouping, policy);
    let missed_runs = crate::missed::load_missed_runs(store, &sites, from, to)?;
    let filter = HistoryFilter {
        from: Some(from),
        to: Some(to),
        ..HistoryFilter::default()
    };
    // The records become the period's history in place (no copy of 100,000 records and
    // their names); the same stable sort as `history`.
    let mut history = records;
    history.retain(|r| filter.matches(r));
    history.sort_by_key(|r| std::cmp::Reverse(r.when()));
    Ok(OrgReport {
        org_name,
        summary,
        history,
        site_names: sites.iter().map(|s| (s.id, s.name.clone())).collect(),
        site_timezones: sites.iter().map(|s| (s.id, s.timezone)).collect(),
        drone_names: drones
            .iter()
            .map(|d| (d.id, d.serial_number.clone()))
            .collect(),
        missed_runs,
    })
}

// --- history ----------------------------------------------------------------------------

/// Filters of the mission history. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryFilter {
    /// Only this site.
    pub site_id: Option<SiteId>,
    /// Only this drone.
    pub drone_id: Option<DroneId>,
    /// Only these statuses (empty: all).
    pub statuses: Vec<MissionStatus>,
    /// Started (or created, if never flown) at or after.
    pub from: Option<DateTime<Utc>>,
    /// Started (or created) before.
    pub to: Option<DateTime<Utc>>,
}

impl HistoryFilter {
    /// True when `r` passes every filter.
    pub fn matches(&self, r: &MissionRecord) -> bool {
        let when = r.when();
        self.site_id.is_none_or(|s| s == r.site_id)
            && self.drone_id.is_none_or(|d| r.drone_id == Some(d))
            && (self.statuses.is_empty() || self.statuses.contains(&r.status))
            && self.from.is_none_or(|f| when >= f)
            && self.to.is_none_or(|t| when < t)
    }
}

/// The mission history: records passing `filter`, newest first.
pub fn history<'a>(records: &'a [MissionRecord], filter: &HistoryFilter) -> Vec<&'a MissionRecord> {
    let mut out: Vec<_> = records.iter().filter(|r| filter.matches(r)).collect();
    out.sort_by_key(|r| std::cmp::Reverse(r.when()));
    out
}

// --- aggregation ------------------------------------------------------------------------

/// Mission counts per status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusCounts([u32; MissionStatus::ALL.len()]);

impl StatusCounts {
    fn index(s: MissionStatus) -> usize {
        MissionStatus::ALL.iter().position(|x| *x == s).unwrap_or(0)
    }

    /// Adds one mission.
    pub fn add(&mut self, s: MissionStatus) {
        self.0[Self::index(s)] += 1;
    }

    /// Missions with status `s`.
    pub fn get(&self, s: MissionStatus) -> u32 {
        self.0[Self::index(s)]
    }

    /// `(status, count)` for every status with at least one mission.
    pub fn nonzero(&self) -> Vec<(MissionStatus, u32)> {
        MissionStatus::ALL
            .iter()
            .map(|s| (*s, self.get(*s)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// Totals over a set of missions.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Totals {
    /// Missions.
    pub missions: u32,
    /// Missions per status.
    pub by_status: StatusCounts,
    /// Flight time, seconds.
    pub flight_s: f64,
    /// Distance flown, metres.
    pub distance_m: f64,
    /// Area covered, m².
    pub covered_area_m2: f64,
    /// Flown missions whose figures are missing (no telemetry): not counted in the sums.
    pub flown_without_telemetry: u32,
}

impl Totals {
    fn add(&mut self, r: &MissionRecord) {
        self.missions += 1;
        self.by_status.add(r.status);
        if r.was_flown() && r.flight_s.is_none() {
            self.flown_without_telemetry += 1;
        }
        self.flight_s += r.flight_s.unwrap_or(0.0);
        self.distance_m += r.distance_m.unwrap_or(0.0);
        self.covered_area_m2 += r.covered_area_m2.unwrap_or(0.0);
    }

    /// Completed / (completed + aborted + failed), percent; `None` when none ended.
    pub fn success_rate_pct(&self) -> Option<f64> {
        let ok = self.by_status.get(MissionStatus::Completed);
        let ended = ok
            + self.by_status.get(MissionStatus::Aborted)
            + self.by_status.get(MissionStatus::Failed);
        (ended > 0).then(|| f64::from(ok) / f64::from(ended) * 100.0)
    }
}

/// How missions are grouped in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Grouping {
    /// Per local calendar day.
    Day,
    /// Per ISO week (Monday to Sunday, local).
    #[default]
    Week,
    /// Per local calendar month.
    Month,
}

/// The most buckets a site's charts and period table show: past this (ten years by day)
/// only the periods with missions are listed.
pub const MAX_BUCKETS: usize = 3660;

impl Grouping {
    /// The first local day of the bucket that contains `date`.
    pub fn bucket_start(self, date: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => date,
            Self::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
            Self::Month => date.with_day(1).unwrap_or(date),
        }
    }

    /// Label of the bucket starting at `start`: `2026-11-26`, `2026-W48`, `2026-11`.
    pub fn label(self, start: NaiveDate) -> String {
        match self {
            Self::Day => start.format("%Y-%m-%d").to_string(),
            Self::Week => {
                let w = start.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            Self::Month => start.format("%Y-%m").to_string(),
        }
    }

    /// The first local day of the bucket after the one starting at `start`.
    pub fn next_start(self, start: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => start + Duration::days(1),
            Self::Week => start + Duration::days(7),
            Self::Month => start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(start + Duration::days(31)),
        }
    }

    /// The starts of every bucket that `[from, to)` touches in `tz`, oldest first; empty
    /// past [`MAX_BUCKETS`] (a range too long to chart bucket by bucket).
    pub fn bucket_starts(self, from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> Vec<NaiveDate> {
        let first = self.bucket_start(from.with_timezone(&tz).date_naive());
        let last_instant = if to > from {
            to - Duration::microseconds(1)
        } else {
            from
        };
        let last = self.bucket_start(last_instant.with_timezone(&tz).date_naive());
        let mut out = Vec::new();
        let mut d = first;
        while d <= last {
            if out.len() >= MAX_BUCKETS {
                return Vec::new();
            }
            out.push(d);
            d = self.next_start(d);
        }
        out
    }

    /// Lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }
}

impl std::str::FromStr for Grouping {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            "month" => Ok(Self::Month),
            _ => Err(format!(
                "unknown grouping {s:?} (expected day, week or month)"
            )),
        }
    }
}

/// One time bucket of a site.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// First local day of the bucket.
    pub start: NaiveDate,
    /// Label (`2026-W48`).
    pub label: String,
    /// Totals of the missions in it.
    pub totals: Totals,
}

/// One battery cycle: a mission's flight time scaled to a full charge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatteryPoint {
    /// Mission start.
    pub time: DateTime<Utc>,
    /// Minutes of flight per 100 % of battery: the usable capacity, in flight time.
    pub endurance_min: f64,
}

/// Why a drone is due for maintenance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaintenanceReason {
    /// Flight hours in the records reached the service interval.
    FlightHours {
        /// Hours flown.
        hours: f64,
        /// The interval.
        interval_h: f64,
    },
    /// Endurance per full charge fell by this much from the first to the last third of its
    /// cycles.
    BatteryDegraded {
        /// Change, percent (negative).
        change_pct: f64,
    },
    /// An operator put the drone in maintenance.
    InMaintenance,
}

impl MaintenanceReason {
    /// A short sentence.
    pub fn describe(&self) -> String {
        match self {
            Self::FlightHours { hours, interval_h } => {
                format!("{hours:.1} flight hours (service every {interval_h:.0} h)")
            }
            Self::BatteryDegraded { change_pct } => format!("battery endurance {change_pct:+.1} %"),
            Self::InMaintenance => "marked for maintenance".to_owned(),
        }
    }
}

/// When a drone is due for maintenance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaintenancePolicy {
    /// Service interval in flight hours (counted over all records given).
    pub flight_hours_interval_h: f64,
    /// A drop in endurance per full charge larger than this flags the battery, percent.
    pub endurance_drop_pct: f64,
    /// Cycles using less battery than this are too short to estimate capacity, percent.
    pub min_cycle_battery_pct: f64,
}

impl Default for MaintenancePolicy {
    fn default() -> Self {
        Self {
            flight_hours_interval_h: 25.0,
            endurance_drop_pct: 15.0,
            min_cycle_battery_pct: 5.0,
        }
    }
}

/// One drone's use in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct DroneUsage {
    /// Drone id.
    pub drone_id: DroneId,
    /// Serial number (the id when the drone is no longer registered).
    pub serial: String,
    /// Current status, if registered.
    pub status: Option<DroneStatus>,
    /// Missions in the period.
    pub missions: u32,
    /// Flight time in the period, seconds.
    pub flight_s: f64,
    /// Distance in the period, metres.
    pub distance_m: f64,
    /// Flight time / period length, percent.
    pub utilisation_pct: f64,
    /// Battery cycles over all records given, oldest first.
    pub battery: Vec<BatteryPoint>,
    /// Endurance change from the first to the last third of the cycles, percent.
    pub endurance_change_pct: Option<f64>,
    /// Flight hours over all records given.
    pub lifetime_flight_h: f64,
    /// Why it is due for maintenance (empty: not due).
    pub maintenance: Vec<MaintenanceReason>,
}

/// One site's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteSummary {
    /// Site id.
    pub site_id: SiteId,
    /// Site name.
    pub name: String,
    /// Its time zone (buckets are local days).
    pub timezone: Tz,
    /// Totals in the period.
    pub totals: Totals,
    /// Every bucket of the period (those without missions have zero totals), oldest first;
    /// only those with missions past [`MAX_BUCKETS`].
    pub buckets: Vec<Bucket>,
    /// Drones of the site, and drones that flew the site's missions, by serial.
    pub drones: Vec<DroneUsage>,
}

/// The organisation summary: every site plus the totals.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgSummary {
    /// Period start (inclusive).
    pub from: DateTime<Utc>,
    /// Period end (exclusive).
    pub to: DateTime<Utc>,
    /// Bucket size.
    pub grouping: Grouping,
    /// Totals over all sites.
    pub totals: Totals,
    /// Sites by name.
    pub sites: Vec<SiteSummary>,
    /// Missions in the period whose site is not in the store.
    pub unknown_site_missions: u32,
}

impl OrgSummary {
    /// The summary of one site.
    pub fn site(&self, id: SiteId) -> Option<&SiteSummary> {
        self.sites.iter().find(|s| s.site_id == id)
    }

    /// `(site name, drone)` for every drone due for maintenance.
    pub fn maintenance_due(&self) -> Vec<(&str, &DroneUsage)> {
        self.sites
            .iter()
            .flat_map(|s| {
                s.drones
                    .iter()
                    .filter(|d| !d.maintenance.is_empty())
                    .map(move |d| (s.name.as_str(), d))
            })
            .collect()
    }
}

#[derive(Default)]
struct DroneAcc {
    site: Option<usize>,
    missions: u32,
    flight_s: f64,
    distance_m: f64,
    lifetime_s: f64,
    battery: Vec<BatteryPoint>,
}

/// Aggregates `records` into an organisation summary for `[from, to)`.
///
/// Totals, buckets and utilisation count missions in the period; battery trend and flight
/// hours for maintenance use every record given up to `to` (pass the history, not just the
/// period, for those to be meaningful).
pub fn summarize(
    records: &[MissionRecord],
    sites: &[Site],
    drones: &[Drone],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    grouping: Grouping,
    policy: &MaintenancePolicy,
) -> OrgSummary {
    let site_index: IdMap<SiteId, usize> =
        sites.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let mut site_totals = vec![Totals::default(); sites.len()];
    let mut site_buckets: Vec<BTreeMap<NaiveDate, Totals>> = vec![BTreeMap::new(); sites.len()];
    let mut drone_acc: IdMap<DroneId, DroneAcc> = drones
        .iter()
        .map(|d| {
            (
                d.id,
                DroneAcc {
                    site: site_index.get(&d.site_id).copied(),
                    ..DroneAcc::default()
                },
            )
        })
        .collect();
    let mut local_days: Vec<LocalDays> = sites.iter().map(|s| LocalDays::new(s.timezone)).collect();
    let mut totals = Totals::default();
    let mut unknown_site_missions = 0;

    for r in records {
        let when = r.when();
        if when >= to {
            continue;
        }
        let in_period = when >= from;
        let site = site_index.get(&r.site_id).copied();
        if let Some(d) = r.drone_id {
            let acc = drone_acc.entry(d).or_default();
            if acc.site.is_none() {
                acc.site = site;
            }
            let flight_s = r.flight_s.unwrap_or(0.0);
            acc.lifetime_s += flight_s;
            if let (Some(f), Some(b)) = (r.flight_s, r.battery_used_pct)
                && b >= policy.min_cycle_battery_pct
            {
                acc.battery.push(BatteryPoint {
                    time: when,
                    endurance_min: f / 60.0 * 100.0 / b,
                });
            }
            if in_period {
                acc.missions += 1;
                acc.flight_s += flight_s;
                acc.distance_m += r.distance_m.unwrap_or(0.0);
            }
        }
        if !in_period {
            continue;
        }
        totals.add(r);
        match site {
            Some(i) => {
                site_totals[i].add(r);
                let local = local_days[i].date(when);
                site_buckets[i]
                    .entry(grouping.bucket_start(local))
                    .or_default()
                    .add(r);
            }
            None => unknown_site_missions += 1,
        }
    }

    let period_s = (to - from).num_seconds().max(1) as f64;
    let drone_by_id: HashMap<DroneId, &Drone> = drones.iter().map(|d| (d.id, d)).collect();
    let mut site_drones: Vec<Vec<DroneUsage>> = vec![Vec::new(); sites.len()];
    for (id, mut acc) in drone_acc {
        let Some(site) = acc.site else { continue };
        acc.battery.sort_by_key(|p| p.time);
        let endurance_change_pct = endurance_change_pct(&acc.battery);
        let registered = drone_by_id.get(&id);
        let lifetime_flight_h = acc.lifetime_s / 3600.0;
        let mut maintenance = Vec::new();
        if registered.is_some_and(|d| d.status == DroneStatus::Maintenance) {
            maintenance.push(MaintenanceReason::InMaintenance);
        }
        if lifetime_flight_h >= policy.flight_hours_interval_h {
            maintenance.push(MaintenanceReason::FlightHours {
                hours: lifetime_flight_h,
                interval_h: policy.flight_hours_interval_h,
            });
        }
        if let Some(c) = endurance_change_pct
            && c <= -policy.endurance_drop_pct
        {
            maintenance.push(MaintenanceReason::BatteryDegraded { change_pct: c });
        }
        site_drones[site].push(DroneUsage {
            drone_id: id,
            serial: registered.map_or_else(|| id.to_string(), |d| d.serial_number.clone()),
            status: registered.map(|d| d.status),
            missions: acc.missions,
            flight_s: acc.flight_s,
            distance_m: acc.distance_m,
            utilisation_pct: acc.flight_s / period_s * 100.0,
            battery: acc.battery,
            endurance_change_pct,
            lifetime_flight_h,
            maintenance,
        });
    }

    let mut site_summaries: Vec<SiteSummary> = sites
        .iter()
        .zip(site_totals)
        .zip(site_buckets)
        .zip(site_drones)
        .map(|(((s, totals), mut buckets), mut drones)| {
            drones.sort_by(|a, b| a.serial.cmp(&b.serial));
            // Every period of the range, an empty one as a zero bar.
            for start in grouping.bucket_starts(from, to, s.timezone) {
                buckets.entry(start).or_default();
            }
            SiteSummary {
                site_id: s.id,
                name: s.name.clone(),
                timezone: s.timezone,
                totals,
                buckets: buckets
                    .into_iter()
                    .map(|(start, totals)| Bucket {
                        start,
                        label: grouping.label(start),
                        totals,
                    })
                    .collect(),
                drones,
            }
        })
        .collect();
    site_summaries.sort_by(|a, b| a.name.cmp(&b.name));
    OrgSummary {
        from,
        to,
        grouping,
        totals,
        sites: site_summaries,
        unknown_site_missions,
    }
}

/// A map keyed by site or drone ids, looked up twice per mission in [`summarize`]: the ids
/// are UUIDs, so a multiply-and-rotate over their bytes (the Fx hash of rustc) spreads them
/// well at a fraction of `SipHash`'s cost, which was half of `summarize`'s time. Not exposed to
/// input an attacker chooses.
type IdMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

/// The hasher of [`IdMap`].
#[derive(Debug, Default, Clone, Copy)]
struct IdHasher(u64);

impl IdHasher {
    fn add(&mut self, word: u64) {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(K);
    }
}

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(c);
            self.add(u64::from_le_bytes(word));
        }
        let mut rest = [0; 8];
        rest[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.add(u64::from_le_bytes(rest));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Local calendar dates in one time zone, with the UTC interval of the last date found: a
/// site's missions come in time order, so most of them fall in the same local day as the one
/// before and needs no time-zone conversion (a `chrono-tz` conversion per mission, with its
/// calendar arithmetic, showed in the profile of a summary over 100,000 missions).
#[derive(Debug, Clone)]
struct LocalDays {
    tz: Tz,
    /// `[start, end)` in UTC of the local day `date`.
    day: Option<(DateTime<Utc>, DateTime<Utc>, NaiveDate)>,
}

impl LocalDays {
    fn new(tz: Tz) -> Self {
        Self { tz, day: None }
    }

    /// The local date of `t`: exactly `t.with_timezone(&tz).date_naive()`.
    fn date(&mut self, t: DateTime<Utc>) -> NaiveDate {
        if let Some((start, end, date)) = self.day
            && start <= t
            && t < end
        {
            return date;
        }
        let date = t.with_timezone(&self.tz).date_naive();
        self.day = self
            .day_bounds(date)
            .filter(|(start, end)| *start <= t && t < *end)
            .map(|(start, end)| (start, end, date));
        date
    }

    /// The UTC instants of local midnight starting `date` and the next day, when each occurs
    /// exactly once. A midnight skipped or repeated by a clock change (zones that change at
    /// midnight) gives `None`: such a day is never cached, so its missions are converted one
    /// by one. Otherwise local time runs from one midnight to the next without leaving the
    /// day, and every instant between them has local date `date`.
    fn day_bounds(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let midnight = |d: NaiveDate| {
            self.tz
                .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
                .single()
                .map(|t| t.with_timezone(&Utc))
        };
        Some((midnight(date)?, midnight(date.succ_opt()?)?))
    }
}

/// Mean endurance of the last third of cycles relative to the first third, percent.
fn endurance_change_pct(points: &[BatteryPoint]) -> Option<f64> {
    if points.len() < 3 {
        return None;
    }
    let third = points.len() / 3;
    let mean = |p: &[BatteryPoint]| p.iter().map(|b| b.endurance_min).sum::<f64>() / p.len() as f64;
    let first = mean(&points[..third]);
    let last = mean(&points[points.len() - third..]);
    (first > 0.0).then(|| (last / first - 1.0) * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_core::{LatLon, OrgId};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn site(name: &str, tz: Tz) -> Site {
        Site {
            id: SiteId::new_random(),
            org_id: OrgId::new_random(),
            name: name.into(),
            location: LatLon::default(),
            timezone: tz,
            created_at: t("2026-01-01T00:00:00Z"),
        }
    }

    fn drone(site: &Site, serial: &str) -> Drone {
        Drone {
            id: DroneId::new_random(),
            site_id: site.id,
            serial_number: serial.into(),
            model: "X".into(),
            status: DroneStatus::Available,
            battery_pct: 100,
            last_seen: None,
            home: LatLon::default(),
            firmware_version: String::new(),
            link: None,
            created_at: site.created_at,
        }
    }

    fn rec(
        site: &Site,
        drone: &Drone,
        status: MissionStatus,
        start: &str,
        flight_s: f64,
        battery_used_pct: f64,
    ) -> MissionRecord {
        let start = t(start);
        MissionRecord {
            id: MissionId::new_random(),
            name: "m".into(),
            site_id: site.id,
            drone_id: Some(drone.id),
            status,
            created_at: start - Duration::hours(2),
            start: Some(start),
            end: Some(start + Duration::milliseconds((flight_s * 1000.0) as i64)),
            flight_s: Some(flight_s),
            distance_m: Some(flight_s * 5.0),
            covered_area_m2: Some(1000.0),
            battery_used_pct: Some(battery_used_pct),
        }
    }

    #[test]
    fn buckets_follow_site_local_time() {
        // 23:30 UTC on Sunday 2026-11-29 is already Monday 2026-11-30 in Amsterdam (week 49)
        // but still Sunday in New York (week 48).
        let ams = site("Amsterdam", chrono_tz::Europe::Amsterdam);
        let nyc = site("New York", chrono_tz::America::New_York);
        let (da, dn) = (drone(&ams, "A1"), drone(&nyc, "N1"));
        let records = vec![
            rec(
                &ams,
                &da,
                MissionStatus::Completed,
                "2026-11-29T23:30:00Z",
                1800.0,
                40.0,
            ),
            rec(
                &nyc,
                &dn,
                MissionStatus::Failed,
                "2026-11-29T23:30:00Z",
                600.0,
                20.0,
            ),
            rec(
                &nyc,
                &dn,
                MissionStatus::Completed,
                "2026-11-25T12:00:00Z",
                1200.0,
                30.0,
            ),
        ];
        let s = summarize(
            &records,
            &[ams.clone(), nyc.clone()],
            &[da, dn],
            t("2026-11-01T00:00:00Z"),
            t("2026-12-01T00:00:00Z"),
            Grouping::Week,
            &MaintenancePolicy::default(),
        );
        let a = s.site(ams.id).map(|x| {
            x.buckets
                .iter()
                .filter(|b| b.totals.missions > 0)
                .map(|b| b.label.clone())
                .collect::<Vec<_>>()
        });
        let n = s.site(nyc.id).map(|x| {
            x.buckets
                .iter()
                .filter(|b| b.totals.missions > 0)
                .map(|b| (b.label.clone(), b.totals.missions))
                .collect::<Vec<_>>()
        });
        assert_eq!(a, Some(vec!["2026-W49".to_owned()]));
        assert_eq!(n, Some(vec![("2026-W48".to_owned(), 2)]));
        assert_eq!(s.totals.missions, 3);
        assert!((s.totals.flight_s - 3600.0).abs() < 1e-9);
        assert!((s.totals.success_rate_pct().unwrap_or_default() - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.totals.by_status.get(MissionStatus::Failed), 1);
        let ny = s
            .site(nyc.id)
            .map(|x| x.drones[0].utilisation_pct)
            .unwrap_or_default();
        assert!(
            (ny - 1800.0 / (30.0 * 86400.0) * 100.0).abs() < 1e-9,
            "{ny}"
        );
    }

    #[test]
    fn every_period_of_the_range_is_a_bar() {
        let ams = site("Amsterdam", chrono_tz::Europe::Amsterdam);
        let d = drone(&ams, "A1");
        let records = vec![
            rec(
                &ams,
                &d,
                MissionStatus::Completed,
                "2026-09-10T10:00:00Z",
                600.0,
                40.0,
            ),
            rec(
                &ams,
                &d,
                MissionStatus::Completed,
                "2026-11-10T10:00:00Z",
                600.0,
                40.0,
            ),
            rec(
                &ams,
                &d,
                MissionStatus::Completed,
                "2026-11-12T10:00:00Z",
                600.0,
                40.0,
            ),
        ];
        let bars = |from: &str, to: &str, g: Grouping| {
            let s = summarize(
                &records,
                std::slice::from_ref(&ams),
                std::slice::from_ref(&d),
                t(from),
                t(to),
                g,
                &MaintenancePolicy::default(),
            );
            s.site(ams.id).map(|x| {
                x.buckets
                    .iter()
                    .map(|b| (b.label.clone(), b.totals.missions))
                    .collect::<Vec<_>>()
            })
        };
        // Two months give two bars; an empty month is a zero bar.
        assert_eq!(
            bars(
                "2026-09-01T00:00:00+02:00",
                "2026-11-01T00:00:00+01:00",
                Grouping::Month
            ),
            Some(vec![("2026-09".to_owned(), 1), ("2026-10".to_owned(), 0)])
        );
        assert_eq!(
            bars(
                "2026-09-01T00:00:00+02:00",
                "2026-12-01T00:00:00+01:00",
                Grouping::Month
            ),
            Some(vec![
                ("2026-09".to_owned(), 1),
                ("2026-10".to_owned(), 0),
                ("2026-11".to_owned(), 2)
            ])
        );
        // Days: every local day of the range, none beyond it.
        let days = bars(
            "2026-11-09T23:00:00Z",
            "2026-11-13T23:00:00Z",
            Grouping::Day,
        )
        .unwrap_or_default();
        assert_eq!(
            days.iter()
                .map(|(l, n)| format!("{l}:{n}"))
                .collect::<Vec<_>>(),
            [
                "2026-11-10:1",
                "2026-11-11:0",
                "2026-11-12:1",
                "2026-11-13:0"
            ]
        );
        // The count axis of the missions chart ticks whole missions only.
        let max = days.iter().map(|d| d.1).max().unwrap_or(0);
        let ticks = crate::pdf::charts::count_ticks(
            crate::pdf::charts::count_axis_max(max),
            crate::pdf::charts::COUNT_LABELS,
        );
        assert_eq!(ticks, vec![0, 1, 2]);
    }

    #[test]
    fn months_days_and_period_bounds() {
        let ams = site("Amsterdam", chrono_tz::Europe::Amsterdam);
        let d = drone(&ams, "A1");
        let records = vec![
            rec(
                &ams,
                &d,
                MissionStatus::Completed,
                "2026-10-31T23:30:00Z",
                60.0,
                1.0,
            ), // 1 Nov local
            rec(
                &ams,
                &d,
                MissionStatus::Completed,
                "2026-11-15T10:00:00Z",
                60.0,
                1.0,
            ),
            rec(
                &ams,
                &d,
                MissionStatus::Completed,
                "2026-12-01T10:00:00Z",
                60.0,
                1.0,
            ), // after the period
        ];
        let s = summarize(
            &records,
            std::slice::from_ref(&ams),
            &[d],
            t("2026-10-01T00:00:00Z"),
            t("2026-12-01T00:00:00Z"),
            Grouping::Month,
            &MaintenancePolicy::default(),
        );
        let labels: Vec<_> = s.sites[0]
            .buckets
            .iter()
            .map(|b| (b.label.as_str(), b.totals.missions))
            .collect();
        // Every month the period touches in Amsterdam time is a bar: October (empty),
        // November, and December, whose first local hour is before 2026-12-01T00:00Z.
        assert_eq!(labels, [("2026-10", 0), ("2026-11", 2), ("2026-12", 0)]);
        assert_eq!(
            Grouping::Day.label(
                Grouping::Day
                    .bucket_start(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default())
            ),
            "2026-11-26"
        );
        assert_eq!("Month".parse::<Grouping>(), Ok(Grouping::Month));
    }

    #[test]
    fn battery_trend_and_maintenance() {
        let ams = site("Amsterdam", chrono_tz::Europe::Amsterdam);
        let worn = drone(&ams, "WORN");
        let busy = drone(&ams, "BUSY");
        let mut records = Vec::new();
        for day in 1..=9 {
            // The same 20-minute flight uses more and more battery: 40 % → 56 %.
            let used = 40.0 + 2.0 * f64::from(day - 1);
            records.push(rec(
                &ams,
                &worn,
                MissionStatus::Completed,
                &format!("2026-11-{day:02}T10:00:00Z"),
                1200.0,
                used,
            ));
            records.push(rec(
                &ams,
                &busy,
                MissionStatus::Completed,
                &format!("2026-11-{day:02}T12:00:00Z"),
                3.0 * 3600.0,
                50.0,
            ));
        }
        let s = summarize(
            &records,
            std::slice::from_ref(&ams),
            &[worn.clone(), busy.clone()],
            t("2026-11-01T00:00:00Z"),
            t("2026-12-01T00:00:00Z"),
            Grouping::Week,
            &MaintenancePolicy::default(),
        );
        let due = s.maintenance_due();
        let serials: Vec<_> = due.iter().map(|(_, d)| d.serial.as_str()).collect();
        assert_eq!(serials, ["BUSY", "WORN"]);
        let w = &s.sites[0].drones[1];
        assert_eq!(w.serial, "WORN");
        assert_eq!(w.battery.len(), 9);
        assert!(w.battery[0].endurance_min > w.battery[8].endurance_min);
        assert!(
            matches!(w.maintenance[0], MaintenanceReason::BatteryDegraded { change_pct } if change_pct < -15.0)
        );
        assert!(
            matches!(s.sites[0].drones[0].maintenance[0], MaintenanceReason::FlightHours { hours, .. } if (hours - 27.0).abs() < 1e-9)
        );
    }

    /// The cached local day gives exactly chrono-tz's date, every 7 minutes over two years,
    /// in zones with DST at 02:00/03:00, at midnight (Santiago, Havana, Beirut), by half an
    /// hour (Lord Howe), south of the equator, and across Samoa's skipped day (2011-12-30).
    #[test]
    fn cached_local_days_match_chrono_tz() {
        let zones = [
            chrono_tz::Europe::Amsterdam,
            chrono_tz::America::New_York,
            chrono_tz::America::Santiago,
            chrono_tz::America::Havana,
            chrono_tz::Asia::Beirut,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Australia::Sydney,
            chrono_tz::Asia::Tokyo,
            chrono_tz::Pacific::Apia,
            chrono_tz::UTC,
        ];
        for (from, to) in [
            (t("2025-01-01T00:00:00Z"), t("2027-01-01T00:00:00Z")),
            (t("2011-12-25T00:00:00Z"), t("2012-01-05T00:00:00Z")),
        ] {
            for tz in zones {
                let mut days = LocalDays::new(tz);
                let mut at = from;
                while at < to {
                    assert_eq!(
                        days.date(at),
                        at.with_timezone(&tz).date_naive(),
                        "{tz} {at}"
                    );
                    at += Duration::minutes(7);
                }
                // Out of order too (records of one site interleave with others' days).
                for (i, back) in [0_i64, 400, 3, 9_000, 17, 123_457].iter().enumerate() {
                    let at = to - Duration::minutes(*back) - Duration::seconds(i as i64);
                    assert_eq!(
                        days.date(at),
                        at.with_timezone(&tz).date_naive(),
                        "{tz} {at}"
                    );
                }
            }
        }
    }

    #[test]
    fn history_filters() {
        let ams = site("Amsterdam", chrono_tz::Europe::Amsterdam);
        let (a, b) = (drone(&ams, "A"), drone(&ams, "B"));
        let records = vec![
            rec(
                &ams,
                &a,
                MissionStatus::Completed,
                "2026-11-01T10:00:00Z",
                60.0,
                1.0,
            ),
            rec(
                &ams,
                &b,
                MissionStatus::Aborted,
                "2026-11-02T10:00:00Z",
                60.0,
                1.0,
            ),
            rec(
                &ams,
                &a,
                MissionStatus::Failed,
                "2026-11-03T10:00:00Z",
                60.0,
                1.0,
            ),
        ];
        let by_drone = history(
            &records,
            &HistoryFilter {
                drone_id: Some(a.id),
                ..HistoryFilter::default()
            },
        );
        assert_eq!(
            by_drone.iter().map(|r| r.status).collect::<Vec<_>>(),
            [MissionStatus::Failed, MissionStatus::Completed]
        );
        let f = HistoryFilter {
            statuses: vec![MissionStatus::Aborted, MissionStatus::Failed],
            from: Some(t("2026-11-02T12:00:00Z")),
            ..HistoryFilter::default()
        };
        assert_eq!(history(&records, &f).len(), 1);
        assert_eq!(
            history(
                &records,
                &HistoryFilter {
                    site_id: Some(SiteId::new_random()),
                    ..HistoryFilter::default()
                }
            )
            .len(),
            0
        );
    }
}
