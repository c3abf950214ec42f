//! Login, logout-all and password change (any signed-in user), user management (admins only)
//! and the audit log.

use aviary_core::wire::LoginResponse;
use std::net::SocketAddr;

use aviary_core::auth::{Action, Role};
use aviary_core::{OrgId, UserId};
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};

use super::parse_id;
use crate::auth::{self, AuthUser, hash_password, verify_password};
use crate::error::{ApiError, Json, check_text};
use crate::{AppState, audit};

/// The client's address (from the connection), for the login rate limit.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "local".to_owned(), |c| c.0.ip().to_string()),
        ))
    }
}

/// `POST /auth/login` body.
pub use aviary_core::wire::LoginRequest as Login;

/// `POST /auth/login`: a short-lived bearer token. Rate limited per client address, and per
/// account: after `login_lock_after` wrong passwords the account is locked for a time that
/// doubles with each further one (429 with `Retry-After`, even for the right password).
pub async fn login(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(b): Json<Login>,
) -> Result<Json<LoginResponse>, ApiError> {
    if let Err(retry) = s.login_limiter.check(&ip, s.clock.instant()) {
        s.metrics
            .rate_limited
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ApiError::RateLimited(retry));
    }
    let email = b.email.to_lowercase();
    let conn = s.pool.get().await?;
    // A locked account is refused before its password is looked at, right or wrong.
    if let Some(retry) = auth::account_locked(&conn, &email, s.clock.now()).await? {
        s.metrics
            .rate_limited
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        drop(conn);
        let detail = serde_json::json!({ "email": email, "ip": ip, "retry_after_s": retry });
        audit::record(
            &s.pool,
            &s.audit_key,
            None,
            None,
            "auth.login_locked",
            &format!("email:{email}"),
            &detail,
        )
        .await?;
        return Err(ApiError::RateLimited(retry));
    }
    let row = conn
        .query_opt(
            "SELECT user_id, org_id, role, password_hash, token_version FROM users
             WHERE email = $1 AND deleted_at IS NULL",
            &[&email],
        )
        .await?;
    drop(conn);
    let bad = || ApiError::Unauthorized("wrong e-mail or password".into());
    // Unknown e-mails are checked against a dummy hash: the same time as a real check, so
    // response times do not reveal which e-mails exist.
    let hash: String = row
        .as_ref()
        .map_or_else(|| s.dummy_hash.clone(), |r| r.get(3));
    let pw = b.password.clone();
    let ok = s
        .password_slots
        .run(move || verify_password(&hash, &pw))
        .await?;
    let conn = s.pool.get().await?;
    let (org, user) = row.as_ref().map_or((None, None), |r| {
        (Some(OrgId(r.get(1))), Some(UserId(r.get(0))))
    });
    let Some(r) = row.filter(|_| ok) else {
        auth::record_login_failure(
            &conn,
            &email,
            s.config.login_lock_after,
            s.config.login_lock_base,
            s.clock.now(),
        )
        .await?;
        drop(conn);
        let detail = serde_json::json!({ "email": email, "ip": ip });
        audit::record(
            &s.pool,
            &s.audit_key,
            org,
            user,
            "auth.login_failed",
            &format!("email:{email}"),
            &detail,
        )
        .await?;
        return Err(bad());
    };
    auth::clear_login_failures(&conn, &email).await?;
    drop(conn);
    audit::record(
        &s.pool,
        &s.audit_key,
        org,
        user,
        "auth.login",
        &format!("email:{email}"),
        &serde_json::json!({ "ip": ip }),
    )
    .await?;
    let role = Role::parse(r.get(2)).ok_or_else(bad)?;
    let (user, org) = (UserId(r.get(0)), OrgId(r.get(1)));
    let token = s.tokens.issue(user, org, role, r.get(4), s.clock.now())?;
    Ok(Json(LoginResponse {
        token,
        token_type: "Bearer".into(),
        expires_in: s.tokens.ttl().as_secs(),
        user_id: user,
        org_id: org,
        role,
    }))
}

/// Records requests refused for lack of rights in the audit log: every 403, and every 401 to a
/// token that is genuine but revoked (a demoted or deleted user still trying).
pub async fn audit_denied(
    State(s): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let token = auth::bearer(&parts);
    let what = format!("{} {}", parts.method, parts.uri.path());
    let ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let resp = next
        .run(axum::extract::Request::from_parts(parts, body))
        .await;
    let status = resp.status();
    if status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED {
        return resp;
    }
    let claims = token.and_then(|t| s.tokens.verify(&t, s.clock.now()).ok());
    if status == StatusCode::UNAUTHORIZED && claims.is_none() {
        // No genuine token: nobody to record (failed logins are recorded by `login`).
        return resp;
    }
    let detail = serde_json::json!({
        "status": status.as_u16(),
        "role": claims.as_ref().map(|c| c.role),
        "ip": ip,
    });
    if let Err(e) = audit::record(
        &s.pool,
        &s.audit_key,
        claims.as_ref().map(|c| c.org),
        claims.as_ref().map(|c| c.sub),
        "access.denied",
        &what,
        &detail,
    )
    .await
    {
        tracing::error!(error = %e, request = %what, "could not audit a denied request");
    }
    resp
}

/// A user as shown (never the hash).
#[derive(Debug, Serialize)]
pub struct UserView {
    /// Id.
    pub user_id: UserId,
    /// E-mail.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /users`.
pub async fn list(
    State(s): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<UserView>>, ApiError> {
    user.require(Action::ManageUsers)?;
    let rows = s
        .pool
        .get()
        .await?
        .query(
            "SELECT user_id, email, role, created_at FROM users
             WHERE org_id = $1 AND deleted_at IS NULL ORDER BY email",
            &[&user.org_id.0],
        )
        .await?;
    Ok(Json(
        rows.iter()
            .map(|r| UserView {
                user_id: UserId(r.get(0)),
                email: r.get(1),
                role: Role::parse(r.get(2)).unwrap_or(Role::Analyst),
                created_at: r.get(3),
            })
            .collect(),
    ))
}

/// `POST /users` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// E-mail (unique).
    pub email: String,
    /// Password, at least 12 characters.
    pub password: String,
    /// Role.
    pub role: Role,
}

/// `POST /users`.
pub async fn create(
    State(s): State<AppState>,
    user: AuthUser,
    Json(b): Json<CreateUser>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    user.require(Action::ManageUsers)?;
    check_new_account(&b.email, &b.password)?;
    let id = create_user(
        &s,
        user.org_id,
        Some(user.user_id),
        &b.email,
        &b.password,
        b.role,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "user_id": id, "email": b.email.to_lowercase(), "role": b.role })),
    ))
}

/// Checks a new account's e-mail and password (API and bootstrap): the schema's limits, an
/// `@`, and the 12-character rule.
pub fn check_new_account(email: &str, password: &str) -> Result<(), ApiError> {
    check_text("email", email, 255)?;
    check_text("password", password, 1024)?;
    if !email.contains('@') {
        return Err(ApiError::Unprocessable(
            "email is not an e-mail address".into(),
        ));
    }
    check_new_password(password)
}

/// Creates a user (API). 409 when the e-mail exists.
pub async fn create_user(
    s: &crate::Shared,
    org: OrgId,
    by: Option<UserId>,
    email: &str,
    password: &str,
    role: Role,
) -> Result<UserId, ApiError> {
    check_new_account(email, password)?;
    let cost = s.password_cost;
    let pw = password.to_owned();
    let hash = s
        .password_slots
        .run(move || hash_password(&pw, cost))
        .await??;
    let mut conn = s.pool.get().await?;
    let tx = conn.transaction().await?;
    let id = insert_user(&tx, &s.audit_key, org, by, email, &hash, role).await?;
    tx.commit().await?;
    Ok(id)
}

/// Inserts a user with an already hashed password and audits it, inside the caller's
/// transaction. 409 when the e-mail exists.
pub async fn insert_user<C: GenericClient>(
    tx: &C,
    audit_key: &audit::AuditKey,
    org: OrgId,
    by: Option<UserId>,
    email: &str,
    password_hash: &str,
    role: Role,
) -> Result<UserId, ApiError> {
    let id = UserId::new_random();
    let n = tx
        .execute(
            "INSERT INTO users (user_id, org_id, email, password_hash, role) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING",
            &[&id.0, &org.0, &email.to_lowercase(), &password_hash, &role.as_str()],
        )
        .await?;
    if n == 0 {
        return Err(ApiError::Conflict("a user with this e-mail exists".into()));
    }
    audit::append(
        tx,
        audit_key,
        Some(org),
        by,
        "user.create",
        &format!("user:{id}"),
        &serde_json::json!({ "email": email.to_lowercase(), "role": role }),
    )
    .await?;
    Ok(id)
}

/// `PATCH /users/{id}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New role.
    pub role: Role,
}

/// `PATCH /users/{id}`: change a role (revokes the user's tokens: they carry the old role).
pub async fn update(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(b): Json<UpdateUser>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Action::ManageUsers)?;
    let id: UserId = parse_id(&id, "user")?;
    let mut conn = s.pool.get().await?;
    let tx = conn.transaction().await?;
    let n = tx
        .execute(
            "UPDATE users SET role = $3, token_version = token_version + 1
             WHERE user_id = $1 AND org_id = $2 AND deleted_at IS NULL",
            &[&id.0, &user.org_id.0, &b.role.as_str()],
        )
        .await?;
    if n == 0 {
        return Err(ApiError::NotFound("user"));
    }
    audit::append(
        &tx,
        &s.audit_key,
        Some(user.org_id),
        Some(user.user_id),
        "user.role",
        &format!("user:{id}"),
        &serde_json::json!({ "role": b.role }),
    )
    .await?;
    tx.commit().await?;
    s.token_versions.forget(id);
    Ok(Json(serde_json::json!({ "user_id": id, "role": b.role })))
}

/// `DELETE /users/{id}`: the user can no longer log in and every token of theirs is revoked.
/// The row stays (missions and commands name their author) with its e-mail released.
pub async fn delete(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    user.require(Action::ManageUsers)?;
    let id: UserId = parse_id(&id, "user")?;
    if id == user.user_id {
        return Err(ApiError::Conflict(
            "an admin cannot delete their own account".into(),
        ));
    }
    let mut conn = s.pool.get().await?;
    let tx = conn.transaction().await?;
    let row = tx
        .query_opt(
            "UPDATE users u SET deleted_at = now(), token_version = u.token_version + 1,
                 email = 'deleted+' || u.user_id || '@invalid'
             FROM users old
             WHERE u.user_id = $1 AND u.org_id = $2 AND u.deleted_at IS NULL AND old.user_id = u.user_id
             RETURNING old.email",
            &[&id.0, &user.org_id.0],
        )
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    audit::append(
        &tx,
        &s.audit_key,
        Some(user.org_id),
        Some(user.user_id),
        "user.delete",
        &format!("user:{id}"),
        &serde_json::json!({ "email": row.get::<_, String>(0) }),
    )
    .await?;
    tx.commit().await?;
    s.token_versions.forget(id);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /auth/logout`: revokes every token of the caller (all devices).
pub async fn logout(State(s): State<AppState>, user: AuthUser) -> Result<StatusCode, ApiError> {
    user.require(Action::Read)?;
    let mut conn = s.pool.get().await?;
    let tx = conn.transaction().await?;
    tx.execute(
        "UPDATE users SET token_version = token_version + 1 WHERE user_id = $1",
        &[&user.user_id.0],
    )
    .await?;
    audit::append(
        &tx,
        &s.audit_key,
        Some(user.org_id),
        Some(user.user_id),
        "auth.logout_all",
        &format!("user:{}", user.user_id),
        &serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    s.token_versions.forget(user.user_id);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /auth/password` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The password now.
    pub current_password: String,
    /// The new one, at least 12 characters.
    pub new_password: String,
}

/// `POST /auth/password`: changes the caller's password (the current one is required) and
/// revokes every token of theirs; they log in again with the new password.
pub async fn change_password(
    State(s): State<AppState>,
    user: AuthUser,
    Json(b): Json<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    user.require(Action::Read)?;
    check_new_password(&b.new_password)?;
    let hash: String = s
        .pool
        .get()
        .await?
        .query_one(
            "SELECT password_hash FROM users WHERE user_id = $1",
            &[&user.user_id.0],
        )
        .await?
        .get(0);
    let current = b.current_password.clone();
    let ok = s
        .password_slots
        .run(move || verify_password(&hash, &current))
        .await?;
    if !ok {
        return Err(ApiError::Forbidden("the current password is wrong".into()));
    }
    let cost = s.password_cost;
    let new = b.new_password;
    let hash = s
        .password_slots
        .run(move || hash_password(&new, cost))
        .await??;
    let mut conn = s.pool.get().await?;
    let tx = conn.transaction().await?;
    tx.execute(
        "UPDATE users SET password_hash = $2, token_version = token_version + 1 WHERE user_id = $1",
        &[&user.user_id.0, &hash],
    )
    .await?;
    audit::append(
        &tx,
        &s.audit_key,
        Some(user.org_id),
        Some(user.user_id),
        "auth.password",
        &format!("user:{}", user.user_id),
        &serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    s.token_versions.forget(user.user_id);
    Ok(StatusCode::NO_CONTENT)
}

/// The API's password rule (also applied by `bootstrap`).
pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < 12 {
        return Err(ApiError::Unprocessable(
            "password must have at least 12 characters".into(),
        ));
    }
    Ok(())
}

/// Audit list query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// At most this many rows (default 1000).
    pub limit: Option<i64>,
}

/// `GET /audit`: the caller's organisation's rows.
pub async fn audit_list(
    State(s): State<AppState>,
    user: AuthUser,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<audit::AuditRow>>, ApiError> {
    user.require(Action::ReadAudit)?;
    Ok(Json(
        audit::list(
            &s.pool.get().await?,
            Some(user.org_id),
            q.limit.unwrap_or(1000).clamp(1, 100_000),
        )
        .await?,
    ))
}

/// `GET /audit/verify`: checks the whole hash chain.
pub async fn audit_verify(
    State(s): State<AppState>,
    user: AuthUser,
) -> Result<Json<audit::Verification>, ApiError> {
    user.require(Action::ReadAudit)?;
    Ok(Json(
        audit::verify_for_org(&s.pool.get().await?, &s.audit_key, user.org_id).await?,
    ))
}
