//! Weather providers against a local HTTP server the test starts: recorded answers in the
//! providers' real formats (Open-Meteo JSON, NOAA METAR text), HTTP errors, a server that
//! never answers, a connection cut mid-body, partial data; and the verdicts they give.

use aviary_core::LatLon;
use aviary_core::clock::{Clock, ManualClock};
use aviary_core::weather::{
    EvalConfig, Flight, ReasonKind, Verdict, WeatherLimits, WeatherSource, evaluate,
};
use aviary_links::weather::{
    Fetcher, Provider, ServiceConfig, WeatherError, WeatherEvent, WeatherService, fetch_blocking,
    parse_metar,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

// --- a canned HTTP server -----------------------------------------------------------------

#[derive(Clone)]
enum Answer {
    /// Status, content type, body.
    Body(u16, &'static str, Vec<u8>),
    /// Accept, read the request, never answer.
    Hang,
    /// Headers promising more body than is sent, then close.
    CutShort(Vec<u8>),
}

struct Server {
    addr: SocketAddr,
    /// Request targets (path and query) in arrival order.
    seen: Arc<Mutex<Vec<String>>>,
}

/// Answers each connection with the next of `answers` (the last one repeats).
fn serve(answers: Vec<Answer>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    std::thread::Builder::new()
        .name("weather-test-http".into())
        .spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            for (i, conn) in listener.incoming().enumerate() {
                let Ok(mut conn) = conn else { break };
                let target = read_request(&mut conn);
                seen2.lock().expect("lock").push(target);
                let answer = answers[i.min(answers.len() - 1)].clone();
                match answer {
                    Answer::Body(status, ctype, body) => {
                        let head = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = conn.write_all(head.as_bytes());
                        let _ = conn.write_all(&body);
                    }
                    Answer::Hang => held.push(conn),
                    Answer::CutShort(body) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                            body.len() * 2
                        );
                        let _ = conn.write_all(head.as_bytes());
                        let _ = conn.write_all(&body);
                    }
                }
            }
        })
        .expect("server thread");
    Server { addr, seen }
}

fn read_request(conn: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&byte[..n]),
        }
    }
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace().nth(1).unwrap_or("").to_string()
}

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/weather/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

fn json(name: &str) -> Answer {
    Answer::Body(200, "application/json; charset=utf-8", data(name))
}

fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0)
        .single()
        .expect("time")
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(noon()))
}

fn berlin() -> LatLon {
    LatLon::new(52.52, 13.42)
}

fn open_meteo(server: &Server) -> Provider {
    Provider::OpenMeteo {
        url: format!("http://{}/v1/forecast", server.addr),
    }
}

fn x4(start: DateTime<Utc>, hours: i64) -> Flight<'static> {
    Flight {
        model: "Aviary X4",
        limits: WeatherLimits::for_model("Aviary X4"),
        start,
        end: start + Duration::hours(hours),
        max_alt_m: 120.0,
    }
}

const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

// --- Open-Meteo ---------------------------------------------------------------------------

#[test]
fn open_meteo_forecast_is_asked_in_metres_per_second_and_read_hourly() {
    let server = serve(vec![json("open-meteo-berlin.json")]);
    let report = fetch_blocking(&open_meteo(&server), berlin(), TIMEOUT, clock()).expect("fetch");
    let seen = server.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].starts_with("/v1/forecast?latitude=52.5200&longitude=13.4200&hourly="));
    for v in [
        "wind_speed_120m",
        "wind_gusts_10m",
        "precipitation_probability",
        "visibility",
        "wind_speed_unit=ms",
        "timezone=GMT",
    ] {
        assert!(seen[0].contains(v), "{v} missing from {}", seen[0]);
    }
    assert_eq!(report.fetched_at, noon());
    assert_eq!(report.samples.len(), 72);
    let s = &report.samples[12];
    assert_eq!(s.time, noon());
    assert_eq!(s.wind.len(), 4);
    assert!((s.wind[2].height_m - 120.0).abs() < 1e-9);
    assert_eq!(s.gust_mps, Some(8.6));
    assert_eq!(s.visibility_m, Some(24_140.0));

    // Today at noon: go. Tomorrow morning a front: gusts and rain, no-go, with its numbers.
    let c = EvalConfig::default();
    let today = evaluate(Some(&report), &x4(noon(), 1), &c, noon());
    assert_eq!(today.verdict, Verdict::Go, "{today:#?}");
    let front = noon() + Duration::hours(19);
    let tomorrow = evaluate(Some(&report), &x4(front, 2), &c, noon());
    assert_eq!(tomorrow.verdict, Verdict::NoGo, "{tomorrow:#?}");
    let gust = tomorrow
        .reasons
        .iter()
        .find(|r| r.kind == ReasonKind::Gust)
        .expect("gust reason");
    assert_eq!((gust.limit, gust.unit.as_str()), (Some(12.0), "m/s"));
    assert!(gust.text.starts_with("gusts "), "{}", gust.text);
    assert!(
        gust.text
            .ends_with("m/s at 10 m > 12.0 m/s limit for Aviary X4")
    );
    assert!(
        tomorrow
            .reasons
            .iter()
            .any(|r| r.kind == ReasonKind::Precipitation && r.verdict == Verdict::NoGo)
    );
    // Beyond what was forecast: unknown, never go.
    let later = evaluate(
        Some(&report),
        &x4(noon() + Duration::days(4), 1),
        &c,
        noon(),
    );
    assert_eq!(later.verdict, Verdict::Unknown);
}

#[test]
fn other_units_unix_times_and_a_local_offset_are_converted() {
    let server = serve(vec![json("open-meteo-kmh-unixtime.json")]);
    let report = fetch_blocking(&open_meteo(&server), berlin(), TIMEOUT, clock()).expect("fetch");
    let s = &report.samples[12];
    assert_eq!(s.time, noon(), "unixtime is UTC whatever the offset");
    assert_eq!(s.wind.len(), 1, "only 10 m given");
    assert!(
        (s.gust_mps.unwrap_or_default() - 15.0).abs() < 1e-9,
        "54 km/h"
    );
    let c = s.temperature_c.unwrap_or_default();
    assert!((c - 6.1).abs() < 0.1, "°F to °C: {c}");
    // 54 km/h gusts = 15 m/s > 12 m/s.
    let v = evaluate(
        Some(&report),
        &x4(noon(), 1),
        &EvalConfig::default(),
        noon(),
    );
    assert_eq!(v.verdict, Verdict::NoGo);
    assert_eq!(v.reasons[0].kind, ReasonKind::Gust);
    assert_eq!(v.not_assessed, vec!["visibility".to_string()]);
}

#[test]
fn partial_data_is_unknown_where_the_wind_is_missing_and_lists_what_was_not_assessed() {
    let server = serve(vec![json("open-meteo-partial.json")]);
    let report = fetch_blocking(&open_meteo(&server), berlin(), TIMEOUT, clock()).expect("fetch");
    let c = EvalConfig::default();
    let morning = evaluate(
        Some(&report),
        &x4(noon() - Duration::hours(2), 1),
        &c,
        noon(),
    );
    assert_eq!(morning.verdict, Verdict::Go, "{morning:#?}");
    assert_eq!(
        morning.not_assessed,
        vec!["gusts".to_string(), "visibility".to_string()]
    );
    // From 12:00 the wind columns are null.
    let afternoon = evaluate(
        Some(&report),
        &x4(noon() + Duration::hours(1), 2),
        &c,
        noon(),
    );
    assert_eq!(afternoon.verdict, Verdict::Unknown, "{afternoon:#?}");
    assert_eq!(afternoon.reasons[0].kind, ReasonKind::Data);
}

#[test]
fn provider_errors_carry_the_providers_reason() {
    let server = serve(vec![Answer::Body(
        400,
        "application/json",
        data("open-meteo-error.json"),
    )]);
    let err = fetch_blocking(&open_meteo(&server), berlin(), TIMEOUT, clock()).expect_err("400");
    match &err {
        WeatherError::Http { status, reason, .. } => {
            assert_eq!(*status, 400);
            assert!(
                reason.starts_with("Cannot initialize WeatherVariable"),
                "{reason}"
            );
        }
        other => panic!("expected Http, got {other:?}"),
    }
    let server = serve(vec![Answer::Body(
        503,
        "text/html",
        b"<html><body>503 Service Unavailable</body></html>".to_vec(),
    )]);
    let err = fetch_blocking(&open_meteo(&server), berlin(), TIMEOUT, clock()).expect_err("503");
    assert!(
        matches!(&err, WeatherError::Http { status: 503, reason, .. } if reason.contains("Service Unavailable")),
        "{err:?}"
    );
}

#[test]
fn malformed_and_truncated_answers_are_decode_or_transport_errors() {
    let server = serve(vec![Answer::Body(
        200,
        "application/json",
        br#"{"latitude":52.5,"hourly":{"time":["2026-12-05T00:00"],"wind_speed_10m":[1.0,2.0]}}"#
            .to_vec(),
    )]);
    let err = fetch_blocking(&open_meteo(&server), berlin(), TIMEOUT, clock()).expect_err("bad");
    assert!(
        matches!(&err, WeatherError::Decode { reason, .. } if reason.contains("has 2 values for 1 times")),
        "{err:?}"
    );
    let server = serve(vec![Answer::Body(200, "text/html", b"<html>".to_vec())]);
    let err = fetch_blocking(&open_meteo(&server), berlin(), TIMEOUT, clock()).expect_err("html");
    assert!(matches!(err, WeatherError::Decode { .. }), "{err:?}");
    let body = data("open-meteo-berlin.json");
    let server = serve(vec![Answer::CutShort(body)]);
    let err = fetch_blocking(&open_meteo(&server), berlin(), TIMEOUT, clock()).expect_err("cut");
    assert!(matches!(err, WeatherError::Unreachable { .. }), "{err:?}");
}

#[test]
fn a_provider_that_never_answers_times_out() {
    let server = serve(vec![Answer::Hang]);
    let timeout = std::time::Duration::from_millis(300);
    let started = std::time::Instant::now();
    let err = fetch_blocking(&open_meteo(&server), berlin(), timeout, clock()).expect_err("hang");
    assert!(
        matches!(
            err,
            WeatherError::Timeout {
                timeout_ms: 300,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn unreachable_and_unusable_urls() {
    // A port nobody listens on: bind, learn the port, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let provider = Provider::OpenMeteo {
        url: format!("http://127.0.0.1:{port}/v1/forecast"),
    };
    let err = fetch_blocking(&provider, berlin(), TIMEOUT, clock()).expect_err("closed");
    assert!(matches!(err, WeatherError::Unreachable { .. }), "{err:?}");
    // The endpoint, not its query string.
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "http://127.0.0.1:{port}/v1/forecast is unreachable"
        )),
        "{text}"
    );
    assert!(!text.contains("latitude="), "{text}");
    let https = Provider::OpenMeteo {
        url: "https://api.open-meteo.com/v1/forecast".into(),
    };
    let err = fetch_blocking(&https, berlin(), TIMEOUT, clock()).expect_err("https");
    assert!(
        matches!(&err, WeatherError::BadUrl { reason, .. } if reason.contains("https")),
        "{err:?}"
    );
}

// --- METAR --------------------------------------------------------------------------------

#[test]
fn metar_from_a_station_file_gives_gusts_rain_and_ceiling() {
    let server = serve(vec![Answer::Body(
        200,
        "text/plain",
        data("metar-eddb.txt"),
    )]);
    let provider = Provider::Metar {
        url: format!("http://{}/metar/{{station}}.TXT", server.addr),
        station: "eddb".into(),
    };
    let report = fetch_blocking(&provider, berlin(), TIMEOUT, clock()).expect("fetch");
    assert_eq!(
        server.seen.lock().expect("lock").as_slice(),
        ["/metar/EDDB.TXT"]
    );
    assert_eq!(
        report.source,
        WeatherSource::Metar {
            station: "EDDB".into()
        }
    );
    let s = &report.samples[0];
    assert_eq!(s.time, noon() - Duration::minutes(10));
    assert!((s.wind[0].speed_mps - 15.0 * 0.514_444).abs() < 1e-6);
    assert!((s.gust_mps.unwrap_or_default() - 27.0 * 0.514_444).abs() < 1e-6);
    assert_eq!(s.wind_dir_deg, Some(240.0));
    assert_eq!(s.visibility_m, Some(9999.0));
    assert_eq!(s.precipitation_mm, Some(1.0));
    assert_eq!(s.temperature_c, Some(4.0));
    assert!((s.cloud_base_m.unwrap_or_default() - 1_200.0 * 0.3048).abs() < 1e-6);

    // 27 kt gusts (13.9 m/s) and light rain: no-go for the X4 now.
    let v = evaluate(
        Some(&report),
        &x4(noon(), 1),
        &EvalConfig::default(),
        noon(),
    );
    assert_eq!(v.verdict, Verdict::NoGo, "{v:#?}");
    assert_eq!(v.reasons[0].kind, ReasonKind::Gust);
    assert!(v.reasons[0].text.starts_with("gusts 13.9 m/s"));
    // An observation says nothing about tomorrow.
    let v = evaluate(
        Some(&report),
        &x4(noon() + Duration::days(1), 1),
        &EvalConfig::default(),
        noon(),
    );
    assert_eq!(v.verdict, Verdict::Unknown);
}

#[test]
fn metar_statute_miles_negative_temperatures_and_cavok() {
    let jfk = parse_metar(&String::from_utf8_lossy(&data("metar-kjfk.txt")), noon()).expect("kjfk");
    let s = &jfk.samples[0];
    assert!((s.visibility_m.unwrap_or_default() - 1.5 * 1_609.344).abs() < 1e-6);
    assert_eq!(s.temperature_c, Some(-2.0));
    assert_eq!(s.precipitation_mm, Some(0.0), "mist is not rain");
    assert!((s.cloud_base_m.unwrap_or_default() - 1_500.0 * 0.3048).abs() < 1e-6);
    assert_eq!(s.gust_mps, Some(s.wind[0].speed_mps), "no gust group");
    let v = evaluate(Some(&jfk), &x4(noon(), 1), &EvalConfig::default(), noon());
    assert_eq!(v.verdict, Verdict::Go, "{v:#?}");

    let zrh =
        parse_metar(&String::from_utf8_lossy(&data("metar-cavok.txt")), noon()).expect("cavok");
    let s = &zrh.samples[0];
    assert_eq!(s.wind_dir_deg, None, "VRB");
    assert_eq!(s.visibility_m, Some(10_000.0));
    assert_eq!(s.cloud_base_m, None);
    assert_eq!(s.temperature_c, Some(8.0));

    assert!(parse_metar("<html>Not found</html>", noon()).is_err());
    // Day 30 seen on the 5th: last month's.
    let old = parse_metar("KJFK 302351Z 00000KT 10SM SKC 01/M01 A3000", noon()).expect("old");
    assert_eq!(
        old.samples[0].time,
        Utc.with_ymd_and_hms(2026, 11, 30, 23, 51, 0)
            .single()
            .expect("t")
    );
}

// --- each limit ---------------------------------------------------------------------------

/// Limits nothing in the recordings comes near, so one tightened limit is the only finding.
fn relaxed() -> WeatherLimits {
    WeatherLimits {
        max_wind_mps: 50.0,
        max_gust_mps: 60.0,
        rain_allowed: true,
        min_temp_c: -50.0,
        max_temp_c: 60.0,
        min_visibility_m: 0.0,
    }
}

/// Each limit of a model, tightened alone, turns a recorded answer fetched from the local
/// server into a no-go naming that limit, the recorded value and the unit; with every limit
/// relaxed the same answer is go.
#[test]
fn each_limit_alone_gives_a_no_go_from_recorded_answers() {
    let server = serve(vec![json("open-meteo-berlin.json")]);
    let forecast = fetch_blocking(&open_meteo(&server), berlin(), TIMEOUT, clock()).expect("fetch");
    let metar =
        parse_metar(&String::from_utf8_lossy(&data("metar-eddb.txt")), noon()).expect("metar");
    // Today 12:00-13:00 is dry, 4-7 m/s at 10-120 m, gusts under 9 m/s, 5-7 °C, 24 km
    // visibility; tomorrow from 07:00 a front brings rain.
    let front = noon() + Duration::hours(19);
    let check = |report: &aviary_core::weather::WeatherReport,
                 start: DateTime<Utc>,
                 max_alt_m: f64,
                 limits: WeatherLimits,
                 kind: ReasonKind,
                 unit: &str,
                 value_in: (f64, f64)| {
        let flight = Flight {
            model: "Test model",
            limits,
            start,
            end: start + Duration::hours(1),
            max_alt_m,
        };
        let v = evaluate(Some(report), &flight, &EvalConfig::default(), noon());
        assert_eq!(v.verdict, Verdict::NoGo, "{kind:?}: {v:#?}");
        assert_eq!(v.reasons.len(), 1, "{kind:?} alone: {v:#?}");
        let r = &v.reasons[0];
        assert_eq!(
            (r.kind, r.verdict, r.unit.as_str()),
            (kind, Verdict::NoGo, unit)
        );
        let value = r.value.expect("a value");
        assert!(
            (value_in.0..=value_in.1).contains(&value),
            "{kind:?}: {value} not the recorded figure in {value_in:?}: {r:#?}"
        );
        assert!(
            r.text.contains("Test model") || kind == ReasonKind::CloudBase,
            "{r:#?}"
        );
        r.clone()
    };

    let calm = evaluate(
        Some(&forecast),
        &Flight {
            model: "Test model",
            limits: relaxed(),
            start: noon(),
            end: noon() + Duration::hours(1),
            max_alt_m: 120.0,
        },
        &EvalConfig::default(),
        noon(),
    );
    assert_eq!(calm.verdict, Verdict::Go, "{calm:#?}");

    let wind = check(
        &forecast,
        noon(),
        120.0,
        WeatherLimits {
            max_wind_mps: 3.0,
            ..relaxed()
        },
        ReasonKind::Wind,
        "m/s",
        (4.0, 7.5),
    );
    assert_eq!(wind.limit, Some(3.0));
    let gust = check(
        &forecast,
        noon(),
        120.0,
        WeatherLimits {
            max_gust_mps: 5.0,
            ..relaxed()
        },
        ReasonKind::Gust,
        "m/s",
        (8.0, 9.0),
    );
    assert_eq!(gust.limit, Some(5.0));
    let rain = check(
        &forecast,
        front,
        120.0,
        WeatherLimits {
            rain_allowed: false,
            ..relaxed()
        },
        ReasonKind::Precipitation,
        "mm",
        (0.1, 20.0),
    );
    assert!(rain.text.contains("is not rated for rain"), "{rain:#?}");
    let cold = check(
        &forecast,
        noon(),
        120.0,
        WeatherLimits {
            min_temp_c: 10.0,
            ..relaxed()
        },
        ReasonKind::Temperature,
        "°C",
        (5.0, 7.0),
    );
    assert!(cold.text.contains("< 10.0 °C limit"), "{cold:#?}");
    let hot = check(
        &forecast,
        noon(),
        120.0,
        WeatherLimits {
            max_temp_c: 2.0,
            ..relaxed()
        },
        ReasonKind::Temperature,
        "°C",
        (5.0, 7.0),
    );
    assert!(hot.text.contains("> 2.0 °C limit"), "{hot:#?}");
    let visibility = check(
        &forecast,
        noon(),
        120.0,
        WeatherLimits {
            min_visibility_m: 30_000.0,
            ..relaxed()
        },
        ReasonKind::Visibility,
        "m",
        (24_140.0, 24_140.0),
    );
    assert_eq!(visibility.limit, Some(30_000.0));
    // The METAR's broken layer at 1,200 ft (366 m) under a 400 m flight.
    let cloud = check(
        &metar,
        noon(),
        400.0,
        relaxed(),
        ReasonKind::CloudBase,
        "m",
        (365.0, 366.0),
    );
    assert_eq!(cloud.text, "cloud base 366 m < flight height 400 m");
}

// --- the service --------------------------------------------------------------------------

#[test]
fn service_fetches_off_the_caller_caches_per_site_and_reports_failures_with_the_last_report() {
    let server = serve(vec![
        json("open-meteo-berlin.json"),
        Answer::Body(500, "text/plain", b"upstream down".to_vec()),
    ]);
    let manual = Arc::new(ManualClock::new(noon()));
    let clock: Arc<dyn Clock> = manual.clone();
    let (wakes_tx, wakes) = mpsc::channel::<()>();
    let wakes_tx = Mutex::new(wakes_tx);
    let (service, events) = WeatherService::spawn(
        ServiceConfig {
            provider: open_meteo(&server),
            timeout: TIMEOUT,
            ..ServiceConfig::default()
        },
        clock,
        Arc::new(move || {
            let _ = wakes_tx.lock().map(|t| t.send(()));
        }),
    )
    .expect("spawn");
    let recv = || {
        events
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("event")
    };

    service.request("site-1", berlin()).expect("request");
    match recv() {
        WeatherEvent::Report {
            site, cached, age, ..
        } => {
            assert_eq!(site, "site-1");
            assert!(!cached);
            assert_eq!(age, Duration::zero());
        }
        other @ WeatherEvent::Failed { .. } => panic!("{other:?}"),
    }
    // The wake-up comes right after the event is queued.
    assert!(
        wakes
            .recv_timeout(std::time::Duration::from_secs(10))
            .is_ok(),
        "the app was woken"
    );

    // Five minutes later: from the cache, with its age, no second request.
    manual.advance(Duration::minutes(5));
    service.request("site-1", berlin()).expect("request");
    match recv() {
        WeatherEvent::Report { cached, age, .. } => {
            assert!(cached);
            assert_eq!(age, Duration::minutes(5));
        }
        other @ WeatherEvent::Failed { .. } => panic!("{other:?}"),
    }
    assert_eq!(server.seen.lock().expect("lock").len(), 1);

    // A forced refresh fails: the error and the last report, which ages into "unknown".
    service.refresh("site-1", berlin()).expect("refresh");
    match recv() {
        WeatherEvent::Failed { site, error, last } => {
            assert_eq!(site, "site-1");
            assert!(
                matches!(error, WeatherError::Http { status: 500, .. }),
                "{error:?}"
            );
            let last = last.expect("last report kept");
            let later = noon() + Duration::hours(4);
            let v = evaluate(Some(&last), &x4(later, 1), &EvalConfig::default(), later);
            assert_eq!(v.verdict, Verdict::Unknown);
            assert_eq!(v.age_s, Some(4 * 3600));
        }
        other @ WeatherEvent::Report { .. } => panic!("{other:?}"),
    }

    // Another site has its own entry: no cached answer, a fetch (which fails, no last).
    service.request("site-2", berlin()).expect("request");
    match recv() {
        WeatherEvent::Failed { site, last, .. } => {
            assert_eq!(site, "site-2");
            assert!(last.is_none());
        }
        other @ WeatherEvent::Report { .. } => panic!("{other:?}"),
    }
    drop(service);
}

#[tokio::test]
async fn fetcher_runs_on_the_callers_runtime() {
    let server = serve(vec![json("open-meteo-berlin.json")]);
    let report = Fetcher::new(TIMEOUT)
        .fetch(&open_meteo(&server), berlin(), noon)
        .await
        .expect("fetch");
    assert_eq!(report.samples.len(), 72);
}
