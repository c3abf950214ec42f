//! Store story tests against real SQLite files in temporary directories.
#![allow(
    clippy::many_single_char_names,
    clippy::unwrap_used,
    reason = "o, s, d, m: org, site, drone, mission fixtures; a panic is the failure report"
)]

mod common;

use aviary_core::mission::FailureReason;
use aviary_core::*;
use aviary_store::{
    CommandAck, CommandEntry, ImportedMission, MissionFigures, MissionFilter, MissionHistoryEntry,
    MissionResult, RecordFilter, ResultSource, Store, StoreError, StoreOptions, TelemetryRange,
};
use chrono::Duration;
use common::*;
use std::sync::Arc;

#[test]
fn creates_migrates_and_reopens_with_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aviary.db");
    let clock = ManualClock::new(t0());
    let (o, s, d) = {
        let store = open(&path, &clock);
        store.integrity_check().unwrap();
        seeded(&store)
    };
    let store = open(&path, &clock);
    assert_eq!(store.list_orgs().unwrap(), vec![o]);
    assert_eq!(store.list_sites().unwrap(), vec![s]);
    assert_eq!(store.get_drone(d.id).unwrap(), d);
    let conn = rusqlite_version(&path);
    assert_eq!(
        conn,
        (aviary_store::SCHEMA_VERSION, 0x4156_5259, "wal".to_string())
    );
}

fn rusqlite_version(path: &std::path::Path) -> (i64, i64, String) {
    // Read the header with the sqlite3 pragmas through a second store-independent handle.
    let out = std::process::Command::new("sqlite3")
        .arg(path)
        .arg("PRAGMA user_version; PRAGMA application_id; PRAGMA journal_mode;")
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let mut l = text.lines();
            (
                l.next().unwrap().parse().unwrap(),
                l.next().unwrap().parse().unwrap(),
                l.next().unwrap().to_string(),
            )
        }
        // No sqlite3 CLI: read the header bytes directly (user_version at 60, application_id at 68).
        _ => {
            let bytes = std::fs::read(path).unwrap();
            let be = |o: usize| i64::from(i32::from_be_bytes(bytes[o..o + 4].try_into().unwrap()));
            let wal = if bytes[18] == 2 { "wal" } else { "delete" };
            (be(60), be(68), wal.to_string())
        }
    }
}

#[test]
fn drones_by_site_and_status_and_fleet_counts() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let store = open(&dir.path().join("a.db"), &clock);
    let o = org();
    let sf = site(&o, "San Francisco", chrono_tz::America::Los_Angeles);
    let sg = site(&o, "Singapore", chrono_tz::Asia::Singapore);
    store.upsert_org(&o).unwrap();
    store.upsert_site(&sf).unwrap();
    store.upsert_site(&sg).unwrap();
    let a = drone(&sf, "SF-1", DroneStatus::Available);
    let b = drone(&sf, "SF-2", DroneStatus::Charging);
    let c = drone(&sg, "SG-1", DroneStatus::Available);
    for d in [&a, &b, &c] {
        store.insert_drone(d).unwrap();
    }
    let dup = drone(&sg, "SF-1", DroneStatus::Available);
    let err = store.insert_drone(&dup).unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { .. }), "{err}");
    assert!(err.to_string().contains("SF-1"));

    assert_eq!(store.list_drones(None, None).unwrap().len(), 3);
    assert_eq!(
        store.list_drones(Some(sf.id), None).unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(
        store
            .list_drones(Some(sf.id), Some(DroneStatus::Charging))
            .unwrap(),
        vec![b.clone()]
    );
    assert_eq!(
        store
            .list_drones(None, Some(DroneStatus::Available))
            .unwrap(),
        vec![a.clone(), c.clone()]
    );

    store
        .set_drone_status(a.id, DroneStatus::Maintenance)
        .unwrap();
    store
        .touch_drone(a.id, 42, t0() + Duration::seconds(5))
        .unwrap();
    let got = store.get_drone(a.id).unwrap();
    assert_eq!(
        (got.status, got.battery_pct, got.last_seen),
        (
            DroneStatus::Maintenance,
            42,
            Some(t0() + Duration::seconds(5))
        )
    );
    let counts = store.fleet_status_counts(sf.id).unwrap();
    assert_eq!(
        (
            counts.maintenance,
            counts.charging,
            counts.available,
            counts.total()
        ),
        (1, 1, 0, 2)
    );
    assert!(matches!(
        store.set_drone_status(DroneId::new_random(), DroneStatus::Available),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.get_drone(DroneId::new_random()),
        Err(StoreError::NotFound { kind: "drone", .. })
    ));
}

#[test]
fn drones_filed_together_are_one_transaction_each_with_its_own_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let mut store = open(&dir.path().join("a.db"), &clock);
    let o = org();
    let s = site(&o, "Rotterdam", chrono_tz::Europe::Amsterdam);
    store.upsert_org(&o).unwrap();
    store.upsert_site(&s).unwrap();
    store
        .insert_drone(&drone(&s, "MAV-1", DroneStatus::Available))
        .unwrap();
    // A fleet powering up: many new vehicles, one of them clashing with a stored serial and
    // one naming a site the store does not have.
    let mut batch: Vec<Drone> = (2..=500)
        .map(|i| drone(&s, &format!("MAV-{i}"), DroneStatus::Available))
        .collect();
    batch.push(drone(&s, "MAV-1", DroneStatus::Available));
    let elsewhere = site(&o, "Nowhere", chrono_tz::UTC);
    batch.push(drone(&elsewhere, "MAV-X", DroneStatus::Available));
    let outcomes = store.insert_drones(&batch).unwrap();
    assert_eq!(outcomes.len(), batch.len());
    assert!(outcomes[..499].iter().all(Result::is_ok));
    let dup = outcomes[499].as_ref().unwrap_err();
    assert!(matches!(dup, StoreError::Duplicate { .. }), "{dup}");
    assert!(dup.to_string().contains("MAV-1"), "{dup}");
    assert!(
        outcomes[500].is_err(),
        "a drone of an unknown site is refused"
    );
    // The others are stored, the stored one untouched.
    let all = store.list_drones(None, None).unwrap();
    assert_eq!(all.len(), 500);
    assert!(all.iter().all(|d| d.serial_number != "MAV-X"));
    assert_eq!(
        store.drone_by_serial("MAV-250").unwrap().map(|d| d.id),
        Some(batch[248].id)
    );
    // Read a page at a time, the fleet is the same as read at once.
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_drones_page(after.as_deref(), 128).unwrap();
        assert!(page.len() <= 128);
        after = page.last().map(|d| d.serial_number.clone());
        let last = page.len() < 128;
        paged.extend(page);
        if last {
            break;
        }
    }
    assert_eq!(paged, all);
}

#[test]
fn missions_filtered_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let store = open(&dir.path().join("m.db"), &clock);
    let (o, s, d) = seeded(&store);
    let other = site(&o, "Singapore", chrono_tz::Asia::Singapore);
    store.upsert_site(&other).unwrap();
    let m1 = mission(&o, &s, Some(&d), "first", t0());
    let m2 = mission(&o, &s, None, "second", t0() + Duration::hours(1));
    let m3 = mission(&o, &other, None, "elsewhere", t0() + Duration::hours(2));
    for m in [&m1, &m2, &m3] {
        store.insert_mission(m).unwrap();
    }
    assert_eq!(store.get_mission(m1.id).unwrap(), m1);
    let names = |f: MissionFilter| {
        store
            .list_missions(&f)
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(MissionFilter::default()),
        ["elsewhere", "second", "first"]
    );
    assert_eq!(
        names(MissionFilter {
            site_id: Some(s.id),
            ..Default::default()
        }),
        ["second", "first"]
    );
    assert_eq!(
        names(MissionFilter {
            drone_id: Some(d.id),
            ..Default::default()
        }),
        ["first"]
    );
    assert_eq!(
        names(MissionFilter {
            from: Some(t0() + Duration::minutes(30)),
            to: Some(t0() + Duration::minutes(90)),
            ..Default::default()
        }),
        ["second"]
    );
    assert_eq!(
        names(MissionFilter {
            limit: 1,
            ..Default::default()
        }),
        ["elsewhere"]
    );
    assert!(
        names(MissionFilter {
            statuses: vec![MissionStatus::Completed],
            ..Default::default()
        })
        .is_empty()
    );

    let mut edited = m2.clone();
    edited.name = "second, renamed".into();
    edited.drone_id = Some(d.id);
    store.update_mission(&edited).unwrap();
    assert_eq!(store.get_mission(m2.id).unwrap(), edited);
    let ghost = mission(&o, &s, None, "ghost", t0());
    assert!(matches!(
        store.update_mission(&ghost),
        Err(StoreError::NotFound {
            kind: "mission",
            ..
        })
    ));
}

#[test]
fn lifecycle_through_the_store_is_atomic_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let mut store = open(&dir.path().join("l.db"), &clock);
    let (o, s, d) = seeded(&store);
    let m = mission(&o, &s, Some(&d), "roof", t0());
    store.insert_mission(&m).unwrap();

    clock.advance(Duration::seconds(10));
    let started = store
        .apply_mission_event(m.id, MissionEvent::Start, None)
        .unwrap();
    assert_eq!(
        (started.status, started.actual_start),
        (
            MissionStatus::InProgress,
            Some(t0() + Duration::seconds(10))
        )
    );
    let err = store
        .apply_mission_event(m.id, MissionEvent::Delete, None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot delete a mission that is in progress"
    );
    assert_eq!(
        store.get_mission(m.id).unwrap().status,
        MissionStatus::InProgress
    );

    store
        .apply_mission_event(m.id, MissionEvent::Pause, None)
        .unwrap();
    clock.advance(Duration::minutes(4));
    assert!(store.expire_paused_missions().unwrap().is_empty());
    clock.advance(Duration::minutes(1));
    let failed = store.expire_paused_missions().unwrap();
    assert_eq!(failed.len(), 1);
    let stored = store.get_mission(m.id).unwrap();
    assert_eq!(stored.status, MissionStatus::Failed);
    assert_eq!(
        stored.actual_end,
        Some(t0() + Duration::seconds(10) + Duration::minutes(5))
    );
    assert_eq!(
        stored.lifecycle().failure(),
        None,
        "reason is not stored; the audit log has it"
    );

    let actions: Vec<String> = store
        .audit_log()
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.action, e.detail))
        .collect();
    assert_eq!(
        actions,
        [
            "mission.start in_progress",
            "mission.pause paused",
            "mission.fail failed"
        ]
    );

    // Deletion only from planned, and it removes the row.
    let p = mission(&o, &s, None, "to delete", t0());
    store.insert_mission(&p).unwrap();
    store
        .apply_mission_event(p.id, MissionEvent::Delete, None)
        .unwrap();
    assert!(matches!(
        store.get_mission(p.id),
        Err(StoreError::NotFound { .. })
    ));
    let _ = FailureReason::ConnectionLost;
}

#[test]
fn commands_and_audit_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let store = open(&dir.path().join("c.db"), &clock);
    let (o, s, d) = seeded(&store);
    let m = mission(&o, &s, Some(&d), "roof", t0());
    store.insert_mission(&m).unwrap();
    let id = uuid::Uuid::new_v4();
    store
        .record_command(id, d.id, Some(m.id), "pause", "pending", "")
        .unwrap();
    clock.advance(Duration::seconds(1));
    store
        .record_command(id, d.id, Some(m.id), "pause", "confirmed", "BRAKE")
        .unwrap();
    let id2 = uuid::Uuid::new_v4();
    store
        .record_command(
            id2,
            d.id,
            Some(m.id),
            "resume",
            "failed",
            "no COMMAND_ACK after 3 attempts",
        )
        .unwrap();
    let cmds = store.mission_commands(m.id).unwrap();
    assert_eq!(
        cmds,
        [
            CommandEntry {
                id,
                drone_id: d.id,
                action: "pause".into(),
                ack: CommandAck::Confirmed,
                detail: "BRAKE".into(),
                sent_at: t0(),
                updated_at: t0() + Duration::seconds(1),
            },
            CommandEntry {
                id: id2,
                drone_id: d.id,
                action: "resume".into(),
                ack: CommandAck::Failed,
                detail: "no COMMAND_ACK after 3 attempts".into(),
                sent_at: t0() + Duration::seconds(1),
                updated_at: t0() + Duration::seconds(1),
            },
        ]
    );
    // Another mission's commands are not listed.
    let other = mission(&o, &s, Some(&d), "other", t0());
    store.insert_mission(&other).unwrap();
    assert!(store.mission_commands(other.id).unwrap().is_empty());

    let ev = AuditEvent {
        time: t0(),
        user_id: None,
        action: "drone.status".into(),
        target: d.id.to_string(),
        detail: "maintenance".into(),
    };
    store.append_audit(&ev).unwrap();
    assert_eq!(store.audit_log().unwrap(), vec![ev]);
}

#[test]
fn telemetry_batches_ranges_latest_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    // The writer's own hourly retention would race the explicit run below once the clock
    // jumps two years (it wakes every second): only the explicit run may delete here.
    let opts = StoreOptions {
        retention_interval: Duration::days(365 * 100),
        ..StoreOptions::default()
    };
    let store = Store::open(&dir.path().join("t.db"), Arc::new(clock.clone()), opts).unwrap();
    let (o, s, d) = seeded(&store);
    let d2 = drone(&s, "SN-002", DroneStatus::Available);
    store.insert_drone(&d2).unwrap();
    let m = mission(&o, &s, Some(&d), "roof", t0());
    store.insert_mission(&m).unwrap();
    for i in 0..1800 {
        assert!(store.telemetry().submit(sample(
            d.id,
            Some(m.id),
            t0() + Duration::seconds(i64::from(i)),
            i
        )));
    }
    // A duplicate (same drone, same time) is ignored, not an error.
    store.telemetry().submit(sample(d.id, Some(m.id), t0(), 0));
    store
        .telemetry()
        .submit(sample(d2.id, None, t0() + Duration::seconds(3), 0));
    store.telemetry().flush().unwrap();
    let st = store.telemetry().stats();
    assert_eq!(st.written, 1802, "{st:?}");
    assert_eq!(st.lost(), 0);
    assert_eq!(store.telemetry_count().unwrap(), 1801);

    let all = store
        .mission_telemetry(m.id, TelemetryRange::all())
        .unwrap();
    assert_eq!(all.len(), 1800);
    assert!(all.windows(2).all(|w| w[0].time < w[1].time));
    assert_eq!(
        all[7],
        sample(d.id, Some(m.id), t0() + Duration::seconds(7), 7)
    );
    let part = store
        .mission_telemetry(
            m.id,
            TelemetryRange {
                from: t0() + Duration::seconds(100),
                to: t0() + Duration::seconds(200),
            },
        )
        .unwrap();
    assert_eq!(part.len(), 100);
    assert_eq!(
        store
            .drone_telemetry(d2.id, TelemetryRange::all())
            .unwrap()
            .len(),
        1
    );

    let latest = store.latest_telemetry().unwrap();
    assert_eq!(latest.len(), 2);
    assert_eq!(latest[0].time, t0() + Duration::seconds(1799));
    assert_eq!(latest[1].drone_id, d2.id);

    // Two years later, retention removes everything older than 730 days.
    clock.advance(Duration::days(730) + Duration::seconds(100));
    let deleted = store.telemetry().run_retention().unwrap();
    assert_eq!(
        deleted, 101,
        "samples at t0..=t0+100s are older than the cutoff"
    );
    assert_eq!(store.telemetry_count().unwrap(), 1700);
    assert_eq!(store.telemetry().stats().retention_deleted, 101);
}

#[test]
fn telemetry_queue_accounting_never_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let opts = StoreOptions {
        telemetry_queue_capacity: 4,
        telemetry_batch_max: 2,
        ..StoreOptions::default()
    };
    let store = Store::open(&dir.path().join("q.db"), Arc::new(clock.clone()), opts).unwrap();
    let (_, _, d) = seeded(&store);
    let mut accepted = 0u64;
    for i in 0..20_000 {
        if store.telemetry().submit(sample(
            d.id,
            None,
            t0() + Duration::milliseconds(i64::from(i)),
            i,
        )) {
            accepted += 1;
        }
    }
    store.telemetry().flush().unwrap();
    let st = store.telemetry().stats();
    assert_eq!(st.written, accepted);
    assert_eq!(
        st.written + st.dropped_queue_full,
        20_000,
        "every sample is either written or counted as lost"
    );
    assert_eq!(store.telemetry_count().unwrap(), accepted);
}

#[test]
fn telemetry_batches_are_bounded_in_samples_and_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let opts = StoreOptions {
        telemetry_queue_capacity: 100,
        ..StoreOptions::default()
    };
    let store = Store::open(&dir.path().join("b.db"), Arc::new(clock.clone()), opts).unwrap();
    let (_, _, d) = seeded(&store);
    let batch = |from: u32, n: u32| -> Vec<TelemetrySample> {
        (from..from + n)
            .map(|i| sample(d.id, None, t0() + Duration::milliseconds(i64::from(i)), i))
            .collect()
    };
    // A batch larger than the whole queue can never fit: refused whole, every sample counted.
    assert!(!store.telemetry().submit_batch(batch(0, 101)));
    assert_eq!(store.telemetry().stats().dropped_queue_full, 101);
    // An empty batch is nothing to do.
    assert!(store.telemetry().submit_batch(Vec::new()));
    // Batches that fit are stored, every sample of them, in order with single samples.
    let mut accepted = 0u64;
    let mut offered = 0u64;
    for k in 0..200 {
        let ok = store.telemetry().submit_batch(batch(1_000 + k * 10, 10));
        offered += 10;
        if ok {
            accepted += 10;
        }
        if store.telemetry().submit(sample(
            d.id,
            None,
            t0() + Duration::milliseconds(i64::from(5_000 + k)),
            k,
        )) {
            accepted += 1;
        }
        offered += 1;
    }
    store.telemetry().flush().unwrap();
    let st = store.telemetry().stats();
    assert!(accepted > 0);
    assert_eq!(st.written, accepted);
    assert_eq!(
        st.written + st.dropped_queue_full,
        offered + 101,
        "every sample is either written or counted as lost"
    );
    assert_eq!(store.telemetry_count().unwrap(), accepted);
    // With the queue drained, a batch of the queue's size fits.
    assert!(store.telemetry().submit_batch(batch(10_000, 100)));
    store.telemetry().flush().unwrap();
    assert_eq!(store.telemetry_count().unwrap(), accepted + 100);
}

#[test]
fn foreign_file_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let path = dir.path().join("notes.db");
    let text = b"my important notes, not a database\n".repeat(200);
    std::fs::write(&path, &text).unwrap();
    let err = Store::open(&path, clock.clone(), StoreOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), text);
    assert!(!dir.path().join("notes.db-wal").exists());
}

#[test]
fn another_programs_sqlite_file_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    {
        let c = rusqlite_conn(&path);
        c.execute_batch("CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('soup');")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(
        &path,
        Arc::new(ManualClock::new(t0())),
        StoreOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, StoreError::Foreign { tables: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("other.db"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

fn rusqlite_conn(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    drop(open(&path, &ManualClock::new(t0())));
    rusqlite_conn(&path)
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let err = Store::open(
        &path,
        Arc::new(ManualClock::new(t0())),
        StoreOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found: 99, .. }),
        "{err:?}"
    );
}

#[test]
fn unwritable_location_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let mut perms = std::fs::metadata(&ro).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&ro, perms).unwrap();
    // root ignores directory permissions; then use a directory no one can create files in.
    let probe = ro.join("probe");
    let target = if std::fs::write(&probe, b"x").is_ok() {
        std::path::PathBuf::from("/proc/aviary-test.db")
    } else {
        ro.join("aviary.db")
    };
    let err = Store::open(
        &target,
        Arc::new(ManualClock::new(t0())),
        StoreOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(&target.display().to_string()),
        "{err}"
    );
    assert!(
        matches!(
            err,
            StoreError::CannotOpen { .. } | StoreError::ReadOnly { .. }
        ),
        "{err:?}"
    );
    let missing = dir.path().join("no/such/dir/aviary.db");
    let err = Store::open(
        &missing,
        Arc::new(ManualClock::new(t0())),
        StoreOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no/such/dir"), "{err}");
}

#[test]
fn full_disk_counts_telemetry_loss_and_fails_mission_writes_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.db");
    let clock = ManualClock::new(t0());
    let (o, s, d, m) = {
        let store = open(&path, &clock);
        let (o, s, d) = seeded(&store);
        let m = mission(&o, &s, Some(&d), "kept", t0());
        store.insert_mission(&m).unwrap();
        (o, s, d, m)
    };
    let pages: u64 = std::fs::metadata(&path).unwrap().len() / 4096 + 4;
    let opts = StoreOptions {
        max_page_count: Some(pages),
        ..StoreOptions::default()
    };
    let store = Store::open(&path, Arc::new(clock.clone()), opts).unwrap();
    let mut big = mission(&o, &s, Some(&d), "too big", t0());
    big.waypoints = vec![big.waypoints[0]; 20_000];
    let err = store.insert_mission(&big).unwrap_err();
    assert!(err.is_disk_full(), "{err:?}");
    assert!(err.to_string().contains("full.db"), "{err}");
    for i in 0..5_000 {
        store.telemetry().submit(sample(
            d.id,
            Some(m.id),
            t0() + Duration::seconds(i64::from(i)),
            i,
        ));
    }
    let _ = store.telemetry().flush();
    let st = store.telemetry().stats();
    assert!(st.dropped_disk_full > 0, "{st:?}");
    assert_eq!(
        st.written + st.dropped_disk_full + st.dropped_queue_full,
        5_000
    );
    assert!(st.last_error.unwrap().contains("full"));
    // What was stored before is intact.
    assert_eq!(store.get_mission(m.id).unwrap(), m);
    store.integrity_check().unwrap();
}

// --- what the reports read (schema v3) --------------------------------------------------------

#[test]
fn mission_result_is_written_when_the_mission_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let clock = ManualClock::new(t0());
    let (m, samples) = {
        let mut store = open(&path, &clock);
        let (o, s, d) = seeded(&store);
        let m = mission(&o, &s, Some(&d), "roof", t0());
        store.insert_mission(&m).unwrap();
        store
            .apply_mission_event(m.id, MissionEvent::Start, None)
            .unwrap();
        assert_eq!(store.mission_result(m.id).unwrap(), None, "not ended yet");
        let samples = fly_north(&store, d.id, m.id, t0(), 61);
        clock.advance(Duration::seconds(61));
        // No flush here: ending the mission commits the queued samples before computing.
        store
            .apply_mission_event(m.id, MissionEvent::Finish, None)
            .unwrap();
        (m, samples)
    };
    // Reopened from the file: the result was committed with the mission's end.
    let store = open(&path, &clock);
    let r = store.mission_result(m.id).unwrap().expect("result stored");
    let expected_m: f64 = samples
        .windows(2)
        .map(|w| w[0].pos.distance_m(w[1].pos))
        .sum();
    assert!((expected_m - 600.0).abs() < 0.5, "{expected_m}");
    assert_eq!(
        (r.outcome, r.samples, r.source),
        (MissionStatus::Completed, 61, ResultSource::Store)
    );
    assert_eq!(r.ended_at, t0() + Duration::seconds(61));
    assert_eq!(
        (r.first_sample, r.last_sample),
        (Some(t0()), Some(t0() + Duration::seconds(60)))
    );
    assert_eq!(r.duration_s, Some(60.0));
    assert!((r.distance_m.unwrap() - expected_m).abs() < 1e-6);
    assert_eq!(
        (
            r.battery_start_pct,
            r.battery_end_pct,
            r.battery_max_pct,
            r.battery_min_pct
        ),
        (Some(90.0), Some(60.0), Some(90.0), Some(60.0))
    );
    assert_eq!(
        (r.covered_area_m2, r.photos),
        (None, None),
        "left to the report"
    );

    // The report completes it; saving replaces the row.
    let full = MissionResult {
        covered_area_m2: Some(1234.5),
        coverage_pct: Some(61.7),
        photos: Some(42),
        source: ResultSource::Report,
        ..r.clone()
    };
    store.save_mission_result(&full).unwrap();
    assert_eq!(store.mission_result(m.id).unwrap(), Some(full));
}

#[test]
fn aborted_mission_without_telemetry_has_a_result_without_figures() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let mut store = open(&dir.path().join("a.db"), &clock);
    let (o, s, d) = seeded(&store);
    let m = mission(&o, &s, Some(&d), "never saw a sample", t0());
    store.insert_mission(&m).unwrap();
    store
        .apply_mission_event(m.id, MissionEvent::Start, None)
        .unwrap();
    clock.advance(Duration::seconds(5));
    store
        .apply_mission_event(m.id, MissionEvent::Abort, None)
        .unwrap();
    let r = store.mission_result(m.id).unwrap().expect("result stored");
    assert_eq!((r.outcome, r.samples), (MissionStatus::Aborted, 0));
    assert_eq!(
        (
            r.duration_s,
            r.distance_m,
            r.battery_max_pct,
            r.first_sample
        ),
        (None, None, None, None),
        "missing, not zero"
    );
    // Pause and resume do not write results.
    let p = mission(&o, &s, Some(&d), "paused", t0());
    store.insert_mission(&p).unwrap();
    store
        .apply_mission_event(p.id, MissionEvent::Start, None)
        .unwrap();
    store
        .apply_mission_event(p.id, MissionEvent::Pause, None)
        .unwrap();
    assert_eq!(store.mission_result(p.id).unwrap(), None);
}

#[test]
fn mission_records_join_results_filtered_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let mut store = open(&dir.path().join("h.db"), &clock);
    let (o, s, d) = seeded(&store);
    let other = site(&o, "Singapore", chrono_tz::Asia::Singapore);
    store.upsert_site(&other).unwrap();
    let d2 = drone(&other, "SG-1", DroneStatus::Available);
    store.insert_drone(&d2).unwrap();

    // Planned a week before, flown at t0 + 1 h: placed at its start.
    let flown = mission(&o, &s, Some(&d), "flown", t0() - Duration::days(7));
    // Planned at t0 + 2 h, never flown: placed at its creation.
    let planned = mission(&o, &s, None, "planned", t0() + Duration::hours(2));
    // Flown at t0 + 3 h at the other site and aborted.
    let elsewhere = mission(&o, &other, Some(&d2), "elsewhere", t0());
    for m in [&flown, &planned, &elsewhere] {
        store.insert_mission(m).unwrap();
    }
    clock.set(t0() + Duration::hours(1));
    store
        .apply_mission_event(flown.id, MissionEvent::Start, None)
        .unwrap();
    fly_north(&store, d.id, flown.id, t0() + Duration::hours(1), 11);
    clock.advance(Duration::seconds(11));
    store
        .apply_mission_event(flown.id, MissionEvent::Finish, None)
        .unwrap();
    clock.set(t0() + Duration::hours(3));
    store
        .apply_mission_event(elsewhere.id, MissionEvent::Start, None)
        .unwrap();
    store
        .apply_mission_event(elsewhere.id, MissionEvent::Abort, None)
        .unwrap();

    let names = |f: RecordFilter| {
        store
            .mission_records(&f)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(RecordFilter::default()),
        ["elsewhere", "planned", "flown"]
    );
    assert_eq!(
        names(RecordFilter {
            site_id: Some(s.id),
            ..Default::default()
        }),
        ["planned", "flown"]
    );
    assert_eq!(
        names(RecordFilter {
            drone_id: Some(d2.id),
            ..Default::default()
        }),
        ["elsewhere"]
    );
    assert_eq!(
        names(RecordFilter {
            statuses: vec![MissionStatus::Completed, MissionStatus::Aborted],
            ..Default::default()
        }),
        ["elsewhere", "flown"]
    );
    // The period applies to the flight, not the planning: "flown" was created a week
    // before the range but flew inside it.
    assert_eq!(
        names(RecordFilter {
            from: Some(t0()),
            to: Some(t0() + Duration::minutes(150)),
            ..Default::default()
        }),
        ["planned", "flown"]
    );
    assert_eq!(
        names(RecordFilter {
            limit: 2,
            ..Default::default()
        }),
        ["elsewhere", "planned"]
    );

    let all = store.mission_records(&RecordFilter::default()).unwrap();
    let by_name = |n: &str| all.iter().find(|e| e.name == n).unwrap();
    let f = by_name("flown");
    assert_eq!(f.status, MissionStatus::Completed);
    assert_eq!(f.when(), t0() + Duration::hours(1));
    assert_eq!(
        f.actual_end,
        Some(t0() + Duration::hours(1) + Duration::seconds(11))
    );
    let r = f.result.as_ref().expect("flown mission has a result");
    assert_eq!(r, &store.mission_result(flown.id).unwrap().unwrap());
    assert_eq!((r.samples, r.duration_s), (11, Some(10.0)));
    assert!((r.distance_m.unwrap() - 100.0).abs() < 0.1);
    assert_eq!(by_name("planned").result, None);
    assert_eq!(by_name("planned").when(), t0() + Duration::hours(2));
    assert_eq!(
        by_name("elsewhere").result.as_ref().map(|r| r.outcome),
        Some(MissionStatus::Aborted)
    );

    // The history's period query uses the expression indexes, not a scan of missions.
    let plan = store
        .explain_query_plan(
            "SELECT mission_id FROM missions WHERE site_id = x'00'
             AND coalesce(actual_start, created_at) >= 0 ORDER BY coalesce(actual_start, created_at) DESC",
        )
        .unwrap()
        .join("\n");
    assert!(plan.contains("missions_site_when"), "{plan}");
    let plan = store
        .explain_query_plan(
            "SELECT mission_id, name, site_id, drone_id, status, created_at, actual_start, actual_end
             FROM missions WHERE +status IN ('planned', 'completed')
             AND coalesce(actual_start, created_at) >= 0 AND coalesce(actual_start, created_at) < 9
             ORDER BY coalesce(actual_start, created_at) DESC",
        )
        .unwrap()
        .join("\n");
    assert!(plan.contains("COVERING INDEX missions_history"), "{plan}");
}

#[test]
fn bulk_import_is_one_transaction_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("import.db");
    let clock = ManualClock::new(t0());
    let mut store = open(&path, &clock);
    let (o, s, d) = seeded(&store);
    let result_of = |m: &Mission, i: i64| MissionResult {
        mission_id: m.id,
        outcome: MissionStatus::Completed,
        ended_at: m.actual_end.unwrap(),
        samples: 600,
        first_sample: m.actual_start,
        last_sample: m.actual_end,
        duration_s: Some(600.0),
        distance_m: Some(3000.0 + i as f64),
        covered_area_m2: Some(50_000.0),
        coverage_pct: Some(97.5),
        photos: Some(120),
        battery_start_pct: Some(95.0),
        battery_end_pct: Some(60.0),
        battery_max_pct: Some(95.0),
        battery_min_pct: Some(60.0),
        source: ResultSource::Report,
        computed_at: t0(),
    };
    let items: Vec<ImportedMission> = (0..2500_i64)
        .map(|i| {
            let mut m = mission(
                &o,
                &s,
                Some(&d),
                &format!("m{i}"),
                t0() + Duration::minutes(i),
            );
            // Every other mission flew and has its result; the rest stay planned.
            let result = (i % 2 == 0).then(|| {
                m.status = MissionStatus::Completed;
                m.actual_start = Some(m.created_at + Duration::minutes(1));
                m.actual_end = Some(m.created_at + Duration::minutes(11));
                result_of(&m, i)
            });
            ImportedMission { mission: m, result }
        })
        .collect();
    assert_eq!(store.import_missions(&items).unwrap(), 2500);

    // Read back through the public queries, also after reopening the file.
    drop(store);
    let mut store = open(&path, &clock);
    let all = store.mission_records(&RecordFilter::default()).unwrap();
    // 2,500 entries: results are joined from one scan of the results table.
    assert_eq!(all.len(), 2500);
    assert_eq!(all.iter().filter(|e| e.result.is_some()).count(), 1250);
    for e in all.iter().step_by(97) {
        assert_eq!(e.result, store.mission_result(e.id).unwrap(), "{}", e.name);
        assert_eq!(
            e.status,
            items[e.name[1..].parse::<usize>().unwrap()].mission.status
        );
    }
    // A few entries: results looked up one by one, the same answer.
    let few = store
        .mission_records(&RecordFilter {
            limit: 10,
            ..RecordFilter::default()
        })
        .unwrap();
    assert_eq!(few[..], all[..10]);
    let m10 = &items[10];
    assert_eq!(store.get_mission(m10.mission.id).unwrap(), m10.mission);
    assert_eq!(
        store.mission_result(m10.mission.id).unwrap(),
        m10.result.clone()
    );
    assert_eq!(store.mission_result(items[11].mission.id).unwrap(), None);

    // A batch that repeats a stored id is refused whole: the new mission before it is not
    // kept either.
    let fresh = mission(&o, &s, None, "fresh", t0());
    let clash = vec![
        ImportedMission {
            mission: fresh.clone(),
            result: None,
        },
        items[3].clone(),
    ];
    let err = store.import_missions(&clash).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Duplicate {
                what: "mission id",
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        store.get_mission(fresh.id),
        Err(StoreError::NotFound { .. })
    ));

    // A result given with the wrong mission is refused before anything is written.
    let other = mission(&o, &s, None, "other", t0());
    let wrong = vec![ImportedMission {
        mission: other.clone(),
        result: items[0].result.clone(),
    }];
    let err = store.import_missions(&wrong).unwrap_err();
    assert!(matches!(err, StoreError::ImportMismatch { .. }), "{err}");
    assert!(err.to_string().contains(&other.id.to_string()), "{err}");
    assert_eq!(
        store
            .mission_records(&RecordFilter::default())
            .unwrap()
            .len(),
        2500
    );
}

#[test]
fn audit_for_target_is_indexed_and_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let store = open(&dir.path().join("au.db"), &clock);
    let ev = |secs: i64, action: &str, target: &str| AuditEvent {
        time: t0() + Duration::seconds(secs),
        user_id: None,
        action: action.into(),
        target: target.into(),
        detail: String::new(),
    };
    // Appended out of time order, interleaved with another target.
    let events = [
        ev(30, "mission.resume", "m-1"),
        ev(10, "mission.start", "m-1"),
        ev(20, "mission.start", "m-2"),
        ev(20, "mission.pause", "m-1"),
        ev(40, "alert.battery_low", "m-1"),
    ];
    for e in &events {
        store.append_audit(e).unwrap();
    }
    let got: Vec<String> = store
        .audit_for_target("m-1")
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        got,
        [
            "mission.start",
            "mission.pause",
            "mission.resume",
            "alert.battery_low"
        ]
    );
    assert_eq!(
        store.audit_for_target("m-2").unwrap(),
        vec![events[2].clone()]
    );
    assert!(store.audit_for_target("nobody").unwrap().is_empty());
    let plan = store
        .explain_query_plan(
            "SELECT time_us FROM audit_log WHERE target = 'm-1' ORDER BY time_us, seq",
        )
        .unwrap()
        .join("\n");
    assert!(plan.contains("audit_target_time"), "{plan}");
}

/// What `mission_figures` must hold for a history entry (the summary's view of it).
fn figures_of(e: &MissionHistoryEntry) -> MissionFigures {
    let complete = e
        .result
        .as_ref()
        .filter(|r| r.source == ResultSource::Report);
    MissionFigures {
        id: e.id,
        name: e.name.clone(),
        site_id: e.site_id,
        drone_id: e.drone_id,
        status: e.status,
        created_at: e.created_at,
        start: complete.map_or(e.actual_start, |r| r.first_sample.or(e.actual_start)),
        end: complete.map_or(e.actual_end, |r| r.last_sample.or(e.actual_end)),
        source: e.result.as_ref().map(|r| r.source),
        duration_s: e.result.as_ref().and_then(|r| r.duration_s),
        distance_m: e.result.as_ref().and_then(|r| r.distance_m),
        covered_area_m2: e.result.as_ref().and_then(|r| r.covered_area_m2),
        battery_used_pct: e
            .result
            .as_ref()
            .and_then(|r| r.battery_start_pct.zip(r.battery_end_pct))
            .map(|(a, b)| a - b),
    }
}

/// `mission_figures` (kept by triggers) agrees with the missions and their results, one row
/// per mission, after `step`.
fn assert_figures_in_step(store: &Store, path: &std::path::Path, step: &str) {
    let entries = store.mission_records(&RecordFilter::default()).unwrap();
    let expected: Vec<MissionFigures> = entries.iter().map(figures_of).collect();
    assert_eq!(store.mission_figures(None).unwrap(), expected, "{step}");
    let count = |sql: &str| -> i64 {
        rusqlite_conn(path)
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(
        count("SELECT count(*) FROM mission_figures"),
        count("SELECT count(*) FROM missions"),
        "{step}: one row per mission"
    );
}

#[test]
fn mission_figures_follow_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.db");
    let clock = ManualClock::new(t0());
    let mut store = open(&path, &clock);
    let (o, s, d) = seeded(&store);
    let planned = mission(&o, &s, Some(&d), "planned", t0());
    let flown = mission(&o, &s, Some(&d), "flown", t0() + Duration::minutes(1));
    let gone = mission(&o, &s, None, "to delete", t0() + Duration::minutes(2));
    for m in [&planned, &flown, &gone] {
        store.insert_mission(m).unwrap();
    }
    assert_figures_in_step(&store, &path, "inserted");

    // Started: the row moves from the creation time to the start.
    clock.advance(Duration::minutes(10));
    store
        .apply_mission_event(flown.id, MissionEvent::Start, None)
        .unwrap();
    assert_figures_in_step(&store, &path, "started");
    // Ended: the store writes a result (source store) in the same transaction.
    clock.advance(Duration::minutes(20));
    store
        .apply_mission_event(flown.id, MissionEvent::Finish, None)
        .unwrap();
    assert_figures_in_step(&store, &path, "finished");
    let stored = store.mission_result(flown.id).unwrap().unwrap();
    // The mission report replaces it with a complete one.
    let complete = MissionResult {
        first_sample: Some(t0() + Duration::minutes(10) + Duration::seconds(2)),
        last_sample: Some(t0() + Duration::minutes(30)),
        duration_s: Some(1198.0),
        distance_m: Some(5_432.1),
        covered_area_m2: Some(12_000.0),
        battery_start_pct: Some(97.5),
        battery_end_pct: Some(41.25),
        source: ResultSource::Report,
        ..stored
    };
    store.save_mission_result(&complete).unwrap();
    assert_figures_in_step(&store, &path, "complete result");
    let figures = store.mission_figures(None).unwrap();
    let f = figures.iter().find(|f| f.id == flown.id).unwrap();
    assert_eq!(f.start, complete.first_sample);
    assert_eq!(f.battery_used_pct, Some(97.5 - 41.25));
    assert!(f.is_complete() && f.incomplete_entry().is_none());

    // Edited (INSERT OR REPLACE of the row) with another creation time: no stale row left.
    let mut edited = planned.clone();
    edited.name = "planned, renamed".into();
    edited.created_at = t0() - Duration::days(3);
    store.update_mission(&edited).unwrap();
    assert_figures_in_step(&store, &path, "replaced");
    // Deleted.
    store
        .apply_mission_event(gone.id, MissionEvent::Delete, None)
        .unwrap();
    assert_figures_in_step(&store, &path, "deleted");
    // Imported with results, in one transaction; a refused import changes nothing.
    let imported = mission(&o, &s, Some(&d), "imported", t0() + Duration::hours(5));
    let result = MissionResult {
        mission_id: imported.id,
        ..complete.clone()
    };
    store
        .import_missions(&[ImportedMission {
            mission: imported.clone(),
            result: Some(result),
        }])
        .unwrap();
    assert_figures_in_step(&store, &path, "imported");
    let duplicate = ImportedMission {
        mission: imported,
        result: None,
    };
    assert!(store.import_missions(&[duplicate]).is_err());
    assert_figures_in_step(&store, &path, "refused import");
    // The period bound: missions placed before `to` only, newest first.
    let before = store
        .mission_figures(Some(t0() + Duration::minutes(1)))
        .unwrap();
    assert_eq!(
        before.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["planned, renamed"]
    );
}

#[test]
fn grounded_telemetry_is_thinned_flying_is_not_and_retention_can_change() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let opts = StoreOptions {
        retention_interval: Duration::days(365 * 100),
        ..StoreOptions::desktop(aviary_store::DEFAULT_RETENTION_DAYS)
    };
    assert_eq!(opts.telemetry_retention, Duration::days(730));
    let store = Store::open(&dir.path().join("t.db"), Arc::new(clock.clone()), opts).unwrap();
    let (_o, _s, d) = seeded(&store);
    let at = |k: i64, alt_rel_m: f64| TelemetrySample {
        time: t0() + Duration::milliseconds(k * 100),
        mission_id: None,
        drone_id: d.id,
        pos: LatLon::new(37.0, -122.0),
        alt_rel_m,
        speed_mps: 0.0,
        heading_deg: 0.0,
        battery_pct: 80.0,
        signal_pct: 99.0,
        status: DroneStatus::Available,
    };
    // A minute on the ground at 10 Hz, then a minute in the air.
    for k in 0..600 {
        assert!(store.telemetry().submit(at(k, 0.0)));
    }
    for k in 600..1_200 {
        assert!(store.telemetry().submit(at(k, 25.0)));
    }
    store.telemetry().flush().unwrap();
    let stats = store.telemetry().stats();
    assert_eq!(stats.written, 6 + 600, "{stats:?}");
    assert_eq!(stats.thinned, 594);
    assert_eq!(stats.lost(), 0, "thinning is not a loss");
    assert_eq!(store.telemetry_count().unwrap(), 606);
    assert!(store.disk_use_bytes() > 0);
    // A shorter retention applies at once: two days later, with one day kept, all is gone.
    clock.advance(Duration::days(2));
    store.telemetry().set_retention(Duration::days(1)).unwrap();
    store.telemetry().run_retention().unwrap();
    assert_eq!(store.telemetry_count().unwrap(), 0);
}

#[test]
fn under_a_fleets_load_the_writer_waits_for_more_but_not_past_a_flush_or_a_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("linger.db");
    let clock = ManualClock::new(t0());
    // An hour: were a flush or a close to wait out the linger, this test would time out.
    let opts = StoreOptions {
        telemetry_linger: std::time::Duration::from_hours(1),
        ..StoreOptions::default()
    };
    let store = Store::open(&path, Arc::new(clock.clone()), opts.clone()).unwrap();
    let (_, _, d) = seeded(&store);
    let batch = move |from: u32, n: u32| -> Vec<TelemetrySample> {
        (from..from + n)
            .map(|i| sample(d.id, None, t0() + Duration::milliseconds(i64::from(i)), i))
            .collect()
    };
    // Over a thousand samples at once: a fleet's load, so the writer waits for more.
    assert!(store.telemetry().submit_batch(batch(0, 3_000)));
    assert!(store.telemetry().submit_batch(batch(3_000, 500)));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let flushed = store.telemetry().flush();
        let count = store.telemetry_count();
        let stats = store.telemetry().stats();
        // More load, then the store closes while the writer waits for more.
        assert!(store.telemetry().submit_batch(batch(3_500, 2_000)));
        drop(store);
        done_tx.send((flushed, count, stats)).unwrap();
    });
    let (flushed, count, stats) = done_rx
        .recv_timeout(std::time::Duration::from_mins(2))
        .expect("a flush and a close end the writer's wait for more");
    waiter.join().unwrap();
    flushed.unwrap();
    assert_eq!(
        count.unwrap(),
        3_500,
        "the flush waited for every sample before it"
    );
    assert_eq!((stats.written, stats.lost()), (3_500, 0));
    let store = Store::open(&path, Arc::new(clock), opts).unwrap();
    assert_eq!(
        store.telemetry_count().unwrap(),
        5_500,
        "the close wrote what was queued"
    );
}
