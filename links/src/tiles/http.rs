//! Fetching tiles over HTTP(S): reqwest on rustls with the platform's certificate roots (the
//! same client stack walkers uses), each failure sorted into why.

use super::TileError;
use super::source::{TileId, TileSource};
use std::time::Duration;

/// A tile is tens of kB; anything past this is not a tile.
const MAX_TILE_BYTES: usize = 4 * 1024 * 1024;

/// HTTP client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Time to connect (TCP and TLS).
    pub connect_timeout: Duration,
    /// Time for a whole request.
    pub request_timeout: Duration,
    /// The `User-Agent` (OpenStreetMap's tile policy requires one naming the application).
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            user_agent: concat!("aviary/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// An HTTP client for tiles. Cheap to clone; use it inside a tokio runtime.
#[derive(Debug, Clone)]
pub struct TileClient {
    client: reqwest::Client,
    request_timeout: Duration,
}

impl TileClient {
    /// A client; `Err(Tls)` when the TLS stack cannot start (for instance no CA roots).
    pub fn new(options: &ClientOptions) -> Result<Self, TileError> {
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .user_agent(options.user_agent.clone())
            .build()
            .map_err(|e| TileError::Tls {
                url: String::new(),
                reason: format!("cannot start the HTTPS client: {}", chain(&e)),
            })?;
        Ok(Self {
            client,
            request_timeout: options.request_timeout,
        })
    }

    /// Fetches tile `id` of `source`.
    pub async fn fetch(&self, source: &TileSource, id: TileId) -> Result<Vec<u8>, TileError> {
        let shown = source.redacted_url(id);
        let response = self
            .client
            .get(source.url(id))
            .send()
            .await
            .map_err(|e| self.classify(&shown, &e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(TileError::Http {
                url: shown,
                status: status.as_u16(),
            });
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_TILE_BYTES as u64)
        {
            return Err(TileError::Body {
                url: shown,
                reason: format!("larger than {MAX_TILE_BYTES} bytes"),
            });
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.classify(&shown, &e))?;
        if bytes.is_empty() || bytes.len() > MAX_TILE_BYTES {
            return Err(TileError::Body {
                url: shown,
                reason: format!("{} bytes", bytes.len()),
            });
        }
        Ok(bytes.to_vec())
    }

    fn classify(&self, url: &str, e: &reqwest::Error) -> TileError {
        let url = url.to_owned();
        let reason = chain(e);
        if is_tls(e) {
            TileError::Tls { url, reason }
        } else if e.is_timeout() {
            TileError::Timeout {
                url,
                timeout_ms: self.request_timeout.as_millis() as u64,
            }
        } else if e.is_connect() {
            TileError::NoNetwork { url, reason }
        } else if e.is_body() || e.is_decode() {
            TileError::Body { url, reason }
        } else {
            // Anything else on the way (reset, closed before an answer) is the network.
            TileError::NoNetwork { url, reason }
        }
    }
}

/// The error and its sources, joined.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

/// Whether rustls is somewhere in the chain (certificate rejected, handshake failed, not TLS).
fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        // `io::Error::source` skips the error it wraps; look inside.
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && (inner.downcast_ref::<rustls::Error>().is_some() || is_tls(inner))
        {
            return true;
        }
        next = err.source();
    }
    false
}
