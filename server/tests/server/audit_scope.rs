//! `GET /audit/verify` is scoped to the caller's organisation (issue 15): B's admin gets B's
//! rows counted and nothing of A's, even when one of A's rows was edited; A's admin is told
//! about A's edited row.

use aviary_core::DroneId;
use aviary_core::auth::Role;

use crate::common::{self, Http};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_covers_only_the_callers_organisation() {
    let Some(t) = common::start("auditscope").await else {
        return;
    };
    let http = Http::new(t.server.addr);
    let (da, db) = (DroneId::new_random(), DroneId::new_random());
    let a = common::org(&t.server, &http, "audita", da).await;
    let b = common::org(&t.server, &http, "auditb", db).await;
    let conn = t.server.state.pool.get().await.expect("pool");
    let org_of = async |d: DroneId| -> uuid::Uuid {
        conn.query_one("SELECT org_id FROM drones WHERE drone_id = $1", &[&d.0])
            .await
            .expect("org")
            .get(0)
    };
    let (org_a, org_b) = (org_of(da).await, org_of(db).await);
    let rows_of = async |org: uuid::Uuid| -> i64 {
        conn.query_one("SELECT count(*) FROM audit_log WHERE org_id = $1", &[&org])
            .await
            .expect("count")
            .get(0)
    };
    let (rows_a, rows_b) = (rows_of(org_a).await, rows_of(org_b).await);
    let total: i64 = conn
        .query_one("SELECT count(*) FROM audit_log", &[])
        .await
        .expect("count")
        .get(0);
    assert!(rows_a > 0 && rows_b > 0 && total > rows_b);

    // Rows may be added as we go (logins are audited): B's count is taken around each call.
    let b_verify = async || {
        let before = rows_of(org_b).await;
        let (st, v) = http
            .call(
                "GET",
                "/api/v1/audit/verify",
                Some(b.token(Role::Admin)),
                None,
            )
            .await;
        assert_eq!(st, 200, "{v}");
        let after = rows_of(org_b).await;
        let rows = v["rows"].as_i64().unwrap_or(-1);
        assert!(
            before <= rows && rows <= after,
            "B's rows only ({before}..={after}): {v}"
        );
        v
    };
    let v = b_verify().await;
    assert_eq!(v["ok"], true, "{v}");

    // One of A's rows is edited: A's admin is told, B's answer does not change.
    let edited: i64 = conn
        .query_one(
            "UPDATE audit_log SET detail = '{\"edited\":true}' WHERE seq = (SELECT min(seq) FROM audit_log WHERE org_id = $1) RETURNING seq",
            &[&org_a],
        )
        .await
        .expect("edit")
        .get(0);
    let v = b_verify().await;
    assert_eq!(v["ok"], true, "{v}");
    assert!(!v.to_string().contains(&format!("row {edited}:")), "{v}");
    let (_, v) = http
        .call(
            "GET",
            "/api/v1/audit/verify",
            Some(a.token(Role::Admin)),
            None,
        )
        .await;
    assert_eq!(v["ok"], false, "{v}");
    assert!(v.to_string().contains(&format!("row {edited}:")), "{v}");
    assert!(v["rows"].as_i64() >= Some(rows_a), "{v}");
}
