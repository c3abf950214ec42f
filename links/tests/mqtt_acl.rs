//! The shipped broker ACL (`deploy/mosquitto/aviary.acl`) on a private Mosquitto: a drone
//! authenticated as its UUID can neither publish as another drone nor read another drone's
//! commands, and a wrong password is refused. Needs the `mosquitto` and `mosquitto_passwd`
//! binaries (skipped without them unless `AVIARY_REQUIRE_SERVICES=1`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aviary_core::DroneId;
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

fn start_broker(users: &[(&str, &str)]) -> Option<Broker> {
    let required = std::env::var("AVIARY_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    let have = Command::new("mosquitto")
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
        && Command::new("mosquitto_passwd")
            .arg("-h")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
    if !have {
        assert!(
            !required,
            "AVIARY_REQUIRE_SERVICES=1 but mosquitto / mosquitto_passwd are not installed"
        );
        eprintln!("skipped: mosquitto and mosquitto_passwd are needed");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let passwd = dir.path().join("passwd");
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
    let acl =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/mosquitto/aviary.acl");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous false\npersistence false\npassword_file {}\nacl_file {}\n",
            passwd.display(),
            acl.display()
        ),
    )
    .expect("conf");
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
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
    Some(broker)
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
    let (c, mut ev) = AsyncClient::new(o, 16);
    loop {
        match ev.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(a))) if a.code == ConnectReturnCode::Success => {
                return Ok((c, ev));
            }
            Ok(Event::Incoming(Packet::ConnAck(a))) => return Err(a.code),
            Ok(_) => {}
            Err(rumqttc::ConnectionError::ConnectionRefused(code)) => return Err(code),
            Err(e) => panic!("unexpected connection error: {e}"),
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
    let pump_a = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Ok(Ok(ev)) = tokio::time::timeout(Duration::from_secs(2), a_ev.poll()).await {
            if let Event::Incoming(Packet::Publish(p)) = ev {
                got.push(p.topic.clone());
            }
        }
        got
    });
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
