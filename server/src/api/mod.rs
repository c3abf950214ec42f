//! The HTTP surface: `/api/v1` REST routes (design section 3.1), the mission WebSocket, the
//! OpenAPI document, `/metrics` and `/healthz`. Handlers live in one module per resource.

pub mod fleet;
pub mod missions;
pub mod openapi;
pub mod reports;
pub mod schedules;
pub mod telemetry;
pub mod users;
pub mod ws;

use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};

use crate::AppState;
use crate::error::ApiError;

/// Parses a path id; anything that is not a UUID is a 400 with a clear message.
pub fn parse_id<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, ApiError> {
    s.parse()
        .map_err(|_| ApiError::BadRequest(format!("{what} id {s:?} is not a UUID")))
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let api = Router::new()
        .route("/auth/login", post(users::login))
        .route("/auth/logout", post(users::logout))
        .route("/auth/password", post(users::change_password))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", patch(users::update).delete(users::delete))
        .route("/audit", get(users::audit_list))
        .route("/audit/verify", get(users::audit_verify))
        .route("/missions", get(missions::list).post(missions::create))
        .route(
            "/missions/{id}",
            get(missions::get_one)
                .patch(missions::update)
                .delete(missions::delete),
        )
        .route("/missions/{id}/start", post(missions::start))
        .route("/missions/{id}/pause", post(missions::pause))
        .route("/missions/{id}/resume", post(missions::resume))
        .route("/missions/{id}/abort", post(missions::abort))
        .route("/missions/{id}/rth", post(missions::rth))
        .route("/missions/{id}/telemetry", get(telemetry::mission_stream))
        .route("/missions/{id}/replay", get(telemetry::mission_replay))
        .route("/drones", get(fleet::list_drones).post(fleet::create_drone))
        .route("/drones/{id}", get(fleet::get_drone))
        .route("/drones/{id}/status", patch(fleet::patch_status))
        .route("/drones/{id}/telemetry/latest", get(telemetry::latest))
        .route("/sites", get(fleet::list_sites).post(fleet::create_site))
        .route("/sites/{id}/drones", get(fleet::site_drones))
        .route("/sites/{id}/weather", get(schedules::site_weather))
        .route("/schedules", get(schedules::list).post(schedules::create))
        .route(
            "/schedules/settings",
            axum::routing::put(schedules::settings),
        )
        .route(
            "/schedules/{id}",
            get(schedules::get_one)
                .patch(schedules::update)
                .delete(schedules::delete),
        )
        .route(
            "/schedules/{id}/runs/{date}/confirm",
            post(schedules::confirm),
        )
        .route("/reports/missions/{id}", get(reports::mission))
        .route("/reports/org-summary", get(reports::org_summary))
        .route("/reports/site/{id}/summary", get(reports::site_summary))
        .route("/reports/export", post(reports::export))
        .route("/openapi.json", get(openapi::document));
    Router::new()
        .nest("/api/v1", api)
        .route("/ws/missions/{id}/live", get(ws::upgrade))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            users::audit_denied,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
}

async fn count_requests(
    State(s): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    s.metrics.http_requests.fetch_add(1, Ordering::Relaxed);
    let resp = next.run(req).await;
    // The body limit rejects with plain text; give it the JSON error shape.
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE
        && resp
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_none_or(|v| v != "application/json")
    {
        return ApiError::TooLarge.into_response();
    }
    resp
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        s.metrics.render(),
    )
}

/// Health: the database answers and the ingest is connected to the broker (503 otherwise, so
/// a load balancer or orchestrator sees a server that stores nothing), with the ingest's
/// figures: connection, last error, lag, last commit, dead letters.
async fn healthz(State(s): State<AppState>) -> Response {
    let database = match s.pool.get().await {
        Ok(c) => c
            .simple_query("SELECT 1")
            .await
            .map(|_| ())
            .map_err(|e| crate::telemetry::describe(&e.into())),
        Err(e) => Err(e.to_string()),
    };
    let ingest = s.metrics.ingest_health();
    let ok = database.is_ok() && ingest.connected;
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "unhealthy" },
        "database": database.as_ref().map_or_else(String::as_str, |()| "ok"),
        "ingest": ingest,
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}
