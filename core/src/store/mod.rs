//! Local SQLite store (being written).
