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

/// (what, method, path, token, body, field the message must name)
type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Value, &'a str);

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
    let cases: Vec<Case> = vec![
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_logins_never_hash_more_than_the_slots_at_once() {
    let Some(t) = common::start_with("hashes", |c| {
        c.login_per_minute = 100_000;
        // One slot per core (the default) and a short queue: most of the burst is answered 429.
        c.password_hash_slots = 0;
        c.password_queue_wait = std::time::Duration::from_millis(50);
    })
    .await
    else {
        return;
    };
    let server = t.server;
    let http = Http::new(server.addr);
    let org = common::org(&server, &http, "hash", DroneId::new_random()).await;
    let slots = &server.state.password_slots;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    assert_eq!(slots.size(), cores, "one hashing slot per core");
    let refused_before = slots.refused();
    let email = org.email(Role::Analyst).to_owned();
    let answers = futures_util::future::join_all((0..200).map(|_| {
        let http = http.clone();
        let email = email.clone();
        async move { login_with(&http, &email, common::PASSWORD).await.0 }
    }))
    .await;
    let ok = answers.iter().filter(|s| **s == 200).count();
    let refused = answers.iter().filter(|s| **s == 429).count();
    assert_eq!(ok + refused, 200, "only 200 or 429: {answers:?}");
    assert!(ok >= 1, "some logins get through");
    assert_eq!(
        slots.refused() - refused_before,
        refused as u64,
        "every 429 is a login that found no slot in time"
    );
    assert!(
        (1..=slots.size()).contains(&slots.peak()),
        "at most {} hashes at once, saw {}",
        slots.size(),
        slots.peak()
    );
    assert_eq!(slots.running(), 0, "every slot is given back");
    println!(
        "200 concurrent logins: {ok} ok, {refused} refused, at most {} hashes at once ({} slots)",
        slots.peak(),
        slots.size()
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_wrong_passwords_from_five_addresses_lock_the_account_even_for_the_right_one() {
    // The server's clock moves only when the test says: the lock holds while the test runs,
    // however slow the host, and ends exactly when its 30 s have passed.
    let clock = common::manual_clock();
    let Some(t) = common::start_clocked("lockout", std::sync::Arc::new(clock.clone()), |c| {
        // The default per-address limit (10 a minute) lets each address try 10 times.
        c.login_per_minute = 10;
        c.login_lock_after = 5;
        c.login_lock_base = std::time::Duration::from_secs(30);
    })
    .await
    else {
        return;
    };
    let server = t.server;
    let http = Http::new(server.addr);
    let org = common::org(&server, &http, "lock", DroneId::new_random()).await;
    let victim = org.email(Role::Operator).to_owned();
    let mut codes = Vec::new();
    for host in 2..=6u8 {
        let attacker = Http::from_address(server.addr, std::net::IpAddr::from([127, 0, 0, host]));
        for i in 0..10 {
            let (st, b) = login_with(&attacker, &victim, &format!("guess number {host}-{i}")).await;
            assert!(st == 401 || st == 429, "{b}");
            codes.push(st);
        }
    }
    assert_eq!(
        codes.iter().filter(|c| **c == 401).count(),
        5,
        "five wrong passwords are checked, then the account is locked: {codes:?}"
    );
    // The right password, from yet another address: refused while the lock holds.
    let owner = Http::from_address(server.addr, std::net::IpAddr::from([127, 0, 0, 7]));
    let (st, b) = login_with(&owner, &victim, common::PASSWORD).await;
    assert_eq!(st, 429, "the right password during the lock: {b}");
    assert_eq!(b["error"]["code"], "rate_limited");
    // Other accounts are not affected.
    let (st, b) = login_with(&owner, org.email(Role::Analyst), common::PASSWORD).await;
    assert_eq!(st, 200, "{b}");
    // The lock is shared through the database and ends: one second before its end the right
    // password is still refused (retry in 1 s); once it has passed, the right password logs
    // in and clears the count.
    clock.advance(chrono::Duration::seconds(29));
    let (st, b) = login_with(&owner, &victim, common::PASSWORD).await;
    assert_eq!(st, 429, "one second before the lock ends: {b}");
    clock.advance(chrono::Duration::seconds(1));
    let (st, b) = login_with(&owner, &victim, common::PASSWORD).await;
    assert_eq!(st, 200, "after the lock: {b}");
    let left: i64 = server
        .state
        .pool
        .get()
        .await
        .expect("conn")
        .query_one(
            "SELECT count(*) FROM login_failures WHERE email = $1",
            &[&victim],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(left, 0, "a successful login forgets the failures");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_token_is_accepted_only_on_the_websocket_upgrade() {
    let Some(t) = common::start("qtoken").await else {
        return;
    };
    let server = t.server;
    let http = Http::new(server.addr);
    let org = common::org(&server, &http, "qt", DroneId::new_random()).await;
    let admin = org.token(Role::Admin);
    let (st, created) = http
        .call(
            "POST",
            "/api/v1/missions",
            Some(admin),
            Some(&common::mission_body(org.site, Some(org.drone))),
        )
        .await;
    assert_eq!(st, 201, "{created}");
    let mission = created["mission_id"].as_str().expect("id");
    for (method, path) in [
        ("GET", "/api/v1/drones".to_owned()),
        ("GET", "/api/v1/users".to_owned()),
        ("GET", format!("/api/v1/missions/{mission}")),
        ("POST", "/api/v1/auth/logout".to_owned()),
    ] {
        let (st, b) = http
            .call(method, &format!("{path}?token={admin}"), None, None)
            .await;
        assert_eq!(st, 401, "{method} {path}?token=: {b}");
        assert_eq!(message(&b), "missing bearer token", "{b}");
    }
    // The upgrade does.
    let url = format!(
        "ws://{}/ws/missions/{mission}/live?token={admin}",
        server.addr
    );
    assert!(
        tokio_tungstenite::connect_async(url.as_str()).await.is_ok(),
        "the WebSocket upgrade takes ?token="
    );
    // The header still works everywhere.
    let (st, _) = http.call("GET", "/api/v1/drones", Some(admin), None).await;
    assert_eq!(st, 200);
    server.shutdown().await;
}

/// Runs `aviary-server bootstrap` against the test schema, with `--mqtt` pointing at
/// `broker` (a listener that only records connections). Returns success and stderr.
fn run_bootstrap(
    pg: &str,
    schema: &str,
    broker: std::net::SocketAddr,
    org: &str,
    email: &str,
    password: &str,
) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aviary-server"))
        .env("AVIARY_DATABASE_URL", format!("{pg} dbname=postgres"))
        .env("AVIARY_DB_SCHEMA", schema)
        .env("AVIARY_AUDIT_SECRET", common::AUDIT_SECRET)
        .env_remove("AVIARY_ADMIN_PASSWORD")
        .args(["--mqtt", &broker.to_string(), "bootstrap", "--org", org])
        .args(["--email", email, "--password", password])
        .output()
        .expect("run aviary-server");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn count(pg: &str, schema: &str, table: &str) -> i64 {
    let (client, conn) =
        tokio_postgres::connect(&format!("{pg} dbname=postgres"), tokio_postgres::NoTls)
            .await
            .expect("connect");
    tokio::spawn(conn);
    match client
        .query_one(&format!("SELECT count(*) FROM {schema}.{table}"), &[])
        .await
    {
        Ok(r) => r.get(0),
        // No table yet: nothing was created.
        Err(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_checks_first_runs_in_one_transaction_and_never_touches_the_broker() {
    let Some((pg, _, _)) = common::services() else {
        return;
    };
    let schema = common::schema();
    let _guard = common::SchemaGuard {
        pg: pg.clone(),
        schema: schema.clone(),
    };
    // A stand-in broker: any connection to it would be an MQTT client of the bootstrap.
    let broker = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    broker.set_nonblocking(true).expect("nonblocking");
    let broker_addr = broker.local_addr().expect("addr");

    // A 1-character password is refused before anything is created.
    let (ok, err) = run_bootstrap(&pg, &schema, broker_addr, "Acme", "admin@acme.test", "x");
    assert!(!ok, "a 1-character password is refused");
    assert!(err.contains("12 characters"), "{err}");
    assert_eq!(
        count(&pg, &schema, "organizations").await,
        0,
        "nothing created"
    );
    let long_name = "O".repeat(256);
    for (org, email, password, why) in [
        (" ", "admin@acme.test", common::PASSWORD, "empty name"),
        ("Acme", "no-at-sign", common::PASSWORD, "e-mail"),
        (
            long_name.as_str(),
            "admin@acme.test",
            common::PASSWORD,
            "over-long name",
        ),
    ] {
        let (ok, err) = run_bootstrap(&pg, &schema, broker_addr, org, email, password);
        assert!(!ok, "{why}: {err}");
    }
    assert_eq!(
        count(&pg, &schema, "organizations").await,
        0,
        "nothing created"
    );

    // A good one creates the organisation and its admin, and no MQTT client.
    let (ok, err) = run_bootstrap(
        &pg,
        &schema,
        broker_addr,
        "Acme",
        "admin@acme.test",
        common::PASSWORD,
    );
    assert!(ok, "{err}");
    assert_eq!(count(&pg, &schema, "organizations").await, 1);
    assert_eq!(count(&pg, &schema, "users").await, 1);

    // A second bootstrap that fails on its admin (the e-mail exists) leaves no orphan
    // organisation behind.
    let (ok, err) = run_bootstrap(
        &pg,
        &schema,
        broker_addr,
        "Orphan Ltd",
        "ADMIN@acme.test",
        common::PASSWORD,
    );
    assert!(!ok, "the e-mail exists");
    assert!(err.contains("exists"), "{err}");
    assert_eq!(
        count(&pg, &schema, "organizations").await,
        1,
        "the failed bootstrap's organisation was rolled back"
    );
    match broker.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("bootstrap connected to the broker: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keyed_audit_chain_detects_a_recomputed_chain_and_a_deleted_tail() {
    use aviary_server::audit;
    let Some(t) = common::start_with("hmac", |c| c.login_per_minute = 1000).await else {
        return;
    };
    let server = t.server;
    let http = Http::new(server.addr);
    let org = common::org(&server, &http, "hm", DroneId::new_random()).await;
    // Logins (good and bad) and denied requests are recorded.
    let (st, _) = login_with(&http, org.email(Role::Analyst), "wrong password!!").await;
    assert_eq!(st, 401);
    let (st, _) = http
        .call("GET", "/api/v1/users", Some(org.token(Role::Analyst)), None)
        .await;
    assert_eq!(st, 403);
    let (st, rows) = http
        .call("GET", "/api/v1/audit", Some(org.token(Role::Admin)), None)
        .await;
    assert_eq!(st, 200, "{rows}");
    let actions: Vec<&str> = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    for a in [
        "org.create",
        "auth.login",
        "auth.login_failed",
        "access.denied",
    ] {
        assert!(actions.contains(&a), "{a} is audited: {actions:?}");
    }
    let denied = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["action"] == "access.denied")
        .expect("denied row");
    assert_eq!(denied["target"], "GET /api/v1/users", "{denied}");

    let (st, v) = http
        .call(
            "GET",
            "/api/v1/audit/verify",
            Some(org.token(Role::Admin)),
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["ok"], true, "{v}");
    let published: audit::Checkpoint =
        serde_json::from_value(v["checkpoint"].clone()).expect("a signed checkpoint");
    let key = &server.state.audit_key;
    let conn = server.state.pool.get().await.expect("conn");
    let state = &server.state;
    let verify = |published: Vec<audit::Checkpoint>| async move {
        audit::verify(&state.pool.get().await.expect("conn"), key, &published)
            .await
            .expect("verify")
    };
    assert!(verify(vec![published.clone()]).await.ok);

    // An attacker with write access but no key edits row 3 and recomputes the whole chain
    // after it, and the head, the way the unkeyed chain allowed (plain SHA-256).
    let rows = audit::list(&conn, None, i64::MAX).await.expect("rows");
    let mut prev = audit::GENESIS.to_owned();
    for r in &rows {
        let detail = if r.seq == 3 {
            "{\"forged\":true}".to_owned()
        } else {
            r.detail.clone()
        };
        let hash = audit::row_hash(
            &prev, r.seq, r.time, r.org_id, r.user_id, &r.action, &r.target, &detail,
        );
        conn.execute(
            "UPDATE audit_log SET detail = $2, prev_hash = $3, hash = $4 WHERE seq = $1",
            &[&r.seq, &detail, &prev, &hash],
        )
        .await
        .expect("forge");
        prev = hash;
    }
    conn.execute("UPDATE audit_head SET hash = $1", &[&prev])
        .await
        .expect("forge head");
    let v = verify(vec![]).await;
    assert!(!v.ok, "a recomputed chain is detected: {v:?}");
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains("row 3") && p.contains("edited")),
        "{v:?}"
    );
    assert!(v.problems.iter().any(|p| p.contains("not signed")), "{v:?}");
    // Put the genuine rows back, then delete the tail and move the head back to the new last
    // row (with the signature of its time, replayed): the published checkpoint catches it.
    for r in &rows {
        conn.execute(
            "UPDATE audit_log SET detail = $2, prev_hash = $3, hash = $4 WHERE seq = $1",
            &[&r.seq, &r.detail, &r.prev_hash, &r.hash],
        )
        .await
        .expect("restore");
    }
    conn.execute("UPDATE audit_head SET hash = $1", &[&published.hash])
        .await
        .expect("restore head");
    assert!(verify(vec![published.clone()]).await.ok, "restored");
    let keep = published.seq - 2;
    let kept = rows.iter().find(|r| r.seq == keep).expect("row");
    let replayed = key.checkpoint(keep, &kept.hash);
    conn.execute("DELETE FROM audit_log WHERE seq > $1", &[&keep])
        .await
        .expect("delete tail");
    conn.execute("DELETE FROM audit_checkpoints", &[])
        .await
        .expect("delete checkpoints");
    conn.execute(
        "UPDATE audit_head SET seq = $1, hash = $2, signature = $3",
        &[&replayed.seq, &replayed.hash, &replayed.signature],
    )
    .await
    .expect("replay head");
    let v = verify(vec![published.clone()]).await;
    assert!(
        v.problems.iter().any(|p| p.contains("row is gone")),
        "a deleted tail is detected by the published checkpoint: {v:?}"
    );
    // Without the replayed signature (the head simply rewritten), the database alone shows it.
    conn.execute("UPDATE audit_head SET signature = 'x'", &[])
        .await
        .expect("rewrite head");
    let v = verify(vec![]).await;
    assert!(!v.ok, "{v:?}");
    drop(conn);
    server.shutdown().await;
}
