//! The shipped broker ACL (`deploy/mosquitto/aviary.acl`) on a private Mosquitto: a drone
//! authenticated as its UUID can neither publish as another drone nor read another drone's
//! commands, and a wrong password is refused. Needs the `mosquitto` and `mosquitto_passwd`
//! binaries (skipped without them unless `AVIARY_REQUIRE_SERVICES=1`).
//!
//! The TLS test runs the shipped `deploy/mosquitto/mosquitto.conf` itself (paths and port
//! rewritten, nothing else): a CA and a broker certificate made with `openssl` at test time,
//! the per-drone password file and the ACL as `aviary-server broker-acl` writes it (the shipped
//! part plus one desktop user for the drones' organisation), and `aviary-links`' own MQTT
//! clients over `mqtts://` — the desktop's link logged in as that organisation's user, and
//! drones connecting with `BrokerAddr::options`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::Arc;
use std::sync::mpsc::Receiver;

use aviary_core::DroneId;
use aviary_core::wire::{CommandAction, DroneCommand, TelemetryUpdate, WirePosition, WireVelocity};
use aviary_links::mqtt::{BrokerAddr, MqttLink, MqttLinkConfig, MqttLinkEvent};
use rumqttc::{AsyncClient, ConnectReturnCode, Event, EventLoop, MqttOptions, Packet, QoS};

struct Broker {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Ends only the broker this test started, by its own handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the binaries exist; without them the test is skipped, unless
/// `AVIARY_REQUIRE_SERVICES=1` (CI), which makes their absence a failure.
fn have(tools: &[&str]) -> bool {
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

/// A password file with `users`, in `dir`.
fn password_file(dir: &Path, users: &[(&str, &str)]) -> PathBuf {
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

fn shipped(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/mosquitto")
        .join(file)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Starts `mosquitto -c conf` and waits until it accepts connections on `port`.
fn spawn_broker(dir: tempfile::TempDir, conf: &str, port: u16) -> Broker {
    let path = dir.path().join("mosquitto.conf");
    std::fs::write(&path, conf).expect("conf");
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto starts");
    let broker = Broker {
        child,
        port,
        _dir: dir,
    };
    let end = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < end, "private broker did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    broker
}

fn start_broker(users: &[(&str, &str)]) -> Option<Broker> {
    if !have(&["mosquitto", "mosquitto_passwd"]) {
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let passwd = password_file(dir.path(), users);
    let port = free_port();
    let conf = format!(
        "listener {port} 127.0.0.1\nallow_anonymous false\npersistence false\npassword_file {}\nacl_file {}\n",
        passwd.display(),
        shipped("aviary.acl").display()
    );
    Some(spawn_broker(dir, &conf, port))
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

/// A CA (`{name}.crt`, `{name}.key`) made as deploy/mosquitto/README.md shows (EC keys: fast).
fn make_ca(dir: &Path, name: &str) -> PathBuf {
    let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &key,
            "-out",
            &crt,
        ],
    );
    dir.join(crt)
}

/// The shipped `mosquitto.conf` with its paths pointed at this test's files and its TLS
/// listener moved to `port` on loopback; everything else (TLS version, anonymous access off,
/// password file, ACL, limits) as shipped.
fn shipped_tls_conf(port: u16, passwd: &Path, acl: &Path, certs: &Path) -> String {
    let text = std::fs::read_to_string(shipped("mosquitto.conf")).expect("shipped conf");
    let mut out = String::new();
    let mut tls_lines = 0;
    for line in text.lines() {
        let key = line.split_whitespace().next().unwrap_or("");
        let replaced = match key {
            "password_file" => format!("password_file {}", passwd.display()),
            "acl_file" => format!("acl_file {}", acl.display()),
            "persistence" => "persistence false".to_owned(),
            "persistence_location" => String::new(),
            // The plain loopback listener is not under test.
            "listener" if line.trim() == "listener 1883 127.0.0.1" => String::new(),
            "listener" => {
                tls_lines += 1;
                format!("listener {port} 127.0.0.1")
            }
            "cafile" | "certfile" | "keyfile" => {
                tls_lines += 1;
                let file = Path::new(line.split_whitespace().nth(1).unwrap_or(""))
                    .file_name()
                    .expect("file name")
                    .to_owned();
                format!("{key} {}", certs.join(file).display())
            }
            _ => line.to_owned(),
        };
        out.push_str(&replaced);
        out.push('\n');
    }
    assert_eq!(
        tls_lines, 4,
        "the shipped conf has one TLS listener with CA, cert and key"
    );
    assert!(out.contains("allow_anonymous false") && out.contains("tls_version"));
    out
}

/// The broker user name of an organisation's desktop apps, as `aviary-server`'s
/// `broker::desktop_user` names it (links cannot depend on the server crate).
fn desktop_user(org: uuid::Uuid) -> String {
    format!("aviary-org-{org}")
}

/// The ACL `aviary-server broker-acl` writes for one organisation (desktop user
/// `desktop_user`) owning `drones`: the shipped static part, then that organisation's desktop
/// user, which may read its drones' telemetry, acks and status and command them (the same
/// lines as `broker::desktop_acl`). There is no shared desktop user any more, so the
/// desktop's link logs in as its organisation's user.
fn org_acl(desktop_user: &str, drones: &[&str]) -> String {
    use std::fmt::Write as _;
    let shipped_acl = std::fs::read_to_string(shipped("aviary.acl")).expect("shipped acl");
    assert!(
        !shipped_acl.contains("aviary-app"),
        "the shipped ACL has no shared desktop user"
    );
    let mut out = format!("{shipped_acl}\nuser {desktop_user}\n");
    for d in drones {
        let _ = writeln!(
            out,
            "topic read drones/{d}/telemetry\ntopic read drones/{d}/ack\ntopic read drones/{d}/status\ntopic write drones/{d}/commands"
        );
    }
    out
}

/// A broker on the shipped TLS configuration with the ACL text `acl`, its certificates made
/// at test time; returns it with the CA file that signed its certificate and a second,
/// unrelated CA.
fn start_tls_broker(users: &[(&str, &str)], acl: &str) -> Option<(Broker, PathBuf, PathBuf)> {
    if !have(&["mosquitto", "mosquitto_passwd", "openssl"]) {
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let ca = make_ca(d, "ca");
    let stranger = make_ca(d, "stranger-ca");
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        d.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("ext");
    openssl(
        d,
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
    let passwd = password_file(d, users);
    // Started as root, Mosquitto drops to its own user before it reads the key: let it read
    // these throw-away test files.
    for (path, mode) in [(d.to_path_buf(), 0o755), (d.join("server.key"), 0o644)] {
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .expect("chmod");
    }
    let acl_file = d.join("aviary.acl");
    std::fs::write(&acl_file, acl).expect("acl file");
    let port = free_port();
    let conf = shipped_tls_conf(port, &passwd, &acl_file, d);
    Some((spawn_broker(dir, &conf, port), ca, stranger))
}

async fn connect(
    port: u16,
    user: &str,
    pass: &str,
) -> Result<(AsyncClient, EventLoop), ConnectReturnCode> {
    let mut o = MqttOptions::new(
        format!("c-{}", uuid::Uuid::new_v4().simple()),
        "127.0.0.1",
        port,
    );
    o.set_credentials(user, pass);
    o.set_keep_alive(Duration::from_secs(10));
    connect_with(o).await.map_err(|e| match e {
        rumqttc::ConnectionError::ConnectionRefused(code) => code,
        e => panic!("unexpected connection error: {e}"),
    })
}

/// Connects with `o`; the connection error when the broker (or TLS) refuses.
async fn connect_with(
    o: MqttOptions,
) -> Result<(AsyncClient, EventLoop), rumqttc::ConnectionError> {
    let (c, mut ev) = AsyncClient::new(o, 16);
    loop {
        match ev.poll().await? {
            Event::Incoming(Packet::ConnAck(a)) if a.code == ConnectReturnCode::Success => {
                return Ok((c, ev));
            }
            Event::Incoming(Packet::ConnAck(a)) => {
                return Err(rumqttc::ConnectionError::ConnectionRefused(a.code));
            }
            _ => {}
        }
    }
}

/// Polls until a publish arrives; returns its topic and payload.
async fn next_publish(ev: &mut EventLoop) -> (String, Vec<u8>) {
    loop {
        if let Event::Incoming(Packet::Publish(p)) = ev.poll().await.expect("poll") {
            return (p.topic.clone(), p.payload.to_vec());
        }
    }
}

/// Drives `ev` until it is quiet for 2 s; returns the topics of the publishes it received.
fn topics_until_quiet(mut ev: EventLoop) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut got = Vec::new();
        while let Ok(Ok(event)) = tokio::time::timeout(Duration::from_secs(2), ev.poll()).await {
            if let Event::Incoming(Packet::Publish(p)) = event {
                got.push(p.topic.clone());
            }
        }
        got
    })
}

async fn subscribed(c: &AsyncClient, ev: &mut EventLoop, filter: &str) {
    c.subscribe(filter, QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    loop {
        if let Event::Incoming(Packet::SubAck(_)) = ev.poll().await.expect("poll") {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_confines_each_drone_to_its_own_topics() {
    let (a, b) = (
        DroneId::new_random().to_string(),
        DroneId::new_random().to_string(),
    );
    let Some(broker) = start_broker(&[
        ("aviary-server", "server-pass"),
        (&a, "pass-a"),
        (&b, "pass-b"),
    ]) else {
        return;
    };
    let port = broker.port;
    assert_eq!(
        connect(port, &a, "wrong").await.err(),
        Some(ConnectReturnCode::NotAuthorized),
        "wrong password refused"
    );

    let (server, mut server_ev) = connect(port, "aviary-server", "server-pass")
        .await
        .expect("server");
    let (drone_a, mut a_ev) = connect(port, &a, "pass-a").await.expect("drone a");
    let (drone_b, mut b_ev) = connect(port, &b, "pass-b").await.expect("drone b");
    subscribed(&server, &mut server_ev, "drones/+/telemetry").await;
    subscribed(&drone_b, &mut b_ev, &format!("drones/{b}/commands")).await;
    // A tries to listen to B's commands (and to everything); the broker grants nothing.
    subscribed(&drone_a, &mut a_ev, &format!("drones/{b}/commands")).await;
    subscribed(&drone_a, &mut a_ev, "drones/#").await;

    // A forges telemetry as B, then sends its own: the server sees only A's own.
    drone_a
        .publish(
            format!("drones/{b}/telemetry"),
            QoS::AtLeastOnce,
            false,
            "forged",
        )
        .await
        .expect("publish");
    drone_a
        .publish(
            format!("drones/{a}/telemetry"),
            QoS::AtLeastOnce,
            false,
            "genuine",
        )
        .await
        .expect("publish");
    let pump_a = topics_until_quiet(a_ev);
    let (topic, payload) =
        tokio::time::timeout(Duration::from_secs(5), next_publish(&mut server_ev))
            .await
            .expect("server hears a");
    assert_eq!(
        (topic.as_str(), payload.as_slice()),
        (
            format!("drones/{a}/telemetry").as_str(),
            b"genuine".as_slice()
        ),
        "the forged message was dropped"
    );

    // The server commands B: B gets it, A (subscribed to B's commands) does not.
    server
        .publish(
            format!("drones/{b}/commands"),
            QoS::AtLeastOnce,
            false,
            "pause",
        )
        .await
        .expect("command");
    let pump_server = tokio::spawn(async move { while server_ev.poll().await.is_ok() {} });
    let (topic, _) = tokio::time::timeout(Duration::from_secs(5), next_publish(&mut b_ev))
        .await
        .expect("b gets its command");
    assert_eq!(topic, format!("drones/{b}/commands"));
    let a_got = pump_a.await.expect("pump");
    assert!(
        !a_got.iter().any(|t| t.contains(&b)),
        "drone A read B's topics: {a_got:?}"
    );
    pump_server.abort();
    drop(broker);
}

// --- TLS: the shipped mosquitto.conf's listener ---------------------------------------------

fn tls_url(user: &str, pass: &str, port: u16, ca: &Path) -> String {
    format!("mqtts://{user}:{pass}@localhost:{port}?ca={}", ca.display())
}

fn telemetry(drone: &str) -> Vec<u8> {
    let id: DroneId = drone.parse().expect("uuid");
    serde_json::to_vec(&TelemetryUpdate {
        kind: "telemetry_update".into(),
        mission_id: None,
        drone_id: id,
        timestamp: chrono::Utc::now(),
        position: WirePosition {
            lat: 47.397,
            lon: 8.545,
            altitude: 20.0,
        },
        velocity: WireVelocity {
            speed: 0.0,
            heading: 0.0,
        },
        battery: 90.0,
        status: "idle".into(),
        progress: 0.0,
    })
    .expect("json")
}

/// Next link event within `timeout` (the app drains the same bounded channel each frame).
async fn next_link_event(rx: &Receiver<MqttLinkEvent>, timeout: Duration) -> Option<MqttLinkEvent> {
    let end = Instant::now() + timeout;
    loop {
        if let Ok(ev) = rx.try_recv() {
            return Some(ev);
        }
        if Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_listener_of_the_shipped_conf_confines_drones_and_refuses_strangers() {
    let (a, b) = (
        DroneId::new_random().to_string(),
        DroneId::new_random().to_string(),
    );
    // The desktop logs in as its organisation's broker user, which owns drones A and B.
    let desk = desktop_user(uuid::Uuid::new_v4());
    let Some((broker, ca, stranger_ca)) = start_tls_broker(
        &[(&desk, "app-pass"), (&a, "pass-a"), (&b, "pass-b")],
        &org_acl(&desk, &[&a, &b]),
    ) else {
        return;
    };
    let port = broker.port;
    let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(|| {});

    // A client that does not trust the broker's CA is refused by TLS, before any MQTT.
    let (stranger, stranger_rx) = MqttLink::spawn(
        MqttLinkConfig::new(&tls_url(&desk, "app-pass", port, &stranger_ca)).expect("config"),
        Arc::clone(&wake),
    )
    .expect("link");
    match next_link_event(&stranger_rx, Duration::from_secs(10)).await {
        Some(MqttLinkEvent::ConnectionLost { error }) => assert!(
            error.to_lowercase().contains("certificate") || error.contains("UnknownIssuer"),
            "refused for its certificate: {error}"
        ),
        other => panic!("a client not trusting the CA must be refused, got {other:?}"),
    }
    stranger.shutdown();
    // Nor does plain MQTT reach the TLS listener.
    let mut plain = MqttOptions::new("plain", "127.0.0.1", port);
    plain.set_credentials(a.as_str(), "pass-a");
    assert!(
        tokio::time::timeout(Duration::from_secs(5), connect_with(plain))
            .await
            .map_or(true, |r| r.is_err()),
        "plain MQTT on the TLS port is not accepted"
    );
    // A wrong password over TLS is refused by the password file.
    let wrong = BrokerAddr::parse(&tls_url(&a, "wrong", port, &ca)).expect("url");
    assert!(matches!(
        connect_with(wrong.options("wrong", Duration::from_secs(10))).await,
        Err(rumqttc::ConnectionError::ConnectionRefused(
            ConnectReturnCode::NotAuthorized
        ))
    ));

    // The desktop's link (its organisation's user) over TLS, trusting the CA.
    let (link, events) = MqttLink::spawn(
        MqttLinkConfig::new(&tls_url(&desk, "app-pass", port, &ca)).expect("config"),
        Arc::clone(&wake),
    )
    .expect("link");
    assert_eq!(
        next_link_event(&events, Duration::from_secs(10)).await,
        Some(MqttLinkEvent::Connected),
        "the link connects over TLS"
    );
    let drone = |user: &str, pass: &str| {
        let addr = BrokerAddr::parse(&tls_url(user, pass, port, &ca)).expect("url");
        assert!(addr.tls.is_some());
        connect_with(addr.options(&format!("drone-{user}"), Duration::from_secs(10)))
    };
    let (drone_a, mut a_ev) = drone(&a, "pass-a").await.expect("drone a over TLS");
    let (drone_b, mut b_ev) = drone(&b, "pass-b").await.expect("drone b over TLS");
    subscribed(&drone_b, &mut b_ev, &format!("drones/{b}/commands")).await;
    // A tries to listen to B's commands (and to everything); the broker grants nothing.
    subscribed(&drone_a, &mut a_ev, &format!("drones/{b}/commands")).await;
    subscribed(&drone_a, &mut a_ev, "drones/#").await;

    // A forges telemetry as B, then publishes its own: the link hears only A's own.
    for (topic, body) in [
        (format!("drones/{b}/telemetry"), telemetry(&b)),
        (format!("drones/{a}/telemetry"), telemetry(&a)),
    ] {
        drone_a
            .publish(topic, QoS::AtLeastOnce, false, body)
            .await
            .expect("publish");
    }
    let pump_a = topics_until_quiet(a_ev);
    let mut heard = Vec::new();
    while let Some(ev) = next_link_event(&events, Duration::from_secs(5)).await {
        if let MqttLinkEvent::Telemetry(t) = ev {
            heard.push(t.drone_id.to_string());
            if heard.contains(&a) {
                break;
            }
        }
    }
    assert_eq!(
        heard,
        vec![a.clone()],
        "A's own telemetry only; the forgery was dropped"
    );

    // The link commands B: B gets it over TLS, A (subscribed to B's commands) does not.
    let b_id: DroneId = b.parse().expect("uuid");
    link.send_command(b_id, CommandAction::Pause, None)
        .expect("command");
    let (topic, payload) = tokio::time::timeout(Duration::from_secs(5), next_publish(&mut b_ev))
        .await
        .expect("b gets its command");
    assert_eq!(topic, format!("drones/{b}/commands"));
    let cmd: DroneCommand = serde_json::from_slice(&payload).expect("command JSON");
    assert_eq!(cmd.action, CommandAction::Pause);
    let a_got = pump_a.await.expect("pump");
    assert!(
        !a_got.iter().any(|t| t.contains(&b)),
        "drone A read B's topics: {a_got:?}"
    );
    link.shutdown();
    drop(broker);
}
