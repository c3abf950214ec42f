//! `aviary-store` is Aviary's local SQLite store: the embedded default, a single file in the
//! user's data directory. It is the only crate that uses `rusqlite` and `directories`; the
//! model it stores (missions, drones, telemetry, transitions) comes from `aviary-core`.
//!
//! Principal types: [`Store`], [`StoreOptions`], [`StoreError`], [`TelemetryWriter`].
//!
//! * Versioned migrations ([`schema`]) run on open; `PRAGMA application_id` marks the file as
//!   Aviary's so a foreign or corrupt file at the path is reported, never overwritten.
//! * WAL mode. The main connection (missions, commands, audit, fleet) runs with
//!   `synchronous=FULL`; telemetry is written by a [`TelemetryWriter`] on its own named thread
//!   and connection with `synchronous=NORMAL`, fed by a bounded channel, in batched
//!   transactions. Callers never block on disk: a full queue or a full disk drops the sample
//!   and counts it in [`TelemetryStats`].
//! * Retention deletes telemetry and alerts older than [`StoreOptions::telemetry_retention`]
//!   in the background (default two years, as in the design).
//! * The operator's alerts and their acknowledgements ([`StoredAlert`], schema v8) are kept so
//!   the desktop shows the open ones again after a restart and pages through the history.
//! * Ending a mission (completed, aborted, failed) writes its [`MissionResult`] in the same
//!   transaction, computed from its committed telemetry; the reports complete it (coverage,
//!   photos) and read the history through [`Store::mission_records`]; the organisation
//!   report reads [`Store::mission_figures`], one table kept in step by triggers (schema v5).

mod alerts;
mod error;
mod local;
mod queries;
mod results;
mod schema;
mod sql;
mod thin;
mod transitions;
mod writer;

pub use alerts::{AlertFilter, AlertPage, StoredAlert};
pub use error::StoreError;
pub use local::{LocalSchedule, MissionWeather, StoredRun};
pub use queries::{MissionFilter, TelemetryRange};
pub use results::{
    CommandAck, CommandEntry, ImportedMission, MissionFigures, MissionHistoryEntry, MissionResult,
    RecordFilter, ResultSource,
};
pub use schema::SCHEMA_VERSION;
pub use thin::{Thinner, is_flying};
pub use writer::{TelemetryStats, TelemetryWriter};

use aviary_core::clock::Clock;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How a [`Store`] is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Capacity of the telemetry queue (samples). A full queue drops and counts.
    pub telemetry_queue_capacity: usize,
    /// Most samples written in one transaction.
    pub telemetry_batch_max: usize,
    /// Under a fleet's load (a batch of over a thousand samples already queued) the writer
    /// waits up to this long for more before it commits: fewer, larger transactions write
    /// far fewer pages (5,000 drones at 10 Hz overflowed the queue committing as fast as it
    /// could). A flush is answered at once. Light loads are written as they come.
    pub telemetry_linger: std::time::Duration,
    /// Telemetry (and alerts) older than this is deleted in the background.
    pub telemetry_retention: chrono::Duration,
    /// How often the writer runs retention.
    pub retention_interval: chrono::Duration,
    /// Upper bound on the database size in pages (`PRAGMA max_page_count`), for a storage
    /// quota; `None` for no limit beyond the disk.
    pub max_page_count: Option<u64>,
    /// A drone on the ground whose telemetry does not change is stored once per this interval
    /// (zero: every sample); in the air every sample is stored ([`Thinner`]).
    pub grounded_sample_interval: chrono::Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            telemetry_queue_capacity: 131_072,
            telemetry_batch_max: 65_536,
            telemetry_linger: std::time::Duration::from_millis(500),
            telemetry_retention: chrono::Duration::days(730),
            retention_interval: chrono::Duration::hours(1),
            max_page_count: None,
            grounded_sample_interval: chrono::Duration::zero(),
        }
    }
}

/// Telemetry kept by default, days: the design's two years of mission history for audits.
pub const DEFAULT_RETENTION_DAYS: u32 = 730;

impl StoreOptions {
    /// The desktop's and `aviary fly`'s store: [`DEFAULT_RETENTION_DAYS`] of telemetry (or
    /// `retention_days`), every sample in the air, one per 10 s from a grounded, unchanged drone.
    pub fn desktop(retention_days: u32) -> Self {
        Self {
            telemetry_retention: chrono::Duration::days(i64::from(retention_days.max(1))),
            grounded_sample_interval: chrono::Duration::seconds(10),
            ..Self::default()
        }
    }
}

/// The local store: a connection for fleet and mission data plus the telemetry writer.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    writer: TelemetryWriter,
    clock: Arc<dyn Clock>,
    options: StoreOptions,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Where the store lives by default: `<OS data dir>/aviary.db`
/// (`~/.local/share/aviary` on Linux, `%APPDATA%\Aviary\Aviary\data` on Windows,
/// `~/Library/Application Support/org.Aviary.Aviary` on macOS).
pub fn default_db_path() -> Result<PathBuf, StoreError> {
    let dirs =
        directories::ProjectDirs::from("org", "Aviary", "Aviary").ok_or(StoreError::NoDataDir)?;
    Ok(dirs.data_dir().join("aviary.db"))
}

impl Store {
    /// Opens (creating and migrating if needed) the store in the OS data directory.
    pub fn open_default(clock: Arc<dyn Clock>, options: StoreOptions) -> Result<Self, StoreError> {
        let path = default_db_path()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        Self::open(&path, clock, options)
    }

    /// Opens (creating and migrating if needed) the store at `path`.
    ///
    /// A file that is not an SQLite database, or an SQLite database that is not Aviary's, is
    /// refused with an error naming the path and is left untouched.
    pub fn open(
        path: &Path,
        clock: Arc<dyn Clock>,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let conn = open_connection(path, &options, "FULL")?;
        schema::migrate(&conn, path)?;
        let writer_conn = open_connection(path, &options, "NORMAL")?;
        let writer = TelemetryWriter::spawn(
            writer_conn,
            path.to_path_buf(),
            Arc::clone(&clock),
            &options,
        )?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            writer,
            clock,
            options,
        })
    }

    /// Opens the existing store at `path` for reading only (reports, a read-only copy): no
    /// file is created, nothing is migrated or written. A file at an older or newer schema
    /// version is refused; any write through the store fails with [`StoreError::ReadOnly`].
    pub fn open_read_only(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let options = StoreOptions::default();
        let conn = open_read_only_connection(path)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| StoreError::from_sqlite(path, e))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: path.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version < SCHEMA_VERSION {
            // An older file needs a migration, which is a write.
            return Err(StoreError::CannotOpen {
                path: path.to_path_buf(),
                detail: format!(
                    "schema version {version} is older than this Aviary's ({SCHEMA_VERSION}); \
                     open it once with write access to upgrade it"
                ),
            });
        }
        // The writer's connection is read-only too: a submitted sample or retention fails and
        // is counted, never written.
        let writer = TelemetryWriter::spawn(
            open_read_only_connection(path)?,
            path.to_path_buf(),
            Arc::clone(&clock),
            &options,
        )?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            writer,
            clock,
            options,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes the store takes on disk: the database file and its write-ahead log.
    pub fn disk_use_bytes(&self) -> u64 {
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let mut wal = self.path.as_os_str().to_owned();
        wal.push("-wal");
        size(&self.path) + size(Path::new(&wal))
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// The telemetry writer (submit samples, read loss counters, flush).
    pub fn telemetry(&self) -> &TelemetryWriter {
        &self.writer
    }

    /// The store's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// `PRAGMA integrity_check`: `Ok(())` when the file is sound.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let res: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if res == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                path: self.path.clone(),
                detail: res,
            })
        }
    }

    /// Maps an SQLite error to a [`StoreError`] that names this store's path.
    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::from_sqlite(&self.path, e)
    }
}

/// Opens one read-only connection to an existing Aviary file (no journal-mode change).
fn open_read_only_connection(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn =
        Connection::open_with_flags(path, flags).map_err(|e| StoreError::from_sqlite(path, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| StoreError::from_sqlite(path, e))?;
    schema::check_identity(&conn, path)?;
    conn.execute_batch("PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;")
        .map_err(|e| StoreError::from_sqlite(path, e))?;
    Ok(conn)
}

/// Opens one connection with the store's pragmas.
fn open_connection(
    path: &Path,
    options: &StoreOptions,
    synchronous: &str,
) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(StoreError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "directory does not exist"),
        });
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn =
        Connection::open_with_flags(path, flags).map_err(|e| StoreError::from_sqlite(path, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| StoreError::from_sqlite(path, e))?;
    // Identify the file before changing anything in it (WAL mode rewrites the header).
    schema::check_identity(&conn, path)?;
    let setup = format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = {synchronous};
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;
         PRAGMA mmap_size = 268435456;
         PRAGMA wal_autocheckpoint = 8192;"
    );
    // journal_mode returns a row; execute_batch ignores rows.
    conn.execute_batch(&setup)
        .map_err(|e| StoreError::from_sqlite(path, e))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(|e| StoreError::from_sqlite(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::ReadOnly {
            path: path.to_path_buf(),
        });
    }
    if let Some(pages) = options.max_page_count {
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
            .map_err(|e| StoreError::from_sqlite(path, e))?;
    }
    Ok(conn)
}
