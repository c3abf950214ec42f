//! Telemetry in PostgreSQL: daily partitions of `drone_telemetry` created on demand, batched
//! writes through binary `COPY` into a temporary staging table (then `INSERT ... ON CONFLICT
//! DO NOTHING`, so a QoS 1 redelivery never doubles a row), the `drone_latest` upsert, the
//! retention that drops whole partitions, and the read queries.

use std::collections::HashSet;
use std::sync::Mutex;

use aviary_core::wire::{TelemetryUpdate, WirePosition, WireVelocity};
use aviary_core::{DroneId, MissionId};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use futures_util::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

use crate::error::ServerError;

/// Partition name for a day.
pub fn partition_name(day: NaiveDate) -> String {
    format!("drone_telemetry_p{}", day.format("%Y%m%d"))
}

/// Day of a partition from its name.
pub fn partition_day(name: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(name.strip_prefix("drone_telemetry_p")?, "%Y%m%d").ok()
}

/// Days whose partition is known to exist (per server instance).
#[derive(Debug, Default)]
pub struct Partitions {
    known: Mutex<HashSet<NaiveDate>>,
}

impl Partitions {
    /// Creates the partition of each day in `days` unless known to exist.
    pub async fn ensure<C: GenericClient>(
        &self,
        client: &C,
        days: &HashSet<NaiveDate>,
    ) -> Result<(), ServerError> {
        let missing: Vec<NaiveDate> = {
            let known = self
                .known
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            days.iter()
                .filter(|d| !known.contains(d))
                .copied()
                .collect()
        };
        for day in missing {
            let next = day.succ_opt().unwrap_or(day);
            let sql = format!(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF drone_telemetry FOR VALUES FROM ('{} 00:00:00+00') TO ('{} 00:00:00+00')",
                partition_name(day),
                day.format("%Y-%m-%d"),
                next.format("%Y-%m-%d")
            );
            if let Err(e) = client.batch_execute(&sql).await {
                // Another instance created it between our check and our CREATE.
                let raced = e.code().is_some_and(|c| {
                    *c == tokio_postgres::error::SqlState::DUPLICATE_TABLE
                        || *c == tokio_postgres::error::SqlState::UNIQUE_VIOLATION
                });
                if !raced {
                    return Err(e.into());
                }
            }
            self.known
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(day);
        }
        Ok(())
    }

    /// Forgets a day (after its partition is dropped).
    pub fn forget(&self, day: NaiveDate) {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&day);
    }
}

/// One telemetry row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The message.
    pub t: TelemetryUpdate,
    /// When the server received it.
    pub received_at: DateTime<Utc>,
}

const COLUMNS: &str = "time, drone_id, mission_id, lat, lon, altitude, speed, heading, battery_level, status, progress, received_at";

/// Writes a batch in one transaction: staging COPY, de-duplicating insert, latest upsert.
pub async fn write_batch(
    client: &mut deadpool_postgres::Object,
    parts: &Partitions,
    rows: &[Row],
) -> Result<u64, ServerError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let days: HashSet<NaiveDate> = rows.iter().map(|r| r.t.timestamp.date_naive()).collect();
    parts.ensure(&*client, &days).await?;
    let tx = client.transaction().await?;
    // Telemetry commits do not wait for the WAL flush: under a loaded disk an fsync per batch
    // caps ingest at a few hundred rows a second. A PostgreSQL crash can lose the last
    // ~3 × wal_writer_delay of commits (never corrupt them); a server or broker crash loses
    // nothing, since messages are acknowledged to the broker only after the commit.
    tx.batch_execute("SET LOCAL synchronous_commit = off")
        .await?;
    tx.batch_execute("CREATE TEMP TABLE IF NOT EXISTS telemetry_stage (LIKE drone_telemetry) ON COMMIT DELETE ROWS").await?;
    let sink = tx
        .copy_in(&format!(
            "COPY telemetry_stage ({COLUMNS}) FROM STDIN BINARY"
        ))
        .await?;
    let types = [
        Type::TIMESTAMPTZ,
        Type::UUID,
        Type::UUID,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::VARCHAR,
        Type::FLOAT8,
        Type::TIMESTAMPTZ,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for r in rows {
        let t = &r.t;
        let mission = t.mission_id.map(|m| m.0);
        writer
            .as_mut()
            .write(&[
                &t.timestamp,
                &t.drone_id.0,
                &mission,
                &t.position.lat,
                &t.position.lon,
                &t.position.altitude,
                &t.velocity.speed,
                &t.velocity.heading,
                &t.battery,
                &t.status,
                &t.progress,
                &r.received_at,
            ])
            .await?;
    }
    writer.finish().await?;
    let inserted = tx
        .execute(&format!("INSERT INTO drone_telemetry ({COLUMNS}) SELECT {COLUMNS} FROM telemetry_stage ON CONFLICT DO NOTHING"), &[])
        .await?;
    tx.execute(
        "INSERT INTO drone_latest (drone_id, time, mission_id, lat, lon, altitude, speed, heading, battery_level, status, progress)
         SELECT DISTINCT ON (drone_id) drone_id, time, mission_id, lat, lon, altitude, speed, heading, battery_level, status, progress
         FROM telemetry_stage ORDER BY drone_id, time DESC
         ON CONFLICT (drone_id) DO UPDATE SET time = EXCLUDED.time, mission_id = EXCLUDED.mission_id, lat = EXCLUDED.lat,
             lon = EXCLUDED.lon, altitude = EXCLUDED.altitude, speed = EXCLUDED.speed, heading = EXCLUDED.heading,
             battery_level = EXCLUDED.battery_level, status = EXCLUDED.status, progress = EXCLUDED.progress
         WHERE drone_latest.time < EXCLUDED.time",
        &[],
    )
    .await?;
    tx.commit().await?;
    Ok(inserted)
}

/// Drops every partition whose whole day is older than `now - retention`. Returns their names.
pub async fn drop_expired<C: GenericClient>(
    client: &C,
    parts: &Partitions,
    now: DateTime<Utc>,
    retention: Duration,
) -> Result<Vec<String>, ServerError> {
    let cutoff = (now - retention).date_naive();
    let names: Vec<String> = client
        .query(
            "SELECT c.relname::text FROM pg_inherits i
             JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
             JOIN pg_namespace n ON n.oid = p.relnamespace
             WHERE p.relname = 'drone_telemetry' AND n.nspname = current_schema()",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut dropped = Vec::new();
    for name in names {
        // A partition covers [day, day + 1): it is expired once day + 1 <= cutoff.
        if let Some(day) = partition_day(&name)
            && day.succ_opt().is_some_and(|end| end <= cutoff)
        {
            client
                .batch_execute(&format!("DROP TABLE IF EXISTS {name}"))
                .await?;
            parts.forget(day);
            dropped.push(name);
        }
    }
    Ok(dropped)
}

fn to_update(r: &tokio_postgres::Row) -> TelemetryUpdate {
    TelemetryUpdate {
        kind: "telemetry_update".into(),
        timestamp: r.get("time"),
        drone_id: DroneId(r.get("drone_id")),
        mission_id: r.get::<_, Option<uuid::Uuid>>("mission_id").map(MissionId),
        position: WirePosition {
            lat: r.get("lat"),
            lon: r.get("lon"),
            altitude: r.get("altitude"),
        },
        velocity: WireVelocity {
            speed: r.get("speed"),
            heading: r.get("heading"),
        },
        battery: r.get("battery_level"),
        status: r.get("status"),
        progress: r.get("progress"),
    }
}

/// Latest sample of a drone.
pub async fn latest<C: GenericClient>(
    client: &C,
    drone: DroneId,
) -> Result<Option<TelemetryUpdate>, ServerError> {
    Ok(client
        .query_opt(
            "SELECT drone_id, time, mission_id, lat, lon, altitude, speed, heading, battery_level, status, progress
             FROM drone_latest WHERE drone_id = $1",
            &[&drone.0],
        )
        .await?
        .as_ref()
        .map(to_update))
}

/// A mission's samples after `since`, oldest first, at most `limit`.
pub async fn mission_samples<C: GenericClient>(
    client: &C,
    mission: MissionId,
    since: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<TelemetryUpdate>, ServerError> {
    let rows = client
        .query(
            "SELECT drone_id, time, mission_id, lat, lon, altitude, speed, heading, battery_level, status, progress
             FROM drone_telemetry WHERE mission_id = $1 AND ($2::timestamptz IS NULL OR time > $2)
             ORDER BY time LIMIT $3",
            &[&mission.0, &since, &limit],
        )
        .await?;
    Ok(rows.iter().map(to_update).collect())
}

/// A mission's samples thinned to one per `step_ms` (first of each step), for playback.
pub async fn mission_replay<C: GenericClient>(
    client: &C,
    mission: MissionId,
    step_ms: i64,
    limit: i64,
) -> Result<Vec<TelemetryUpdate>, ServerError> {
    let step = format!("{} milliseconds", step_ms.max(1));
    let rows = client
        .query(
            "SELECT DISTINCT ON (date_bin($2::text::interval, time, TIMESTAMPTZ '2000-01-01'))
                drone_id, time, mission_id, lat, lon, altitude, speed, heading, battery_level, status, progress
             FROM drone_telemetry WHERE mission_id = $1
             ORDER BY date_bin($2::text::interval, time, TIMESTAMPTZ '2000-01-01'), time LIMIT $3",
            &[&mission.0, &step, &limit],
        )
        .await?;
    Ok(rows.iter().map(to_update).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_round_trip() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default();
        assert_eq!(partition_name(d), "drone_telemetry_p20261126");
        assert_eq!(partition_day(&partition_name(d)), Some(d));
        assert_eq!(partition_day("drone_telemetry"), None);
    }
}
