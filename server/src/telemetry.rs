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

// --- validation, isolating a bad row, dead letters -----------------------------------------

/// Longest `status` the schema stores (`VARCHAR(50)`, counted in characters).
pub const STATUS_MAX_CHARS: usize = 50;

/// Checks every stored field of a sample against the schema and physical ranges, so a message
/// that PostgreSQL would refuse (and with it the whole batch) never reaches it. The error
/// names the field. (Sample times are checked against the clock by the ingest.)
pub fn check(t: &TelemetryUpdate) -> Result<(), String> {
    let status_chars = t.status.chars().count();
    if status_chars > STATUS_MAX_CHARS {
        return Err(format!(
            "status is {status_chars} characters (at most {STATUS_MAX_CHARS})"
        ));
    }
    if t.status.contains('\0') {
        return Err("status contains a NUL byte".into());
    }
    let ranges: [(&str, f64, f64, f64); 7] = [
        ("position.lat", t.position.lat, -90.0, 90.0),
        ("position.lon", t.position.lon, -180.0, 180.0),
        (
            "position.altitude",
            t.position.altitude,
            -1_000.0,
            100_000.0,
        ),
        ("velocity.speed", t.velocity.speed, 0.0, 1_000.0),
        ("velocity.heading", t.velocity.heading, -360.0, 360.0),
        ("battery", t.battery, 0.0, 100.0),
        ("progress", t.progress, 0.0, 100.0),
    ];
    for (field, v, lo, hi) in ranges {
        if !v.is_finite() {
            return Err(format!("{field} is not a finite number"));
        }
        if !(lo..=hi).contains(&v) {
            return Err(format!("{field} = {v} is outside {lo}..={hi}"));
        }
    }
    Ok(())
}

/// Whether a write failed because of the rows themselves (SQLSTATE classes 22 data exception,
/// 23 integrity violation, 54 program limit) rather than the database being unreachable: such
/// a batch is split to find the row, not retried.
pub fn is_data_error(e: &ServerError) -> bool {
    let ServerError::Db(e) = e else {
        return false;
    };
    e.code().is_some_and(|c| {
        ["22", "23", "54"]
            .iter()
            .any(|class| c.code().starts_with(class))
    })
}

/// A database error in words: PostgreSQL's own message and SQLSTATE where there is one
/// (`tokio_postgres::Error`'s `Display` says only "db error").
pub fn describe(e: &ServerError) -> String {
    match e {
        ServerError::Db(db) => db.as_db_error().map_or_else(
            || db.to_string(),
            |d| format!("{} (SQLSTATE {})", d.message(), d.code().code()),
        ),
        other => other.to_string(),
    }
}

/// What [`write_isolating`] did.
#[derive(Debug, Default, PartialEq)]
pub struct Written {
    /// Rows inserted (duplicates of stored rows are not counted).
    pub inserted: u64,
    /// Rows the database refused, by index into the batch, with its reason.
    pub refused: Vec<(usize, String)>,
}

/// [`write_batch`], splitting a batch the database refuses for its data until the refused rows
/// are isolated: every other row is stored. Fails only when the database itself fails (the
/// caller retries the whole batch; rows already stored are ignored as duplicates).
pub async fn write_isolating(
    client: &mut deadpool_postgres::Object,
    parts: &Partitions,
    rows: &[Row],
) -> Result<Written, ServerError> {
    let mut out = Written::default();
    let mut todo = vec![(0, rows.len())];
    while let Some((a, b)) = todo.pop() {
        match write_batch(client, parts, &rows[a..b]).await {
            Ok(n) => out.inserted += n,
            Err(e) if is_data_error(&e) => {
                if b - a == 1 {
                    out.refused.push((a, describe(&e)));
                } else {
                    let mid = a + (b - a) / 2;
                    todo.push((mid, b));
                    todo.push((a, mid));
                }
            }
            Err(e) => return Err(e),
        }
    }
    out.refused.sort_by_key(|(i, _)| *i);
    Ok(out)
}

/// Bytes of a dead letter's payload that are kept.
pub const DEAD_LETTER_PREFIX_BYTES: usize = 256;

/// A message the ingest could not store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The drone its topic names, if it names one.
    pub drone: Option<DroneId>,
    /// The MQTT topic.
    pub topic: String,
    /// The payload's first [`DEAD_LETTER_PREFIX_BYTES`] bytes.
    pub payload_prefix: Vec<u8>,
    /// The payload's length.
    pub payload_bytes: usize,
    /// Why it was not stored.
    pub reason: String,
}

impl DeadLetter {
    /// A dead letter for `payload` received on `topic`.
    pub fn new(drone: Option<DroneId>, topic: &str, payload: &[u8], reason: String) -> Self {
        Self {
            drone,
            topic: topic.to_owned(),
            payload_prefix: payload[..payload.len().min(DEAD_LETTER_PREFIX_BYTES)].to_vec(),
            payload_bytes: payload.len(),
            reason,
        }
    }
}

/// Text PostgreSQL accepts in a `TEXT` column: no NUL, bounded.
fn storable(s: &str, max_chars: usize) -> String {
    s.chars()
        .take(max_chars)
        .map(|c| if c == '\0' { '\u{fffd}' } else { c })
        .collect()
}

/// Records dead letters (one statement).
pub async fn record_dead_letters<C: GenericClient>(
    client: &C,
    letters: &[DeadLetter],
) -> Result<(), ServerError> {
    if letters.is_empty() {
        return Ok(());
    }
    let drones: Vec<Option<uuid::Uuid>> = letters.iter().map(|l| l.drone.map(|d| d.0)).collect();
    let topics: Vec<String> = letters.iter().map(|l| storable(&l.topic, 512)).collect();
    let payloads: Vec<&[u8]> = letters
        .iter()
        .map(|l| l.payload_prefix.as_slice())
        .collect();
    let sizes: Vec<i32> = letters
        .iter()
        .map(|l| i32::try_from(l.payload_bytes).unwrap_or(i32::MAX))
        .collect();
    let reasons: Vec<String> = letters.iter().map(|l| storable(&l.reason, 1000)).collect();
    client
        .execute(
            "INSERT INTO ingest_dead_letters (drone_id, topic, payload_prefix, payload_bytes, reason)
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::int[], $5::text[])",
            &[&drones, &topics, &payloads, &sizes, &reasons],
        )
        .await?;
    Ok(())
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
