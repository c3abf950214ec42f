//! Every route × every role, plus no token and another organisation's ids.

use aviary_core::DroneId;
use aviary_core::auth::{Role, can};
use aviary_server::api::openapi::ROUTES;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

use crate::common::{self, Http};

/// A body that is valid for `path` (so an allowed role gets past validation).
fn body_for(method: &str, path: &str, ctx: &Ctx, n: usize) -> Option<Value> {
    Some(match (method, path) {
        ("POST", "/api/v1/users") => {
            json!({ "email": format!("new{n}@matrix.test"), "password": common::PASSWORD, "role": "analyst" })
        }
        ("PATCH", "/api/v1/users/{id}") => json!({ "role": "analyst" }),
        ("POST", "/api/v1/auth/password") => {
            json!({ "current_password": common::PASSWORD, "new_password": common::PASSWORD })
        }
        ("POST", "/api/v1/missions") => common::mission_body(ctx.site, Some(ctx.drone)),
        ("PATCH", "/api/v1/missions/{id}") => json!({ "name": format!("renamed {n}") }),
        ("POST", "/api/v1/drones") => {
            json!({ "site_id": ctx.site, "serial_number": format!("M-{n}"), "model": "X", "home": { "lat": 1.0, "lon": 2.0 } })
        }
        ("PATCH", "/api/v1/drones/{id}/status") => json!({ "status": "maintenance" }),
        ("POST", "/api/v1/sites") => {
            json!({ "name": format!("site {n}"), "location": { "lat": 1.0, "lon": 2.0 } })
        }
        ("POST", "/api/v1/reports/export") => json!({ "mission_id": ctx.mission, "format": "csv" }),
        ("POST", "/api/v1/schedules") => {
            json!({ "mission_id": ctx.mission, "local_time": "09:00", "recurrence": { "kind": "daily" }, "start_date": "2030-01-01" })
        }
        ("PUT", "/api/v1/schedules/settings") => json!({ "unattended_starts": false }),
        ("PATCH", "/api/v1/schedules/{id}") => json!({ "enabled": true }),
        ("POST", "/api/v1/schedules/{id}/runs/{date}/confirm") => json!({ "start": true }),
        _ => return None,
    })
}

struct Ctx {
    site: aviary_core::SiteId,
    drone: DroneId,
    mission: String,
    user: String,
}

fn fill(path: &str, ctx: &Ctx, mission: &str) -> String {
    let id = if path.starts_with("/api/v1/users") {
        ctx.user.clone()
    } else if path.contains("/drones/{id}") {
        ctx.drone.to_string()
    } else if path.contains("/site") {
        ctx.site.to_string()
    } else {
        mission.to_owned()
    };
    path.replace("{id}", &id)
}

async fn new_mission(
    http: &Http,
    token: &str,
    ctx_site: aviary_core::SiteId,
    drone: DroneId,
) -> String {
    let (st, b) = http
        .call(
            "POST",
            "/api/v1/missions",
            Some(token),
            Some(&common::mission_body(ctx_site, Some(drone))),
        )
        .await;
    assert_eq!(st, 201, "{b}");
    b["mission_id"].as_str().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_route_matrix_and_other_org_ids() {
    let Some((pg, mh, mp)) = common::services() else {
        return;
    };
    let schema = common::schema();
    let _guard = common::SchemaGuard {
        pg: pg.clone(),
        schema: schema.clone(),
    };
    let mut cfg = common::config(
        &pg,
        &mh,
        mp,
        &schema,
        &format!("matrix-{}", uuid::Uuid::new_v4().simple()),
    );
    cfg.ack_timeout = std::time::Duration::from_secs(1);
    // Site weather answers "unknown" at once: nothing listens there.
    cfg.weather_url = "http://127.0.0.1:9/v1/forecast".into();
    // Revoking routes make every role log in again.
    cfg.login_per_minute = 10_000;
    let server = aviary_server::start_with_cost(cfg, common::TEST_COST)
        .await
        .expect("start");
    let http = Http::new(server.addr);
    let mut alpha = common::org(&server, &http, "alpha", DroneId::new_random()).await;
    let bravo = common::org(&server, &http, "bravo", DroneId::new_random()).await;
    let admin = alpha.token(Role::Admin).to_owned();
    let (_, users) = http.call("GET", "/api/v1/users", Some(&admin), None).await;
    let analyst_id = users
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["role"] == "analyst")
        .expect("analyst")["user_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let shared_mission =
        new_mission(&http, alpha.token(Role::Admin), alpha.site, alpha.drone).await;
    let ctx = Ctx {
        site: alpha.site,
        drone: alpha.drone,
        mission: shared_mission.clone(),
        user: analyst_id,
    };

    let mut checked = 0;
    let mut n = 0;
    for route in ROUTES.iter().filter(|r| r.method != "WS") {
        let Some(action) = route.action else { continue };
        // No token: 401 everywhere.
        let path = fill(route.path, &ctx, &shared_mission);
        let (st, body) = http
            .call(
                route.method,
                &path,
                None,
                body_for(route.method, route.path, &ctx, 0).as_ref(),
            )
            .await;
        assert_eq!(
            st, 401,
            "{} {} without a token: {body}",
            route.method, route.path
        );
        assert_eq!(body["error"]["code"], "unauthorized");
        checked += 1;
        for role in Role::ALL {
            n += 1;
            // Deleting consumes its mission or user: give each role its own.
            let mission = if route.method == "DELETE" && route.path.contains("/missions/") {
                new_mission(&http, alpha.token(Role::Admin), alpha.site, alpha.drone).await
            } else {
                shared_mission.clone()
            };
            let mut path = fill(route.path, &ctx, &mission);
            if route.method == "DELETE" && route.path.starts_with("/api/v1/users/") {
                let (st, b) = http
                    .call(
                        "POST",
                        "/api/v1/users",
                        Some(alpha.token(Role::Admin)),
                        Some(&json!({ "email": format!("doomed{n}@matrix.test"), "password": common::PASSWORD, "role": "analyst" })),
                    )
                    .await;
                assert_eq!(st, 201, "{b}");
                path = route
                    .path
                    .replace("{id}", b["user_id"].as_str().expect("id"));
            }
            let (st, body) = http
                .call(
                    route.method,
                    &path,
                    Some(alpha.token(role)),
                    body_for(route.method, route.path, &ctx, n).as_ref(),
                )
                .await;
            if can(role, action) {
                assert!(
                    st != 401 && st != 403,
                    "{} {} as {role:?} must be allowed, got {st}: {body}",
                    route.method,
                    route.path
                );
                assert!(
                    st < 500 || st == 504,
                    "{} {} as {role:?}: {st} {body}",
                    route.method,
                    route.path
                );
            } else {
                assert_eq!(
                    st, 403,
                    "{} {} as {role:?} must be forbidden: {body}",
                    route.method, route.path
                );
                assert_eq!(body["error"]["code"], "forbidden");
            }
            checked += 1;
            // A role change, a password change and logout-all revoke tokens: log in again.
            if matches!(
                route.path,
                "/api/v1/users/{id}" | "/api/v1/auth/logout" | "/api/v1/auth/password"
            ) && st < 300
            {
                alpha.relogin(&http).await;
            }
        }
    }

    // WebSocket: every role may watch; only admins and operators may command.
    let ws_base = format!("ws://{}/ws/missions/{shared_mission}/live", server.addr);
    let no_token = tokio_tungstenite::connect_async(ws_base.as_str()).await;
    assert!(no_token.is_err(), "a WebSocket without a token is refused");
    checked += 1;
    for role in Role::ALL {
        let url = format!("{ws_base}?token={}", alpha.token(role));
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("every role may watch");
        let cmd = json!({ "type": "command", "mission_id": shared_mission, "action": "pause" })
            .to_string();
        ws.send(tokio_tungstenite::tungstenite::Message::Text(cmd.into()))
            .await
            .expect("send");
        let reply = loop {
            let m = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
                .await
                .expect("reply in time")
                .expect("open")
                .expect("frame");
            if let tokio_tungstenite::tungstenite::Message::Text(t) = m {
                let v: Value = serde_json::from_str(&t).expect("json");
                if v["type"] == "error" || v["type"] == "command_result" {
                    break v;
                }
            }
        };
        if can(role, aviary_core::auth::Action::CommandMission) {
            // Allowed, but a planned mission cannot be paused: the lifecycle refuses it.
            assert_eq!(
                (reply["type"].as_str(), reply["code"].as_str()),
                (Some("error"), Some("conflict")),
                "{role:?}: {reply}"
            );
        } else {
            assert_eq!(
                (reply["type"].as_str(), reply["code"].as_str()),
                (Some("error"), Some("forbidden")),
                "{role:?}: {reply}"
            );
        }
        checked += 2;
    }

    // Another organisation's ids are 404, for every route that takes an id.
    for route in ROUTES
        .iter()
        .filter(|r| r.path.contains("{id}") && r.method != "WS")
    {
        let path = fill(route.path, &ctx, &shared_mission);
        let (st, body) = http
            .call(
                route.method,
                &path,
                Some(bravo.token(Role::Admin)),
                body_for(route.method, route.path, &ctx, 999).as_ref(),
            )
            .await;
        assert_eq!(
            st, 404,
            "{} {} with another org's id: {body}",
            route.method, route.path
        );
        checked += 1;
    }
    let url = format!("{ws_base}?token={}", bravo.token(Role::Admin));
    assert!(
        tokio_tungstenite::connect_async(url.as_str())
            .await
            .is_err(),
        "another org's mission socket is refused"
    );
    checked += 1;
    // Export names its mission in the body, not the path.
    let (st, _) = http
        .call(
            "POST",
            "/api/v1/reports/export",
            Some(bravo.token(Role::Admin)),
            Some(&json!({ "mission_id": shared_mission, "format": "csv" })),
        )
        .await;
    assert_eq!(st, 404);
    checked += 1;
    println!("role x route matrix: {checked} checks");
    assert_eq!(
        checked, 192,
        "40 protected routes x (3 roles + no token), 7 WebSocket checks, 25 cross-org checks"
    );
    server.shutdown().await;
}
