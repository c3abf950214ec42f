//! The organisation CSV (the period's mission history) has each mission's local start and
//! end time, the site's IANA time zone and its UTC offset, and parses back with the `csv`
//! crate and, when installed, Python's `csv` module.

use aviary_core::ManualClock;
use aviary_reports::summary::{Grouping, MaintenancePolicy, load_org_report};
use aviary_reports::{ReportOptions, csvout, testdata};
use aviary_store::{Store, StoreOptions};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

#[test]
fn org_csv_has_local_time_zone_and_offset_columns() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(ManualClock::new(testdata::start_time() + Duration::days(1)));
    let mut store = Store::open(
        &tmp.path().join("aviary.db"),
        clock,
        StoreOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let n = testdata::seed_org_store(&mut store, 300).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 300);
    let report = load_org_report(
        &store,
        testdata::start_time() - Duration::days(400),
        testdata::start_time() + Duration::days(1),
        Grouping::Month,
        &ReportOptions::default(),
        &MaintenancePolicy::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut bytes = Vec::new();
    report
        .write_history_csv(&mut bytes)
        .unwrap_or_else(|e| panic!("{e}"));

    let mut rd = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = rd
        .headers()
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, csvout::HISTORY_HEADER.map(str::to_owned).to_vec());
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} column"))
    };
    let (start_utc, start_local, end_local, tz_col, offset_col) = (
        col("start_utc"),
        col("start_local"),
        col("end_local"),
        col("timezone"),
        col("utc_offset"),
    );
    let mut zones = std::collections::BTreeSet::new();
    let mut rows = 0;
    for row in rd.records() {
        let row = row.unwrap_or_else(|e| panic!("{e}"));
        rows += 1;
        let tz: chrono_tz::Tz = row[tz_col]
            .parse()
            .unwrap_or_else(|e| panic!("timezone {:?}: {e}", &row[tz_col]));
        zones.insert(tz.name().to_owned());
        let utc = DateTime::parse_from_rfc3339(&row[start_utc])
            .unwrap_or_else(|e| panic!("start_utc {:?}: {e}", &row[start_utc]));
        let local = DateTime::parse_from_rfc3339(&row[start_local])
            .unwrap_or_else(|e| panic!("start_local {:?}: {e}", &row[start_local]));
        // The same instant, written in the site's offset, which is the offset column.
        assert_eq!(local.with_timezone(&Utc), utc.with_timezone(&Utc));
        let expected = utc.with_timezone(&tz).format("%:z").to_string();
        assert_eq!(local.format("%:z").to_string(), expected);
        assert_eq!(&row[offset_col], expected);
        assert!(
            row[end_local].is_empty() || DateTime::parse_from_rfc3339(&row[end_local]).is_ok(),
            "end_local {:?}",
            &row[end_local]
        );
    }
    assert_eq!(rows, 300);
    assert_eq!(
        zones.into_iter().collect::<Vec<_>>(),
        ["America/New_York", "Asia/Tokyo", "Europe/Amsterdam"]
    );
}
