//! Authentication and authorisation: Argon2id password hashes, short-lived HS256 JWTs with
//! fixed algorithm and checked `exp`/`aud`/`iss`, the [`AuthUser`] extractor (which also
//! applies the per-user API rate limit and refuses revoked tokens), and token-bucket rate
//! limiters.
//!
//! Revocation: every token carries its user's `token_version` (`ver`); role and password
//! changes, logout-all and deletion bump the stored version, and [`TokenVersions`] compares
//! them on each request (read from PostgreSQL at most every [`TokenVersions::TTL`] per user, so
//! another instance's bump is seen within that time; this instance's own bumps at once).
//!
//! Authorisation is `aviary_core::auth::can(role, action)`; organisation scoping is done by
//! every query (`WHERE org_id = $caller_org`), so another organisation's ids answer 404.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm as ArgonAlgorithm, Argon2, Params, Version};
use aviary_core::auth::{Action, Role, can};
use aviary_core::{OrgId, UserId};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::{ApiError, ServerError};

// --- passwords ------------------------------------------------------------------------------

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy)]
pub struct PasswordCost {
    /// Memory, KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
}

impl PasswordCost {
    /// OWASP's Argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    pub const RECOMMENDED: Self = Self {
        m_kib: 19 * 1024,
        t: 2,
    };

    fn hasher(self) -> Result<Argon2<'static>, ServerError> {
        let params = Params::new(self.m_kib, self.t, 1, None)
            .map_err(|e| ServerError::Password(e.to_string()))?;
        Ok(Argon2::new(
            ArgonAlgorithm::Argon2id,
            Version::V0x13,
            params,
        ))
    }
}

/// Hashes `password` with Argon2id and a random salt (PHC string).
pub fn hash_password(password: &str, cost: PasswordCost) -> Result<String, ServerError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| ServerError::Password(e.to_string()))?;
    cost.hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServerError::Password(e.to_string()))
}

/// Bounds the Argon2id work running at once: each hash holds 19 MiB (the recommended cost) and
/// a core, so 200 logins at once would otherwise take gigabytes. A caller waits for a slot at
/// most the configured time, then is answered 429. The slots are held by the blocking task
/// itself, so a client that hangs up does not free a slot its hash still uses.
#[derive(Debug)]
pub struct PasswordSlots {
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    size: usize,
    wait: Duration,
    gauge: std::sync::Arc<SlotGauge>,
}

/// Hashes running now and the most seen at once.
#[derive(Debug, Default)]
struct SlotGauge {
    running: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
    refused: std::sync::atomic::AtomicU64,
}

impl PasswordSlots {
    /// `size` hashes at once (0: one per core), callers queue at most `wait`.
    pub fn new(size: usize, wait: Duration) -> Self {
        let size = if size == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        } else {
            size
        };
        Self {
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(size)),
            size,
            wait,
            gauge: std::sync::Arc::default(),
        }
    }

    /// Runs `work` (a hash or a check) on the blocking pool once a slot is free; 429 when none
    /// frees up in time.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        use std::sync::atomic::Ordering;
        let Ok(Ok(permit)) = tokio::time::timeout(
            self.wait,
            std::sync::Arc::clone(&self.slots).acquire_owned(),
        )
        .await
        else {
            self.gauge.refused.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::RateLimited(1));
        };
        let gauge = std::sync::Arc::clone(&self.gauge);
        tokio::task::spawn_blocking(move || {
            let now = gauge.running.fetch_add(1, Ordering::SeqCst) + 1;
            gauge.peak.fetch_max(now, Ordering::SeqCst);
            let out = work();
            gauge.running.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            out
        })
        .await
        .map_err(|e| ApiError::Internal(ServerError::Password(e.to_string())))
    }

    /// Slots (hashes allowed at once).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Hashes running now.
    pub fn running(&self) -> usize {
        self.gauge.running.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The most hashes that ever ran at once.
    pub fn peak(&self) -> usize {
        self.gauge.peak.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Callers answered 429 because no slot freed up in time.
    pub fn refused(&self) -> u64 {
        self.gauge
            .refused
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Checks `password` against a PHC hash (its own parameters are used).
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

// --- tokens ---------------------------------------------------------------------------------

/// JWT claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: UserId,
    /// Organisation id.
    pub org: OrgId,
    /// Role.
    pub role: Role,
    /// The user's token version when issued; a bumped version revokes the token.
    pub ver: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
}

/// Issues and checks tokens. The algorithm is fixed to HS256: a token whose header names
/// any other algorithm (`none` included) is refused before its signature is looked at.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Keys from a secret of at least 32 bytes.
    pub fn new(
        secret: &[u8],
        issuer: &str,
        audience: &str,
        ttl: Duration,
    ) -> Result<Self, ServerError> {
        if secret.len() < 32 {
            return Err(ServerError::Config(
                "the JWT secret must be at least 32 bytes".into(),
            ));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        // Expiry is checked against the server's injected clock in `verify`, not the
        // library's reading of the system clock.
        validation.validate_exp = false;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
        })
    }

    /// Token lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A signed token for the user at token version `ver`, valid for the configured lifetime
    /// from `now`.
    pub fn issue(
        &self,
        user: UserId,
        org: OrgId,
        role: Role,
        ver: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, ServerError> {
        let claims = Claims {
            sub: user,
            org,
            role,
            ver,
            iat: now.timestamp(),
            exp: now.timestamp() + self.ttl.as_secs() as i64,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ServerError::Config(format!("token signing failed: {e}")))
    }

    /// Verifies signature, algorithm, issuer and audience, and that the token has not
    /// expired at `now` (the server's clock).
    pub fn verify(
        &self,
        token: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Claims, ApiError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                let why = match e.kind() {
                    K::ExpiredSignature => "token expired",
                    K::InvalidAudience => "token has the wrong audience",
                    K::InvalidIssuer => "token has the wrong issuer",
                    K::InvalidAlgorithm | K::InvalidAlgorithmName => "token algorithm not accepted",
                    K::InvalidSignature => "token signature invalid",
                    K::MissingRequiredClaim(_) => "token lacks a required claim",
                    _ => "token malformed",
                };
                ApiError::Unauthorized(why.into())
            })?;
        if claims.exp <= now.timestamp() {
            return Err(ApiError::Unauthorized("token expired".into()));
        }
        Ok(claims)
    }
}

// --- revocation -----------------------------------------------------------------------------

/// Each user's current token version, read from PostgreSQL and kept briefly, and the users
/// whose tokens this instance just revoked (open WebSockets listen for them and close at once;
/// they also re-check every [`Self::TTL`] for revocations made on other instances).
#[derive(Debug)]
pub struct TokenVersions {
    cache: Mutex<HashMap<UserId, (Option<i64>, Instant)>>,
    revoked: tokio::sync::broadcast::Sender<UserId>,
}

impl Default for TokenVersions {
    fn default() -> Self {
        Self {
            cache: Mutex::default(),
            revoked: tokio::sync::broadcast::channel(1024).0,
        }
    }
}

impl TokenVersions {
    /// The users whose tokens this instance revokes from now on.
    pub fn revocations(&self) -> tokio::sync::broadcast::Receiver<UserId> {
        self.revoked.subscribe()
    }

    /// Whether a token of `user` issued at `version` is still valid (a database error counts
    /// as valid: a WebSocket is not closed for a hiccup; the next check decides).
    pub async fn still_valid(
        &self,
        pool: &deadpool_postgres::Pool,
        user: UserId,
        version: i64,
        now: Instant,
    ) -> bool {
        self.current(pool, user, now)
            .await
            .map_or(true, |v| v == Some(version))
    }

    /// How long a version read from the database is trusted: the longest a token revoked on
    /// another instance stays usable here.
    pub const TTL: Duration = Duration::from_secs(2);

    /// The user's current version (`None`: deleted or unknown); `now` is the server clock's
    /// monotonic instant.
    pub async fn current(
        &self,
        pool: &deadpool_postgres::Pool,
        user: UserId,
        now: Instant,
    ) -> Result<Option<i64>, ApiError> {
        if let Some((v, at)) = self.lock().get(&user)
            && now.saturating_duration_since(*at) < Self::TTL
        {
            return Ok(*v);
        }
        let v = pool
            .get()
            .await?
            .query_opt(
                "SELECT token_version FROM users WHERE user_id = $1 AND deleted_at IS NULL",
                &[&user.0],
            )
            .await?
            .map(|r| r.get::<_, i64>(0));
        let mut cache = self.lock();
        if cache.len() > 100_000 {
            cache.retain(|_, (_, at)| now.saturating_duration_since(*at) < Self::TTL);
        }
        cache.insert(user, (v, now));
        Ok(v)
    }

    /// Forgets the cached version (after this instance bumped it and committed) and tells this
    /// instance's open WebSockets of the user to check their tokens now.
    pub fn forget(&self, user: UserId) {
        self.lock().remove(&user);
        let _ = self.revoked.send(user);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, (Option<i64>, Instant)>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

// --- rate limiting --------------------------------------------------------------------------

/// Token buckets keyed by a string (client IP, user id).
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_second` refill, `burst` capacity.
    pub fn new(per_second: f64, burst: f64) -> Self {
        Self {
            per_second,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key` at `now`; on refusal, the seconds until one is available.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut b = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if b.len() > 100_000 {
            // Forget full buckets so a scan of many keys cannot grow the map without bound.
            let burst = self.burst;
            let rate = self.per_second;
            b.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = b.entry(key.to_owned()).or_insert((self.burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * self.per_second)
            .min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

// --- per-account login back-off ---------------------------------------------------------------

/// The longest an account is locked after wrong passwords (unless the first lock is longer).
pub const LOGIN_LOCK_MAX: Duration = Duration::from_mins(15);

/// How long an account with `failures` recent wrong passwords is locked: not before
/// `lock_after` of them, then `base`, doubling with each further one up to
/// [`LOGIN_LOCK_MAX`].
pub fn lock_duration(failures: u32, lock_after: u32, base: Duration) -> Option<Duration> {
    let over = failures.checked_sub(lock_after.max(1))?;
    Some(
        base.saturating_mul(1 << over.min(20))
            .min(LOGIN_LOCK_MAX.max(base)),
    )
}

/// Seconds until the account (lower-case e-mail) may try again at `now` (the server's clock),
/// when it is locked. Counted in PostgreSQL so every instance shares the count, whichever
/// addresses the attempts come from.
pub async fn account_locked<C: deadpool_postgres::GenericClient>(
    client: &C,
    email: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<u64>, ServerError> {
    Ok(client
        .query_opt(
            "SELECT ceil(extract(epoch FROM locked_until - $2::timestamptz))::bigint FROM login_failures
             WHERE email = $1 AND locked_until > $2::timestamptz",
            &[&email, &now],
        )
        .await?
        .map(|r| r.get::<_, i64>(0).max(1).unsigned_abs()))
}

/// Counts a wrong password for the account at `now` (the server's clock) and locks it per
/// [`lock_duration`]. A count untouched for an hour starts again.
pub async fn record_login_failure<C: deadpool_postgres::GenericClient>(
    client: &C,
    email: &str,
    lock_after: u32,
    base: Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ServerError> {
    let failures: i32 = client
        .query_one(
            "INSERT INTO login_failures (email, failures, last_failure) VALUES ($1, 1, $2)
             ON CONFLICT (email) DO UPDATE SET
                 failures = CASE WHEN login_failures.last_failure < $2::timestamptz - interval '1 hour'
                                 THEN 1 ELSE login_failures.failures + 1 END,
                 last_failure = $2
             RETURNING failures",
            &[&email, &now],
        )
        .await?
        .get(0);
    if let Some(lock) = lock_duration(failures.unsigned_abs(), lock_after, base) {
        client
            .execute(
                "UPDATE login_failures SET locked_until = $3::timestamptz + make_interval(secs => $2)
                 WHERE email = $1",
                &[&email, &lock.as_secs_f64(), &now],
            )
            .await?;
    }
    Ok(())
}

/// Forgets the account's wrong passwords (after a successful login).
pub async fn clear_login_failures<C: deadpool_postgres::GenericClient>(
    client: &C,
    email: &str,
) -> Result<(), ServerError> {
    client
        .execute("DELETE FROM login_failures WHERE email = $1", &[&email])
        .await?;
    Ok(())
}

// --- the extractor --------------------------------------------------------------------------

/// The authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    /// User id.
    pub user_id: UserId,
    /// Organisation; every query is scoped to it.
    pub org_id: OrgId,
    /// Role.
    pub role: Role,
    /// The token's version (revocation compares it with the user's current one).
    pub token_version: i64,
    /// The token's expiry, Unix seconds (a WebSocket opened with it closes then).
    pub expires_at: i64,
}

impl AuthUser {
    /// 403 unless the role may perform `action`.
    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        if can(self.role, action) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "role {} may not {}",
                self.role.as_str(),
                action_name(action)
            )))
        }
    }
}

/// Human name of an action, for 403 messages.
pub const fn action_name(a: Action) -> &'static str {
    match a {
        Action::Read => "read fleet data",
        Action::ViewReports => "view reports",
        Action::PlanMission => "plan missions",
        Action::CommandMission => "command missions",
        Action::ManageDrones => "manage drones and sites",
        Action::ManageUsers => "manage users",
        Action::ReadAudit => "read the audit log",
    }
}

/// The bearer token of a request: `Authorization: Bearer ...`; on a WebSocket upgrade (whose
/// browser clients cannot set headers) also `?token=`. Anywhere else a query token is ignored:
/// URLs end up in logs, proxies and browser history.
pub fn bearer(parts: &Parts) -> Option<String> {
    if let Some(h) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        return h
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
    }
    if !is_websocket_upgrade(parts) {
        return None;
    }
    parts.uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("token=").map(str::to_owned))
    })
}

/// A `GET /ws/...` asking to upgrade to a WebSocket.
fn is_websocket_upgrade(parts: &Parts) -> bool {
    let header_has = |name: axum::http::HeaderName, word: &str| {
        parts.headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(word)))
        })
    };
    parts.method == axum::http::Method::GET
        && parts.uri.path().starts_with("/ws/")
        && header_has(axum::http::header::UPGRADE, "websocket")
        && header_has(axum::http::header::CONNECTION, "upgrade")
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token =
            bearer(parts).ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?;
        let c = state.tokens.verify(&token, state.clock.now())?;
        if let Err(retry) = state
            .api_limiter
            .check(&c.sub.to_string(), state.clock.instant())
        {
            state
                .metrics
                .rate_limited
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err(ApiError::RateLimited(retry));
        }
        if state
            .token_versions
            .current(&state.pool, c.sub, state.clock.instant())
            .await?
            != Some(c.ver)
        {
            return Err(ApiError::Unauthorized(
                "token revoked (role or password changed, logged out, or user deleted)".into(),
            ));
        }
        Ok(Self {
            user_id: c.sub,
            org_id: c.org,
            role: c.role,
            token_version: c.ver,
            expires_at: c.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_core::Clock as _;

    fn keys() -> TokenKeys {
        TokenKeys::new(&[7u8; 32], "iss", "aud", Duration::from_mins(1)).expect("keys")
    }

    #[test]
    fn passwords_round_trip_with_argon2id() {
        let h = hash_password("correct horse", PasswordCost { m_kib: 1024, t: 1 }).expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "wrong"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn tokens_verify_and_expire() {
        let k = keys();
        let (user, org) = (UserId::new_random(), OrgId::new_random());
        let clock = aviary_core::ManualClock::new(
            chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time"),
        );
        let token = k
            .issue(user, org, Role::Operator, 0, clock.now())
            .expect("token");
        let claims = k.verify(&token, clock.now()).expect("valid");
        assert_eq!(
            (claims.sub, claims.org, claims.role),
            (user, org, Role::Operator)
        );
        // keys() gives tokens a 60 s life: valid one second before, expired at the end.
        clock.advance(chrono::Duration::seconds(59));
        assert!(k.verify(&token, clock.now()).is_ok(), "59 s old");
        clock.advance(chrono::Duration::seconds(1));
        assert!(
            matches!(k.verify(&token, clock.now()), Err(ApiError::Unauthorized(m)) if m == "token expired")
        );
        assert!(TokenKeys::new(b"short", "i", "a", Duration::from_secs(1)).is_err());
    }

    #[test]
    fn account_lock_starts_after_the_allowed_failures_and_doubles_to_a_cap() {
        let base = Duration::from_secs(30);
        assert_eq!(lock_duration(4, 5, base), None);
        assert_eq!(lock_duration(5, 5, base), Some(base));
        assert_eq!(lock_duration(6, 5, base), Some(Duration::from_mins(1)));
        assert_eq!(lock_duration(50, 5, base), Some(LOGIN_LOCK_MAX));
        assert_eq!(lock_duration(u32::MAX, 5, base), Some(LOGIN_LOCK_MAX));
    }

    #[test]
    fn rate_limiter_refills() {
        let r = RateLimiter::new(1.0, 2.0);
        let t0 = Instant::now();
        assert!(r.check("a", t0).is_ok());
        assert!(r.check("a", t0).is_ok());
        assert_eq!(r.check("a", t0), Err(1));
        assert!(r.check("b", t0).is_ok(), "keys are independent");
        assert!(r.check("a", t0 + Duration::from_secs(1)).is_ok());
    }
}
