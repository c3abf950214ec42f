//! `aviary-server`: the optional fleet server for organisations that outgrow one desktop.
//!
//! It owns the REST API of the design's section 3.1 under `/api/v1` and the mission WebSocket
//! of section 3.2 ([`api`]), PostgreSQL storage with versioned migrations and daily telemetry
//! partitions ([`db`], [`telemetry`]), the MQTT ingest on a shared subscription and the live
//! fan-out through the broker ([`broker`]), authentication with Argon2id and HS256 JWTs
//! ([`auth`]), the hash-chained audit log ([`audit`]), Prometheus metrics ([`metrics`]) and
//! PagerDuty-shaped alert webhooks ([`alerts`]).
//!
//! Principal entry points: [`start`] (a running server on the caller's tokio runtime, used by
//! `main.rs` and by the tests in-process) and [`bootstrap_org`] (first organisation and admin).
//! The load tool is a client like any other (`aviary bench fleet`, `aviary_links::fleet_bench`),
//! not part of the server. It depends on `aviary-core` (domain, lifecycle, wire types,
//! roles) and `aviary-planner` (waypoint generation) only — never on `links`, `sim` or a UI.

pub mod alerts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod broker;
pub mod config;
pub mod db;
pub mod error;
pub mod lifecycle;
pub mod members;
pub mod metrics;
pub mod missions;
pub mod schedules;
pub mod telemetry;
pub mod topics;
pub mod weather;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aviary_core::auth::Role;
use aviary_core::{Clock, OrgId, SystemClock, UserId};

pub use config::ServerConfig;
pub use error::{ApiError, ServerError};

/// Everything the handlers and background tasks share.
#[derive(Debug)]
pub struct Shared {
    /// Settings.
    pub config: ServerConfig,
    /// PostgreSQL pool.
    pub pool: deadpool_postgres::Pool,
    /// JWT keys.
    pub tokens: auth::TokenKeys,
    /// Login attempts per client address.
    pub login_limiter: auth::RateLimiter,
    /// API requests per user.
    pub api_limiter: auth::RateLimiter,
    /// Metrics.
    pub metrics: Arc<metrics::Metrics>,
    /// WebSocket fan-out.
    pub hub: broker::Hub,
    /// Commands in flight (and the live MQTT client).
    pub commands: broker::Commands,
    /// Alert webhook.
    pub alerts: alerts::Alerts,
    /// Known telemetry partitions.
    pub partitions: telemetry::Partitions,
    /// Argon2id cost for new hashes.
    pub password_cost: auth::PasswordCost,
    /// A hash checked for unknown e-mails, so login time does not reveal which exist.
    pub dummy_hash: String,
    /// Rendered drone lists, reused briefly.
    pub drone_lists: api::fleet::DroneListCache,
    /// Which drone each mission is assigned to, reused briefly (telemetry may touch only the
    /// mission assigned to its drone).
    pub assignments: broker::Assignments,
    /// Users' current token versions (revocation), cached briefly.
    pub token_versions: auth::TokenVersions,
    /// Argon2id work allowed at once (logins, password changes, new users).
    pub password_slots: auth::PasswordSlots,
    /// The audit chain's HMAC key (from the configuration, never stored in the database).
    pub audit_key: audit::AuditKey,
    /// The one clock every decision reads: token expiry, rate limits, account locks, cache
    /// ages, pause timeouts, retention, schedules, share-group staleness ([`SystemClock`] in
    /// production, a [`ManualClock`] in tests that move time).
    ///
    /// [`SystemClock`]: aviary_core::SystemClock
    /// [`ManualClock`]: aviary_core::ManualClock
    pub clock: Arc<dyn Clock>,
}

/// Axum state.
pub type AppState = Arc<Shared>;

/// A running server.
#[derive(Debug)]
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Shared state (tests read metrics and the pool through it).
    pub state: AppState,
    http_stop: Option<tokio::sync::oneshot::Sender<()>>,
    http: tokio::task::JoinHandle<()>,
    ingest: broker::Ingest,
    live_stop: Option<tokio::sync::oneshot::Sender<()>>,
    live: tokio::task::JoinHandle<()>,
    maintenance: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// Graceful stop for a restart (what `aviary-server serve` does on SIGTERM and SIGINT):
    /// HTTP first, then the ingest, which commits and acknowledges what it took and
    /// disconnects without leaving the shared subscription ([`broker::StopMode::KeepSession`]:
    /// the broker queues this instance's share until it is back under the same name), then
    /// the live client.
    pub async fn stop_for_restart(self) {
        self.stop(broker::StopMode::KeepSession).await;
    }

    /// Graceful stop for good (scaling down; tests): as
    /// [`Self::stop_for_restart`], but the ingest leaves the shared subscription first so the
    /// other instances take its share at once ([`broker::StopMode::Leave`]), and the instance
    /// is recorded as gone rather than stale.
    pub async fn shutdown(self) {
        self.stop(broker::StopMode::Leave).await;
    }

    async fn stop(mut self, mode: broker::StopMode) {
        if let Some(tx) = self.http_stop.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.http).await;
        self.http.abort();
        self.ingest.stop(mode).await;
        if mode == broker::StopMode::Leave
            && let Err(e) = members::left(&self.state).await
        {
            tracing::warn!(error = %e, "could not record leaving the share group");
        }
        if let Some(tx) = self.live_stop.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.live).await;
        self.live.abort();
        self.maintenance.abort();
    }

    /// Waits until the HTTP server ends (for `main`).
    pub async fn wait(&mut self) {
        let _ = (&mut self.http).await;
    }
}

/// Connects to PostgreSQL (applying migrations) and the broker, and starts serving.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    start_with_cost(config, auth::PasswordCost::RECOMMENDED).await
}

/// [`start`] with an explicit Argon2id cost (tests use a cheap one).
pub async fn start_with_cost(
    config: ServerConfig,
    password_cost: auth::PasswordCost,
) -> Result<RunningServer, ServerError> {
    start_with_clock(config, password_cost, Arc::new(SystemClock)).await
}

/// [`start_with_cost`] reading time from `clock` (tests pass a [`aviary_core::ManualClock`]).
pub async fn start_with_clock(
    config: ServerConfig,
    password_cost: auth::PasswordCost,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, ServerError> {
    topics::check_prefix(&config.mqtt_topic_prefix)?;
    topics::check_share_group(&config.ingest_share_group)?;
    let pool = db::pool(&config.database_url, &config.db_schema, config.db_pool_size)?;
    db::migrate(&pool, &config.db_schema).await?;
    let tokens = auth::TokenKeys::new(
        &config.jwt_secret,
        &config.jwt_issuer,
        &config.jwt_audience,
        config.token_ttl,
    )?;
    let audit_key = audit::AuditKey::new(&config.audit_secret)?;
    let metrics = Arc::new(metrics::Metrics::default());
    let alerts = alerts::Alerts::start(
        config.alert_webhook_url.clone(),
        config.alert_routing_key.clone(),
        Arc::clone(&metrics),
    );
    let cost = password_cost;
    let dummy_hash =
        tokio::task::spawn_blocking(move || auth::hash_password("not a password of anyone", cost))
            .await
            .map_err(|e| ServerError::Password(e.to_string()))??;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let login_per_s = f64::from(config.login_per_minute.max(1)) / 60.0;
    let api_per_s = f64::from(config.api_per_second.max(1));
    let (live_client, live_loop) = broker::live_client(&config);
    let state: AppState = Arc::new(Shared {
        login_limiter: auth::RateLimiter::new(
            login_per_s,
            f64::from(config.login_per_minute.max(1)),
        ),
        api_limiter: auth::RateLimiter::new(api_per_s, api_per_s * 2.0),
        tokens,
        metrics,
        hub: broker::Hub::default(),
        commands: broker::commands(live_client, &config),
        alerts,
        partitions: telemetry::Partitions::default(),
        drone_lists: api::fleet::DroneListCache::default(),
        assignments: broker::Assignments::default(),
        token_versions: auth::TokenVersions::default(),
        audit_key,
        password_slots: auth::PasswordSlots::new(
            config.password_hash_slots,
            config.password_queue_wait,
        ),
        password_cost,
        dummy_hash,
        pool,
        config,
        clock,
    });
    let (live_stop, live_rx) = tokio::sync::oneshot::channel();
    let live = tokio::spawn(broker::run_live(Arc::clone(&state), live_loop, live_rx));
    let ingest = broker::Ingest::start(Arc::clone(&state));
    let maintenance = tokio::spawn(maintain(Arc::clone(&state)));
    let app = api::router(Arc::clone(&state));
    let (http_stop, http_rx) = tokio::sync::oneshot::channel::<()>();
    let http = tokio::spawn(async move {
        let serve = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = http_rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    tracing::info!(%addr, instance = %state.config.instance_id, "aviary-server listening");
    Ok(RunningServer {
        addr,
        state,
        http_stop: Some(http_stop),
        http,
        ingest,
        live_stop: Some(live_stop),
        live,
        maintenance,
    })
}

/// Periodic work: partitions for today and tomorrow, retention, paused-mission timeouts,
/// share-group heartbeats and schedules, every 10 s (retention once an hour).
async fn maintain(s: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        if let Err(e) = maintenance_pass(&s, n.is_multiple_of(360)).await {
            tracing::warn!(error = %e, "maintenance pass failed");
        }
        n += 1;
    }
}

/// One maintenance pass at the server clock's time (tests advance a [`ManualClock`] and call
/// it instead of waiting for the periodic task).
///
/// [`ManualClock`]: aviary_core::ManualClock
pub async fn maintenance_pass(s: &AppState, retention: bool) -> Result<(), ServerError> {
    let conn = s.pool.get().await?;
    let now = s.clock.now();
    let today = now.date_naive();
    let days = [today, today.succ_opt().unwrap_or(today)]
        .into_iter()
        .collect();
    s.partitions.ensure(&conn, &days).await?;
    if retention {
        let dropped =
            telemetry::drop_expired(&conn, &s.partitions, now, s.config.retention).await?;
        if !dropped.is_empty() {
            tracing::info!(?dropped, "retention dropped telemetry partitions");
        }
    }
    drop(conn);
    api::missions::fail_stale_pauses(s).await?;
    members::heartbeat(s).await?;
    schedules::pass(s, now).await?;
    Ok(())
}

/// Creates an organisation with its first admin on a running server (tests).
pub async fn bootstrap_org(
    state: &Shared,
    org_name: &str,
    admin_email: &str,
    admin_password: &str,
) -> Result<(OrgId, UserId), ApiError> {
    bootstrap(
        &state.pool,
        &state.audit_key,
        state.password_cost,
        org_name,
        admin_email,
        admin_password,
    )
    .await
}

/// Checks `bootstrap`'s arguments by the API's rules (the 12-character password rule
/// included) before anything is touched.
pub fn check_bootstrap(
    org_name: &str,
    admin_email: &str,
    admin_password: &str,
) -> Result<(), ApiError> {
    error::check_text("org", org_name, 255)?;
    if org_name.trim().is_empty() {
        return Err(ApiError::Unprocessable(
            "the organisation needs a name".into(),
        ));
    }
    api::users::check_new_account(admin_email, admin_password)
}

/// Creates an organisation with its first admin (`aviary-server bootstrap`): arguments checked
/// first, then organisation, admin and their audit rows in one transaction, so a failure
/// leaves nothing behind. Needs only the database: no broker, no HTTP.
pub async fn bootstrap(
    pool: &deadpool_postgres::Pool,
    audit_key: &audit::AuditKey,
    cost: auth::PasswordCost,
    org_name: &str,
    admin_email: &str,
    admin_password: &str,
) -> Result<(OrgId, UserId), ApiError> {
    check_bootstrap(org_name, admin_email, admin_password)?;
    let pw = admin_password.to_owned();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw, cost))
        .await
        .map_err(|e| ServerError::Password(e.to_string()))??;
    let org = OrgId::new_random();
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    tx.execute(
        "INSERT INTO organizations (org_id, name) VALUES ($1, $2)",
        &[&org.0, &org_name],
    )
    .await?;
    audit::append(
        &tx,
        audit_key,
        Some(org),
        None,
        "org.create",
        &format!("org:{org}"),
        &serde_json::json!({ "name": org_name }),
    )
    .await?;
    let user =
        api::users::insert_user(&tx, audit_key, org, None, admin_email, &hash, Role::Admin).await?;
    tx.commit().await?;
    Ok((org, user))
}
