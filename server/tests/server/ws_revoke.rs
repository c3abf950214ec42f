//! A revoked token closes the user's open WebSockets (issue 15): logout, password change and
//! role change close the user's sockets on the instance that revoked at once and on another
//! instance within the version cache's lifetime; other users' sockets stay open.

use std::time::Duration;

use aviary_core::DroneId;
use aviary_core::auth::Role;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::common::{self, Http};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(addr: std::net::SocketAddr, mission: &str, token: &str) -> Ws {
    let url = format!("ws://{addr}/ws/missions/{mission}/live?token={token}");
    tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("ws")
        .0
}

/// Reads until the server closes the socket; returns the close frame's code and reason.
async fn closed_by_server(ws: &mut Ws, what: &str) -> (CloseCode, String) {
    let read = async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Close(Some(f))) => return Some((f.code, f.reason.to_string())),
                Ok(Message::Close(None)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(15), read)
        .await
        .unwrap_or_else(|_| panic!("{what}: the socket stayed open"))
        .unwrap_or_else(|| panic!("{what}: closed without a close frame"))
}

/// The socket still answers: an unknown message gets an `error` reply.
async fn alive(ws: &mut Ws) {
    ws.send(Message::text(r#"{"type":"hello"}"#))
        .await
        .expect("send");
    let reply = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(&t).expect("json");
                if v["type"] == "error" {
                    return Some(v);
                }
            }
        }
        None
    })
    .await
    .expect("a reply in time");
    assert!(reply.is_some(), "the socket is still open");
}

async fn user_id(http: &Http, admin: &str, email: &str) -> String {
    let (_, users) = http.call("GET", "/api/v1/users", Some(admin), None).await;
    users
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["email"] == email)
        .expect("user")["user_id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_password_and_role_changes_close_the_users_open_websockets() {
    let Some(t) = common::start("wsrev").await else {
        return;
    };
    let a = &t.server;
    let mut b_config = a.state.config.clone();
    b_config.instance_id = format!("wsrev-b-{}", uuid::Uuid::new_v4().simple());
    let b = aviary_server::start_with_cost(b_config, common::TEST_COST)
        .await
        .expect("second instance");
    let http = Http::new(a.addr);
    let mut org = common::org(a, &http, "wsrev", DroneId::new_random()).await;
    let (st, m) = http
        .call(
            "POST",
            "/api/v1/missions",
            Some(org.token(Role::Operator)),
            Some(&common::mission_body(org.site, Some(org.drone))),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    let mission = m["mission_id"].as_str().expect("id").to_owned();

    let mut admin_ws = open(a.addr, &mission, org.token(Role::Admin)).await;
    let mut analyst_a = open(a.addr, &mission, org.token(Role::Analyst)).await;
    let mut analyst_b = open(b.addr, &mission, org.token(Role::Analyst)).await;
    let mut operator_ws = open(a.addr, &mission, org.token(Role::Operator)).await;

    // Logout on A: the analyst's socket on A closes at once, the one on B at its next check.
    let (st, body) = http
        .call(
            "POST",
            "/api/v1/auth/logout",
            Some(org.token(Role::Analyst)),
            None,
        )
        .await;
    assert_eq!(st, 204, "{body}");
    let (code, reason) = closed_by_server(&mut analyst_a, "logout, same instance").await;
    assert_eq!(
        (code, reason.as_str()),
        (CloseCode::Policy, "token revoked")
    );
    let (code, _) = closed_by_server(&mut analyst_b, "logout, other instance").await;
    assert_eq!(code, CloseCode::Policy);

    // Password change.
    let (st, body) = http
        .call(
            "POST",
            "/api/v1/auth/password",
            Some(org.token(Role::Operator)),
            Some(&json!({ "current_password": common::PASSWORD, "new_password": "another long passphrase" })),
        )
        .await;
    assert_eq!(st, 204, "{body}");
    let (code, _) = closed_by_server(&mut operator_ws, "password change").await;
    assert_eq!(code, CloseCode::Policy);

    // Role change by the admin.
    org.tokens.retain(|(r, _)| *r != Role::Operator);
    org.emails.retain(|(r, _)| *r != Role::Operator);
    org.relogin(&http).await;
    let mut analyst_again = open(a.addr, &mission, org.token(Role::Analyst)).await;
    alive(&mut analyst_again).await;
    let analyst_id = user_id(&http, org.token(Role::Admin), org.email(Role::Analyst)).await;
    let (st, body) = http
        .call(
            "PATCH",
            &format!("/api/v1/users/{analyst_id}"),
            Some(org.token(Role::Admin)),
            Some(&json!({ "role": "operator" })),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let (code, _) = closed_by_server(&mut analyst_again, "role change").await;
    assert_eq!(code, CloseCode::Policy);

    // Nobody revoked the admin's token: its socket (opened before all this) is still served.
    alive(&mut admin_ws).await;
    b.shutdown().await;
}
