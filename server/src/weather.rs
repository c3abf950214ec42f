//! Weather for the fleet server: the same Open-Meteo compatible provider the desktop and
//! `aviary weather` use (request URL and parser from `aviary_core::weather_feed`), fetched over
//! plain HTTP with a timeout, and the same go/no-go evaluation (`aviary_core::weather`). Used
//! by `GET /api/v1/sites/{id}/weather` and by the scheduler's lead-time checks.

use std::time::Duration;

use aviary_core::LatLon;
use aviary_core::weather::{
    EvalConfig, Flight, WeatherLimits, WeatherReport, WeatherVerdict, evaluate,
};
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// A forecast is a few hundred kB at most.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Fetches and parses the forecast for `at` from the endpoint `base` (`fetched_at` stamps the
/// report). The error names the URL and the problem.
pub async fn fetch(
    base: &str,
    at: LatLon,
    timeout: Duration,
    fetched_at: DateTime<Utc>,
) -> Result<WeatherReport, String> {
    let url = aviary_core::weather_feed::open_meteo_url(base, at);
    if !url.starts_with("http://") {
        return Err(format!(
            "weather URL {base} is not usable: plain http:// only (put a relay in front)"
        ));
    }
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = hyper::Request::get(url.as_str())
        .body(Empty::new())
        .map_err(|e| format!("weather URL {base} is not usable: {e}"))?;
    let answer = async {
        let resp = client
            .request(req)
            .await
            .map_err(|e| format!("{base}: {e}"))?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|e| format!("{base}: reading the answer: {e}"))?
            .to_bytes();
        if !status.is_success() {
            let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
            return Err(format!("{base} answered {status}: {text}"));
        }
        aviary_core::weather_feed::parse_open_meteo(&body, &url, fetched_at)
            .map_err(|e| format!("{base}: {e}"))
    };
    tokio::time::timeout(timeout, answer)
        .await
        .map_err(|_| format!("{base}: no answer within {} s", timeout.as_secs()))?
}

/// The verdict for a flight of `model` from `start` for `duration` up to `max_alt_m`, from a
/// fetch result (a failed fetch is "unknown" with the error as its reason, never "go").
pub fn verdict(
    fetched: Result<&WeatherReport, &str>,
    model: &str,
    start: DateTime<Utc>,
    duration: chrono::Duration,
    max_alt_m: f64,
    now: DateTime<Utc>,
) -> WeatherVerdict {
    let flight = Flight {
        model,
        limits: WeatherLimits::for_model(model),
        start,
        end: start + duration,
        max_alt_m,
    };
    let mut v = evaluate(fetched.ok(), &flight, &EvalConfig::default(), now);
    if let (Err(e), Some(first)) = (fetched, v.reasons.first_mut()) {
        first.text = format!("no weather data: {e}");
    }
    v
}
