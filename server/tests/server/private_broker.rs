//! A private Mosquitto for one test (its own port, configuration and password file; killed
//! by its own handle when the test ends), servers started against it, and a raw MQTT client
//! that publishes as a drone would. Needs the `mosquitto` and `mosquitto_passwd` binaries
//! (`openssl` for TLS): skipped without them unless `AVIARY_REQUIRE_SERVICES=1`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aviary_core::{DroneId, MissionId};
use aviary_server::{RunningServer, ServerConfig};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::{Value, json};

use crate::common::{self, SchemaGuard};

/// A running private broker.
pub struct Broker {
    child: Child,
    /// Its loopback port.
    pub port: u16,
    /// Its directory (configuration, password file, certificates).
    pub dir: PathBuf,
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Ends only the broker this test started, by its own handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the binaries exist; a failure when absent under `AVIARY_REQUIRE_SERVICES=1`.
pub fn have(tools: &[&str]) -> bool {
    let required = std::env::var("AVIARY_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| {
            Command::new(t)
                .arg(if *t == "openssl" { "version" } else { "-h" })
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_err()
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        !required,
        "AVIARY_REQUIRE_SERVICES=1 but {missing:?} not installed"
    );
    eprintln!("skipped: {missing:?} not installed (apt install mosquitto openssl)");
    false
}

/// A file of the shipped broker configuration (`deploy/mosquitto/`).
pub fn shipped(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/mosquitto")
        .join(file)
}

/// The value of `key` in the shipped `mosquitto.conf`.
pub fn shipped_setting(key: &str) -> Option<String> {
    let text = std::fs::read_to_string(shipped("mosquitto.conf")).expect("shipped conf");
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next() == Some(key)).then(|| w.next().unwrap_or_default().to_owned())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A fresh directory for one broker.
pub fn broker_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "aviary-server-broker-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("broker dir");
    dir
}

/// A password file with `users`, in `dir`.
pub fn password_file(dir: &Path, users: &[(&str, &str)]) -> PathBuf {
    let passwd = dir.join("passwd");
    for (i, (user, pass)) in users.iter().enumerate() {
        let mut cmd = Command::new("mosquitto_passwd");
        if i == 0 {
            cmd.arg("-c");
        }
        let st = cmd
            .arg("-b")
            .arg(&passwd)
            .arg(user)
            .arg(pass)
            .stdout(Stdio::null())
            .status()
            .expect("mosquitto_passwd");
        assert!(st.success());
    }
    passwd
}

/// Starts `mosquitto` in `dir` with `settings` after a loopback listener on a free port
/// (`tls` adds the listener's certificate lines first), and waits until it accepts.
pub fn start_in(dir: PathBuf, settings: &str) -> Broker {
    let port = free_port();
    let conf = format!("listener {port} 127.0.0.1\npersistence false\n{settings}\n");
    let path = dir.join("mosquitto.conf");
    std::fs::write(&path, conf).expect("conf");
    let child = spawn(&path, port);
    Broker { child, port, dir }
}

fn spawn(conf: &Path, port: u16) -> Child {
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto starts");
    let end = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < end, "private broker did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Sends SIGTERM to a process this test started (by its id) and waits for it to exit.
pub fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let st = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill -TERM");
    assert!(st.success());
    child.wait().expect("exit status")
}

impl Broker {
    /// Stops the broker (SIGKILL, or SIGTERM when `graceful`: Mosquitto then saves its
    /// persistence file, if configured) and starts it again on the same port and configuration.
    pub fn restart(&mut self, graceful: bool) {
        if graceful {
            terminate(&mut self.child);
        } else {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.child = spawn(&self.dir.join("mosquitto.conf"), self.port);
    }
}

/// An anonymous broker with `settings`, or `None` (skipped).
pub fn start(settings: &str) -> Option<Broker> {
    have(&["mosquitto"])
        .then(|| start_in(broker_dir(), &format!("allow_anonymous true\n{settings}")))
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`ca.crt`) and a broker certificate for 127.0.0.1 (`server.crt`, `server.key`) in
/// `dir`, made as deploy/mosquitto/README.md shows (EC keys: fast). Returns the CA file.
pub fn make_certs(dir: &Path) -> PathBuf {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-days",
        "2",
        "-subj",
        "/CN=aviary-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ],
    );
    // Mosquitto reads its key after dropping root for its own user.
    std::fs::set_permissions(
        dir.join("server.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .expect("key readable");
    dir.join("ca.crt")
}

/// A server on a fresh schema whose broker settings `broker` sets (e.g. `set_broker_url`), or
/// `None` (skipped) without PostgreSQL.
pub async fn server_with(
    prefix: &str,
    broker: impl FnOnce(&mut ServerConfig),
) -> Option<(RunningServer, SchemaGuard)> {
    let (pg, host, port) = common::services()?;
    let schema = common::schema();
    let guard = SchemaGuard {
        pg: pg.clone(),
        schema: schema.clone(),
    };
    let mut c = common::config(
        &pg,
        &host,
        port,
        &schema,
        &format!("{prefix}-{}", uuid::Uuid::new_v4().simple()),
    );
    broker(&mut c);
    let server = aviary_server::start_with_cost(c, common::TEST_COST)
        .await
        .expect("start");
    Some((server, guard))
}

/// A raw MQTT client on a broker (`user` and password if given), its event loop driven
/// in the background; packets up to 1 MiB so it can send what the broker must refuse.
pub fn client(
    port: u16,
    id: &str,
    user: Option<(&str, &str)>,
) -> (AsyncClient, tokio::task::JoinHandle<()>) {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(10));
    o.set_max_packet_size(1 << 20, 1 << 20);
    if let Some((u, p)) = user {
        o.set_credentials(u, p);
    }
    let (c, mut ev) = AsyncClient::new(o, 1024);
    let task = tokio::spawn(async move {
        loop {
            if ev.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    (c, task)
}

/// A telemetry message of `drone` at `at`.
pub fn sample(
    drone: DroneId,
    mission: Option<MissionId>,
    at: chrono::DateTime<chrono::Utc>,
    status: &str,
) -> Value {
    json!({
        "type": "telemetry_update",
        "mission_id": mission,
        "drone_id": drone,
        "timestamp": at,
        "position": { "lat": 47.397, "lon": 8.545, "altitude": 50.0 },
        "velocity": { "speed": 5.0, "heading": 90.0 },
        "battery": 80.0,
        "status": status,
        "progress": 10.0
    })
}

/// Publishes `body` on `drones/{drone}/telemetry` at QoS 1.
pub async fn publish(c: &AsyncClient, drone: DroneId, body: Vec<u8>) {
    c.publish(
        format!("drones/{drone}/telemetry"),
        QoS::AtLeastOnce,
        false,
        body,
    )
    .await
    .expect("publish queued");
}

/// Polls `f` every 50 ms until it holds; panics after `timeout`.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// One number from the server's database.
pub async fn count(server: &RunningServer, sql: &str, drone: DroneId) -> i64 {
    server
        .state
        .pool
        .get()
        .await
        .expect("pool")
        .query_one(sql, &[&drone.0])
        .await
        .expect("count")
        .get(0)
}

/// Waits until the server's ingest and live clients are connected and subscribed (messages
/// published before would find no subscription).
pub async fn ready(server: &RunningServer) {
    wait_for("the ingest subscribed", Duration::from_secs(10), || async {
        let h = server.state.metrics.ingest_health();
        h.connected && h.live_connected
    })
    .await;
}

/// What a [`listener`] received: (topic, payload).
pub type Heard = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A client that subscribes to `filters` (at every connection) and records what it receives;
/// returns once the broker answered the subscriptions.
pub async fn listener(
    port: u16,
    id: &str,
    user: (&str, &str),
    filters: &[String],
) -> (AsyncClient, Heard, tokio::task::JoinHandle<()>) {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(10));
    o.set_credentials(user.0, user.1);
    let (c, mut ev) = AsyncClient::new(o, 1024);
    let heard: Heard = std::sync::Arc::default();
    let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel::<()>();
    let (c2, h2, filters) = (c.clone(), std::sync::Arc::clone(&heard), filters.to_vec());
    let task = tokio::spawn(async move {
        let mut subscribed_tx = Some(subscribed_tx);
        let mut acks = 0;
        loop {
            match ev.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                    for f in &filters {
                        let _ = c2.subscribe(f.as_str(), QoS::AtLeastOnce).await;
                    }
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                    acks += 1;
                    if acks == filters.len()
                        && let Some(tx) = subscribed_tx.take()
                    {
                        let _ = tx.send(());
                    }
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => h2
                    .lock()
                    .expect("heard")
                    .push((p.topic.clone(), p.payload.to_vec())),
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), subscribed)
        .await
        .expect("subscribed in time")
        .expect("subscribed");
    (c, heard, task)
}

/// Whether `heard` holds a message on `topic`.
pub fn heard_on(heard: &Heard, topic: &str) -> bool {
    heard.lock().expect("heard").iter().any(|(t, _)| t == topic)
}
