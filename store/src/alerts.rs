//! The operator's alerts (schema v8): each alert the desktop raises and its acknowledgement, so
//! an open alert is still on the Monitor after a restart and the alert history can be read
//! back page by page. Kind and severity are the app's stable codes (`link_lost`, `critical`);
//! the store does not interpret them beyond filtering. Retention deletes alerts with the
//! telemetry (see [`crate::StoreOptions::telemetry_retention`]).

use super::{Store, StoreError};
use aviary_core::model::{DroneId, MissionId};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

fn us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_us(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(v).unwrap_or_default()
}

/// One alert as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAlert {
    /// Its id: the app's alert id, unique within the file.
    pub id: u64,
    /// The drone it is about, if any.
    pub drone: Option<DroneId>,
    /// The app's code for its kind (`link_lost`, `vehicle_fault`, …).
    pub kind: String,
    /// The app's code for its severity (`info`, `warning`, `critical`).
    pub severity: String,
    /// Its text.
    pub message: String,
    /// When it was raised.
    pub raised_at: DateTime<Utc>,
    /// When the operator acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Who acknowledged it (the operator's name), when known.
    pub acknowledged_by: Option<String>,
    /// The mission its drone was flying when it was raised, if any.
    pub mission: Option<MissionId>,
}

/// Which alerts the history lists: every one when both are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Only this severity code.
    pub severity: Option<String>,
    /// Only this drone's alerts.
    pub drone: Option<DroneId>,
}

/// One page of the alert history, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertPage {
    /// The alerts on the page, newest first.
    pub alerts: Vec<StoredAlert>,
    /// How many alerts match the filter in all.
    pub total: usize,
}

const COLUMNS: &str = "alert_id, drone_id, kind, severity, message, raised_at, acknowledged_at, \
                       acknowledged_by, mission_id";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAlert> {
    Ok(StoredAlert {
        id: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
        drone: r.get::<_, Option<Uuid>>(1)?.map(DroneId),
        kind: r.get(2)?,
        severity: r.get(3)?,
        message: r.get(4)?,
        raised_at: from_us(r.get(5)?),
        acknowledged_at: r.get::<_, Option<i64>>(6)?.map(from_us),
        acknowledged_by: r.get(7)?,
        mission: r.get::<_, Option<Uuid>>(8)?.map(MissionId),
    })
}

fn sql_id(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

impl Store {
    /// Records a raised alert (with its acknowledgement, when it was acknowledged before it was
    /// written). Writing the same id again replaces the row.
    pub fn insert_alert(&self, alert: &StoredAlert) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO alerts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))
            .and_then(|mut stmt| {
                stmt.execute(params![
                    sql_id(alert.id),
                    alert.drone.map(|d| d.0),
                    alert.kind,
                    alert.severity,
                    alert.message,
                    us(alert.raised_at),
                    alert.acknowledged_at.map(us),
                    alert.acknowledged_by,
                    alert.mission.map(|m| m.0),
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Marks the open alerts among `ids` acknowledged at `at` by `by`, in one transaction;
    /// returns how many changed (an alert already acknowledged keeps its first
    /// acknowledgement).
    pub fn acknowledge_alerts(
        &self,
        ids: &[u64],
        at: DateTime<Utc>,
        by: Option<&str>,
    ) -> Result<usize, StoreError> {
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )
        .map_err(|e| self.err(e))?;
        let mut changed = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE alerts SET acknowledged_at = ?2, acknowledged_by = ?3
                     WHERE alert_id = ?1 AND acknowledged_at IS NULL",
                )
                .map_err(|e| self.err(e))?;
            for &id in ids {
                changed += stmt
                    .execute(params![sql_id(id), us(at), by])
                    .map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(changed)
    }

    /// The alerts the Monitor shows again after a restart: every open one, and those raised at
    /// or after `recent_since`; oldest first (the order they were raised in).
    pub fn alerts_to_restore(
        &self,
        recent_since: DateTime<Utc>,
    ) -> Result<Vec<StoredAlert>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM alerts
                 WHERE acknowledged_at IS NULL OR raised_at >= ?1
                 ORDER BY raised_at, alert_id"
            ))
            .map_err(|e| self.err(e))?;
        stmt.query_map([us(recent_since)], row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    /// The highest alert id in the file (0 when there is none), so new alerts continue after it.
    pub fn max_alert_id(&self) -> Result<u64, StoreError> {
        let max: Option<i64> = self
            .conn
            .query_row("SELECT max(alert_id) FROM alerts", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?
            .flatten();
        Ok(max.and_then(|m| u64::try_from(m).ok()).unwrap_or(0))
    }

    /// Page `page` (from 0) of the alerts matching `filter`, `page_size` per page, newest
    /// first, with the number of matches.
    pub fn alert_history(
        &self,
        filter: &AlertFilter,
        page: usize,
        page_size: usize,
    ) -> Result<AlertPage, StoreError> {
        let severity = filter.severity.as_deref();
        let drone = filter.drone.map(|d| d.0);
        let total: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM alerts
                 WHERE (?1 IS NULL OR severity = ?1) AND (?2 IS NULL OR drone_id = ?2)",
            )
            .and_then(|mut stmt| stmt.query_row(params![severity, drone], |r| r.get(0)))
            .map_err(|e| self.err(e))?;
        let limit = i64::try_from(page_size.max(1)).unwrap_or(i64::MAX);
        let offset = i64::try_from(page)
            .unwrap_or(i64::MAX)
            .saturating_mul(limit);
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM alerts
                 WHERE (?1 IS NULL OR severity = ?1) AND (?2 IS NULL OR drone_id = ?2)
                 ORDER BY raised_at DESC, alert_id DESC LIMIT ?3 OFFSET ?4"
            ))
            .map_err(|e| self.err(e))?;
        let alerts = stmt
            .query_map(params![severity, drone, limit, offset], row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(AlertPage {
            alerts,
            total: usize::try_from(total).unwrap_or(0),
        })
    }
}
