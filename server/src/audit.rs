//! The keyed, hash-chained audit log. Every command, change, login and denied request appends a
//! row whose hash is an HMAC-SHA256, under a secret kept outside the database (`audit_secret`),
//! of the previous row's hash and the row's own fields (sequence number included):
//!
//! `hash = hmac(key, prev_hash | seq | time | org | user | action | target | detail)`
//!
//! Someone who can write the tables but lacks the key can neither edit a row and recompute the
//! chain after it nor append a row of their own. The chain's head is a signed [`Checkpoint`]
//! (count + head hash + HMAC) written with each row; every [`CHECKPOINT_EVERY`] rows one is
//! also kept in `audit_checkpoints` and written to the server log, outside the database.
//!
//! [`verify`] walks the chain: an edited row breaks its own hash, a deleted row leaves a gap in
//! `seq` and a broken `prev_hash`, reordered rows break the `prev_hash` links, and a deleted
//! tail no longer matches the signed head, a kept checkpoint, or a checkpoint published
//! earlier and handed back to the verifier. Rows written before the key existed (plain SHA-256,
//! `alg = 'sha256'`) are accepted only as the chain's first rows.
//! Appends are serialised by a transaction-scoped advisory lock.

use aviary_core::{OrgId, UserId};
use chrono::{DateTime, SubsecRound, Utc};
use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ServerError;

/// A signed checkpoint is also kept in `audit_checkpoints` (and logged) every this many rows.
pub const CHECKPOINT_EVERY: i64 = 100;

/// The audit chain's HMAC key.
#[derive(Clone)]
pub struct AuditKey(Vec<u8>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    /// A key from a secret of at least 32 bytes.
    pub fn new(secret: &[u8]) -> Result<Self, ServerError> {
        if secret.len() < 32 {
            return Err(ServerError::Config(
                "the audit secret must be at least 32 bytes".into(),
            ));
        }
        Ok(Self(secret.to_vec()))
    }

    /// HMAC-SHA256 of length-prefixed `fields` (no two different field lists give the same
    /// message), hex.
    fn mac(&self, fields: &[&str]) -> String {
        let mut message = Vec::new();
        for field in fields {
            message.extend_from_slice(&(field.len() as u64).to_be_bytes());
            message.extend_from_slice(field.as_bytes());
        }
        hex::encode(hmac_sha256(&self.0, &message))
    }

    /// Signs a checkpoint: the chain had `seq` rows and its last hash was `hash`.
    pub fn checkpoint(&self, seq: i64, hash: &str) -> Checkpoint {
        Checkpoint {
            seq,
            hash: hash.to_owned(),
            signature: self.mac(&["aviary-audit-checkpoint", &seq.to_string(), hash]),
        }
    }

    /// True when `c` was signed with this key.
    pub fn signed(&self, c: &Checkpoint) -> bool {
        self.checkpoint(c.seq, &c.hash).signature == c.signature
    }
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The chain's state at one point, signed: `seq` rows, the last one's `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Rows in the chain (the last row's sequence number).
    pub seq: i64,
    /// The last row's hash.
    pub hash: String,
    /// HMAC of both under the audit key.
    pub signature: String,
}

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
    /// `hmac-sha256`, or `sha256` for rows written before the chain was keyed.
    pub alg: String,
    /// Previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

/// The plain SHA-256 chain hash of a row written before the chain was keyed (`sha256`).
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

/// The keyed chain hash of a row (`hmac-sha256`).
#[expect(
    clippy::too_many_arguments,
    reason = "the hash covers exactly the stored columns, each named at the call site"
)]
pub fn row_mac(
    key: &AuditKey,
    prev_hash: &str,
    seq: i64,
    time: DateTime<Utc>,
    org: Option<OrgId>,
    user: Option<UserId>,
    action: &str,
    target: &str,
    detail: &str,
) -> String {
    let org = org.map(|o| o.to_string()).unwrap_or_default();
    let user = user.map(|u| u.to_string()).unwrap_or_default();
    key.mac(&[
        "aviary-audit-row",
        prev_hash,
        &seq.to_string(),
        &time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        &org,
        &user,
        action,
        target,
        detail,
    ])
}

/// Appends a row inside the caller's transaction (`client` must be in one) and signs the new
/// head.
pub async fn append<C: GenericClient>(
    client: &C,
    key: &AuditKey,
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
    let hash = row_mac(
        key, &prev_hash, seq, time, org, user, action, target, &detail,
    );
    client
        .execute(
            "INSERT INTO audit_log (seq, time, org_id, user_id, action, target, detail, prev_hash, hash, alg)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'hmac-sha256')",
            &[&seq, &time, &org.map(|o| o.0), &user.map(|u| u.0), &action, &target, &detail, &prev_hash, &hash],
        )
        .await?;
    let head = key.checkpoint(seq, &hash);
    client
        .execute(
            "INSERT INTO audit_head (id, seq, hash, signature) VALUES (1, $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash,
                 signature = EXCLUDED.signature",
            &[&seq, &hash, &head.signature],
        )
        .await?;
    if seq % CHECKPOINT_EVERY == 0 {
        client
            .execute(
                "INSERT INTO audit_checkpoints (seq, hash, time, signature) VALUES ($1, $2, $3, $4)",
                &[&seq, &hash, &time, &head.signature],
            )
            .await?;
        tracing::info!(
            seq,
            hash = %head.hash,
            signature = %head.signature,
            "audit checkpoint (keep it: `aviary-server audit-verify --checkpoint` checks the chain against it)"
        );
    }
    Ok(seq)
}

/// Appends one row in a transaction of its own (events that change nothing else: logins,
/// denied requests).
pub async fn record(
    pool: &deadpool_postgres::Pool,
    key: &AuditKey,
    org: Option<OrgId>,
    user: Option<UserId>,
    action: &str,
    target: &str,
    detail: &serde_json::Value,
) -> Result<i64, ServerError> {
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    let seq = append(&tx, key, org, user, action, target, detail).await?;
    tx.commit().await?;
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
    /// The signed head as verified (publish it: a later verification handed it back detects
    /// rows deleted since, even with the database's own checkpoints deleted too).
    pub checkpoint: Option<Checkpoint>,
}

/// Reads the rows of an organisation (`None`: all), oldest first.
pub async fn list<C: GenericClient>(
    client: &C,
    org: Option<OrgId>,
    limit: i64,
) -> Result<Vec<AuditRow>, ServerError> {
    let rows = client
        .query(
            "SELECT seq, time, org_id, user_id, action, target, detail, prev_hash, hash, alg FROM audit_log
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
            alg: r.get(9),
        })
        .collect())
}

/// Verifies the whole chain (it spans organisations, so it is checked whole) with its signed
/// head and kept checkpoints, and against `published` checkpoints kept elsewhere.
pub async fn verify<C: GenericClient>(
    client: &C,
    key: &AuditKey,
    published: &[Checkpoint],
) -> Result<Verification, ServerError> {
    let rows = list(client, None, i64::MAX).await?;
    let head = client
        .query_opt(
            "SELECT seq, hash, signature FROM audit_head WHERE id = 1",
            &[],
        )
        .await?
        .map(|r| Checkpoint {
            seq: r.get(0),
            hash: r.get(1),
            signature: r.get(2),
        });
    let mut checkpoints: Vec<Checkpoint> = client
        .query(
            "SELECT seq, hash, signature FROM audit_checkpoints ORDER BY seq",
            &[],
        )
        .await?
        .iter()
        .map(|r| Checkpoint {
            seq: r.get(0),
            hash: r.get(1),
            signature: r.get(2),
        })
        .collect();
    checkpoints.extend_from_slice(published);
    Ok(verify_rows(key, &rows, head, &checkpoints))
}

/// The chain check on rows already read, oldest first by `seq`, against the stored head and
/// checkpoints (kept or published).
pub fn verify_rows(
    key: &AuditKey,
    rows: &[AuditRow],
    head: Option<Checkpoint>,
    checkpoints: &[Checkpoint],
) -> Verification {
    let mut problems = Vec::new();
    let mut prev = GENESIS.to_owned();
    let mut expected_seq = 1;
    let mut keyed = false;
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
        let h = match r.alg.as_str() {
            "hmac-sha256" => {
                keyed = true;
                row_mac(
                    key,
                    &r.prev_hash,
                    r.seq,
                    r.time,
                    r.org_id,
                    r.user_id,
                    &r.action,
                    &r.target,
                    &r.detail,
                )
            }
            "sha256" if !keyed => row_hash(
                &r.prev_hash,
                r.seq,
                r.time,
                r.org_id,
                r.user_id,
                &r.action,
                &r.target,
                &r.detail,
            ),
            alg => {
                problems.push(format!(
                    "row {}: unkeyed ({alg}) after keyed rows (forged)",
                    r.seq
                ));
                String::new()
            }
        };
        if !h.is_empty() && h != r.hash {
            problems.push(format!(
                "row {}: content does not match its hash (edited)",
                r.seq
            ));
        }
        prev.clone_from(&r.hash);
        expected_seq = r.seq + 1;
    }
    let last = rows.last().map(|r| (r.seq, r.hash.clone()));
    match (&head, &last) {
        (None, None) => {}
        (Some(h), _) if !key.signed(h) => problems.push(format!(
            "chain head at row {} is not signed with the audit key (rewritten)",
            h.seq
        )),
        (Some(h), Some(l)) if (h.seq, &h.hash) == (l.0, &l.1) => {}
        (h, l) => problems.push(format!(
            "chain head {:?} does not match the last row {:?} (rows deleted at the end)",
            h.as_ref().map(|x| x.seq),
            l.as_ref().map(|x| x.0)
        )),
    }
    for c in checkpoints {
        if !key.signed(c) {
            problems.push(format!(
                "checkpoint at row {} is not signed with the audit key",
                c.seq
            ));
            continue;
        }
        match rows.iter().find(|r| r.seq == c.seq) {
            Some(r) if r.hash == c.hash => {}
            Some(_) => problems.push(format!(
                "checkpoint at row {}: the chain up to it was rewritten",
                c.seq
            )),
            None => problems.push(format!(
                "checkpoint at row {}: the row is gone (rows deleted at the end)",
                c.seq
            )),
        }
    }
    Verification {
        rows: rows.len() as i64,
        ok: problems.is_empty(),
        problems,
        checkpoint: head.filter(|h| key.signed(h)),
    }
}

/// [`verify`] as one organisation may see it (`GET /audit/verify`): the whole chain is
/// checked, since every row links to the one before whoever's it is, but the answer counts
/// only `org`'s rows, names only problems with them, and says of a problem with the chain as
/// a whole (its head, tail or checkpoints) only that there is one; other organisations' rows
/// stay invisible. The server's operator sees everything with `aviary-server audit-verify`.
pub async fn verify_for_org<C: GenericClient>(
    client: &C,
    key: &AuditKey,
    org: OrgId,
) -> Result<Verification, ServerError> {
    let all = verify(client, key, &[]).await?;
    let own: std::collections::HashSet<i64> = client
        .query("SELECT seq FROM audit_log WHERE org_id = $1", &[&org.0])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut problems = Vec::new();
    let mut chain_broken = false;
    for p in all.problems {
        let row = p
            .strip_prefix("row ")
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.parse::<i64>().ok());
        match row {
            Some(seq) if own.contains(&seq) => problems.push(p),
            Some(_) => {}
            None => chain_broken = true,
        }
    }
    if chain_broken {
        problems.push(
            "the log's chain as a whole failed verification (its head, tail or checkpoints); \
             the server's operator can see why with `aviary-server audit-verify`"
                .into(),
        );
    }
    Ok(Verification {
        rows: own.len() as i64,
        ok: problems.is_empty(),
        problems,
        // The signed head stays in the answer: it is what an admin publishes outside the
        // database so a later verification detects rows deleted since.
        checkpoint: all.checkpoint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AuditKey {
        AuditKey::new(&[7u8; 32]).expect("key")
    }

    fn chain(n: i64) -> Vec<AuditRow> {
        let mut prev = GENESIS.to_owned();
        let t0 = DateTime::from_timestamp(1_800_000_000, 123_456_000).unwrap_or_default();
        (1..=n)
            .map(|seq| {
                let time = t0 + chrono::Duration::seconds(seq);
                let target = format!("t{seq}");
                let hash = row_mac(&key(), &prev, seq, time, None, None, "a", &target, "{}");
                let r = AuditRow {
                    seq,
                    time,
                    org_id: None,
                    user_id: None,
                    action: "a".into(),
                    target,
                    detail: "{}".into(),
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                    alg: "hmac-sha256".into(),
                };
                prev = hash;
                r
            })
            .collect()
    }

    fn head(rows: &[AuditRow]) -> Option<Checkpoint> {
        rows.last().map(|r| key().checkpoint(r.seq, &r.hash))
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 2 and 6 (a key longer than the block).
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    fn key_b() -> AuditKey {
        AuditKey::new(&[8u8; 32]).expect("key")
    }

    #[test]
    fn intact_chain_verifies() {
        let rows = chain(5);
        let v = verify_rows(&key(), &rows, head(&rows), &[]);
        assert!(v.ok, "{v:?}");
        assert_eq!(v.rows, 5);
        assert_eq!(v.checkpoint, head(&rows));
    }

    #[test]
    fn edits_deletions_reorders_truncation_and_forged_chains_are_detected() {
        let rows = chain(5);
        let h = head(&rows);
        let mut edited = rows.clone();
        edited[2].detail = "{\"forged\":true}".into();
        assert!(
            verify_rows(&key(), &edited, h.clone(), &[])
                .problems
                .iter()
                .any(|p| p.contains("row 3") && p.contains("edited"))
        );
        let mut deleted = rows.clone();
        deleted.remove(1);
        assert!(!verify_rows(&key(), &deleted, h.clone(), &[]).ok);
        let mut swapped = rows.clone();
        swapped.swap(1, 2);
        let (first_seq, second_seq) = (swapped[1].seq, swapped[2].seq);
        swapped[1].seq = second_seq;
        swapped[2].seq = first_seq;
        assert!(!verify_rows(&key(), &swapped, h.clone(), &[]).ok);
        let truncated = rows[..4].to_vec();
        let v = verify_rows(&key(), &truncated, h.clone(), &[]);
        assert!(
            v.problems.iter().any(|p| p.contains("deleted at the end")),
            "{v:?}"
        );
        // Truncated with a head rewritten without the key.
        let forged_head = key_b().checkpoint(4, &truncated[3].hash);
        let v = verify_rows(&key(), &truncated, Some(forged_head), &[]);
        assert!(v.problems.iter().any(|p| p.contains("not signed")), "{v:?}");
        // Truncated with the head of the time (replayed), against a checkpoint published later.
        let v = verify_rows(
            &key(),
            &truncated,
            head(&truncated),
            &[h.clone().expect("head")],
        );
        assert!(
            v.problems.iter().any(|p| p.contains("row is gone")),
            "{v:?}"
        );
        // The whole chain recomputed with another key (or plain SHA-256) after an edit.
        let mut prev = GENESIS.to_owned();
        let forged: Vec<AuditRow> = edited
            .iter()
            .map(|row| {
                let mut r = row.clone();
                r.prev_hash.clone_from(&prev);
                r.hash = row_mac(
                    &key_b(),
                    &r.prev_hash,
                    r.seq,
                    r.time,
                    r.org_id,
                    r.user_id,
                    &r.action,
                    &r.target,
                    &r.detail,
                );
                prev.clone_from(&r.hash);
                r
            })
            .collect();
        let v = verify_rows(&key(), &forged, Some(key_b().checkpoint(5, &prev)), &[]);
        assert!(!v.ok, "{v:?}");
        // ... or recomputed as plain SHA-256 rows, which pass as rows from before the key.
        let mut prev = GENESIS.to_owned();
        let plain: Vec<AuditRow> = edited
            .iter()
            .map(|row| {
                let mut r = row.clone();
                r.alg = "sha256".into();
                r.prev_hash.clone_from(&prev);
                r.hash = row_hash(
                    &r.prev_hash,
                    r.seq,
                    r.time,
                    r.org_id,
                    r.user_id,
                    &r.action,
                    &r.target,
                    &r.detail,
                );
                prev.clone_from(&r.hash);
                r
            })
            .collect();
        let v = verify_rows(&key(), &plain, h, &[]);
        assert!(
            v.problems
                .iter()
                .any(|p| p.contains("does not match the last row")),
            "{v:?}"
        );
    }
}
