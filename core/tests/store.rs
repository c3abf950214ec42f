//! Store story tests against real SQLite files in temporary directories.
#![allow(
    clippy::many_single_char_names,
    clippy::unwrap_used,
    reason = "o, s, d, m: org, site, drone, mission fixtures; a panic is the failure report"
)]

mod common;

use aviary_core::mission::FailureReason;
use aviary_core::store::{MissionFilter, Store, StoreError, StoreOptions, TelemetryRange};
use aviary_core::*;
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
        (
            aviary_core::store::SCHEMA_VERSION,
            0x4156_5259,
            "wal".to_string()
        )
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
        "cannot delete a mission that is in_progress"
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
    assert_eq!(cmds.len(), 2);
    assert_eq!(
        (cmds[0].0, cmds[0].2.as_str(), cmds[0].3.as_str()),
        (id, "confirmed", "BRAKE")
    );
    assert_eq!(cmds[1].2, "failed");

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
    let store = open(&dir.path().join("t.db"), &clock);
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
