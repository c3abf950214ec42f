//! The desktop app's fleet-server client (`aviary_links::fleet`) against a real server:
//! an admin registers a simulated MQTT fleet, the drones fly on the real broker, and a second
//! client (an analyst's desktop) sees them online and live; then they go offline.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use aviary_core::auth::Role;
use aviary_core::wire::WireLatLon;
use aviary_core::{DroneId, LatLon};
use aviary_links::fleet::{
    DroneSpec, FleetConfig, FleetError, FleetEvent, FleetLink, FleetSnapshot, Registration,
};
use aviary_sim::mqtt_drone::FleetOptions;
use serde_json::json;

use crate::common::{self, Http, PASSWORD};

/// Next event, polling the link's bounded channel (the app drains it each frame).
async fn next_event(rx: &Receiver<FleetEvent>, timeout: Duration) -> FleetEvent {
    let end = Instant::now() + timeout;
    loop {
        if let Ok(ev) = rx.try_recv() {
            return ev;
        }
        assert!(Instant::now() < end, "no fleet event within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for a snapshot satisfying `ok`, failing on any error event.
async fn snapshot_where(
    rx: &Receiver<FleetEvent>,
    what: &str,
    timeout: Duration,
    ok: impl Fn(&FleetSnapshot) -> bool,
) -> FleetSnapshot {
    let end = Instant::now() + timeout;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "timed out waiting for {what}");
        match next_event(rx, left).await {
            FleetEvent::Snapshot(s) if ok(&s) => return s,
            FleetEvent::Error { error, .. } => panic!("{what}: {error}"),
            _ => {}
        }
    }
}

fn wake() -> Arc<dyn Fn() + Send + Sync> {
    Arc::new(|| {})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_desktop_sees_a_registered_simulated_mqtt_fleet_live() {
    let Some(t) = common::start("client").await else {
        return;
    };
    let (server, mh, mp) = (t.server, t.mqtt_host.clone(), t.mqtt_port);
    let http = Http::new(server.addr);
    let url = format!("http://{}", server.addr);
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let admin_email = format!("admin-{tag}@client.test");
    aviary_server::bootstrap_org(&server.state, "client", &admin_email, PASSWORD)
        .await
        .expect("bootstrap");
    let admin_token = common::login(&http, &admin_email).await;
    let analyst_email = format!("analyst-{tag}@client.test");
    let (st, body) = http
        .call(
            "POST",
            "/api/v1/users",
            Some(&admin_token),
            Some(&json!({ "email": analyst_email, "password": PASSWORD, "role": "analyst" })),
        )
        .await;
    assert_eq!(st, 201, "{body}");

    // The first desktop (an admin) registers three simulated drones at a new site.
    let (admin, admin_rx) = FleetLink::spawn(wake(), 16).expect("spawn");
    let mut cfg = FleetConfig::new(&url, &admin_email, PASSWORD).expect("config");
    cfg.poll_interval = Duration::from_millis(200);
    admin.connect(cfg).expect("connect");
    match next_event(&admin_rx, Duration::from_secs(10)).await {
        FleetEvent::Connected { role, server, .. } => {
            assert_eq!(role, Role::Admin);
            assert_eq!(server, url);
        }
        other => panic!("expected Connected, got {other:?}"),
    }
    let home = LatLon::new(47.397, 8.545);
    let ids: Vec<DroneId> = (0..3).map(|_| DroneId::new_random()).collect();
    let registration = Registration {
        site_name: "Zurich field".into(),
        site_location: WireLatLon {
            lat: home.lat_deg,
            lon: home.lon_deg,
        },
        timezone: Some("Europe/Zurich".into()),
        drones: ids
            .iter()
            .enumerate()
            .map(|(i, id)| DroneSpec {
                drone_id: *id,
                serial_number: format!("SIM-{tag}-{i}"),
                model: "Aviary SimCopter".into(),
                home: WireLatLon {
                    lat: home.lat_deg,
                    lon: home.lon_deg,
                },
            })
            .collect(),
    };
    admin.register(registration.clone()).expect("register");
    let site_id = loop {
        match next_event(&admin_rx, Duration::from_secs(10)).await {
            FleetEvent::Registered { site_id, drones } => {
                assert_eq!(drones, ids.iter().map(|id| (*id, true)).collect::<Vec<_>>());
                break site_id;
            }
            FleetEvent::Error { error, .. } => panic!("register: {error}"),
            _ => {}
        }
    };
    // Registering again is idempotent: same site, same ids, nothing created.
    admin.register(registration).expect("register again");
    loop {
        match next_event(&admin_rx, Duration::from_secs(10)).await {
            FleetEvent::Registered {
                site_id: again,
                drones,
            } => {
                assert_eq!(again, site_id);
                assert_eq!(
                    drones,
                    ids.iter().map(|id| (*id, false)).collect::<Vec<_>>()
                );
                break;
            }
            FleetEvent::Error { error, .. } => panic!("register again: {error}"),
            _ => {}
        }
    }

    // The drones fly on the real broker as MQTT clients (`aviary sim --mqtt`).
    let fleet = aviary_sim::mqtt_drone::run(
        &format!("mqtt://{mh}:{mp}"),
        &FleetOptions {
            drones: 3,
            home,
            telemetry_hz: 5.0,
            time_scale: 1.0,
            ids: ids.clone(),
            ..FleetOptions::default()
        },
    )
    .expect("fleet");

    // The second desktop (an analyst, read-only) sees them online with positions, live.
    let (viewer, viewer_rx) = FleetLink::spawn(wake(), 16).expect("spawn");
    let mut cfg = FleetConfig::new(&url, &analyst_email, PASSWORD).expect("config");
    cfg.poll_interval = Duration::from_millis(200);
    viewer.connect(cfg).expect("connect");
    match next_event(&viewer_rx, Duration::from_secs(10)).await {
        FleetEvent::Connected { role, .. } => assert_eq!(role, Role::Analyst),
        other => panic!("expected Connected, got {other:?}"),
    }
    let all_live = |s: &FleetSnapshot| {
        s.sites.iter().any(|site| site.site_id == site_id)
            && ids.iter().all(|id| {
                s.drones.iter().any(|d| {
                    d.drone_id == *id && d.online && d.position.is_some() && d.last_seen.is_some()
                })
            })
    };
    let first = snapshot_where(
        &viewer_rx,
        "the three drones online with positions",
        Duration::from_secs(20),
        all_live,
    )
    .await;
    for d in first.drones.iter().filter(|d| ids.contains(&d.drone_id)) {
        let p = d.position.expect("position");
        assert!(
            LatLon::new(p.lat, p.lon).distance_m(home) < 200.0,
            "{} at {p:?}",
            d.serial_number
        );
        assert_eq!(d.site_id, site_id);
    }
    let seen = |s: &FleetSnapshot, id: DroneId| {
        s.drones
            .iter()
            .find(|d| d.drone_id == id)
            .and_then(|d| d.last_seen)
    };
    let later = snapshot_where(
        &viewer_rx,
        "newer telemetry for every drone",
        Duration::from_secs(20),
        |s| ids.iter().all(|id| seen(s, *id) > seen(&first, *id)),
    )
    .await;
    assert!(all_live(&later));

    // A mission planned on the server for one of the drones is listed to the viewer too.
    let (st, created) = http
        .call(
            "POST",
            "/api/v1/missions",
            Some(&admin_token),
            Some(&common::mission_body(site_id, Some(ids[0]))),
        )
        .await;
    assert_eq!(st, 201, "{created}");
    let mission_id = created["mission_id"]
        .as_str()
        .expect("mission id")
        .to_owned();
    let listed = snapshot_where(
        &viewer_rx,
        "the new mission listed",
        Duration::from_secs(10),
        |s| {
            s.missions
                .iter()
                .any(|m| m.mission_id.to_string() == mission_id)
        },
    )
    .await;
    let m = listed
        .missions
        .iter()
        .find(|m| m.mission_id.to_string() == mission_id)
        .expect("listed");
    assert_eq!(
        (m.site_id, m.drone_id, m.name.as_str()),
        (site_id, Some(ids[0]), "Roof inspection")
    );
    assert_eq!(m.status, aviary_core::MissionStatus::Planned);
    assert!(
        m.estimated_distance > 0.0 && m.estimated_duration > 0.0,
        "{m:?}"
    );

    // An analyst may look but not register drones: the server's reason reaches the client.
    viewer
        .register(Registration {
            site_name: "Nope".into(),
            site_location: WireLatLon { lat: 0.0, lon: 0.0 },
            timezone: None,
            drones: Vec::new(),
        })
        .expect("request queued");
    loop {
        match next_event(&viewer_rx, Duration::from_secs(10)).await {
            FleetEvent::Error { error, retry_in } => {
                assert!(
                    matches!(error, FleetError::Http { status: 403, .. }),
                    "{error}"
                );
                assert_eq!(retry_in, None);
                break;
            }
            FleetEvent::Registered { .. } => panic!("an analyst registered a site"),
            _ => {}
        }
    }

    // The fleet stops: every drone shows offline.
    fleet.shutdown();
    snapshot_where(
        &viewer_rx,
        "the three drones offline",
        Duration::from_secs(20),
        |s| {
            ids.iter()
                .all(|id| s.drones.iter().any(|d| d.drone_id == *id && !d.online))
        },
    )
    .await;

    // A wrong password is refused once and not retried.
    let (bad, bad_rx) = FleetLink::spawn(wake(), 16).expect("spawn");
    bad.connect(FleetConfig::new(&url, &analyst_email, "wrong password").expect("config"))
        .expect("connect");
    match next_event(&bad_rx, Duration::from_secs(10)).await {
        FleetEvent::Error {
            error: FleetError::LoginRefused(msg),
            retry_in: None,
        } => assert!(msg.contains("wrong e-mail or password"), "{msg}"),
        other => panic!("expected a refused login, got {other:?}"),
    }

    // Disconnect is acknowledged; an unreachable server is reported with a retry time.
    viewer.disconnect().expect("disconnect");
    loop {
        if matches!(
            next_event(&viewer_rx, Duration::from_secs(5)).await,
            FleetEvent::Disconnected
        ) {
            break;
        }
    }
    drop((admin, viewer, bad));
    server.shutdown().await;
    let (gone, gone_rx) = FleetLink::spawn(wake(), 16).expect("spawn");
    gone.connect(FleetConfig::new(&url, &analyst_email, PASSWORD).expect("config"))
        .expect("connect");
    match next_event(&gone_rx, Duration::from_secs(10)).await {
        FleetEvent::Error {
            error: FleetError::Unreachable { url: u, .. },
            retry_in: Some(wait),
        } => {
            assert!(u.starts_with(&url), "{u}");
            assert_eq!(wait, Duration::from_secs(1));
        }
        other => panic!("expected an unreachable server, got {other:?}"),
    }
}

/// A drone that came online before it was registered (the desktop's MQTT simulator, a drone
/// powered on first): its retained `online` found no row; registering it asks the broker for
/// that status again, so the server lists it online.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drone_online_before_its_registration_is_listed_online() {
    let Some(t) = common::start("early").await else {
        return;
    };
    let http = Http::new(t.server.addr);
    let org = common::org(&t.server, &http, "early", DroneId::new_random()).await;
    let admin = org.token(Role::Admin).to_owned();
    let id = DroneId::new_random();
    let fleet = aviary_sim::mqtt_drone::run(
        &format!("mqtt://{}:{}", t.mqtt_host, t.mqtt_port),
        &FleetOptions {
            drones: 1,
            ids: vec![id],
            telemetry_hz: 2.0,
            ..FleetOptions::default()
        },
    )
    .expect("fleet");
    // Its retained status says online on the broker before the server knows the drone.
    let mut o = rumqttc::MqttOptions::new(
        format!("watch-{}", uuid::Uuid::new_v4().simple()),
        t.mqtt_host.clone(),
        t.mqtt_port,
    );
    o.set_keep_alive(Duration::from_secs(10));
    let (watcher, mut ev) = rumqttc::AsyncClient::new(o, 16);
    watcher
        .subscribe(format!("drones/{id}/status"), rumqttc::QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) = ev.poll().await
                && p.payload.as_ref() == b"online"
            {
                return;
            }
        }
    })
    .await
    .expect("the drone is online on the broker");

    let (st, d) = http
        .call(
            "POST",
            "/api/v1/drones",
            Some(&admin),
            Some(&json!({ "drone_id": id, "site_id": org.site, "serial_number": format!("EARLY-{id}"), "model": "SimCopter", "home": { "lat": 47.397, "lon": 8.545 } })),
        )
        .await;
    assert_eq!(st, 201, "{d}");
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let (st, d) = http
            .call("GET", &format!("/api/v1/drones/{id}"), Some(&admin), None)
            .await;
        assert_eq!(st, 200, "{d}");
        if d["online"] == true {
            break;
        }
        assert!(
            Instant::now() < end,
            "still offline after registration: {d}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fleet.shutdown();
}
