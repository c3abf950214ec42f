//! `GET /ws/missions/{id}/live`: the mission's live feed (section 3.2). Server → client:
//! `telemetry_update`, `mission_status` and `command_result` messages, fed through the broker
//! so any instance serves any client. Client → server: `{"type": "command", "mission_id",
//! "action"}`, handled like the REST command routes (analysts get an `error` message).
//!
//! The `Origin` header, when present (browsers always send it), must be in the configured
//! list; the token comes from `Authorization: Bearer` or `?token=`. A socket lives no longer
//! than its token: it is closed (code 1008) as soon as the token is revoked — at once for a
//! logout, password or role change or deletion on this instance, within
//! [`crate::auth::TokenVersions::TTL`] for one on another instance — or expires.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use aviary_core::MissionId;
use aviary_core::wire::CommandAction;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::parse_id;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::{AppState, Shared};

/// A client → server message.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// A mission command.
    Command {
        /// Must be the mission of the socket.
        mission_id: MissionId,
        /// What to do.
        action: CommandAction,
    },
}

/// Upgrades after checking origin, token, role and mission.
pub async fn upgrade(
    State(s): State<AppState>,
    headers: HeaderMap,
    user: Result<AuthUser, ApiError>,
    Path(id): Path<String>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    if let Some(origin) = headers.get(axum::http::header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        if !s.config.allowed_origins.iter().any(|o| o == origin) {
            return Err(ApiError::Forbidden(format!(
                "origin {origin:?} is not allowed"
            )));
        }
    }
    let user = user?;
    user.require(aviary_core::auth::Action::Read)?;
    let id: MissionId = parse_id(&id, "mission")?;
    super::missions::load(&s.pool.get().await?, user.org_id, id).await?;
    let max = s.config.max_body_bytes;
    Ok(ws
        .max_message_size(max)
        .on_upgrade(move |socket| serve(s, user, id, socket)))
}

/// Why a socket is closed by the server.
fn close(reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code: close_code::POLICY,
        reason: reason.into(),
    }))
}

async fn serve(s: Arc<Shared>, user: AuthUser, mission: MissionId, socket: WebSocket) {
    s.metrics.ws_clients.fetch_add(1, Ordering::Relaxed);
    let mut feed = s.hub.subscribe(mission);
    let mut revoked = s.token_versions.revocations();
    let mut recheck = tokio::time::interval(crate::auth::TokenVersions::TTL);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let expires_in = u64::try_from(user.expires_at - s.clock.now().timestamp()).unwrap_or(0);
    let expiry = tokio::time::sleep(std::time::Duration::from_secs(expires_in));
    tokio::pin!(expiry);
    let (mut tx, mut rx) = socket.split();
    let (reply_tx, mut reply_rx) = tokio::sync::mpsc::channel::<String>(16);
    loop {
        tokio::select! {
            r = revoked.recv() => {
                let mine = match r {
                    Ok(u) => u == user.user_id,
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => false,
                };
                if mine && !s.token_versions.still_valid(&s.pool, user.user_id, user.token_version, s.clock.instant()).await {
                    let _ = tx.send(close("token revoked")).await;
                    break;
                }
            }
            _ = recheck.tick() => {
                if !s.token_versions.still_valid(&s.pool, user.user_id, user.token_version, s.clock.instant()).await {
                    let _ = tx.send(close("token revoked")).await;
                    break;
                }
            }
            () = &mut expiry => {
                let _ = tx.send(close("token expired")).await;
                break;
            }
            msg = feed.recv() => match msg {
                Ok(text) => {
                    if tx.send(Message::Text(text.as_ref().into())).await.is_err() { break; }
                }
                Err(RecvError::Lagged(n)) => { s.metrics.ws_lagged.fetch_add(n, Ordering::Relaxed); }
                Err(RecvError::Closed) => break,
            },
            reply = reply_rx.recv() => {
                let Some(reply) = reply else { break };
                if tx.send(Message::Text(reply.into())).await.is_err() { break; }
            }
            incoming = rx.next() => match incoming {
                Some(Ok(Message::Text(t))) => {
                    let s2 = Arc::clone(&s);
                    let reply_tx = reply_tx.clone();
                    let text = t.to_string();
                    // Commands wait for the drone's ack (up to the timeout): run them aside so
                    // the feed keeps flowing meanwhile.
                    tokio::spawn(async move {
                        let reply = handle_client_message(&s2, user, mission, &text).await;
                        let _ = reply_tx.send(reply.to_string()).await;
                    });
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            }
        }
    }
    s.metrics.ws_clients.fetch_sub(1, Ordering::Relaxed);
}

/// The answer to one client message (an `error` message for anything refused).
pub async fn handle_client_message(
    s: &Arc<Shared>,
    user: AuthUser,
    mission: MissionId,
    text: &str,
) -> serde_json::Value {
    let err = |code: &str, message: String| serde_json::json!({ "type": "error", "code": code, "message": message });
    let msg: ClientMessage = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => return err("invalid_message", format!("invalid message: {e}")),
    };
    match msg {
        ClientMessage::Command { mission_id, .. } if mission_id != mission => err(
            "wrong_mission",
            "this socket only commands its own mission".into(),
        ),
        ClientMessage::Command { action, .. } => {
            match super::missions::command(s, user, &mission.to_string(), action).await {
                Ok(v) => v,
                Err(e) => {
                    let (_, code) = e.status_code();
                    err(code, e.to_string())
                }
            }
        }
    }
}
