//! SQL fragments the store's query files share (kept apart so `queries` and `results` do not
//! import each other).

use aviary_core::mission::MissionStatus;

/// `'planned','in_progress',…` for an `IN (…)` clause: the given statuses, or every status but
/// `deleted` when none is given. Status names are our own constants, never user text.
pub(super) fn status_sql_list(statuses: &[MissionStatus]) -> String {
    let names: Vec<&str> = if statuses.is_empty() {
        MissionStatus::ALL
            .iter()
            .filter(|s| **s != MissionStatus::Deleted)
            .map(|s| s.as_str())
            .collect()
    } else {
        statuses.iter().map(|s| s.as_str()).collect()
    };
    names
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",")
}

/// SQLite `LIMIT` for a row limit where 0 means none.
pub(super) fn sql_limit(limit: usize) -> i64 {
    if limit == 0 {
        -1
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    }
}
