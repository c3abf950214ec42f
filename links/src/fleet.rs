//! The fleet-server client: the desktop app's view of an organisation's shared fleet.
//!
//! [`FleetLink::spawn`] starts a tokio runtime on the named thread `aviary-fleet-link`. Given a
//! [`FleetConfig`] (server URL, e-mail, password) it logs in (`POST /api/v1/auth/login`), then
//! polls the organisation's sites and drones (`GET /api/v1/sites`, `GET /api/v1/drones`, each
//! drone with its latest telemetry) every [`FleetConfig::poll_interval`], and sends each
//! result as a [`FleetEvent`] on a bounded channel followed by a call to the injected wake-up
//! closure. An expired token is renewed by logging in again; a failure is reported with the
//! time until the next attempt (exponential back-off up to [`MAX_BACKOFF`]), never silently.
//!
//! Plain `http://` only: TLS belongs to the reverse proxy in front of the server (the
//! server's README shows one); an `https://` URL is refused with an error that says so.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use aviary_core::auth::Role;
use aviary_core::wire::{
    CreateDrone, CreateSite, FleetDrone, FleetMission, FleetSite, LoginRequest, LoginResponse,
    WireLatLon,
};
use aviary_core::{DroneId, OrgId, SiteId, UserId};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;

/// Wake-up closure called after each event (the app passes `request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Longest wait between reconnection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// Largest response body accepted (a 10,000-drone fleet list is about 6 MB).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// What went wrong talking to the fleet server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FleetError {
    /// The URL cannot be used.
    #[error("fleet server URL {url:?}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why it is refused.
        reason: String,
    },
    /// E-mail or password missing.
    #[error("fleet server login: {0}")]
    MissingCredentials(&'static str),
    /// No answer (connection refused, reset, DNS).
    #[error("cannot reach the fleet server at {url}: {reason}")]
    Unreachable {
        /// The URL requested.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// No answer in time.
    #[error("the fleet server did not answer {path} within {timeout_s} s")]
    Timeout {
        /// Path requested.
        path: String,
        /// Timeout, seconds.
        timeout_s: u64,
    },
    /// Login refused.
    #[error("the fleet server refused the login: {0}")]
    LoginRefused(String),
    /// Any other non-2xx answer.
    #[error("the fleet server answered {status} to {path}: {message}")]
    Http {
        /// HTTP status.
        status: u16,
        /// Path requested.
        path: String,
        /// The server's error message.
        message: String,
    },
    /// A 2xx answer that is not the expected JSON.
    #[error("unexpected answer from the fleet server to {path}: {reason}")]
    Decode {
        /// Path requested.
        path: String,
        /// Parse error.
        reason: String,
    },
    /// A request that needs a connection came before [`FleetLink::connect`].
    #[error("not connected to a fleet server")]
    NotConnected,
    /// The link's thread has stopped.
    #[error("the fleet link has stopped")]
    Stopped,
    /// The request queue is full.
    #[error("the fleet link is busy; try again")]
    Busy,
    /// The runtime or thread could not start.
    #[error("cannot start the fleet link: {0}")]
    Start(String),
}

/// Where and as whom to connect.
#[derive(Clone, PartialEq, Eq)]
pub struct FleetConfig {
    /// Base URL, `http://host:port` (no trailing slash, no path).
    pub base_url: String,
    /// Account e-mail.
    pub email: String,
    /// Password.
    pub password: String,
    /// Time between fleet polls.
    pub poll_interval: Duration,
    /// Time allowed for one request.
    pub request_timeout: Duration,
}

impl std::fmt::Debug for FleetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetConfig")
            .field("base_url", &self.base_url)
            .field("email", &self.email)
            .field("password", &"<hidden>")
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

impl FleetConfig {
    /// Checks the URL (`http://host[:port]`, an optional trailing `/` or `/api/v1`) and the
    /// credentials; polls once a second by default.
    pub fn new(url: &str, email: &str, password: &str) -> Result<Self, FleetError> {
        let bad = |reason: &str| FleetError::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = url.trim();
        if trimmed.starts_with("https://") {
            return Err(bad(
                "https is terminated by the reverse proxy in front of the server; \
                 connect to its plain http address on the private network",
            ));
        }
        let Some(rest) = trimmed.strip_prefix("http://") else {
            return Err(bad("must start with http://"));
        };
        let rest = rest.trim_end_matches('/');
        let rest = rest.strip_suffix("/api/v1").unwrap_or(rest);
        if rest.is_empty() {
            return Err(bad("no host"));
        }
        if rest.contains('/') || rest.contains('?') || rest.contains('#') {
            return Err(bad("only scheme, host and port are expected"));
        }
        let uri: hyper::Uri = format!("http://{rest}/")
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| bad(&e.to_string()))?;
        if uri.host().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        if email.trim().is_empty() {
            return Err(FleetError::MissingCredentials("the e-mail is empty"));
        }
        if password.is_empty() {
            return Err(FleetError::MissingCredentials("the password is empty"));
        }
        Ok(Self {
            base_url: format!("http://{rest}"),
            email: email.trim().to_string(),
            password: password.to_string(),
            poll_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
        })
    }
}

/// The organisation's fleet as the server last listed it.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSnapshot {
    /// Sites, by name.
    pub sites: Vec<FleetSite>,
    /// Drones, by serial number, each with its latest telemetry.
    pub drones: Vec<FleetDrone>,
    /// The organisation's missions, newest first (the server lists up to 500).
    pub missions: Vec<FleetMission>,
}

/// What the link reports to the app.
#[derive(Debug, Clone, PartialEq)]
pub enum FleetEvent {
    /// Logged in.
    Connected {
        /// Server base URL.
        server: String,
        /// The user.
        user_id: UserId,
        /// The user's organisation.
        org_id: OrgId,
        /// The user's role there.
        role: Role,
    },
    /// A fresh listing.
    Snapshot(FleetSnapshot),
    /// A failure; the link tries again after `retry_in` (login failures are not retried).
    Error {
        /// What went wrong.
        error: FleetError,
        /// Time until the next attempt, if any.
        retry_in: Option<Duration>,
    },
    /// A [`Registration`] is done.
    Registered {
        /// The site (found by name or created).
        site_id: SiteId,
        /// Each drone's id on the server and whether this registration created it (`false`:
        /// a drone with the serial number existed and its id is reused).
        drones: Vec<(DroneId, bool)>,
    },
    /// Disconnected on request.
    Disconnected,
}

/// Drones to register at a site (found by name, created when missing): what a simulated fleet
/// or a newly delivered batch of drones needs before it shows in the organisation's fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// Site name.
    pub site_name: String,
    /// Site location (used when the site is created).
    pub site_location: WireLatLon,
    /// Site IANA time zone (used when the site is created; UTC when `None`).
    pub timezone: Option<String>,
    /// The drones, in order.
    pub drones: Vec<DroneSpec>,
}

/// One drone of a [`Registration`].
#[derive(Debug, Clone, PartialEq)]
pub struct DroneSpec {
    /// The id it uses on MQTT (kept unless a drone with the serial number exists).
    pub drone_id: DroneId,
    /// Serial number (unique).
    pub serial_number: String,
    /// Model.
    pub model: String,
    /// Home.
    pub home: WireLatLon,
}

enum Request {
    Connect(FleetConfig),
    Disconnect,
    Refresh,
    Register(Registration),
}

/// A running fleet-server client: a handle to its thread.
pub struct FleetLink {
    requests: mpsc::Sender<Request>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for FleetLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetLink").finish_non_exhaustive()
    }
}

impl FleetLink {
    /// Starts the client, idle, on the named thread `aviary-fleet-link`. Returns the handle and
    /// the bounded event receiver (`event_capacity` events) the app drains each frame.
    pub fn spawn(
        wake: Waker,
        event_capacity: usize,
    ) -> Result<(Self, std_mpsc::Receiver<FleetEvent>), FleetError> {
        let (ev_tx, ev_rx) = std_mpsc::sync_channel(event_capacity.max(4));
        let (req_tx, req_rx) = mpsc::channel(16);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| FleetError::Start(e.to_string()))?;
        let thread = std::thread::Builder::new()
            .name("aviary-fleet-link".into())
            .spawn(move || {
                let sink = Sink { tx: ev_tx, wake };
                runtime.block_on(drive(req_rx, stop_rx, sink));
            })
            .map_err(|e| FleetError::Start(e.to_string()))?;
        Ok((
            Self {
                requests: req_tx,
                shutdown: Some(stop_tx),
                thread: Some(thread),
            },
            ev_rx,
        ))
    }

    /// Logs in to the server of `config` (replacing any current connection) and starts polling.
    pub fn connect(&self, config: FleetConfig) -> Result<(), FleetError> {
        self.push(Request::Connect(config))
    }

    /// Stops polling and forgets the token.
    pub fn disconnect(&self) -> Result<(), FleetError> {
        self.push(Request::Disconnect)
    }

    /// Registers drones at a site; the outcome arrives as [`FleetEvent::Registered`] or
    /// [`FleetEvent::Error`]. Needs a connection ([`FleetLink::connect`] first).
    pub fn register(&self, registration: Registration) -> Result<(), FleetError> {
        self.push(Request::Register(registration))
    }

    /// Polls now instead of at the next interval.
    pub fn refresh(&self) -> Result<(), FleetError> {
        self.push(Request::Refresh)
    }

    fn push(&self, r: Request) -> Result<(), FleetError> {
        self.requests.try_send(r).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => FleetError::Busy,
            mpsc::error::TrySendError::Closed(_) => FleetError::Stopped,
        })
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            // The receiver is gone only if the thread already ended.
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("the fleet link thread panicked");
        }
    }
}

impl Drop for FleetLink {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Sink {
    tx: std_mpsc::SyncSender<FleetEvent>,
    wake: Waker,
}

impl Sink {
    /// Snapshots supersede each other: a full queue drops this one (the next poll brings a
    /// newer one). Other events wait for room.
    async fn send(&self, ev: FleetEvent) -> bool {
        let mut ev = ev;
        loop {
            match self.tx.try_send(ev) {
                Ok(()) | Err(std_mpsc::TrySendError::Full(FleetEvent::Snapshot(_))) => {
                    (self.wake)();
                    return true;
                }
                Err(std_mpsc::TrySendError::Full(back)) => {
                    (self.wake)();
                    ev = back;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(std_mpsc::TrySendError::Disconnected(_)) => return false,
            }
        }
    }
}

/// HTTP/1.1 JSON client for one server (also the load tool's, [`crate::fleet_bench`]).
pub(crate) struct Api {
    client: Client<HttpConnector, Full<Bytes>>,
    pub(crate) config: FleetConfig,
    pub(crate) token: Option<String>,
}

/// Why a poll stopped.
pub(crate) enum PollError {
    /// The token expired or was revoked: log in again.
    Unauthorized,
    Other(FleetError),
}

impl Api {
    pub(crate) fn new(config: FleetConfig) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(config.request_timeout));
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            config,
            token: None,
        }
    }

    pub(crate) async fn request(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Bytes), FleetError> {
        let url = format!("{}{path}", self.config.base_url);
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(&url)
            .header(hyper::header::ACCEPT, "application/json");
        if let Some(t) = &self.token {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| FleetError::BadUrl {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let timeout = self.config.request_timeout;
        let timed_out = || FleetError::Timeout {
            path: path.to_string(),
            timeout_s: timeout.as_secs(),
        };
        let fetch = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| FleetError::Unreachable {
                    url: url.clone(),
                    reason: error_chain(&e),
                })?;
            let status = resp.status().as_u16();
            let bytes = Limited::new(resp.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|e| FleetError::Unreachable {
                    url: url.clone(),
                    reason: e.to_string(),
                })?
                .to_bytes();
            Ok((status, bytes))
        };
        tokio::time::timeout(timeout, fetch)
            .await
            .map_err(|_| timed_out())?
    }

    pub(crate) async fn login(&mut self) -> Result<LoginResponse, FleetError> {
        self.token = None;
        let body = serde_json::to_vec(&LoginRequest {
            email: self.config.email.clone(),
            password: self.config.password.clone(),
        })
        .map_err(|e| FleetError::Decode {
            path: "/api/v1/auth/login".into(),
            reason: e.to_string(),
        })?;
        let path = "/api/v1/auth/login";
        let (status, bytes) = self.request(hyper::Method::POST, path, Some(body)).await?;
        match status {
            200..=299 => {
                let resp: LoginResponse = decode(path, &bytes)?;
                self.token = Some(resp.token.clone());
                Ok(resp)
            }
            400..=403 => Err(FleetError::LoginRefused(server_message(&bytes))),
            _ => Err(FleetError::Http {
                status,
                path: path.into(),
                message: server_message(&bytes),
            }),
        }
    }

    pub(crate) async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, PollError> {
        self.call(hyper::Method::GET, path, None).await
    }

    /// One authenticated call: 2xx decoded, 401 asks for a new login, anything else an error
    /// carrying the server's message.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, PollError> {
        let (status, bytes) = self
            .request(method, path, body)
            .await
            .map_err(PollError::Other)?;
        match status {
            200..=299 => decode(path, &bytes).map_err(PollError::Other),
            401 => Err(PollError::Unauthorized),
            _ => Err(PollError::Other(FleetError::Http {
                status,
                path: path.into(),
                message: server_message(&bytes),
            })),
        }
    }

    pub(crate) async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, PollError> {
        let body = serde_json::to_vec(body).map_err(|e| {
            PollError::Other(FleetError::Decode {
                path: path.into(),
                reason: e.to_string(),
            })
        })?;
        self.call(hyper::Method::POST, path, Some(body)).await
    }

    /// Finds or creates the site, then registers each drone not yet known by serial number.
    pub(crate) async fn register(
        &self,
        r: &Registration,
    ) -> Result<(SiteId, Vec<(DroneId, bool)>), PollError> {
        let sites: Vec<FleetSite> = self.get("/api/v1/sites").await?;
        let site_id = if let Some(s) = sites.iter().find(|s| s.name == r.site_name) {
            s.site_id
        } else {
            let created: FleetSite = self
                .post(
                    "/api/v1/sites",
                    &CreateSite {
                        name: r.site_name.clone(),
                        location: r.site_location,
                        timezone: r.timezone.clone(),
                    },
                )
                .await?;
            created.site_id
        };
        let existing: Vec<FleetDrone> = self.get("/api/v1/drones").await?;
        let mut out = Vec::with_capacity(r.drones.len());
        for spec in &r.drones {
            if let Some(d) = existing
                .iter()
                .find(|d| d.serial_number == spec.serial_number)
            {
                out.push((d.drone_id, false));
                continue;
            }
            let created: FleetDrone = self
                .post(
                    "/api/v1/drones",
                    &CreateDrone {
                        drone_id: Some(spec.drone_id),
                        site_id,
                        serial_number: spec.serial_number.clone(),
                        model: spec.model.clone(),
                        home: spec.home,
                        firmware_version: String::new(),
                    },
                )
                .await?;
            out.push((created.drone_id, true));
        }
        Ok((site_id, out))
    }

    async fn snapshot(&self) -> Result<FleetSnapshot, PollError> {
        let sites = self.get("/api/v1/sites").await?;
        let drones = self.get("/api/v1/drones").await?;
        let missions = self.get("/api/v1/missions").await?;
        Ok(FleetSnapshot {
            sites,
            drones,
            missions,
        })
    }
}

fn decode<T: serde::de::DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<T, FleetError> {
    serde_json::from_slice(bytes).map_err(|e| FleetError::Decode {
        path: path.to_string(),
        reason: e.to_string(),
    })
}

/// The server's `{"error": {"message": ..}}`, or the body's start when it is something else.
fn server_message(bytes: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(|m| m.as_str().map(str::to_string))
        })
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(bytes);
            text.chars().take(200).collect()
        })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

/// Connection state of the driver.
enum State {
    Idle,
    /// Connected (or trying to), with the time of the next attempt.
    Active {
        api: Box<Api>,
        next: tokio::time::Instant,
        failures: u32,
    },
}

fn backoff(failures: u32) -> Duration {
    let secs = 1u64 << failures.saturating_sub(1).min(4);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

async fn drive(
    mut requests: mpsc::Receiver<Request>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
    sink: Sink,
) {
    let mut state = State::Idle;
    loop {
        let wait_until = match &state {
            State::Idle => None,
            State::Active { next, .. } => Some(*next),
        };
        let sleep = async {
            match wait_until {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut stop => return,
            req = requests.recv() => match req {
                None => return,
                Some(Request::Connect(config)) => {
                    state = State::Active {
                        api: Box::new(Api::new(config)),
                        next: tokio::time::Instant::now(),
                        failures: 0,
                    };
                }
                Some(Request::Disconnect) => {
                    if matches!(state, State::Active { .. }) {
                        state = State::Idle;
                        if !sink.send(FleetEvent::Disconnected).await {
                            return;
                        }
                    }
                }
                Some(Request::Refresh) => {
                    if let State::Active { next, .. } = &mut state {
                        *next = tokio::time::Instant::now();
                    }
                }
                Some(Request::Register(r)) => {
                    let ev = match &mut state {
                        State::Idle => FleetEvent::Error {
                            error: FleetError::NotConnected,
                            retry_in: None,
                        },
                        State::Active { api, .. } => register(api, &r).await,
                    };
                    if !sink.send(ev).await {
                        return;
                    }
                }
            },
            () = sleep => {
                if let State::Active { api, next, failures } = &mut state {
                    let (events, stop_polling) = step(api, failures).await;
                    for ev in events {
                        if !sink.send(ev).await {
                            return;
                        }
                    }
                    if stop_polling {
                        state = State::Idle;
                    } else {
                        let wait = if *failures == 0 {
                            api.config.poll_interval
                        } else {
                            backoff(*failures)
                        };
                        *next = tokio::time::Instant::now() + wait;
                    }
                }
            }
        }
    }
}

/// Registers `r`, logging in first (or again, once, on an expired token).
async fn register(api: &mut Api, r: &Registration) -> FleetEvent {
    for _attempt in 0..2 {
        if api.token.is_none()
            && let Err(error) = api.login().await
        {
            return FleetEvent::Error {
                error,
                retry_in: None,
            };
        }
        match api.register(r).await {
            Ok((site_id, drones)) => return FleetEvent::Registered { site_id, drones },
            Err(PollError::Unauthorized) => api.token = None,
            Err(PollError::Other(error)) => {
                return FleetEvent::Error {
                    error,
                    retry_in: None,
                };
            }
        }
    }
    FleetEvent::Error {
        error: FleetError::Http {
            status: 401,
            path: "/api/v1/drones".into(),
            message: "a freshly issued token was refused".into(),
        },
        retry_in: None,
    }
}

/// One attempt: log in if needed, then list the fleet. Returns the events and whether to stop
/// (a refused login is not retried: the operator must fix the credentials).
async fn step(api: &mut Api, failures: &mut u32) -> (Vec<FleetEvent>, bool) {
    let mut events = Vec::new();
    for _attempt in 0..2 {
        if api.token.is_none() {
            match api.login().await {
                Ok(r) => events.push(FleetEvent::Connected {
                    server: api.config.base_url.clone(),
                    user_id: r.user_id,
                    org_id: r.org_id,
                    role: r.role,
                }),
                Err(error) => {
                    let give_up = matches!(error, FleetError::LoginRefused(_));
                    *failures += 1;
                    events.push(FleetEvent::Error {
                        error,
                        retry_in: (!give_up).then(|| backoff(*failures)),
                    });
                    return (events, give_up);
                }
            }
        }
        match api.snapshot().await {
            Ok(s) => {
                *failures = 0;
                events.push(FleetEvent::Snapshot(s));
                return (events, false);
            }
            // Expired token: log in again once, at once.
            Err(PollError::Unauthorized) => api.token = None,
            Err(PollError::Other(error)) => {
                *failures += 1;
                events.push(FleetEvent::Error {
                    error,
                    retry_in: Some(backoff(*failures)),
                });
                return (events, false);
            }
        }
    }
    *failures += 1;
    events.push(FleetEvent::Error {
        error: FleetError::Http {
            status: 401,
            path: "/api/v1/drones".into(),
            message: "a freshly issued token was refused".into(),
        },
        retry_in: Some(backoff(*failures)),
    });
    (events, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_normalised() {
        let c = FleetConfig::new("http://127.0.0.1:8080/api/v1/", "a@b.c", "pw").unwrap();
        assert_eq!(c.base_url, "http://127.0.0.1:8080");
        let c = FleetConfig::new(" http://fleet.example ", "a@b.c", "pw").unwrap();
        assert_eq!(c.base_url, "http://fleet.example");
        for (url, needle) in [
            ("https://fleet.example", "reverse proxy"),
            ("fleet.example:8080", "must start with http://"),
            ("http://", "no host"),
            ("http://host/other/path", "only scheme, host and port"),
            ("http://ho st", "invalid"),
        ] {
            let e = FleetConfig::new(url, "a@b.c", "pw").unwrap_err();
            assert!(
                e.to_string().contains(needle),
                "{url}: {e} should mention {needle}"
            );
            assert!(e.to_string().contains(url.trim()), "{e} names the URL");
        }
        assert_eq!(
            FleetConfig::new("http://h", " ", "pw").unwrap_err(),
            FleetError::MissingCredentials("the e-mail is empty")
        );
        assert_eq!(
            FleetConfig::new("http://h", "a@b.c", "").unwrap_err(),
            FleetError::MissingCredentials("the password is empty")
        );
        assert!(!format!("{c:?}").contains("pw"), "Debug hides the password");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let waits: Vec<u64> = (1..=7).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 15, 15, 15]);
    }

    #[test]
    fn server_messages_are_extracted() {
        assert_eq!(
            server_message(br#"{"error":{"code":"forbidden","message":"analysts never command"}}"#),
            "analysts never command"
        );
        assert_eq!(
            server_message(b"<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
    }
}
