//! The organisation report's fast path (`load_records` over the store's `mission_figures`,
//! the cached local days of `summarize`, the history moved out of the records) against a
//! straightforward computation: the mission history with each mission's full result
//! (`Store::mission_records` + `record_of_entry`), and buckets placed by converting every
//! start with chrono-tz. A real store file with five sites in different time zones (DST at
//! 02:00/03:00, at midnight in Santiago, by half an hour on Lord Howe, none in Tokyo),
//! missions crossing local midnight on the days the clocks change, planned missions, missions
//! still flying and results with missing figures.

#![allow(clippy::unwrap_used, reason = "test: a panic is the failure report")]

use aviary_core::{
    Drone, DroneId, DroneStatus, LatLon, ManualClock, Mission, MissionId, MissionStatus, OrgId,
    Organization, Site, SiteId,
};
use aviary_reports::ReportOptions;
use aviary_reports::summary::{
    Grouping, HistoryFilter, MaintenancePolicy, MissionRecord, history, load_org_report,
    load_records, record_of_entry, summarize,
};
use aviary_reports::testdata;
use aviary_store::{
    ImportedMission, MissionResult, RecordFilter, ResultSource, Store, StoreOptions,
};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    sites: Vec<Site>,
    drones: Vec<Drone>,
}

/// A mission of `drone` starting at `start` (`None`: planned, placed by its creation at
/// `created`), and its result by index `i`: most complete, some with figures missing.
fn item(
    template: &Mission,
    org: OrgId,
    drone: &Drone,
    i: usize,
    start: DateTime<Utc>,
) -> ImportedMission {
    let flight_s = 600.0 + (i % 17) as f64 * 97.0;
    let end = start + Duration::milliseconds((flight_s * 1000.0) as i64);
    let (status, flown, with_result) = match i % 19 {
        0 => (MissionStatus::Planned, false, false),
        7 => (MissionStatus::InProgress, true, false),
        _ => (
            [
                MissionStatus::Completed,
                MissionStatus::Completed,
                MissionStatus::Aborted,
                MissionStatus::Failed,
            ][i % 4],
            true,
            true,
        ),
    };
    let mission = Mission {
        id: MissionId::new_random(),
        org_id: org,
        site_id: drone.site_id,
        drone_id: (i % 29 != 3).then_some(drone.id),
        name: format!("Mission {i}"),
        status,
        created_at: if flown {
            start - Duration::hours(5)
        } else {
            start
        },
        actual_start: flown.then_some(start),
        actual_end: (flown && status != MissionStatus::InProgress).then_some(end),
        ..template.clone()
    };
    // Every 11th result has no telemetry figures (times fall back to the recorded ones);
    // every 13th lacks the last battery level.
    let sparse = i % 11 == 5;
    let result = with_result.then(|| MissionResult {
        mission_id: mission.id,
        outcome: status,
        ended_at: end,
        samples: if sparse { 0 } else { (flight_s * 5.0) as u64 },
        first_sample: (!sparse).then(|| start + Duration::milliseconds(2_345)),
        last_sample: (!sparse).then(|| end - Duration::milliseconds(1_111)),
        duration_s: (!sparse).then_some(flight_s - 3.456),
        distance_m: (!sparse).then_some(flight_s * 4.7 + i as f64 * 0.01),
        covered_area_m2: (!sparse).then_some(50_000.0 + i as f64),
        coverage_pct: (!sparse).then_some(97.0),
        photos: (!sparse).then_some(120),
        battery_start_pct: (!sparse).then_some(99.0 - (i % 5) as f64),
        battery_end_pct: (!sparse && i % 13 != 2)
            .then(|| 99.0 - flight_s / 25.0 - (i as f64 / 300.0).min(20.0)),
        battery_max_pct: (!sparse).then_some(99.0),
        battery_min_pct: (!sparse).then_some(40.0),
        source: ResultSource::Report,
        computed_at: end,
    });
    ImportedMission { mission, result }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(t("2026-12-15T00:00:00Z")));
    let mut store =
        Store::open(&dir.path().join("org.db"), clock, StoreOptions::default()).unwrap();
    let org = Organization {
        id: OrgId::new_random(),
        name: "Fast path B.V.".into(),
        created_at: t("2026-01-01T00:00:00Z"),
    };
    store.upsert_org(&org).unwrap();
    let zones = [
        chrono_tz::Europe::Amsterdam,
        chrono_tz::America::New_York,
        chrono_tz::America::Santiago,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Asia::Tokyo,
    ];
    let sites: Vec<Site> = zones
        .iter()
        .enumerate()
        .map(|(i, tz)| Site {
            id: SiteId::new_random(),
            org_id: org.id,
            name: format!("Site {i} {tz}"),
            location: LatLon::new(51.9, 4.48),
            timezone: *tz,
            created_at: org.created_at,
        })
        .collect();
    for s in &sites {
        store.upsert_site(s).unwrap();
    }
    let drones: Vec<Drone> = (0..12)
        .map(|i| Drone {
            id: DroneId::new_random(),
            site_id: sites[i % sites.len()].id,
            serial_number: format!("FP-{i:02}"),
            model: "Quad X4".into(),
            status: if i == 4 {
                DroneStatus::Maintenance
            } else {
                DroneStatus::Available
            },
            battery_pct: 100,
            last_seen: None,
            home: LatLon::new(51.9, 4.48),
            firmware_version: "4.5.7".into(),
            link: None,
            created_at: org.created_at,
        })
        .collect();
    for d in &drones {
        store.insert_drone(d).unwrap();
    }
    let template = testdata::lawnmower_mission("Field", 120.0, 80.0, MissionStatus::Completed);
    let mut items = Vec::new();
    // Regular flights: every 97 minutes plus a few seconds, March to December 2026.
    let mut at = t("2026-03-01T00:00:00Z");
    let mut i = 0;
    while at < t("2026-12-10T00:00:00Z") {
        items.push(item(&template, org.id, &drones[i % drones.len()], i, at));
        i += 1;
        at += Duration::minutes(97) + Duration::seconds((i % 7) as i64);
    }
    // Flights starting just before and just after local midnight, on the days each zone's
    // clocks change and on ordinary days: the drone of the site flies them.
    let days = [
        "2026-03-08",
        "2026-03-29",
        "2026-04-05",
        "2026-04-06",
        "2026-06-15",
        "2026-09-06",
        "2026-10-04",
        "2026-10-25",
        "2026-11-01",
        "2026-11-02",
    ];
    for (k, site) in sites.iter().enumerate() {
        let drone = drones.iter().find(|d| d.site_id == site.id).unwrap();
        for day in days {
            let date: NaiveDate = day.parse().unwrap();
            for (h, m) in [(23, 55), (0, 5), (23, 59)] {
                let local = date.and_hms_opt(h, m, 0).unwrap();
                // Skipped local times (clocks forward at midnight) take the next hour's.
                let utc = site
                    .timezone
                    .from_local_datetime(&local)
                    .earliest()
                    .or_else(|| {
                        site.timezone
                            .from_local_datetime(&(local + Duration::hours(1)))
                            .earliest()
                    })
                    .unwrap()
                    .with_timezone(&Utc);
                // Distinct instants: no two missions start in the same microsecond.
                let utc = utc + Duration::microseconds(i as i64 * 7 + k as i64);
                items.push(item(&template, org.id, drone, i, utc));
                i += 1;
            }
        }
    }
    let starts: HashSet<_> = items
        .iter()
        .map(|m| m.mission.actual_start.unwrap_or(m.mission.created_at))
        .collect();
    assert_eq!(starts.len(), items.len(), "distinct start times");
    store.import_missions(&items).unwrap();
    Fixture {
        _dir: dir,
        store,
        sites,
        drones,
    }
}

/// Records the straightforward way: the history with full results, one record per entry.
fn reference_records(store: &Store, to: DateTime<Utc>) -> Vec<MissionRecord> {
    let opts = ReportOptions::default();
    store
        .mission_records(&RecordFilter {
            to: Some(to),
            ..RecordFilter::default()
        })
        .unwrap()
        .iter()
        .map(|e| record_of_entry(store, e, &opts).unwrap())
        .collect()
}

#[test]
fn org_report_fast_path_equals_the_straightforward_computation() {
    let f = fixture();
    let (from, to) = (t("2026-04-01T00:00:00Z"), t("2026-11-03T00:00:00Z"));
    let opts = ReportOptions::default();
    let policy = MaintenancePolicy::default();

    let reference = reference_records(&f.store, to);
    let fast = load_records(&f.store, to, &opts).unwrap();
    assert!(reference.len() > 3_000, "{}", reference.len());
    assert_eq!(fast, reference);
    // Both kinds of fallback are in there.
    assert!(reference.iter().any(|r| r.status == MissionStatus::Planned));
    assert!(
        reference
            .iter()
            .any(|r| r.status == MissionStatus::InProgress)
    );
    assert!(
        reference
            .iter()
            .any(|r| r.flight_s.is_none() && r.start.is_some())
    );

    for grouping in [Grouping::Day, Grouping::Week, Grouping::Month] {
        let report = load_org_report(&f.store, from, to, grouping, &opts, &policy).unwrap();
        let expected = summarize(&reference, &f.sites, &f.drones, from, to, grouping, &policy);
        assert_eq!(report.summary, expected, "{grouping:?}");
        let filter = HistoryFilter {
            from: Some(from),
            to: Some(to),
            ..HistoryFilter::default()
        };
        let expected_history: Vec<MissionRecord> =
            history(&reference, &filter).into_iter().cloned().collect();
        assert_eq!(report.history, expected_history, "{grouping:?}");

        // Buckets placed by converting each start with chrono-tz, summed in the same order.
        for site in &f.sites {
            let mut buckets: BTreeMap<NaiveDate, (u32, f64)> = BTreeMap::new();
            for r in reference.iter().filter(|r| r.site_id == site.id) {
                let when = r.when();
                if when < from || when >= to {
                    continue;
                }
                let local = when.with_timezone::<Tz>(&site.timezone).date_naive();
                let b = buckets.entry(grouping.bucket_start(local)).or_default();
                b.0 += 1;
                b.1 += r.flight_s.unwrap_or(0.0);
            }
            // Every period of the range is a bucket, an empty one with zeros.
            for start in grouping.bucket_starts(from, to, site.timezone) {
                buckets.entry(start).or_default();
            }
            let got: BTreeMap<NaiveDate, (u32, f64)> = report
                .summary
                .site(site.id)
                .unwrap()
                .buckets
                .iter()
                .map(|b| (b.start, (b.totals.missions, b.totals.flight_s)))
                .collect();
            assert_eq!(got, buckets, "{} {grouping:?}", site.name);
        }
    }
}
