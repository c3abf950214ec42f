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

/// The id of the user with `email`, as the admin lists it.
async fn user_id(http: &Http, admin: &str, email: &str) -> String {
    let (_, users) = http.call("GET", "/api/v1/users", Some(admin), None).await;
    users
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["email"] == email)
        .map(|u| u["user_id"].as_str().expect("id").to_owned())
        .expect("user listed")
}

async fn login_with(http: &Http, email: &str, password: &str) -> (u16, Value) {
    http.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({ "email": email, "password": password })),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_change_password_change_logout_and_deletion_revoke_tokens() {
    let Some(t) = common::start_with("revoke", |c| c.login_per_minute = 1000).await else {
        return;
    };
    let server = t.server;
    let http = Http::new(server.addr);
    let org = common::org(&server, &http, "rev", DroneId::new_random()).await;
    let admin = org.token(Role::Admin).to_owned();
    let body = common::mission_body(org.site, Some(org.drone));

    // Demotion: the operator's token no longer creates missions, nor reads anything.
    let op = org.token(Role::Operator).to_owned();
    let (st, _) = http
        .call("POST", "/api/v1/missions", Some(&op), Some(&body))
        .await;
    assert_eq!(st, 201, "the operator plans");
    let op_id = user_id(&http, &admin, org.email(Role::Operator)).await;
    let (st, b) = http
        .call(
            "PATCH",
            &format!("/api/v1/users/{op_id}"),
            Some(&admin),
            Some(&json!({ "role": "analyst" })),
        )
        .await;
    assert_eq!(st, 200, "{b}");
    for (method, path, body) in [
        ("POST", "/api/v1/missions", Some(&body)),
        ("GET", "/api/v1/drones", None),
    ] {
        let (st, b) = http.call(method, path, Some(&op), body).await;
        assert_eq!(st, 401, "a demoted operator's token: {method} {path}: {b}");
        assert!(message(&b).contains("revoked"), "{b}");
    }
    let demoted = common::login(&http, org.email(Role::Operator)).await;
    let (st, b) = http
        .call("POST", "/api/v1/missions", Some(&demoted), Some(&body))
        .await;
    assert_eq!(st, 403, "logged in again, the analyst may not plan: {b}");

    // Password change: the current password is required; afterwards old tokens and the old
    // password are refused, the new password works.
    let analyst = org.token(Role::Analyst).to_owned();
    let new_password = "a brand new passphrase";
    let (st, b) = http
        .call(
            "POST",
            "/api/v1/auth/password",
            Some(&analyst),
            Some(&json!({ "current_password": "not the password", "new_password": new_password })),
        )
        .await;
    assert_eq!(st, 403, "{b}");
    let (st, b) = http
        .call(
            "POST",
            "/api/v1/auth/password",
            Some(&analyst),
            Some(&json!({ "current_password": common::PASSWORD, "new_password": "short" })),
        )
        .await;
    assert_eq!(st, 422, "the 12-character rule: {b}");
    let (st, b) = http
        .call(
            "POST",
            "/api/v1/auth/password",
            Some(&analyst),
            Some(&json!({ "current_password": common::PASSWORD, "new_password": new_password })),
        )
        .await;
    assert_eq!(st, 204, "{b}");
    let (st, _) = http
        .call("GET", "/api/v1/drones", Some(&analyst), None)
        .await;
    assert_eq!(
        st, 401,
        "the token from before the password change is revoked"
    );
    let (st, _) = login_with(&http, org.email(Role::Analyst), common::PASSWORD).await;
    assert_eq!(st, 401, "the old password no longer logs in");
    let (st, b) = login_with(&http, org.email(Role::Analyst), new_password).await;
    assert_eq!(st, 200, "{b}");

    // Logout-all: both of the admin's sessions end.
    let second = common::login(&http, org.email(Role::Admin)).await;
    let (st, b) = http
        .call("POST", "/api/v1/auth/logout", Some(&second), None)
        .await;
    assert_eq!(st, 204, "{b}");
    for token in [&admin, &second] {
        let (st, _) = http.call("GET", "/api/v1/users", Some(token), None).await;
        assert_eq!(st, 401, "logout-all revokes every session");
    }
    let admin = common::login(&http, org.email(Role::Admin)).await;

    // Deletion: the user's token and password stop working, the e-mail can be used again.
    let email = "leaver@rev.test";
    let (st, b) = http
        .call(
            "POST",
            "/api/v1/users",
            Some(&admin),
            Some(&json!({ "email": email, "password": common::PASSWORD, "role": "operator" })),
        )
        .await;
    assert_eq!(st, 201, "{b}");
    let leaver_id = b["user_id"].as_str().expect("id").to_owned();
    let leaver = common::login(&http, email).await;
    let (st, b) = http
        .call(
            "DELETE",
            &format!("/api/v1/users/{leaver_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(st, 204, "{b}");
    let (st, _) = http
        .call("POST", "/api/v1/missions", Some(&leaver), Some(&body))
        .await;
    assert_eq!(st, 401, "a deleted user's token is revoked");
    let (st, _) = login_with(&http, email, common::PASSWORD).await;
    assert_eq!(st, 401, "a deleted user cannot log in");
    let (st, _) = http
        .call(
            "DELETE",
            &format!("/api/v1/users/{leaver_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(st, 404, "deleted once");
    let (_, users) = http.call("GET", "/api/v1/users", Some(&admin), None).await;
    assert!(
        users
            .as_array()
            .expect("users")
            .iter()
            .all(|u| u["user_id"] != leaver_id.as_str()),
        "{users}"
    );
    let (st, b) = http
        .call(
            "POST",
            "/api/v1/users",
            Some(&admin),
            Some(&json!({ "email": email, "password": common::PASSWORD, "role": "analyst" })),
        )
        .await;
    assert_eq!(st, 201, "the e-mail is free again: {b}");
    let admin_id = user_id(&http, &admin, org.email(Role::Admin)).await;
    let (st, _) = http
        .call(
            "DELETE",
            &format!("/api/v1/users/{admin_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(st, 409, "an admin does not delete themselves");
    // A version bumped behind this instance's back (another instance) is seen too; this
    // token's user has no cached version yet, so no wait is needed.
    let victim = common::login(&http, email).await;
    server
        .state
        .pool
        .get()
        .await
        .expect("conn")
        .execute(
            "UPDATE users SET token_version = token_version + 1 WHERE email = $1",
            &[&email],
        )
        .await
        .expect("bump");
    let (st, _) = http
        .call("GET", "/api/v1/drones", Some(&victim), None)
        .await;
    assert_eq!(st, 401, "a version bumped elsewhere revokes");
    server.shutdown().await;
}
