//! Test harness: real PostgreSQL and Mosquitto, one schema per test (dropped afterwards), the
//! server started in-process, a small HTTP client, and organisations with one user per role.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aviary_core::auth::Role;
use aviary_core::{Clock, DroneId, ManualClock, SiteId, SystemClock};
use aviary_server::auth::PasswordCost;
use aviary_server::{RunningServer, ServerConfig};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// Cheap Argon2id for tests (the production cost is tested in `auth`'s unit tests).
pub const TEST_COST: PasswordCost = PasswordCost { m_kib: 1024, t: 1 };
/// The audit chain's key in every test server (and the CLI runs of the tests).
pub const AUDIT_SECRET: &str = "test audit secret that is long enough for HMAC";
/// Password of every test user.
pub const PASSWORD: &str = "correct horse battery staple";

/// Service addresses, or `None` (test skipped) when absent and not required.
pub fn services() -> Option<(String, String, u16)> {
    let pg =
        std::env::var("AVIARY_TEST_PG").unwrap_or_else(|_| "host=127.0.0.1 user=postgres".into());
    let mqtt = std::env::var("AVIARY_TEST_MQTT").unwrap_or_else(|_| "127.0.0.1:1883".into());
    let required = std::env::var("AVIARY_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    let pg_cfg: Result<tokio_postgres::Config, _> = pg.parse();
    let pg_up = pg_cfg.ok().is_some_and(|c| {
        let host = match c.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".into(),
        };
        let port = c.get_ports().first().copied().unwrap_or(5432);
        format!("{host}:{port}")
            .parse::<SocketAddr>()
            .ok()
            .is_some_and(|a| {
                std::net::TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok()
            })
    });
    let mqtt_up = mqtt
        .parse::<SocketAddr>()
        .ok()
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok());
    if !(pg_up && mqtt_up) {
        assert!(
            !required,
            "AVIARY_REQUIRE_SERVICES=1 but PostgreSQL ({pg}: {pg_up}) or MQTT ({mqtt}: {mqtt_up}) is absent"
        );
        eprintln!(
            "skipped: needs PostgreSQL ({pg}) and MQTT ({mqtt}); set AVIARY_TEST_PG / AVIARY_TEST_MQTT"
        );
        return None;
    }
    let (h, p) = mqtt.rsplit_once(':').expect("host:port");
    Some((pg, h.to_owned(), p.parse().expect("port")))
}

/// A fresh schema name for one test.
pub fn schema() -> String {
    format!("aviary_test_{}", uuid::Uuid::new_v4().simple())
}

/// Server settings for a test.
pub fn config(
    pg: &str,
    mqtt_host: &str,
    mqtt_port: u16,
    schema: &str,
    instance: &str,
) -> ServerConfig {
    let mut c = ServerConfig::local_defaults();
    c.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.database_url = format!("{pg} dbname=postgres");
    schema.clone_into(&mut c.db_schema);
    c.db_pool_size = 8;
    mqtt_host.clone_into(&mut c.mqtt_host);
    c.mqtt_port = mqtt_port;
    instance.clone_into(&mut c.instance_id);
    // One share group per test: parallel tests must not split each other's telemetry.
    c.ingest_share_group = format!("g{}", &schema[schema.len() - 12..]);
    c.jwt_secret = b"test secret that is long enough for HS256 keys".to_vec();
    c.audit_secret = AUDIT_SECRET.as_bytes().to_vec();
    c.api_per_second = 10_000;
    c.ack_timeout = Duration::from_secs(3);
    c.allowed_origins = vec!["http://aviary.test".into()];
    c.max_body_bytes = 64 * 1024;
    c
}

/// A server started on a fresh schema that is dropped when this value goes (after the server,
/// by field order), and the broker it uses.
pub struct TestServer {
    /// The server.
    pub server: RunningServer,
    /// Broker host.
    pub mqtt_host: String,
    /// Broker port.
    pub mqtt_port: u16,
    _guard: SchemaGuard,
}

/// Starts a server for one test (instance id `{prefix}-{random}`), or `None` (skipped) when the
/// services are absent and not required.
pub async fn start(prefix: &str) -> Option<TestServer> {
    start_with(prefix, |_| {}).await
}

/// [`start`] with settings changed by `tweak` first.
pub async fn start_with(prefix: &str, tweak: impl FnOnce(&mut ServerConfig)) -> Option<TestServer> {
    start_clocked(prefix, Arc::new(SystemClock), tweak).await
}

/// A manual clock standing at the wall time of the test's start, for a server whose time the
/// test moves (with [`start_clocked`]). Telemetry from simulated drones carries wall-clock
/// times, so the server's clock starts near them (the ingest refuses samples a day away).
pub fn manual_clock() -> ManualClock {
    ManualClock::new(SystemClock.now())
}

/// [`start_with`] on `clock` instead of the system clock.
pub async fn start_clocked(
    prefix: &str,
    clock: Arc<dyn Clock>,
    tweak: impl FnOnce(&mut ServerConfig),
) -> Option<TestServer> {
    let (pg, mqtt_host, mqtt_port) = services()?;
    let schema = schema();
    let guard = SchemaGuard {
        pg: pg.clone(),
        schema: schema.clone(),
    };
    let mut cfg = config(
        &pg,
        &mqtt_host,
        mqtt_port,
        &schema,
        &format!("{prefix}-{}", uuid::Uuid::new_v4().simple()),
    );
    tweak(&mut cfg);
    let server = aviary_server::start_with_clock(cfg, TEST_COST, clock)
        .await
        .expect("start");
    Some(TestServer {
        server,
        mqtt_host,
        mqtt_port,
        _guard: guard,
    })
}

impl TestServer {
    /// Another instance on the same database and broker (its own instance id and port), as
    /// a second server of a cluster.
    pub async fn second_instance(&self, name: &str) -> RunningServer {
        let mut cfg = self.server.state.config.clone();
        cfg.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        cfg.instance_id = format!("{name}-{}", uuid::Uuid::new_v4().simple());
        aviary_server::start_with_cost(cfg, TEST_COST)
            .await
            .expect("second instance")
    }

    /// Stops the server gracefully and starts it again with the same settings (same
    /// database, instance id and secrets; a new port): nothing it held in memory survives.
    pub async fn restart(self) -> Self {
        let Self {
            server,
            mqtt_host,
            mqtt_port,
            _guard: guard,
        } = self;
        let mut cfg = server.state.config.clone();
        server.shutdown().await;
        cfg.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let server = aviary_server::start_with_cost(cfg, TEST_COST)
            .await
            .expect("restart");
        Self {
            server,
            mqtt_host,
            mqtt_port,
            _guard: guard,
        }
    }
}

/// Drops the test schema when the test ends, pass or fail.
pub struct SchemaGuard {
    /// tokio-postgres connection string.
    pub pg: String,
    /// Schema to drop.
    pub schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let (pg, schema) = (format!("{} dbname=postgres", self.pg), self.schema.clone());
        let t = std::thread::Builder::new()
            .name("test-schema-drop".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok((client, conn)) =
                        tokio_postgres::connect(&pg, tokio_postgres::NoTls).await
                    {
                        tokio::spawn(conn);
                        let _ = client
                            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                            .await;
                    }
                });
            });
        if let Ok(t) = t {
            let _ = t.join();
        }
    }
}

/// A tiny JSON HTTP client.
#[derive(Clone)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Http {
    /// Client for a server.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: format!("http://{addr}"),
        }
    }

    /// Client for a server whose connections come from `local` (any 127.x.y.z address works
    /// on the loopback interface): tests of per-address limits.
    pub fn from_address(addr: SocketAddr, local: std::net::IpAddr) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_local_address(Some(local));
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base: format!("http://{addr}"),
        }
    }

    /// Sends raw bytes; returns status and body text.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, String) {
        let mut b = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        let resp = self
            .client
            .request(b.body(Full::new(Bytes::from(body))).expect("request"))
            .await
            .expect("server answers");
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Sends JSON (or nothing); returns status and parsed JSON (`Null` for an empty body).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let (ct, bytes) = match body {
            Some(v) => (
                Some("application/json"),
                serde_json::to_vec(v).expect("json"),
            ),
            None => (None, Vec::new()),
        };
        let (status, text) = self.raw(method, path, token, ct, bytes).await;
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// One organisation with a token per role, a site and a drone.
pub struct Org {
    /// Tokens of its admin, operator and analyst.
    pub tokens: Vec<(Role, String)>,
    /// E-mails of its admin, operator and analyst (password [`PASSWORD`]).
    pub emails: Vec<(Role, String)>,
    /// A site.
    pub site: SiteId,
    /// A registered drone.
    pub drone: DroneId,
}

impl Org {
    /// Token of `role`.
    pub fn token(&self, role: Role) -> &str {
        &self
            .tokens
            .iter()
            .find(|(r, _)| *r == role)
            .expect("role")
            .1
    }

    /// E-mail of `role`.
    pub fn email(&self, role: Role) -> &str {
        &self
            .emails
            .iter()
            .find(|(r, _)| *r == role)
            .expect("role")
            .1
    }

    /// Logs every role in again (after something revoked their tokens).
    pub async fn relogin(&mut self, http: &Http) {
        for (role, email) in &self.emails {
            let token = login(http, email).await;
            for (r, t) in &mut self.tokens {
                if r == role {
                    t.clone_from(&token);
                }
            }
        }
    }
}

/// Bootstraps an organisation: admin, operator, analyst, a site and a drone with `drone` id.
pub async fn org(server: &RunningServer, http: &Http, name: &str, drone: DroneId) -> Org {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let admin_email = format!("admin-{tag}@{name}.test");
    let (_, _) = aviary_server::bootstrap_org(&server.state, name, &admin_email, PASSWORD)
        .await
        .expect("bootstrap");
    let admin = login(http, &admin_email).await;
    let mut tokens = vec![(Role::Admin, admin.clone())];
    let mut emails = vec![(Role::Admin, admin_email.clone())];
    for role in [Role::Operator, Role::Analyst] {
        let email = format!("{}-{tag}@{name}.test", role.as_str());
        let (st, body) = http
            .call(
                "POST",
                "/api/v1/users",
                Some(&admin),
                Some(&json!({ "email": email, "password": PASSWORD, "role": role })),
            )
            .await;
        assert_eq!(st, 201, "{body}");
        tokens.push((role, login(http, &email).await));
        emails.push((role, email));
    }
    let (st, site) = http
        .call("POST", "/api/v1/sites", Some(&admin), Some(&json!({ "name": format!("{name} field"), "location": { "lat": 47.397, "lon": 8.545 }, "timezone": "Europe/Zurich" })))
        .await;
    assert_eq!(st, 201, "{site}");
    let site: SiteId = serde_json::from_value(site["site_id"].clone()).expect("site id");
    let (st, d) = http
        .call(
            "POST",
            "/api/v1/drones",
            Some(&admin),
            Some(&json!({ "drone_id": drone, "site_id": site, "serial_number": format!("SN-{tag}"), "model": "SimCopter", "home": { "lat": 47.397, "lon": 8.545 } })),
        )
        .await;
    assert_eq!(st, 201, "{d}");
    Org {
        tokens,
        emails,
        site,
        drone,
    }
}

/// Logs in; returns the token.
pub async fn login(http: &Http, email: &str) -> String {
    let (st, body) = http
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&json!({ "email": email, "password": PASSWORD })),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    body["token"].as_str().expect("token").to_owned()
}

/// A small survey polygon near the drone's home (GeoJSON `[lon, lat]`).
pub fn mission_body(site: SiteId, drone: Option<DroneId>) -> Value {
    json!({
        "site_id": site,
        "drone_id": drone,
        "name": "Roof inspection",
        "survey_area": { "type": "Polygon", "coordinates": [[[8.5450, 47.3970], [8.5462, 47.3970], [8.5462, 47.3978], [8.5450, 47.3978], [8.5450, 47.3970]]] },
        "flight_pattern": "crosshatch",
        "parameters": { "altitude": 50, "speed": 5, "overlap": 70, "gimbal_angle": -90 },
        "scheduled_start": "2026-12-27T14:00:00Z"
    })
}
