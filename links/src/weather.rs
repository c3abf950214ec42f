//! Weather providers: an Open-Meteo compatible forecast API (JSON, hourly) and METAR
//! observations (text), fetched over HTTP with a timeout on the links side, never on the UI
//! thread, and cached per site with their age.
//!
//! The parsers ([`parse_open_meteo`], [`parse_metar`]) are pure and turn a provider's answer
//! into an [`aviary_core::weather::WeatherReport`]; the verdict is
//! [`aviary_core::weather::evaluate`]'s, the same everywhere.
//!
//! [`WeatherService::spawn`] runs the fetches on a tokio runtime on the `aviary-weather`
//! thread: requests go in through a bounded channel, [`WeatherEvent`]s come out through a
//! bounded channel and an injected wake-up closure. [`fetch_blocking`] is the one-shot form
//! for the CLI.
//!
//! Plain `http://` only: links has no TLS for HTTP yet. Open-Meteo and the NOAA METAR
//! files answer on plain HTTP; an organisation's mirror can too.

use aviary_core::LatLon;
use aviary_core::clock::Clock;
use aviary_core::weather::{WeatherReport, WeatherSample, WeatherSource, WindLevel};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use tokio::sync::mpsc;

/// Open-Meteo's public forecast endpoint (no key).
pub const DEFAULT_OPEN_METEO_URL: &str = "http://api.open-meteo.com/v1/forecast";

/// NOAA's latest METAR per station; `{station}` is replaced by the ICAO code.
pub const DEFAULT_METAR_URL: &str =
    "http://tgftp.nws.noaa.gov/data/observations/metar/stations/{station}.TXT";

/// A forecast is a few hundred kB at most.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The wake-up closure the app passes (`request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

// --- errors and configuration -------------------------------------------------------------

/// Why no weather came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeatherError {
    /// The URL cannot be used.
    #[error("weather URL {url} is not usable: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// No connection, or it broke.
    #[error("weather provider {url} is unreachable: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The error chain.
        reason: String,
    },
    /// No full answer within the timeout.
    #[error("weather provider {url} did not answer within {timeout_ms} ms")]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout, milliseconds.
        timeout_ms: u64,
    },
    /// An HTTP error status, with the provider's own reason where it gave one.
    #[error("weather provider {url} answered HTTP {status}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// Open-Meteo's `reason`, or the start of the body.
        reason: String,
    },
    /// The answer is not in the provider's format.
    #[error("cannot read the weather answer from {url}: {reason}")]
    Decode {
        /// The URL.
        url: String,
        /// What did not parse.
        reason: String,
    },
    /// The service's thread or runtime could not start, or it stopped.
    #[error("weather service: {0}")]
    Service(String),
}

/// Which provider, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// An Open-Meteo compatible forecast API; `url` is the `/v1/forecast` endpoint.
    OpenMeteo {
        /// Endpoint, without query (one may be given; ours is appended).
        url: String,
    },
    /// A METAR text source; `{station}` in `url` is replaced by the station.
    Metar {
        /// URL template.
        url: String,
        /// ICAO station identifier (e.g. `EDDB`).
        station: String,
    },
}

impl Default for Provider {
    fn default() -> Self {
        Self::OpenMeteo {
            url: DEFAULT_OPEN_METEO_URL.into(),
        }
    }
}

impl Provider {
    /// The URL asked for a position.
    pub fn url_for(&self, at: LatLon) -> String {
        match self {
            Self::OpenMeteo { url } => aviary_core::weather_feed::open_meteo_url(url, at),
            Self::Metar { url, station } => url.replace("{station}", &station.to_uppercase()),
        }
    }
}

// --- fetching -----------------------------------------------------------------------------

/// An HTTP client for providers. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: std::time::Duration,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A client whose every request (connect, headers, body) ends within `timeout`. Needs a
    /// tokio runtime to run on.
    pub fn new(timeout: std::time::Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        }
    }

    /// Fetches and parses one report for `at`; `now` stamps it.
    pub async fn fetch(
        &self,
        provider: &Provider,
        at: LatLon,
        now: impl Fn() -> DateTime<Utc>,
    ) -> Result<WeatherReport, WeatherError> {
        let url = provider.url_for(at);
        let (status, body) = self.get(&url).await?;
        if !(200..=299).contains(&status) {
            return Err(WeatherError::Http {
                url,
                status,
                reason: error_reason(&body),
            });
        }
        let fetched_at = now();
        match provider {
            Provider::OpenMeteo { .. } => parse_open_meteo(&body, &url, fetched_at),
            Provider::Metar { .. } => {
                let text = std::str::from_utf8(&body).map_err(|e| WeatherError::Decode {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
                parse_metar(text, fetched_at).map_err(|reason| WeatherError::Decode { url, reason })
            }
        }
    }

    async fn get(&self, url: &str) -> Result<(u16, Bytes), WeatherError> {
        let bad = |reason: String| WeatherError::BadUrl {
            url: url.to_string(),
            reason,
        };
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| bad(e.to_string()))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(bad(
                    "https is not supported yet: point the URL at the http:// endpoint or a plain-HTTP mirror".into(),
                ));
            }
            _ => return Err(bad("needs an http:// URL".into())),
        }
        let req = hyper::Request::builder()
            .uri(uri)
            .header(hyper::header::USER_AGENT, "aviary-weather")
            .body(Full::new(Bytes::new()))
            .map_err(|e| bad(e.to_string()))?;
        // Errors name the endpoint, not its query string (coordinates and a dozen variable
        // names an operator does not need to read).
        let shown = url.split('?').next().unwrap_or(url);
        let fetch = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| WeatherError::Unreachable {
                    url: shown.to_string(),
                    reason: error_chain(&e),
                })?;
            let status = resp.status().as_u16();
            let bytes = Limited::new(resp.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|e| WeatherError::Unreachable {
                    url: shown.to_string(),
                    reason: e.to_string(),
                })?
                .to_bytes();
            Ok((status, bytes))
        };
        tokio::time::timeout(self.timeout, fetch)
            .await
            .map_err(|_| WeatherError::Timeout {
                url: shown.to_string(),
                timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            })?
    }
}

/// Fetches one report on a short-lived runtime on the `aviary-weather-fetch` thread and
/// waits for it: for the CLI, never for the UI thread.
pub fn fetch_blocking(
    provider: &Provider,
    at: LatLon,
    timeout: std::time::Duration,
    clock: Arc<dyn Clock>,
) -> Result<WeatherReport, WeatherError> {
    let provider = provider.clone();
    let thread = std::thread::Builder::new()
        .name("aviary-weather-fetch".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| WeatherError::Service(e.to_string()))?;
            runtime.block_on(Fetcher::new(timeout).fetch(&provider, at, || clock.now()))
        })
        .map_err(|e| WeatherError::Service(e.to_string()))?;
    thread
        .join()
        .map_err(|_| WeatherError::Service("the fetch thread panicked".into()))?
}

/// Open-Meteo's `reason`, or the body's text on one line (tags dropped), cut short.
fn error_reason(body: &[u8]) -> String {
    if let Some(reason) = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("reason").and_then(|r| r.as_str().map(str::to_string)))
    {
        return reason;
    }
    let text = String::from_utf8_lossy(body);
    let mut plain = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => {
                in_tag = true;
                plain.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    plain
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

// --- Open-Meteo ---------------------------------------------------------------------------

/// Parses an Open-Meteo `/v1/forecast` answer: [`aviary_core::weather_feed::parse_open_meteo`]
/// (shared with the fleet server), its complaint as a [`WeatherError::Decode`].
pub fn parse_open_meteo(
    body: &[u8],
    url: &str,
    fetched_at: DateTime<Utc>,
) -> Result<WeatherReport, WeatherError> {
    aviary_core::weather_feed::parse_open_meteo(body, url, fetched_at).map_err(|reason| {
        WeatherError::Decode {
            url: url.to_string(),
            reason,
        }
    })
}

// --- METAR --------------------------------------------------------------------------------

/// Parses the first METAR/SPECI report in `text` (raw, as `aviationweather.gov` gives it, or
/// NOAA's file with a date line first). The day-hour-minute group is placed in the month of
/// `fetched_at` (the previous month when the day is later). Rain intensity becomes an
/// estimated rate: light 1 mm/h, moderate 4 mm/h, heavy 8 mm/h; no weather group, 0 mm/h.
/// Gusts not reported are taken as the sustained wind (METAR reports only significant gusts).
pub fn parse_metar(text: &str, fetched_at: DateTime<Utc>) -> Result<WeatherReport, String> {
    let mut last_err = "no METAR in the answer".to_string();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match parse_metar_line(line, fetched_at) {
            Ok(r) => return Ok(r),
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

fn parse_metar_line(line: &str, fetched_at: DateTime<Utc>) -> Result<WeatherReport, String> {
    let mut tokens = line
        .split_whitespace()
        .skip_while(|t| matches!(*t, "METAR" | "SPECI"))
        .peekable();
    let station = tokens
        .next()
        .filter(|t| t.len() == 4 && t.chars().all(|c| c.is_ascii_alphanumeric()))
        .ok_or_else(|| format!("no station in {line:?}"))?
        .to_string();
    let time = tokens
        .next()
        .and_then(|t| metar_time(t, fetched_at))
        .ok_or_else(|| format!("no ddhhmmZ time in {line:?}"))?;
    let mut s = WeatherSample {
        time,
        precipitation_mm: Some(0.0),
        ..WeatherSample::default()
    };
    let mut ceiling_ft: Option<f64> = None;
    let mut wind_seen = false;
    let mut pending_whole_miles: Option<f64> = None;
    for tok in tokens {
        if matches!(tok, "RMK" | "NOSIG" | "TEMPO" | "BECMG") {
            break;
        }
        if matches!(tok, "AUTO" | "COR" | "NIL") {
            continue;
        }
        if !wind_seen && let Some((dir, speed, gust)) = metar_wind(tok) {
            wind_seen = true;
            s.wind = vec![WindLevel {
                height_m: 10.0,
                speed_mps: speed,
            }];
            s.gust_mps = Some(gust.unwrap_or(speed));
            s.wind_dir_deg = dir;
            continue;
        }
        if tok == "CAVOK" {
            s.visibility_m = Some(10_000.0);
            continue;
        }
        if tok.len() == 4 && tok.chars().all(|c| c.is_ascii_digit()) && s.visibility_m.is_none() {
            s.visibility_m = tok.parse::<f64>().ok();
            continue;
        }
        if tok.chars().all(|c| c.is_ascii_digit()) && tok.len() <= 2 {
            // "1" of "1 1/2SM".
            pending_whole_miles = tok.parse().ok();
            continue;
        }
        if let Some(miles) = tok.strip_suffix("SM") {
            let miles = miles.trim_start_matches(['P', 'M']);
            let value = match miles.split_once('/') {
                Some((n, d)) => n
                    .parse::<f64>()
                    .ok()
                    .zip(d.parse::<f64>().ok())
                    .map(|(n, d)| n / d),
                None => miles.parse::<f64>().ok(),
            };
            if let Some(v) = value {
                s.visibility_m = Some((v + pending_whole_miles.unwrap_or(0.0)) * 1_609.344);
            }
            pending_whole_miles = None;
            continue;
        }
        if let Some(rate) = metar_precipitation(tok) {
            s.precipitation_mm = Some(s.precipitation_mm.unwrap_or(0.0).max(rate));
            continue;
        }
        if let Some(ft) = metar_ceiling(tok) {
            ceiling_ft = Some(ceiling_ft.map_or(ft, |c: f64| c.min(ft)));
            continue;
        }
        if let Some((t, _)) = tok.split_once('/')
            && s.temperature_c.is_none()
            && !t.is_empty()
            && let Some(c) = metar_temp(t)
        {
            s.temperature_c = Some(c);
        }
    }
    s.cloud_base_m = ceiling_ft.map(|ft| ft * 0.3048);
    Ok(WeatherReport {
        source: WeatherSource::Metar { station },
        fetched_at,
        samples: vec![s],
    })
}

fn metar_time(tok: &str, fetched_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let digits = tok.strip_suffix('Z')?;
    if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let day: u32 = digits[0..2].parse().ok()?;
    let hour: u32 = digits[2..4].parse().ok()?;
    let minute: u32 = digits[4..6].parse().ok()?;
    let (mut year, mut month) = (fetched_at.year(), fetched_at.month());
    if day > fetched_at.day() {
        if month == 1 {
            year -= 1;
            month = 12;
        } else {
            month -= 1;
        }
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(hour, minute, 0)?))
}

/// `dddff(f)(Gff(f))KT|MPS|KMH` → (direction, speed m/s, gust m/s).
fn metar_wind(tok: &str) -> Option<(Option<f64>, f64, Option<f64>)> {
    let (body, factor) = if let Some(b) = tok.strip_suffix("KT") {
        (b, 0.514_444)
    } else if let Some(b) = tok.strip_suffix("MPS") {
        (b, 1.0)
    } else if let Some(b) = tok.strip_suffix("KMH") {
        (b, 1.0 / 3.6)
    } else {
        return None;
    };
    if body.len() < 5 {
        return None;
    }
    let (dir, rest) = body.split_at(3);
    let dir = if dir == "VRB" {
        None
    } else {
        Some(dir.parse::<f64>().ok()?)
    };
    let (speed, gust) = match rest.split_once('G') {
        Some((s, g)) => (s, Some(g)),
        None => (rest, None),
    };
    let speed = speed.trim_start_matches('P').parse::<f64>().ok()? * factor;
    let gust = match gust {
        Some(g) => Some(g.trim_start_matches('P').parse::<f64>().ok()? * factor),
        None => None,
    };
    Some((dir, speed, gust))
}

/// A present-weather group with precipitation → an estimated rate, mm/h.
fn metar_precipitation(tok: &str) -> Option<f64> {
    const DESCRIPTORS: [&str; 8] = ["MI", "PR", "BC", "DR", "BL", "SH", "TS", "FZ"];
    const PRECIP: [&str; 9] = ["DZ", "RA", "SN", "SG", "IC", "PL", "GR", "GS", "UP"];
    const OTHER: [&str; 12] = [
        "BR", "FG", "FU", "VA", "DU", "SA", "HZ", "PY", "PO", "SQ", "FC", "SS",
    ];
    let (rate, rest) = if let Some(r) = tok.strip_prefix('+') {
        (8.0, r)
    } else if let Some(r) = tok.strip_prefix('-') {
        (1.0, r)
    } else {
        (4.0, tok)
    };
    // "VC": in the vicinity, not here; "RE": recent, not now.
    if rest.starts_with("VC") || rest.starts_with("RE") || rest.is_empty() || rest.len() % 2 != 0 {
        return None;
    }
    let codes: Vec<&str> = (0..rest.len())
        .step_by(2)
        .filter_map(|i| rest.get(i..i + 2))
        .collect();
    let all_known = codes
        .iter()
        .all(|c| DESCRIPTORS.contains(c) || PRECIP.contains(c) || OTHER.contains(c));
    (all_known && codes.iter().any(|c| PRECIP.contains(c))).then_some(rate)
}

/// `BKN012`, `OVC030CB`, `VV002` → the layer's height in feet; few/scattered give none.
fn metar_ceiling(tok: &str) -> Option<f64> {
    let rest = tok
        .strip_prefix("BKN")
        .or_else(|| tok.strip_prefix("OVC"))
        .or_else(|| tok.strip_prefix("VV"))?;
    let digits = rest.get(0..3)?;
    digits.parse::<f64>().ok().map(|h| h * 100.0)
}

fn metar_temp(t: &str) -> Option<f64> {
    match t.strip_prefix('M') {
        Some(n) if n.len() == 2 => n.parse::<f64>().ok().map(|v| -v),
        None if t.len() == 2 => t.parse::<f64>().ok(),
        _ => None,
    }
}

// --- cache and service --------------------------------------------------------------------

/// The last report per site. Reports are kept however old: [`aviary_core::weather::evaluate`]
/// turns a stale one into "unknown", and the age is shown.
#[derive(Debug, Clone, Default)]
pub struct WeatherCache {
    reports: HashMap<String, WeatherReport>,
}

impl WeatherCache {
    /// Keeps `report` as the site's latest.
    pub fn insert(&mut self, site: &str, report: WeatherReport) {
        self.reports.insert(site.to_string(), report);
    }

    /// The site's latest report and its age at `now`.
    pub fn get(&self, site: &str, now: DateTime<Utc>) -> Option<(&WeatherReport, Duration)> {
        self.reports
            .get(site)
            .map(|r| (r, (now - r.fetched_at).max(Duration::zero())))
    }
}

/// How the service fetches.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The provider.
    pub provider: Provider,
    /// Per-request timeout.
    pub timeout: std::time::Duration,
    /// A cached report younger than this is answered without fetching.
    pub refresh_after: Duration,
    /// Capacity of the event channel.
    pub event_capacity: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            provider: Provider::default(),
            timeout: std::time::Duration::from_secs(10),
            refresh_after: Duration::minutes(15),
            event_capacity: 32,
        }
    }
}

/// What the service reports.
#[derive(Debug, Clone, PartialEq)]
pub enum WeatherEvent {
    /// A report for the site: fresh, or from the cache when still recent.
    Report {
        /// The site key the request named.
        site: String,
        /// The report.
        report: WeatherReport,
        /// Its age when sent.
        age: Duration,
        /// Answered from the cache without fetching.
        cached: bool,
    },
    /// The fetch failed; the last report (if any) is still the best there is.
    Failed {
        /// The site key.
        site: String,
        /// Why.
        error: WeatherError,
        /// The last report for the site, however old.
        last: Option<WeatherReport>,
    },
}

struct Request {
    site: String,
    at: LatLon,
    force: bool,
}

/// Handle to the `aviary-weather` thread. Dropping it stops the thread.
pub struct WeatherService {
    requests: Option<mpsc::Sender<Request>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for WeatherService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeatherService").finish_non_exhaustive()
    }
}

impl WeatherService {
    /// Starts the runtime thread. Events arrive on the returned receiver; `wake` is called
    /// after each.
    pub fn spawn(
        config: ServiceConfig,
        clock: Arc<dyn Clock>,
        wake: Waker,
    ) -> Result<(Self, std_mpsc::Receiver<WeatherEvent>), WeatherError> {
        let (ev_tx, ev_rx) = std_mpsc::sync_channel(config.event_capacity.max(1));
        let (req_tx, mut req_rx) = mpsc::channel::<Request>(16);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| WeatherError::Service(e.to_string()))?;
        let thread = std::thread::Builder::new()
            .name("aviary-weather".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let fetcher = Fetcher::new(config.timeout);
                    let mut cache = WeatherCache::default();
                    while let Some(req) = req_rx.recv().await {
                        let now = clock.now();
                        let ev = match cache.get(&req.site, now) {
                            Some((report, age)) if !req.force && age < config.refresh_after => {
                                WeatherEvent::Report {
                                    site: req.site,
                                    report: report.clone(),
                                    age,
                                    cached: true,
                                }
                            }
                            _ => match fetcher
                                .fetch(&config.provider, req.at, || clock.now())
                                .await
                            {
                                Ok(report) => {
                                    cache.insert(&req.site, report.clone());
                                    WeatherEvent::Report {
                                        site: req.site,
                                        report,
                                        age: Duration::zero(),
                                        cached: false,
                                    }
                                }
                                Err(error) => WeatherEvent::Failed {
                                    last: cache.get(&req.site, now).map(|(r, _)| r.clone()),
                                    site: req.site,
                                    error,
                                },
                            },
                        };
                        // Every event answers a request: a full queue waits for the app
                        // to drain it (this thread, never the UI's, waits).
                        let mut ev = ev;
                        loop {
                            match ev_tx.try_send(ev) {
                                Ok(()) => break,
                                Err(std_mpsc::TrySendError::Full(back)) => {
                                    ev = back;
                                    wake();
                                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                                }
                                Err(std_mpsc::TrySendError::Disconnected(_)) => return,
                            }
                        }
                        wake();
                    }
                });
            })
            .map_err(|e| WeatherError::Service(e.to_string()))?;
        Ok((
            Self {
                requests: Some(req_tx),
                thread: Some(thread),
            },
            ev_rx,
        ))
    }

    /// Asks for the weather at `site` (any stable key: the site id) located `at`; answered
    /// from the cache when recent. Never blocks: a full queue is an error.
    pub fn request(&self, site: &str, at: LatLon) -> Result<(), WeatherError> {
        self.send(site, at, false)
    }

    /// Like [`Self::request`] but always fetches.
    pub fn refresh(&self, site: &str, at: LatLon) -> Result<(), WeatherError> {
        self.send(site, at, true)
    }

    fn send(&self, site: &str, at: LatLon, force: bool) -> Result<(), WeatherError> {
        self.requests
            .as_ref()
            .ok_or_else(|| WeatherError::Service("stopped".into()))?
            .try_send(Request {
                site: site.to_string(),
                at,
                force,
            })
            .map_err(|e| WeatherError::Service(format!("request not queued: {e}")))
    }
}

impl Drop for WeatherService {
    /// Closes the request channel: the thread ends after the fetch in flight (bounded by the
    /// timeout). Not joined, so dropping never waits on the network.
    fn drop(&mut self) {
        self.requests = None;
        drop(self.thread.take());
    }
}
