//! Weather and the local scheduler as the window shows them: each site's latest report (from
//! the links-side weather service), the verdicts `logic` evaluated for the Plan view's window
//! and for each flying mission, the limits per drone model, and the calendar of scheduled
//! runs.

use aviary_core::schedule::{Recurrence, ScheduleSpec};
use aviary_core::weather::{WeatherLimits, WeatherReport, WeatherVerdict};
use aviary_core::weather_log::WindAccumulator;
use aviary_core::{MissionId, SiteId};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

/// A site's weather as last heard from the service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteWeather {
    /// The latest report, however old (the evaluation turns a stale one into unknown).
    pub report: Option<WeatherReport>,
    /// Why the last fetch failed, if it did.
    pub error: Option<String>,
    /// When it was last asked for.
    pub requested_at: Option<DateTime<Utc>>,
}

/// A model's limits in the Fleet view's editor.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelLimits {
    /// Model name.
    pub model: String,
    /// The limits as edited in the view.
    pub limits: WeatherLimits,
    /// The stored limits differ from the built-in ones.
    pub edited: bool,
}

/// Weather everywhere in the window.
#[derive(Debug, Clone, Default)]
pub struct WeatherState {
    /// Per site.
    pub sites: BTreeMap<SiteId, SiteWeather>,
    /// The Plan view's verdict for its site, drone model and window.
    pub plan: Option<WeatherVerdict>,
    /// The Plan view's window starts this many minutes from now.
    pub plan_start_in_min: u32,
    /// The verdict for each flying mission (a change raises an alert).
    pub flying: BTreeMap<MissionId, WeatherVerdict>,
    /// Limits of every model in the fleet and the built-in ones (the Fleet view edits them).
    pub limits: Vec<ModelLimits>,
    /// When `limits` were last checked against the fleet's models, and the fleet's size then.
    pub limits_checked: Option<(chrono::DateTime<chrono::Utc>, usize)>,
    /// The wind each flying mission's drone measured so far.
    pub measured: BTreeMap<MissionId, MeasuredFlight>,
}

/// The wind estimates of one flight, summed up once a second and stored as it goes.
#[derive(Debug, Clone, Default)]
pub struct MeasuredFlight {
    /// The estimates so far.
    pub wind: WindAccumulator,
    /// When the last one was taken.
    pub sampled_at: Option<DateTime<Utc>>,
    /// When the summary was last stored.
    pub stored_at: Option<DateTime<Utc>>,
}

/// One run in the calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarRow {
    /// The schedule.
    pub schedule: uuid::Uuid,
    /// Its site.
    pub site: SiteId,
    /// The scheduled mission's name.
    pub mission_name: String,
    /// When it is (or was) due.
    pub due: DateTime<Utc>,
    /// Local date and time at the site, e.g. `2027-03-29 09:00 CEST`.
    pub local: String,
    /// `upcoming`, `ready`, `awaiting_confirmation`, `started`, `missed`.
    pub phase: String,
    /// The outcome in words (reasons of a miss, the started mission's status).
    pub detail: String,
}

/// The schedule form of the Calendar view.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleForm {
    /// The planned mission to fly.
    pub mission: Option<MissionId>,
    /// Once, daily or weekly.
    pub recurrence: Recurrence,
    /// First (or only) local date, `YYYY-MM-DD`.
    pub date: String,
    /// Local time, `HH:MM`.
    pub time: String,
    /// Last local date, `YYYY-MM-DD` (empty: none).
    pub end_date: String,
    /// Why the last submission was refused.
    pub error: Option<String>,
}

impl ScheduleForm {
    /// An empty form for `today`.
    pub fn new(today: NaiveDate) -> Self {
        Self {
            mission: None,
            recurrence: Recurrence::Once,
            date: today.to_string(),
            time: "09:00".to_owned(),
            end_date: String::new(),
            error: None,
        }
    }

    /// Parses the form into a schedule spec in the site's zone; bad input names the
    /// field.
    pub fn parse(&self, zone: chrono_tz::Tz) -> Result<ScheduleSpec, String> {
        let form = self;
        let date = |s: &str, what: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|e| format!("{what} {s:?} is not a date (YYYY-MM-DD): {e}"))
        };
        let local_time = chrono::NaiveTime::parse_from_str(form.time.trim(), "%H:%M")
            .map_err(|e| format!("time {:?} is not HH:MM: {e}", form.time))?;
        let end_date = if form.end_date.trim().is_empty() {
            None
        } else {
            Some(date(&form.end_date, "end date")?)
        };
        let spec = ScheduleSpec {
            timezone: zone,
            local_time,
            recurrence: form.recurrence.clone(),
            start_date: date(&form.date, "date")?,
            end_date,
        };
        spec.validate().map_err(|e| e.to_string())?;
        Ok(spec)
    }
}

/// A run due now that waits for the operator.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPrompt {
    /// The schedule.
    pub schedule: uuid::Uuid,
    /// The run's local date.
    pub local_date: NaiveDate,
    /// What the operator reads.
    pub text: String,
    /// The reason typed to decline.
    pub reason: String,
}

/// The Calendar view and the scheduler's prompts.
#[derive(Debug, Clone)]
pub struct CalendarState {
    /// Site shown (`None`: every site).
    pub site: Option<SiteId>,
    /// Upcoming and past runs, by due time.
    pub rows: Vec<CalendarRow>,
    /// Started and missed runs per site over the calendar's period.
    pub counts: BTreeMap<SiteId, (u64, u64)>,
    /// The new-schedule form.
    pub form: ScheduleForm,
    /// Runs waiting for a confirmation.
    pub prompts: Vec<RunPrompt>,
}

impl CalendarState {
    /// Empty, with the form on `today`.
    pub fn new(today: NaiveDate) -> Self {
        Self {
            site: None,
            rows: Vec::new(),
            counts: BTreeMap::new(),
            form: ScheduleForm::new(today),
            prompts: Vec::new(),
        }
    }
}
