//! Store errors. Every variant that concerns a file names it.

use std::path::{Path, PathBuf};

/// What went wrong in the local store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The OS gave no data directory (no home directory).
    #[error("cannot find the user's data directory to keep the Aviary database in")]
    NoDataDir,
    /// A filesystem operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file exists but is not an SQLite database.
    #[error(
        "{path} is not an SQLite database (it was left untouched; move it away or choose another path)"
    )]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The file is an SQLite database that belongs to another program.
    #[error(
        "{path} is an SQLite database of another program (application_id {application_id:#x}, {tables} tables); it was left untouched"
    )]
    Foreign {
        /// The file.
        path: PathBuf,
        /// Its `PRAGMA application_id`.
        application_id: i64,
        /// How many tables it has.
        tables: i64,
    },
    /// The file was written by a newer Aviary.
    #[error(
        "{path} has schema version {found}, newer than this Aviary understands ({supported}); upgrade Aviary"
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// Ours.
        supported: i64,
    },
    /// The database is damaged.
    #[error("{path} is damaged: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// The disk (or the configured size limit) is full.
    #[error("{path}: the disk or the database size limit is full; the write was not stored")]
    DiskFull {
        /// The file.
        path: PathBuf,
    },
    /// The file or its directory cannot be written.
    #[error("{path} cannot be written (read-only file or directory)")]
    ReadOnly {
        /// The file.
        path: PathBuf,
    },
    /// The file cannot be opened or created.
    #[error("cannot open or create {path}: {detail}")]
    CannotOpen {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// Any other SQLite failure.
    #[error("{path}: {source}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A stored value could not be decoded (e.g. an unknown status string).
    #[error("{path}: stored {what} is invalid: {detail}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// Which field.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// A record that was asked for does not exist.
    #[error("no {kind} with id {id}")]
    NotFound {
        /// Record kind ("mission", "drone", ...).
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// A unique value is taken (e.g. a drone serial number).
    #[error("{what} {value:?} is already in use")]
    Duplicate {
        /// Which field.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// An imported mission came with another mission's result.
    #[error(
        "the result of mission {result} was given with mission {mission}; nothing was imported"
    )]
    ImportMismatch {
        /// The mission imported.
        mission: String,
        /// The mission its result names.
        result: String,
    },
    /// An illegal mission transition.
    #[error(transparent)]
    Transition(#[from] aviary_core::mission::TransitionError),
    /// The telemetry writer thread is gone.
    #[error("the telemetry writer for {path} has stopped")]
    WriterStopped {
        /// The file.
        path: PathBuf,
    },
}

impl StoreError {
    /// Classifies an SQLite error for `path`.
    pub(crate) fn from_sqlite(path: &Path, e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let path = path.to_path_buf();
        match e.sqlite_error_code() {
            Some(C::NotADatabase) => Self::NotADatabase { path },
            Some(C::DatabaseCorrupt) => Self::Corrupt {
                path,
                detail: e.to_string(),
            },
            Some(C::DiskFull) => Self::DiskFull { path },
            Some(C::ReadOnly) => Self::ReadOnly { path },
            Some(C::CannotOpen | C::PermissionDenied) => Self::CannotOpen {
                path,
                detail: e.to_string(),
            },
            _ => Self::Sqlite { path, source: e },
        }
    }

    /// True when the error means the disk or size limit is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Self::DiskFull { .. })
    }
}
