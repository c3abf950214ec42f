//! Accounts and tokens (issue 15): input checked against the schema, token revocation, bounded
//! password hashing, per-account login back-off, `?token=` only on the WebSocket, bootstrap,
//! and the keyed audit chain.

use aviary_core::DroneId;
use aviary_core::auth::Role;
use serde_json::{Value, json};

use crate::common::{self, Http};

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_text_field_is_checked_against_the_schema_with_a_400_naming_it() {
    let Some(t) = common::start("fields").await else {
        return;
    };
    let server = t.server;
    let http = Http::new(server.addr);
    let org = common::org(&server, &http, "fld", DroneId::new_random()).await;
    let admin = org.token(Role::Admin);
    let long = |n: usize| "é".repeat(n);
    let mission = |k: &str, v: Value| {
        let mut m = common::mission_body(org.site, Some(org.drone));
        m[k] = v;
        m
    };
    let drone = |k: &str, v: Value| {
        let mut d = json!({ "site_id": org.site, "serial_number": "SN-ok", "model": "X", "home": { "lat": 1.0, "lon": 2.0 } });
        d[k] = v;
        d
    };
    // (what, method, path, token, body, field the message must name)
    let cases: Vec<(&str, &str, &str, Option<&str>, Value, &str)> = vec![
        (
            "anonymous login, NUL in the e-mail",
            "POST",
            "/api/v1/auth/login",
            None,
            json!({ "email": "a\u{0}@x.test", "password": "whatever password" }),
            "email",
        ),
        (
            "anonymous login, over-long e-mail",
            "POST",
            "/api/v1/auth/login",
            None,
            json!({ "email": format!("{}@x.test", long(300)), "password": "whatever password" }),
            "email",
        ),
        (
            "anonymous login, NUL in the password",
            "POST",
            "/api/v1/auth/login",
            None,
            json!({ "email": "a@x.test", "password": "pass\u{0}word" }),
            "password",
        ),
        (
            "user e-mail of 256 characters",
            "POST",
            "/api/v1/users",
            Some(admin),
            json!({ "email": format!("{}@x.test", long(249)), "password": common::PASSWORD, "role": "analyst" }),
            "email",
        ),
        (
            "user e-mail with NUL",
            "POST",
            "/api/v1/users",
            Some(admin),
            json!({ "email": "nul\u{0}@x.test", "password": common::PASSWORD, "role": "analyst" }),
            "email",
        ),
        (
            "site name of 256 characters",
            "POST",
            "/api/v1/sites",
            Some(admin),
            json!({ "name": long(256), "location": { "lat": 1.0, "lon": 2.0 } }),
            "name",
        ),
        (
            "site name with NUL",
            "POST",
            "/api/v1/sites",
            Some(admin),
            json!({ "name": "a\u{0}b", "location": { "lat": 1.0, "lon": 2.0 } }),
            "name",
        ),
        (
            "site time zone of 51 characters",
            "POST",
            "/api/v1/sites",
            Some(admin),
            json!({ "name": "ok", "location": { "lat": 1.0, "lon": 2.0 }, "timezone": long(51) }),
            "timezone",
        ),
        (
            "drone serial of 101 characters",
            "POST",
            "/api/v1/drones",
            Some(admin),
            drone("serial_number", json!(long(101))),
            "serial_number",
        ),
        (
            "drone serial with NUL",
            "POST",
            "/api/v1/drones",
            Some(admin),
            drone("serial_number", json!("SN\u{0}1")),
            "serial_number",
        ),
        (
            "drone model of 101 characters",
            "POST",
            "/api/v1/drones",
            Some(admin),
            drone("model", json!(long(101))),
            "model",
        ),
        (
            "mission name of 256 characters",
            "POST",
            "/api/v1/missions",
            Some(admin),
            mission("name", json!(long(256))),
            "name",
        ),
        (
            "mission name with NUL",
            "POST",
            "/api/v1/missions",
            Some(admin),
            mission("name", json!("roof\u{0}")),
            "name",
        ),
    ];
    for (what, method, path, token, body, field) in &cases {
        let (st, reply) = http.call(method, path, *token, Some(body)).await;
        assert_eq!(st, 400, "{what}: {reply}");
        assert_eq!(reply["error"]["code"], "bad_request", "{what}: {reply}");
        assert!(
            message(&reply).contains(&format!("`{field}`")),
            "{what}: the message must name `{field}`: {reply}"
        );
    }
    // A NUL deep inside a JSONB document is named by its path.
    let mut m = common::mission_body(org.site, Some(org.drone));
    m["survey_area"]["type"] = json!("Poly\u{0}gon");
    let (st, reply) = http
        .call("POST", "/api/v1/missions", Some(admin), Some(&m))
        .await;
    assert_eq!(st, 400, "{reply}");
    assert!(message(&reply).contains("`survey_area.type`"), "{reply}");
    // At the limit is fine: 255 characters of e-mail, 100 of serial.
    let email = format!("{}@x.test", "a".repeat(255 - 7));
    let (st, reply) = http
        .call(
            "POST",
            "/api/v1/users",
            Some(admin),
            Some(&json!({ "email": email, "password": common::PASSWORD, "role": "analyst" })),
        )
        .await;
    assert_eq!(st, 201, "{reply}");
    let (st, reply) = http
        .call(
            "POST",
            "/api/v1/drones",
            Some(admin),
            Some(&drone("serial_number", json!("S".repeat(100)))),
        )
        .await;
    assert_eq!(st, 201, "{reply}");
    println!("schema checks: {} refused with 400", cases.len() + 1);
    server.shutdown().await;
}
