//! The hash-chained audit log. Every command and change appends a row whose hash covers the
//! previous row's hash and the row's own fields (sequence number included):
//!
//! `hash = sha256(prev_hash | seq | time | org | user | action | target | detail)`
//!
//! [`verify`] walks the chain: an edited row breaks its own hash, a deleted row leaves a gap
//! in `seq` and a broken `prev_hash`, reordered rows break the `prev_hash` links, and a deleted
//! tail no longer matches `audit_head`, which is written in the same transaction as each row.
//! Appends are serialised by a transaction-scoped advisory lock.

use aviary_core::{OrgId, UserId};
use chrono::{DateTime, SubsecRound, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ServerError;

/// Hash of the (empty) chain before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When.
    pub time: DateTime<Utc>,
    /// Organisation concerned.
    pub org_id: Option<OrgId>,
    /// Who.
    pub user_id: Option<UserId>,
    /// What (`mission.start`, `user.create`, ...).
    pub action: String,
    /// On what (`mission:<id>`).
    pub target: String,
    /// Details (JSON text).
    pub detail: String,
    /// Previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

/// The chain hash of a row.
#[expect(
    clippy::too_many_arguments,
    reason = "the hash covers exactly the stored columns, each named at the call site"
)]
pub fn row_hash(
    prev_hash: &str,
    seq: i64,
    time: DateTime<Utc>,
    org: Option<OrgId>,
    user: Option<UserId>,
    action: &str,
    target: &str,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    let org = org.map(|o| o.to_string()).unwrap_or_default();
    let user = user.map(|u| u.to_string()).unwrap_or_default();
    // Length-prefixed fields: no two different rows serialise to the same bytes.
    for field in [
        prev_hash,
        &seq.to_string(),
        &time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        &org,
        &user,
        action,
        target,
        detail,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends a row inside the caller's transaction (`client` must be in one).
pub async fn append<C: GenericClient>(
    client: &C,
    org: Option<OrgId>,
    user: Option<UserId>,
    action: &str,
    target: &str,
    detail: &serde_json::Value,
) -> Result<i64, ServerError> {
    client
        .execute(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.audit_log'))",
            &[],
        )
        .await?;
    let head = client
        .query_opt("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
        .await?;
    let (prev_seq, prev_hash): (i64, String) =
        head.map_or((0, GENESIS.to_owned()), |r| (r.get(0), r.get(1)));
    let seq = prev_seq + 1;
    // PostgreSQL keeps microseconds: hash exactly what is stored.
    let time = Utc::now().trunc_subsecs(6);
    let detail = detail.to_string();
    let hash = row_hash(&prev_hash, seq, time, org, user, action, target, &detail);
    client
        .execute(
            "INSERT INTO audit_log (seq, time, org_id, user_id, action, target, detail, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[&seq, &time, &org.map(|o| o.0), &user.map(|u| u.0), &action, &target, &detail, &prev_hash, &hash],
        )
        .await?;
    client
        .execute(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash",
            &[&seq, &hash],
        )
        .await?;
    Ok(seq)
}

/// Result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Rows checked.
    pub rows: i64,
    /// True when the chain is intact.
    pub ok: bool,
    /// Every problem found, in chain order.
    pub problems: Vec<String>,
}

/// Reads the rows of an organisation (`None`: all), oldest first.
pub async fn list<C: GenericClient>(
    client: &C,
    org: Option<OrgId>,
    limit: i64,
) -> Result<Vec<AuditRow>, ServerError> {
    let rows = client
        .query(
            "SELECT seq, time, org_id, user_id, action, target, detail, prev_hash, hash FROM audit_log
             WHERE $1::uuid IS NULL OR org_id = $1 ORDER BY seq LIMIT $2",
            &[&org.map(|o| o.0), &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| AuditRow {
            seq: r.get(0),
            time: r.get(1),
            org_id: r.get::<_, Option<uuid::Uuid>>(2).map(OrgId),
            user_id: r.get::<_, Option<uuid::Uuid>>(3).map(UserId),
            action: r.get(4),
            target: r.get(5),
            detail: r.get(6),
            prev_hash: r.get(7),
            hash: r.get(8),
        })
        .collect())
}

/// Verifies the whole chain (it spans organisations, so it is checked whole).
pub async fn verify<C: GenericClient>(client: &C) -> Result<Verification, ServerError> {
    let rows = list(client, None, i64::MAX).await?;
    Ok(verify_rows(
        &rows,
        client
            .query_opt("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
            .await?
            .map(|r| (r.get(0), r.get(1))),
    ))
}

/// The chain check on rows already read, oldest first by `seq`, against the stored head.
pub fn verify_rows(rows: &[AuditRow], head: Option<(i64, String)>) -> Verification {
    let mut problems = Vec::new();
    let mut prev = GENESIS.to_owned();
    let mut expected_seq = 1;
    for r in rows {
        if r.seq != expected_seq {
            problems.push(format!(
                "row {}: expected sequence number {expected_seq} (a row was deleted or moved)",
                r.seq
            ));
        }
        if r.prev_hash != prev {
            problems.push(format!(
                "row {}: does not link to the previous row (deleted or reordered rows)",
                r.seq
            ));
        }
        let h = row_hash(
            &r.prev_hash,
            r.seq,
            r.time,
            r.org_id,
            r.user_id,
            &r.action,
            &r.target,
            &r.detail,
        );
        if h != r.hash {
            problems.push(format!(
                "row {}: content does not match its hash (edited)",
                r.seq
            ));
        }
        prev.clone_from(&r.hash);
        expected_seq = r.seq + 1;
    }
    let last = rows.last().map(|r| (r.seq, r.hash.clone()));
    match (head, last) {
        (None, None) => {}
        (Some(h), Some(l)) if h == l => {}
        (h, l) => problems.push(format!(
            "chain head {:?} does not match the last row {:?} (rows deleted at the end)",
            h.map(|x| x.0),
            l.map(|x| x.0)
        )),
    }
    Verification {
        rows: rows.len() as i64,
        ok: problems.is_empty(),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRow> {
        let mut prev = GENESIS.to_owned();
        let t0 = DateTime::from_timestamp(1_800_000_000, 123_456_000).unwrap_or_default();
        (1..=n)
            .map(|seq| {
                let time = t0 + chrono::Duration::seconds(seq);
                let hash = row_hash(&prev, seq, time, None, None, "a", &format!("t{seq}"), "{}");
                let r = AuditRow {
                    seq,
                    time,
                    org_id: None,
                    user_id: None,
                    action: "a".into(),
                    target: format!("t{seq}"),
                    detail: "{}".into(),
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                r
            })
            .collect()
    }

    fn head(rows: &[AuditRow]) -> Option<(i64, String)> {
        rows.last().map(|r| (r.seq, r.hash.clone()))
    }

    #[test]
    fn intact_chain_verifies() {
        let rows = chain(5);
        let v = verify_rows(&rows, head(&rows));
        assert!(v.ok, "{v:?}");
        assert_eq!(v.rows, 5);
    }

    #[test]
    fn edits_deletions_reorders_and_truncation_are_detected() {
        let rows = chain(5);
        let h = head(&rows);
        let mut edited = rows.clone();
        edited[2].detail = "{\"forged\":true}".into();
        assert!(
            verify_rows(&edited, h.clone())
                .problems
                .iter()
                .any(|p| p.contains("row 3") && p.contains("edited"))
        );
        let mut deleted = rows.clone();
        deleted.remove(1);
        assert!(!verify_rows(&deleted, h.clone()).ok);
        let mut swapped = rows.clone();
        swapped.swap(1, 2);
        let (a, b) = (swapped[1].seq, swapped[2].seq);
        swapped[1].seq = b;
        swapped[2].seq = a;
        assert!(!verify_rows(&swapped, h.clone()).ok);
        let truncated = rows[..4].to_vec();
        let v = verify_rows(&truncated, h);
        assert!(
            v.problems.iter().any(|p| p.contains("deleted at the end")),
            "{v:?}"
        );
    }
}
