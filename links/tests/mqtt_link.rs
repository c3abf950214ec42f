//! The MQTT link against the real Mosquitto broker (`AVIARY_TEST_MQTT`, default
//! 127.0.0.1:1883). Drones are played by plain `rumqttc` clients so each test controls exactly
//! what the "drone" sends: duplicate acks, no ack at all, a hang, a crash.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use aviary_core::DroneId;
use aviary_core::wire::{AckStatus, CommandAck, CommandAction, DroneCommand, TelemetryUpdate};
use aviary_links::mqtt::{
    CommandOutcome, MqttLink, MqttLinkConfig, MqttLinkEvent, OfflineReason, topics,
};
use rumqttc::{AsyncClient, Event, EventLoop, LastWill, MqttOptions, Packet, QoS};

fn broker() -> Option<(String, u16)> {
    let addr = std::env::var("AVIARY_TEST_MQTT").unwrap_or_else(|_| "127.0.0.1:1883".into());
    let required = std::env::var("AVIARY_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    let ok = addr
        .parse()
        .ok()
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok());
    if !ok {
        assert!(
            !required,
            "AVIARY_REQUIRE_SERVICES=1 but no MQTT broker at {addr}"
        );
        eprintln!("skipped: no MQTT broker at {addr} (set AVIARY_TEST_MQTT)");
        return None;
    }
    let (h, p) = addr.rsplit_once(':').expect("host:port");
    Some((h.to_owned(), p.parse().expect("port")))
}

fn link(host: &str, port: u16, ack_timeout: Duration) -> (MqttLink, Receiver<MqttLinkEvent>) {
    link_with(host, port, ack_timeout, Duration::from_millis(7500))
}

fn link_with(
    host: &str,
    port: u16,
    ack_timeout: Duration,
    silence: Duration,
) -> (MqttLink, Receiver<MqttLinkEvent>) {
    let mut cfg = MqttLinkConfig::new(&format!("mqtt://{host}:{port}")).expect("url");
    cfg.ack_timeout = ack_timeout;
    cfg.drone_silence_timeout = silence;
    let (link, rx) = MqttLink::spawn(cfg, Arc::new(|| {})).expect("spawn");
    wait_for(&rx, Duration::from_secs(5), |e| {
        matches!(e, MqttLinkEvent::Connected)
    })
    .expect("link connects");
    (link, rx)
}

fn wait_for(
    rx: &Receiver<MqttLinkEvent>,
    timeout: Duration,
    mut pred: impl FnMut(&MqttLinkEvent) -> bool,
) -> Option<MqttLinkEvent> {
    let end = Instant::now() + timeout;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(e) if pred(&e) => return Some(e),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// A scripted drone: a raw client with the drone's last will.
fn drone_client(host: &str, port: u16, id: DroneId, keep_alive_s: u64) -> (AsyncClient, EventLoop) {
    let mut o = MqttOptions::new(format!("test-drone-{id}"), host, port);
    o.set_keep_alive(Duration::from_secs(keep_alive_s));
    o.set_last_will(LastWill::new(
        topics::status(id),
        "offline",
        QoS::AtLeastOnce,
        true,
    ));
    AsyncClient::new(o, 16)
}

async fn until_connack(ev: &mut EventLoop) {
    loop {
        if let Event::Incoming(Packet::ConnAck(_)) = ev.poll().await.expect("drone connects") {
            return;
        }
    }
}

/// A section-3.2 telemetry message, written as the JSON a third-party drone would send.
fn telemetry(id: DroneId) -> TelemetryUpdate {
    serde_json::from_value(serde_json::json!({
        "type": "telemetry_update",
        "mission_id": null,
        "drone_id": id,
        "timestamp": "2026-01-01T00:00:00Z",
        "position": { "lat": 47.1, "lon": 8.2, "altitude": 30.0 },
        "velocity": { "speed": 4.0, "heading": 90.0 },
        "battery": 77.0,
        "status": "in_progress",
        "progress": 12.5
    }))
    .expect("section 3.2 JSON")
}

async fn clear_status(c: &AsyncClient, id: DroneId) {
    c.publish(topics::status(id), QoS::AtLeastOnce, true, Vec::<u8>::new())
        .await
        .expect("clear retained");
}

#[test]
fn mqtt_command_is_acked_once_despite_duplicate_acks_and_telemetry_flows() {
    let Some((host, port)) = broker() else { return };
    let (link, rx) = link(&host, port, Duration::from_secs(5));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let id = DroneId::new_random();
    let (c, mut ev) = drone_client(&host, port, id, 5);
    rt.block_on(async {
        until_connack(&mut ev).await;
        c.subscribe(topics::commands(id), QoS::AtLeastOnce)
            .await
            .expect("sub");
        c.publish(topics::status(id), QoS::AtLeastOnce, true, "online")
            .await
            .expect("online");
        // Poll until both are acknowledged: stopping at the SubAck could leave the queued
        // `online` unsent (nothing polls this event loop while the test waits below).
        let (mut subscribed, mut published) = (false, false);
        while !(subscribed && published) {
            match ev.poll().await.expect("poll") {
                Event::Incoming(Packet::SubAck(_)) => subscribed = true,
                Event::Incoming(Packet::PubAck(_)) => published = true,
                _ => {}
            }
        }
    });
    assert!(
        wait_for(&rx, Duration::from_secs(5), |e| *e
            == MqttLinkEvent::DroneOnline(id))
        .is_some()
    );

    let cmd_id = link
        .send_command(id, CommandAction::Pause, None)
        .expect("send");
    let cmd: DroneCommand = rt.block_on(async {
        loop {
            if let Event::Incoming(Packet::Publish(p)) = ev.poll().await.expect("poll") {
                break serde_json::from_slice(&p.payload).expect("command JSON");
            }
        }
    });
    assert_eq!((cmd.cmd_id, cmd.action), (cmd_id, CommandAction::Pause));
    rt.block_on(async {
        let ack = serde_json::to_vec(&CommandAck {
            cmd_id,
            status: AckStatus::Executed,
            detail: String::new(),
        })
        .expect("json");
        for _ in 0..2 {
            c.publish(topics::ack(id), QoS::AtLeastOnce, false, ack.clone())
                .await
                .expect("ack");
        }
        let t = serde_json::to_vec(&telemetry(id)).expect("json");
        c.publish(topics::telemetry(id), QoS::AtLeastOnce, false, t)
            .await
            .expect("telemetry");
        for _ in 0..6 {
            ev.poll().await.expect("flush");
        }
    });
    // Acks and telemetry are different topics, unordered between them: wait for both. (The
    // exactly-once count of duplicate acks is the next test, which orders them on one topic.)
    let mut reports = Vec::new();
    let mut telemetry_seen = None;
    let done = wait_for(&rx, Duration::from_secs(5), |e| {
        match e {
            MqttLinkEvent::Command(r) => reports.push(r.clone()),
            MqttLinkEvent::Telemetry(t) if t.drone_id == id => telemetry_seen = Some(t.clone()),
            _ => {}
        }
        telemetry_seen.is_some() && !reports.is_empty()
    });
    assert!(
        done.is_some(),
        "telemetry {telemetry_seen:?}, reports {reports:?}"
    );
    let t = telemetry_seen.expect("telemetry");
    assert_eq!(
        (t.drone_id, t.battery, t.status.as_str()),
        (id, 77.0, "in_progress")
    );
    assert!(
        reports.len() <= 1,
        "a duplicate ack was reported: {reports:?}"
    );
    assert_eq!(
        (reports[0].cmd_id, &reports[0].outcome),
        (cmd_id, &CommandOutcome::Executed)
    );
    assert_eq!(
        link.counters()
            .commands_published
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    rt.block_on(clear_status(&c, id));
    link.shutdown();
}

#[test]
fn mqtt_duplicate_ack_yields_exactly_one_report() {
    let Some((host, port)) = broker() else { return };
    let (link, rx) = link(&host, port, Duration::from_secs(5));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let id = DroneId::new_random();
    let (c, mut ev) = drone_client(&host, port, id, 5);
    rt.block_on(async {
        until_connack(&mut ev).await;
        c.subscribe(topics::commands(id), QoS::AtLeastOnce)
            .await
            .expect("sub");
        loop {
            if let Event::Incoming(Packet::SubAck(_)) = ev.poll().await.expect("poll") {
                break;
            }
        }
    });
    let first = link
        .send_command(id, CommandAction::Abort, None)
        .expect("send");
    let second = link
        .send_command(id, CommandAction::Land, None)
        .expect("send");
    assert_ne!(first, second, "every command gets a unique id");
    rt.block_on(async {
        let mut seen = 0;
        while seen < 2 {
            if let Event::Incoming(Packet::Publish(_)) = ev.poll().await.expect("poll") {
                seen += 1;
            }
        }
        let ack = |id| {
            serde_json::to_vec(&CommandAck {
                cmd_id: id,
                status: AckStatus::Executed,
                detail: String::new(),
            })
        };
        // The first command's ack twice (a QoS 1 redelivery), then the second's once: the
        // second's report proves the duplicate was processed before it.
        for body in [ack(first), ack(first), ack(second)] {
            c.publish(
                topics::ack(id),
                QoS::AtLeastOnce,
                false,
                body.expect("json"),
            )
            .await
            .expect("ack");
        }
        for _ in 0..6 {
            ev.poll().await.expect("flush");
        }
    });
    let mut reports = Vec::new();
    while let Some(MqttLinkEvent::Command(r)) = wait_for(&rx, Duration::from_secs(5), |e| {
        matches!(e, MqttLinkEvent::Command(_))
    }) {
        let last = r.cmd_id == second;
        reports.push(r);
        if last {
            break;
        }
    }
    let ids: Vec<_> = reports.iter().map(|r| r.cmd_id).collect();
    assert_eq!(
        ids,
        vec![first, second],
        "one report per command: {reports:?}"
    );
    assert!(
        reports
            .iter()
            .all(|r| r.outcome == CommandOutcome::Executed && !r.late && r.safety_critical)
    );
    link.shutdown();
}

#[test]
fn mqtt_unacknowledged_command_is_reported_and_not_resent() {
    let Some((host, port)) = broker() else { return };
    let (link, rx) = link(&host, port, Duration::from_secs(1));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let id = DroneId::new_random();
    // An observer counts every copy of the command the broker carries.
    let (c, mut ev) = drone_client(&host, port, id, 5);
    rt.block_on(async {
        until_connack(&mut ev).await;
        c.subscribe(topics::commands(id), QoS::AtLeastOnce)
            .await
            .expect("sub");
        loop {
            if let Event::Incoming(Packet::SubAck(_)) = ev.poll().await.expect("poll") {
                break;
            }
        }
    });
    let sent_at = Instant::now();
    let cmd_id = link
        .send_command(id, CommandAction::Rth, None)
        .expect("send");
    let got = wait_for(&rx, Duration::from_secs(4), |e| {
        matches!(e, MqttLinkEvent::Command(_))
    });
    let Some(MqttLinkEvent::Command(r)) = got else {
        panic!("no outcome: {got:?}")
    };
    assert_eq!(
        (r.cmd_id, &r.outcome),
        (cmd_id, &CommandOutcome::Unacknowledged)
    );
    assert!(r.safety_critical);
    assert!(sent_at.elapsed() >= Duration::from_secs(1) && r.latency >= Duration::from_secs(1));
    // Ask the link to publish an unrelated command afterwards: if the RTH had been resent it
    // would reach the observer before this marker (one client, one topic, in order).
    let marker = link
        .send_command(id, CommandAction::Pause, None)
        .expect("marker");
    let copies: Vec<uuid::Uuid> = rt.block_on(async {
        let mut ids = Vec::new();
        loop {
            if let Event::Incoming(Packet::Publish(p)) = ev.poll().await.expect("poll") {
                let cmd: DroneCommand = serde_json::from_slice(&p.payload).expect("json");
                ids.push(cmd.cmd_id);
                if cmd.cmd_id == marker {
                    break ids;
                }
            }
        }
    });
    assert_eq!(
        copies,
        vec![cmd_id, marker],
        "the safety-critical command was sent exactly once"
    );
    // The operator's explicit retry goes out under the same id.
    link.retry_command(cmd_id).expect("retry");
    let again: DroneCommand = rt.block_on(async {
        loop {
            if let Event::Incoming(Packet::Publish(p)) = ev.poll().await.expect("poll") {
                break serde_json::from_slice(&p.payload).expect("json");
            }
        }
    });
    assert_eq!((again.cmd_id, again.action), (cmd_id, CommandAction::Rth));
    link.shutdown();
}

#[test]
fn mqtt_hung_drone_goes_offline_within_one_and_a_half_keepalives() {
    let Some((host, port)) = broker() else { return };
    let keep_alive = Duration::from_secs(2);
    let (link, rx) = link_with(&host, port, Duration::from_secs(5), keep_alive.mul_f64(1.5));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let id = DroneId::new_random();
    let (c, mut ev) = drone_client(&host, port, id, keep_alive.as_secs());
    rt.block_on(async {
        until_connack(&mut ev).await;
        c.publish(topics::status(id), QoS::AtLeastOnce, true, "online")
            .await
            .expect("online");
        let t = serde_json::to_vec(&telemetry(id)).expect("json");
        c.publish(topics::telemetry(id), QoS::AtLeastOnce, false, t)
            .await
            .expect("telemetry");
        let mut acks = 0;
        while acks < 2 {
            if let Event::Incoming(Packet::PubAck(_)) = ev.poll().await.expect("poll") {
                acks += 1;
            }
        }
    });
    assert!(
        wait_for(&rx, Duration::from_secs(5), |e| matches!(
            e,
            MqttLinkEvent::Telemetry(_)
        ))
        .is_some()
    );
    // From here the drone never polls its event loop: no telemetry, no pings, socket open.
    let hung_at = Instant::now();
    let off = wait_for(
        &rx,
        Duration::from_secs(6),
        |e| matches!(e, MqttLinkEvent::DroneOffline { drone_id, .. } if *drone_id == id),
    );
    let took = hung_at.elapsed();
    assert!(
        matches!(
            off,
            Some(MqttLinkEvent::DroneOffline {
                reason: OfflineReason::Silent | OfflineReason::Status,
                ..
            })
        ),
        "no offline within 6 s: {off:?}"
    );
    // The watchdog ticks at a tenth of the timeout, hence the small tolerance.
    assert!(
        took <= keep_alive.mul_f64(1.5) + Duration::from_millis(500),
        "offline after {took:?}"
    );
    assert!(took >= keep_alive, "offline too early ({took:?})");
    drop((c, ev));
    link.shutdown();
}

#[test]
fn mqtt_crashed_drone_goes_offline_at_once_and_malformed_input_is_reported() {
    let Some((host, port)) = broker() else { return };
    let (link, rx) = link(&host, port, Duration::from_secs(5));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let id = DroneId::new_random();
    let (c, mut ev) = drone_client(&host, port, id, 30);
    rt.block_on(async {
        until_connack(&mut ev).await;
        c.publish(topics::status(id), QoS::AtLeastOnce, true, "online")
            .await
            .expect("online");
        c.publish(topics::telemetry(id), QoS::AtLeastOnce, false, "{not json")
            .await
            .expect("bad");
        let mut acks = 0;
        while acks < 2 {
            if let Event::Incoming(Packet::PubAck(_)) = ev.poll().await.expect("poll") {
                acks += 1;
            }
        }
    });
    // Status (QoS 1) and telemetry (QoS 0) are separate topics: MQTT does not order them
    // against each other, so wait for both in one pass.
    let (mut online, mut malformed) = (false, false);
    let both = wait_for(&rx, Duration::from_secs(5), |e| {
        online |= *e == MqttLinkEvent::DroneOnline(id);
        malformed |=
            matches!(e, MqttLinkEvent::Malformed { topic, .. } if *topic == topics::telemetry(id));
        online && malformed
    });
    assert!(
        both.is_some(),
        "online {online}, malformed reported {malformed}"
    );
    let crashed_at = Instant::now();
    drop((c, ev)); // the socket closes without DISCONNECT: the broker sends the will
    let off = wait_for(
        &rx,
        Duration::from_secs(3),
        |e| matches!(e, MqttLinkEvent::DroneOffline { drone_id, .. } if *drone_id == id),
    );
    assert!(
        matches!(
            off,
            Some(MqttLinkEvent::DroneOffline {
                reason: OfflineReason::Status,
                ..
            })
        ),
        "{off:?}"
    );
    assert!(crashed_at.elapsed() < Duration::from_secs(3));
    link.shutdown();
}
