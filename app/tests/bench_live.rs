//! `aviary bench live` end to end at a small size: the real binary, its simulator child, the
//! app's link, `logic` pass and SQLite writer; the per-stage counts of its JSON line must add
//! up (nothing about time is asserted: the latencies depend on the machine).

use serde_json::Value;
use std::process::Command;

const AVIARY: &str = env!("CARGO_BIN_EXE_aviary");

fn count(v: &Value, name: &str) -> u64 {
    v[name]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} missing or not a count in {v}"))
}

#[test]
fn fifty_drones_every_stage_accounted_for_and_everything_stored() {
    let out = Command::new(AVIARY)
        .args([
            "bench",
            "live",
            "--drones",
            "50",
            "--rate-hz",
            "10",
            "--seconds",
            "2",
        ])
        .output()
        .expect("aviary bench live");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench live failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().last().expect("a JSON line");
    let v: Value = serde_json::from_str(line).expect("JSON");
    assert_eq!(v["drones"], 50, "{v}");
    assert_eq!(v["storage_rule"], "desktop-grounded-10s", "{v}");
    // Socket: nothing lost on loopback at 500 positions a second.
    let (sent, received) = (count(&v, "sent"), count(&v, "received"));
    assert!(sent > 0, "{v}");
    assert_eq!(count(&v, "lost"), sent - received, "{v}");
    assert_eq!(count(&v, "lost"), 0, "{v}");
    assert_eq!(count(&v, "decoded"), received, "{v}");
    // Link → app: every decoded position reached the app's state or belonged to a vehicle
    // not yet in the fleet.
    assert_eq!(count(&v, "channel_coalesced_window"), 0, "{v}");
    assert_eq!(
        count(&v, "delivered") + count(&v, "unbound") + count(&v, "app_lost"),
        received,
        "{v}"
    );
    assert_eq!(count(&v, "app_lost"), 0, "{v}");
    // Writer: every sample handed over is stored or left out by the storage rule.
    assert_eq!(count(&v, "writer_queue_full"), 0, "{v}");
    assert_eq!(count(&v, "writer_errors"), 0, "{v}");
    let stored = count(&v, "stored");
    assert_eq!(stored, count(&v, "written"), "{v}");
    assert_eq!(stored + count(&v, "thinned"), count(&v, "submitted"), "{v}");
    // Each of the 50 grounded drones keeps at least its first sample.
    assert!(stored >= 50, "{v}");
    assert_eq!(v["stored_ok"], true, "{v}");
    assert_eq!(v["all_stored"], true, "{v}");
    for name in ["p50_ms", "p99_ms", "cpu_pct", "sim_cpu_pct"] {
        assert!(v[name].is_number(), "{name} in {v}");
    }
}

#[test]
fn more_drones_than_ports_is_refused_with_the_limit() {
    let out = Command::new(AVIARY)
        .args(["bench", "live", "--drones", "70000", "--seconds", "1"])
        .output()
        .expect("aviary bench live");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("65000"), "{stderr}");
}
