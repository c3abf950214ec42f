//! The broker ACL scopes desktop users per organisation (issue 15): against a private
//! Mosquitto running the ACL `aviary-server broker-acl` generates from the fleet database
//! (the shipped `deploy/mosquitto/aviary.acl` plus one user per organisation), organisation
//! B's desktop user can neither read A's drones' telemetry nor command A's drones, while each
//! organisation's own desktop user can.

use std::time::Duration;

use aviary_core::DroneId;
use rumqttc::QoS;

use crate::common::{self, Http};
use crate::private_broker::{self as pb, heard_on, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisation_b_desktop_cannot_read_or_command_organisation_a_drones() {
    if !pb::have(&["mosquitto", "mosquitto_passwd"]) {
        return;
    }
    let Some(t) = common::start("acl").await else {
        return;
    };
    let http = Http::new(t.server.addr);
    let (a, b) = (DroneId::new_random(), DroneId::new_random());
    common::org(&t.server, &http, "acla", a).await;
    common::org(&t.server, &http, "aclb", b).await;
    let orgs: Vec<uuid::Uuid> = {
        let conn = t.server.state.pool.get().await.expect("pool");
        let mut v = Vec::new();
        for d in [a, b] {
            v.push(
                conn.query_one("SELECT org_id FROM drones WHERE drone_id = $1", &[&d.0])
                    .await
                    .expect("org")
                    .get(0),
            );
        }
        v
    };
    let (user_a, user_b) = (
        aviary_server::broker::desktop_user(aviary_core::OrgId(orgs[0])),
        aviary_server::broker::desktop_user(aviary_core::OrgId(orgs[1])),
    );
    let acl = aviary_server::broker::broker_acl(
        &t.server.state.pool.get().await.expect("pool"),
        t.server.state.config.topics(),
    )
    .await
    .expect("acl");
    assert!(acl.starts_with(aviary_server::broker::SHIPPED_ACL));
    assert!(
        !acl.contains("aviary-app"),
        "no shared desktop user any more"
    );
    let dir = pb::broker_dir();
    std::fs::write(dir.join("aviary.acl"), &acl).expect("acl file");
    let (sa, sb) = (a.to_string(), b.to_string());
    let passwd = pb::password_file(
        &dir,
        &[
            (&user_a, "pass-a"),
            (&user_b, "pass-b"),
            (&sa, "drone-a"),
            (&sb, "drone-b"),
        ],
    );
    let acl_file = dir.join("aviary.acl");
    let broker = pb::start_in(
        dir,
        &format!(
            "allow_anonymous false\npassword_file {}\nacl_file {}",
            passwd.display(),
            acl_file.display()
        ),
    );
    let port = broker.port;
    let all = [
        "drones/+/telemetry".to_owned(),
        "drones/+/status".to_owned(),
    ];
    let (desk_a, heard_a, _ta) = pb::listener(port, "desk-a", (&user_a, "pass-a"), &all).await;
    let (desk_b, heard_b, _tb) = pb::listener(port, "desk-b", (&user_b, "pass-b"), &all).await;
    // B's desktop also asks for A's drone's topics by name.
    let (_, heard_b2, _tb2) = pb::listener(
        port,
        "desk-b-named",
        (&user_b, "pass-b"),
        &[format!("drones/{a}/telemetry"), format!("drones/{a}/#")],
    )
    .await;
    let (drone_a, cmds_a, _da) = pb::listener(
        port,
        "drone-a",
        (&sa, "drone-a"),
        &[format!("drones/{a}/commands")],
    )
    .await;
    let (drone_b, cmds_b, _db) = pb::listener(
        port,
        "drone-b",
        (&sb, "drone-b"),
        &[format!("drones/{b}/commands")],
    )
    .await;

    // Telemetry: A's reaches A's desktop (so it was dispatched to every allowed reader) before
    // B's drone publishes; B's desktop then hears B's and never A's.
    let (ta, tb) = (
        format!("drones/{a}/telemetry"),
        format!("drones/{b}/telemetry"),
    );
    drone_a
        .publish(&ta, QoS::AtLeastOnce, false, b"{}".to_vec())
        .await
        .expect("publish");
    wait_for(
        "A's desktop hears A's drone",
        Duration::from_secs(10),
        || async { heard_on(&heard_a, &ta) },
    )
    .await;
    drone_b
        .publish(&tb, QoS::AtLeastOnce, false, b"{}".to_vec())
        .await
        .expect("publish");
    wait_for(
        "B's desktop hears B's drone",
        Duration::from_secs(10),
        || async { heard_on(&heard_b, &tb) },
    )
    .await;
    assert!(!heard_on(&heard_b, &ta), "B's desktop read A's telemetry");
    assert!(
        heard_b2.lock().expect("heard").is_empty(),
        "B's desktop read A's topics by name"
    );
    assert!(!heard_on(&heard_a, &tb), "A's desktop read B's telemetry");

    // Commands: B's desktop commands A's drone, then its own, on one connection (in order);
    // once B's drone has its command, A's drone has heard nothing. A's desktop then commands
    // A's drone, which hears it.
    let (ca, cb) = (
        format!("drones/{a}/commands"),
        format!("drones/{b}/commands"),
    );
    desk_b
        .publish(&ca, QoS::AtLeastOnce, false, b"{\"from\":\"b\"}".to_vec())
        .await
        .expect("publish");
    desk_b
        .publish(&cb, QoS::AtLeastOnce, false, b"{\"from\":\"b\"}".to_vec())
        .await
        .expect("publish");
    wait_for(
        "B's drone commanded by B",
        Duration::from_secs(10),
        || async { heard_on(&cmds_b, &cb) },
    )
    .await;
    assert!(
        cmds_a.lock().expect("heard").is_empty(),
        "B's desktop commanded A's drone"
    );
    desk_a
        .publish(&ca, QoS::AtLeastOnce, false, b"{\"from\":\"a\"}".to_vec())
        .await
        .expect("publish");
    wait_for(
        "A's drone commanded by A",
        Duration::from_secs(10),
        || async { heard_on(&cmds_a, &ca) },
    )
    .await;
    let got: Vec<Vec<u8>> = cmds_a
        .lock()
        .expect("heard")
        .iter()
        .map(|(_, p)| p.clone())
        .collect();
    assert_eq!(got, vec![b"{\"from\":\"a\"}".to_vec()]);
    drop(broker);
}
