//! Scheduled runs that could not start, per site over a period: the organisation report's
//! "Missed scheduled runs" (PDF) and its missed-runs CSV. A run is counted in the period its
//! due time falls in; every run of a site is listed with its reasons, and the reasons are
//! counted by the check that failed ([`MissReason::label`]), so "no link 3, battery 2" reads
//! as three runs missed for want of a link (a run can fail on several checks at once).
//!
//! Built from the store's local schedules and their stored runs ([`load_missed_runs`]); the
//! aggregation itself ([`missed_runs`]) is pure.

use crate::error::ReportError;
use aviary_core::schedule::{MissReason, RunPhase};
use aviary_core::{MissionId, Site, SiteId};
use aviary_store::{LocalSchedule, Store, StoredRun};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

const CSV_WHAT: &str = "missed runs CSV";

/// Header of [`write_missed_runs_csv`]: one row per site; `reasons` counts runs per failed
/// check, most frequent first (`no link 3; battery 2`).
pub const MISSED_HEADER: [&str; 4] = ["site", "timezone", "missed_runs", "reasons"];

/// One missed run.
#[derive(Debug, Clone, PartialEq)]
pub struct MissedRun {
    /// When it was due.
    pub due: DateTime<Utc>,
    /// The due time at the site, e.g. `2027-01-15 00:30 PST`.
    pub due_local: String,
    /// The scheduled mission's name.
    pub mission: String,
    /// Every reason it could not start.
    pub reasons: Vec<MissReason>,
}

impl MissedRun {
    /// The reasons in words, `; ` between them.
    pub fn reasons_text(&self) -> String {
        self.reasons
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// One site's missed runs in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteMissedRuns {
    /// Site id.
    pub site_id: SiteId,
    /// Site name (the id when the site is no longer in the store).
    pub name: String,
    /// Its time zone.
    pub timezone: Tz,
    /// Its missed runs, oldest first.
    pub runs: Vec<MissedRun>,
}

impl SiteMissedRuns {
    /// Runs missed per failed check, most frequent first (then by name).
    pub fn by_reason(&self) -> Vec<(&'static str, usize)> {
        let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
        for run in &self.runs {
            let mut labels: Vec<&'static str> = run.reasons.iter().map(MissReason::label).collect();
            labels.sort_unstable();
            labels.dedup();
            for label in labels {
                *counts.entry(label).or_default() += 1;
            }
        }
        let mut out: Vec<_> = counts.into_iter().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        out
    }

    /// [`SiteMissedRuns::by_reason`] in words: `no link 3; battery 2` (empty when none).
    pub fn reasons_text(&self) -> String {
        self.by_reason()
            .iter()
            .map(|(label, n)| format!("{label} {n}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Missed runs of every site in a period.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MissedRuns {
    /// Every site of the store (those without a missed run with none), then sites no longer
    /// in the store that had one; by name.
    pub sites: Vec<SiteMissedRuns>,
}

impl MissedRuns {
    /// Missed runs over all sites.
    pub fn total(&self) -> usize {
        self.sites.iter().map(|s| s.runs.len()).sum()
    }

    /// One site's.
    pub fn site(&self, id: SiteId) -> Option<&SiteMissedRuns> {
        self.sites.iter().find(|s| s.site_id == id)
    }
}

/// Groups the missed ones of `runs` by the site of their schedule. `mission_names` names the
/// scheduled missions; runs of a schedule not in `schedules` are left out (it was deleted
/// with its runs).
pub fn missed_runs<S: std::hash::BuildHasher>(
    sites: &[Site],
    schedules: &[LocalSchedule],
    runs: &[StoredRun],
    mission_names: &HashMap<MissionId, String, S>,
) -> MissedRuns {
    let mut by_site: BTreeMap<SiteId, SiteMissedRuns> = sites
        .iter()
        .map(|s| {
            (
                s.id,
                SiteMissedRuns {
                    site_id: s.id,
                    name: s.name.clone(),
                    timezone: s.timezone,
                    runs: Vec::new(),
                },
            )
        })
        .collect();
    let schedule_by_id: HashMap<_, _> = schedules.iter().map(|s| (s.id, s)).collect();
    for run in runs {
        let RunPhase::Missed { reasons, .. } = &run.state.phase else {
            continue;
        };
        let Some(sched) = schedule_by_id.get(&run.state.key.schedule) else {
            continue;
        };
        let tz = sched.spec.timezone;
        let site = by_site.entry(sched.site).or_insert_with(|| SiteMissedRuns {
            site_id: sched.site,
            name: sched.site.to_string(),
            timezone: tz,
            runs: Vec::new(),
        });
        site.runs.push(MissedRun {
            due: run.state.due,
            due_local: run
                .state
                .due
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M %Z")
                .to_string(),
            mission: mission_names
                .get(&sched.mission)
                .cloned()
                .unwrap_or_else(|| sched.mission.to_string()),
            reasons: reasons.clone(),
        });
    }
    let mut sites: Vec<SiteMissedRuns> = by_site.into_values().collect();
    for s in &mut sites {
        s.runs.sort_by_key(|r| r.due);
    }
    sites.sort_by(|a, b| a.name.cmp(&b.name));
    MissedRuns { sites }
}

/// The missed runs due in `[from, to)` from `store`'s local schedules.
pub fn load_missed_runs(
    store: &Store,
    sites: &[Site],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<MissedRuns, ReportError> {
    let schedules = store.list_schedules()?;
    let runs = store.runs_between(from, to)?;
    let mut names = HashMap::new();
    for s in &schedules {
        // A schedule whose mission is gone still counts its runs, under the mission's id.
        if let Ok(m) = store.get_mission(s.mission) {
            names.insert(s.mission, m.name);
        }
    }
    Ok(missed_runs(sites, &schedules, &runs, &names))
}

/// Writes one row per site (see [`MISSED_HEADER`]), sites without a missed run with `0`.
pub fn write_missed_runs_csv<W: Write>(w: W, m: &MissedRuns) -> Result<(), ReportError> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(MISSED_HEADER)
        .map_err(ReportError::csv(CSV_WHAT))?;
    for s in &m.sites {
        out.write_record([
            s.name.clone(),
            s.timezone.name().to_owned(),
            s.runs.len().to_string(),
            s.reasons_text(),
        ])
        .map_err(ReportError::csv(CSV_WHAT))?;
    }
    out.flush().map_err(ReportError::write(CSV_WHAT))
}
