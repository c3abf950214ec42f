//! The simulated MQTT drone against the real Mosquitto broker (`AVIARY_TEST_MQTT`, default
//! 127.0.0.1:1883), seen from a plain `rumqttc` ground client.

use std::time::{Duration, Instant};

use aviary_core::wire::{AckStatus, CommandAck, CommandAction, DroneCommand, TelemetryUpdate};
use aviary_core::{DroneId, LatLon, MissionId};
use aviary_sim::mqtt_drone::{Broker, FleetOptions, MqttDrone, MqttDroneConfig, run};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};

fn broker() -> Option<String> {
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
    Some(addr)
}

/// Messages the ground client received.
#[derive(Debug)]
enum Msg {
    Status(String),
    Ack(CommandAck),
    Telemetry(Box<TelemetryUpdate>),
}

async fn ground(addr: &str, filter: &str) -> (AsyncClient, EventLoop) {
    let b = Broker::parse(addr).expect("addr");
    let mut o = MqttOptions::new(
        format!("ground-{}", uuid::Uuid::new_v4().simple()),
        b.host,
        b.port,
    );
    o.set_keep_alive(Duration::from_secs(10));
    let (c, mut ev) = AsyncClient::new(o, 64);
    c.subscribe(filter, QoS::AtLeastOnce).await.expect("sub");
    loop {
        if let Event::Incoming(Packet::SubAck(_)) = ev.poll().await.expect("ground connects") {
            return (c, ev);
        }
    }
}

async fn next_msg(ev: &mut EventLoop, deadline: Instant) -> Option<(String, Msg)> {
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let Ok(r) = tokio::time::timeout(left, ev.poll()).await else {
            return None;
        };
        if let Event::Incoming(Packet::Publish(p)) = r.expect("poll") {
            let kind = p.topic.rsplit('/').next().unwrap_or_default().to_owned();
            let msg = match kind.as_str() {
                "status" => Msg::Status(String::from_utf8_lossy(&p.payload).into_owned()),
                "ack" => Msg::Ack(serde_json::from_slice(&p.payload).expect("ack JSON")),
                "telemetry" => Msg::Telemetry(Box::new(
                    serde_json::from_slice(&p.payload).expect("telemetry JSON"),
                )),
                _ => continue,
            };
            return Some((p.topic.clone(), msg));
        }
    }
}

fn config(addr: &str) -> MqttDroneConfig {
    let mut c = MqttDroneConfig::new(
        Broker::parse(addr).expect("addr"),
        DroneId::new_random(),
        LatLon::new(47.397, 8.545),
    );
    c.time_scale = 20.0;
    c.keep_alive = Duration::from_secs(2);
    c
}

async fn clear_status(c: &AsyncClient, id: DroneId) {
    c.publish(
        format!("drones/{id}/status"),
        QoS::AtLeastOnce,
        true,
        Vec::<u8>::new(),
    )
    .await
    .expect("clear");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_drone_flies_a_mission_executes_each_command_id_once() {
    let Some(addr) = broker() else { return };
    let cfg = config(&addr);
    let id = cfg.drone_id;
    let (g, mut ev) = ground(&addr, &format!("drones/{id}/+")).await;
    let drone = MqttDrone::spawn(cfg);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match next_msg(&mut ev, deadline).await {
            Some((_, Msg::Status(s))) if s == "online" => break,
            Some(_) => {}
            None => panic!("drone never came online"),
        }
    }
    let mission = MissionId::new_random();
    let start = DroneCommand {
        cmd_id: uuid::Uuid::new_v4(),
        action: CommandAction::Start,
        mission_id: Some(mission),
    };
    let resume = DroneCommand {
        cmd_id: uuid::Uuid::new_v4(),
        action: CommandAction::Resume,
        mission_id: Some(mission),
    };
    let cmds = format!("drones/{id}/commands");
    // The start twice (a QoS 1 redelivery), then a resume whose ack marks the end of the burst.
    for c in [&start, &start, &resume] {
        g.publish(
            &cmds,
            QoS::AtLeastOnce,
            false,
            serde_json::to_vec(c).expect("json"),
        )
        .await
        .expect("publish");
    }
    let mut acks = Vec::new();
    let mut statuses = Vec::new();
    let mut progress_max: f64 = 0.0;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut completed = false;
    while let Some((_, m)) = next_msg(&mut ev, deadline).await {
        match m {
            Msg::Ack(a) => acks.push(a),
            Msg::Telemetry(t) => {
                assert_eq!(t.drone_id, id);
                assert_eq!(t.kind, "telemetry_update");
                if t.status != "available" {
                    assert_eq!(t.mission_id, Some(mission));
                }
                progress_max = progress_max.max(t.progress);
                if statuses.last() != Some(&t.status) {
                    statuses.push(t.status.clone());
                }
                if t.status == "completed" {
                    completed = true;
                    break;
                }
            }
            Msg::Status(_) => {}
        }
    }
    assert!(completed, "mission never completed; statuses {statuses:?}");
    let flown: Vec<&str> = statuses
        .iter()
        .map(String::as_str)
        .skip_while(|s| *s == "available")
        .collect();
    // Completed only once landed: the flight home ("returning", short when the route ends
    // near home and may fall between two samples) and the landing come first.
    let expected: &[&[&str]] = &[
        &["in_progress", "returning", "landing", "completed"],
        &["in_progress", "landing", "completed"],
    ];
    assert!(
        expected.contains(&flown.as_slice()),
        "done only once landed: {statuses:?}"
    );
    assert!((progress_max - 100.0).abs() < 1e-9);
    let start_acks: Vec<_> = acks.iter().filter(|a| a.cmd_id == start.cmd_id).collect();
    assert_eq!(start_acks.len(), 1, "start acknowledged once: {acks:?}");
    assert_eq!(start_acks[0].status, AckStatus::Executed);
    let resume_ack = acks
        .iter()
        .find(|a| a.cmd_id == resume.cmd_id)
        .expect("resume acked");
    assert_eq!(
        (resume_ack.status, resume_ack.detail.as_str()),
        (AckStatus::Rejected, "not paused")
    );
    assert_eq!(
        drone
            .counters()
            .duplicates_ignored
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(
        drone
            .counters()
            .commands_handled
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    drone.stop().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match next_msg(&mut ev, deadline).await {
            Some((_, Msg::Status(s))) if s == "offline" => break,
            Some(_) => {}
            None => panic!("no offline after a clean stop"),
        }
    }
    clear_status(&g, id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_drone_killed_is_declared_offline_by_its_will_and_a_hung_one_falls_silent() {
    let Some(addr) = broker() else { return };
    let killed_cfg = config(&addr);
    let hung_cfg = config(&addr);
    let (killed_id, hung_id) = (killed_cfg.drone_id, hung_cfg.drone_id);
    let (g, mut ev) = ground(&addr, "drones/+/status").await;
    let killed = MqttDrone::spawn(killed_cfg);
    let hung = MqttDrone::spawn(hung_cfg);
    let mut online = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while online < 2 {
        match next_msg(&mut ev, deadline).await {
            Some((t, Msg::Status(s)))
                if s == "online"
                    && (t.contains(&killed_id.to_string()) || t.contains(&hung_id.to_string())) =>
            {
                online += 1;
            }
            Some(_) => {}
            None => panic!("drones never came online"),
        }
    }
    let t0 = Instant::now();
    killed.kill().await;
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match next_msg(&mut ev, deadline).await {
            Some((t, Msg::Status(s))) if s == "offline" && t.contains(&killed_id.to_string()) => {
                break;
            }
            Some(_) => {}
            None => panic!("the killed drone's will never came"),
        }
    }
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "a crash is seen when the socket closes ({:?})",
        t0.elapsed()
    );
    // A hung drone keeps its socket but sends nothing more: its telemetry counter freezes
    // (the link's watchdog turns that silence into "offline"; see links/tests/mqtt_link.rs).
    let mut w = hung.watch();
    w.changed().await.expect("running");
    hung.freeze();
    let frozen_at = hung
        .counters()
        .telemetry_sent
        .load(std::sync::atomic::Ordering::SeqCst);
    let (g2, mut ev2) = ground(&addr, &format!("drones/{hung_id}/telemetry")).await;
    let quiet = tokio::time::timeout(
        Duration::from_millis(600),
        next_msg(&mut ev2, Instant::now() + Duration::from_secs(1)),
    )
    .await;
    assert!(
        matches!(quiet, Err(_) | Ok(None)),
        "telemetry after freeze: {quiet:?}"
    );
    assert!(
        hung.counters()
            .telemetry_sent
            .load(std::sync::atomic::Ordering::SeqCst)
            <= frozen_at + 1
    );
    hung.stop().await;
    clear_status(&g, killed_id).await;
    clear_status(&g, hung_id).await;
    drop(g2);
}

#[test]
fn mqtt_fleet_run_brings_drones_online_and_offline() {
    let Some(addr) = broker() else { return };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (g, mut ev) = rt.block_on(ground(&addr, "drones/+/status"));
    let fleet = run(
        &format!("mqtt://{addr}"),
        &FleetOptions {
            drones: 3,
            ..FleetOptions::default()
        },
    )
    .expect("fleet");
    let ids: Vec<String> = fleet.drone_ids().iter().map(ToString::to_string).collect();
    let count = |want: &'static str, ev: &mut EventLoop| {
        let ids = ids.clone();
        rt.block_on(async move {
            let mut seen = std::collections::HashSet::new();
            let deadline = Instant::now() + Duration::from_secs(10);
            while seen.len() < ids.len() {
                match next_msg(ev, deadline).await {
                    Some((t, Msg::Status(s))) if s == want => {
                        if let Some(i) = ids.iter().find(|i| t.contains(i.as_str())) {
                            seen.insert(i.clone());
                        }
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            seen.len()
        })
    };
    assert_eq!(count("online", &mut ev), 3);
    let ids_typed: Vec<DroneId> = fleet.drone_ids().to_vec();
    fleet.shutdown();
    assert_eq!(count("offline", &mut ev), 3);
    rt.block_on(async {
        for id in ids_typed {
            clear_status(&g, id).await;
        }
    });
}
