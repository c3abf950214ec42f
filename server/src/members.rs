//! Who is in the ingest's share group, and who only seems to be.
//!
//! Each instance's ingest is a persistent MQTT session named after the instance
//! (`{instance}-ingest`, [`crate::ServerConfig::instance_id`]), in the shared subscription of
//! its deployment ([`crate::ServerConfig::ingest_share_group`]). The broker keeps a stopped
//! instance's session in the group and queues its share of the telemetry for it: that is what
//! makes a restart lossless, and what makes an instance that never returns (renamed, scaled
//! away without `leave`, its host gone) silently take a share into a queue nobody reads.
//!
//! So each instance records itself in `ingest_members` when its subscription is granted,
//! refreshes `last_seen` on every maintenance pass, and marks itself left when it leaves the
//! group for good. A member of the same group that stopped refreshing and did not leave is
//! reported as stale by every live instance (log, `/healthz`, `aviary_ingest_stale_members`);
//! [`forget`] (`aviary-server leave --instance NAME`) ends its broker session and record.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, Packet};

use crate::error::ServerError;
use crate::{ServerConfig, Shared};

/// The ingest's MQTT client id for an instance name.
pub fn ingest_client_id(instance: &str) -> String {
    format!("{instance}-ingest")
}

/// This instance joined its share group (its subscription was granted, at every connection).
pub async fn joined(shared: &Shared) -> Result<(), ServerError> {
    let c = &shared.config;
    shared
        .pool
        .get()
        .await?
        .execute(
            "INSERT INTO ingest_members (share_group, instance_id, joined_at, last_seen) VALUES ($1, $2, $3, $3)
             ON CONFLICT (share_group, instance_id) DO UPDATE SET joined_at = $3, last_seen = $3, left_at = NULL",
            &[&c.ingest_share_group, &c.instance_id, &shared.clock.now()],
        )
        .await?;
    Ok(())
}

/// This instance left its share group for good.
pub async fn left(shared: &Shared) -> Result<(), ServerError> {
    let c = &shared.config;
    shared
        .pool
        .get()
        .await?
        .execute(
            "UPDATE ingest_members SET left_at = now() WHERE share_group = $1 AND instance_id = $2",
            &[&c.ingest_share_group, &c.instance_id],
        )
        .await?;
    Ok(())
}

/// Refreshes this instance's `last_seen` (while its ingest is subscribed) and returns the
/// other members of its group that look stale, which it also records in the metrics and logs
/// when they are new.
pub async fn heartbeat(shared: &Shared) -> Result<Vec<String>, ServerError> {
    let c = &shared.config;
    // Every instance writes and compares `last_seen` on its own injected clock (the system
    // clock in production; hosts of one deployment keep NTP time).
    let now = shared.clock.now();
    let conn = shared.pool.get().await?;
    if shared.metrics.ingest_health().connected {
        conn.execute(
            "UPDATE ingest_members SET last_seen = $3 WHERE share_group = $1 AND instance_id = $2",
            &[&c.ingest_share_group, &c.instance_id, &now],
        )
        .await?;
    }
    let after_s = c.stale_member_after.as_secs_f64();
    let stale: Vec<String> = conn
        .query(
            "SELECT instance_id FROM ingest_members WHERE share_group = $1 AND instance_id <> $2
             AND left_at IS NULL AND last_seen < $4::timestamptz - make_interval(secs => $3) ORDER BY instance_id",
            &[&c.ingest_share_group, &c.instance_id, &after_s, &now],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let before = shared.metrics.set_stale_members(stale.clone());
    for name in stale.iter().filter(|n| !before.contains(n)) {
        tracing::warn!(
            instance = %name,
            group = %c.ingest_share_group,
            "stale member of the ingest share group: its persistent session takes a share of the \
             telemetry that nobody stores. Restart it under the same name, or run \
             `aviary-server leave --instance {name}`"
        );
    }
    Ok(stale)
}

/// Ends `instance`'s broker session (connecting once under its ingest client id with a clean
/// session drops the session and its place in the share group; the broker discards what it
/// had queued there) and marks it left. Run only for an instance that is not running.
pub async fn forget(
    pool: &deadpool_postgres::Pool,
    config: &ServerConfig,
    instance: &str,
) -> Result<(), ServerError> {
    let mut o = config.mqtt_options(ingest_client_id(instance));
    o.set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(o, 8);
    let connected = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(ServerError::Config(format!("broker: {e}"))),
            }
        }
    })
    .await
    .map_err(|_| ServerError::Config("broker: no answer in 10 s".into()))?;
    connected?;
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(ev) = eventloop.poll().await {
            if matches!(ev, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                break;
            }
        }
    })
    .await;
    pool.get()
        .await?
        .execute(
            "UPDATE ingest_members SET left_at = now() WHERE share_group = $1 AND instance_id = $2",
            &[&config.ingest_share_group, &instance],
        )
        .await?;
    Ok(())
}
