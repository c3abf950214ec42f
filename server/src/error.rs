//! Errors: [`ServerError`] for starting and running the server, [`ApiError`] for HTTP answers.
//!
//! Every API error is a JSON body `{"error": {"code": "...", "message": "..."}}` with a 4xx or
//! 5xx status; internal details are logged once here and never sent to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Failures of the server as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// PostgreSQL could not be reached or a query failed.
    #[error("database error: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// The connection pool could not hand out a connection.
    #[error("database pool error: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The pool could not be built.
    #[error("database pool configuration error: {0}")]
    PoolBuild(#[from] deadpool_postgres::BuildError),
    /// Socket or thread error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Invalid configuration.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A migration failed.
    #[error("migration {version} failed: {source}")]
    Migration {
        /// Migration version.
        version: i32,
        /// The database error.
        source: tokio_postgres::Error,
    },
    /// Password hashing failed.
    #[error("password hashing failed: {0}")]
    Password(String),
    /// A record could not be (de)serialised.
    #[error("serialisation error: {0}")]
    Json(#[from] serde_json::Error),
    /// MQTT client error.
    #[error("MQTT error: {0}")]
    Mqtt(#[from] rumqttc::ClientError),
}

/// An HTTP error answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource in the caller's organisation.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409: the resource is in the wrong state (e.g. mission lifecycle).
    #[error("{0}")]
    Conflict(String),
    /// 413: body too large.
    #[error("request body too large")]
    TooLarge,
    /// 422: well-formed JSON with invalid content.
    #[error("{0}")]
    Unprocessable(String),
    /// 429: rate limited.
    #[error("too many requests; retry after {0} s")]
    RateLimited(u64),
    /// 502: the drone refused the command.
    #[error("the drone rejected the command: {0}")]
    DroneRejected(String),
    /// 504: the drone did not acknowledge in time.
    #[error("the drone did not acknowledge the command within {0} s (not resent)")]
    Unacknowledged(u64),
    /// 500: something broke on our side (details logged, not sent).
    #[error("internal error")]
    Internal(#[source] ServerError),
}

impl ApiError {
    /// HTTP status and stable error code.
    pub fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::DroneRejected(_) => (StatusCode::BAD_GATEWAY, "command_rejected"),
            Self::Unacknowledged(_) => (StatusCode::GATEWAY_TIMEOUT, "command_unacknowledged"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl<E: Into<ServerError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self::Internal(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_code();
        if let Self::Internal(e) = &self {
            tracing::error!(error = %e, "internal error answering a request");
        }
        let body = serde_json::json!({ "error": { "code": code, "message": self.to_string() } });
        let mut resp = (status, axum::Json(body)).into_response();
        if let Self::RateLimited(s) = self
            && let Ok(v) = axum::http::HeaderValue::from_str(&s.to_string())
        {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        resp
    }
}

/// JSON body extractor whose rejections are [`ApiError`]s with a clear message.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        // Parsed once as a plain value to check every string against the schema, then typed
        // from the same bytes so a type error still names its field.
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(rejection)?;
        check_strings(&value, &mut String::new())?;
        let bytes = serde_json::to_vec(&value).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        axum::Json::<T>::from_bytes(&bytes)
            .map(|axum::Json(v)| Self(v))
            .map_err(rejection)
    }
}

/// The schema's character limits (`VARCHAR(n)` in `migrations/0001_schema.sql`) of the string
/// fields that reach PostgreSQL, by JSON field name wherever it appears in a body. Passwords
/// have no column but are capped so nobody hashes megabytes.
pub const FIELD_LIMITS: &[(&str, usize)] = &[
    ("email", 255),
    ("name", 255),
    ("serial_number", 100),
    ("model", 100),
    ("firmware_version", 50),
    ("timezone", 50),
    ("flight_pattern", 50),
    ("status", 50),
    ("password", 1024),
    ("current_password", 1024),
    ("new_password", 1024),
];

/// Checks one text field: no NUL byte (PostgreSQL refuses them in text and JSONB) and no more
/// characters than the schema's limit for `field`. The error names the field.
pub fn check_text(field: &str, value: &str, max_chars: usize) -> Result<(), ApiError> {
    if value.contains('\0') {
        return Err(ApiError::BadRequest(format!(
            "field `{field}` contains a NUL byte"
        )));
    }
    if value.chars().count() > max_chars {
        return Err(ApiError::BadRequest(format!(
            "field `{field}` is longer than {max_chars} characters"
        )));
    }
    Ok(())
}

/// Walks a body: every string (and key) free of NUL bytes, every named field within
/// [`FIELD_LIMITS`]. `path` is the dotted path of `v` (`parameters.altitude`, `items[2]`).
fn check_strings(v: &serde_json::Value, path: &mut String) -> Result<(), ApiError> {
    use serde_json::Value;
    use std::fmt::Write as _;
    match v {
        Value::String(s) => {
            let name = path.rsplit(['.', '[']).next().unwrap_or_default();
            let limit = FIELD_LIMITS
                .iter()
                .find(|(f, _)| *f == name)
                .map_or(usize::MAX, |(_, n)| *n);
            check_text(if path.is_empty() { "body" } else { path }, s, limit)
        }
        Value::Array(items) => {
            let len = path.len();
            for (i, item) in items.iter().enumerate() {
                let _ = write!(path, "[{i}]");
                check_strings(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(fields) => {
            let len = path.len();
            for (k, item) in fields {
                if k.contains('\0') {
                    return Err(ApiError::BadRequest(format!(
                        "a field name in `{}` contains a NUL byte",
                        if path.is_empty() { "body" } else { path }
                    )));
                }
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                check_strings(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// An axum JSON rejection as an [`ApiError`] with a clear message.
fn rejection(e: axum::extract::rejection::JsonRejection) -> ApiError {
    use axum::extract::rejection::JsonRejection;
    match e {
        JsonRejection::JsonDataError(e) => {
            ApiError::Unprocessable(format!("invalid request body: {}", e.body_text()))
        }
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::BadRequest(format!("malformed JSON: {}", e.body_text()))
        }
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::BadRequest("expected a body with Content-Type: application/json".into())
        }
        JsonRejection::BytesRejection(e) => {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::BadRequest(format!("could not read the body: {}", e.body_text()))
            }
        }
        e => ApiError::BadRequest(e.body_text()),
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
