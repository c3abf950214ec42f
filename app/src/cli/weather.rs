//! `aviary weather`: the go/no-go verdict for a place, a drone model and a time window,
//! headless. The same evaluation the app and the pre-flight check use
//! (`aviary_core::weather::evaluate`) on a report fetched by `aviary_links::weather`.
//!
//! Prints the verdict word (`go`, `caution`, `no-go`, `unknown`) on the first line, then each
//! reason with its value, limit and unit, and the data's source and age; `--json` prints the
//! verdict as JSON instead. The exit code is 0 whenever a verdict was printed (a failed fetch
//! prints `unknown` with the error as its reason).

use aviary_core::weather::{EvalConfig, Flight, WeatherLimits, WeatherVerdict, evaluate};
use aviary_core::{Clock, LatLon, SystemClock};
use aviary_links::weather::{DEFAULT_METAR_URL, DEFAULT_OPEN_METEO_URL, Provider, fetch_blocking};
use std::sync::Arc;

/// Arguments of `aviary weather`.
#[derive(Debug, clap::Args)]
pub struct WeatherArgs {
    /// Where: `LAT,LON` in degrees (e.g. `52.52,13.42`).
    #[arg(long, value_parser = parse_at, allow_hyphen_values = true)]
    pub at: LatLon,
    /// Drone model whose limits apply (built-in: `Aviary X4`, `Aviary X8`, `Aviary SimCopter`;
    /// any other name gets conservative defaults).
    #[arg(long, default_value = "Aviary X4")]
    pub model: String,
    /// Provider URL: the Open-Meteo compatible `/v1/forecast` endpoint, or with `--metar`
    /// the METAR URL template (`{station}` replaced). Plain http only.
    #[arg(long)]
    pub url: Option<String>,
    /// Use the METAR observation of this airfield (ICAO code) instead of the forecast.
    #[arg(long, value_name = "ICAO")]
    pub metar: Option<String>,
    /// Minutes from now to the start of the flight.
    #[arg(long, default_value_t = 0)]
    pub in_min: i64,
    /// Duration of the flight window, minutes.
    #[arg(long, default_value_t = 60)]
    pub duration_min: i64,
    /// Highest flight height above ground, metres.
    #[arg(long, default_value_t = 120.0)]
    pub alt_m: f64,
    /// Give up on the provider after this many seconds.
    #[arg(long, default_value_t = 10)]
    pub timeout_s: u64,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_at(s: &str) -> Result<LatLon, String> {
    let (lat, lon) = s
        .split_once(',')
        .ok_or_else(|| format!("expected LAT,LON, got {s:?}"))?;
    let num = |x: &str| {
        x.trim()
            .parse::<f64>()
            .map_err(|e| format!("{x:?} is not a number: {e}"))
    };
    LatLon::checked(num(lat)?, num(lon)?).map_err(|e| e.to_string())
}

/// Fetches, evaluates and prints.
pub fn run(args: WeatherArgs) -> anyhow::Result<()> {
    let provider = match args.metar {
        Some(station) => Provider::Metar {
            url: args.url.unwrap_or_else(|| DEFAULT_METAR_URL.into()),
            station,
        },
        None => Provider::OpenMeteo {
            url: args.url.unwrap_or_else(|| DEFAULT_OPEN_METEO_URL.into()),
        },
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let fetched = fetch_blocking(
        &provider,
        args.at,
        std::time::Duration::from_secs(args.timeout_s.max(1)),
        Arc::clone(&clock),
    );
    let now = clock.now();
    let start = now + chrono::Duration::minutes(args.in_min.max(0));
    let flight = Flight {
        model: &args.model,
        limits: WeatherLimits::for_model(&args.model),
        start,
        end: start + chrono::Duration::minutes(args.duration_min.max(1)),
        max_alt_m: args.alt_m,
    };
    let (report, error) = match fetched {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let mut verdict = evaluate(report.as_ref(), &flight, &EvalConfig::default(), now);
    if let (Some(e), Some(first)) = (&error, verdict.reasons.first_mut()) {
        first.text = format!("no weather data: {e}");
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&verdict)?);
    } else {
        print!("{}", text(&verdict, &flight.limits));
    }
    Ok(())
}

fn text(v: &WeatherVerdict, limits: &WeatherLimits) -> String {
    use std::fmt::Write as _;
    let mut out = format!("{}\n", v.verdict);
    for r in &v.reasons {
        let _ = write!(out, "  {:<8} {}", r.verdict.as_str(), r.text);
        if let Some(at) = r.at {
            let _ = write!(out, " ({})", at.format("%Y-%m-%d %H:%M UTC"));
        }
        out.push('\n');
    }
    if v.reasons.is_empty() {
        let _ = writeln!(
            out,
            "  within limits for {}: wind {:.1} m/s, gusts {:.1} m/s, {}, {:.0}–{:.0} °C, visibility ≥ {:.0} m",
            v.model,
            limits.max_wind_mps,
            limits.max_gust_mps,
            if limits.rain_allowed {
                "rain allowed"
            } else {
                "no rain"
            },
            limits.min_temp_c,
            limits.max_temp_c,
            limits.min_visibility_m
        );
    }
    if !v.not_assessed.is_empty() {
        let _ = writeln!(
            out,
            "  not assessed (not in the data): {}",
            v.not_assessed.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "window {} – {}",
        v.window_start.format("%Y-%m-%d %H:%M"),
        v.window_end.format("%H:%M UTC")
    );
    match (&v.source, v.age_s) {
        (Some(src), Some(age)) => {
            let _ = writeln!(out, "source {src}, data age {age} s");
        }
        _ => out.push_str("source none\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_parses_lat_lon_and_rejects_nonsense() {
        let p = parse_at("52.52, -13.42").expect("ok");
        assert!((p.lat_deg - 52.52).abs() < 1e-12 && (p.lon_deg + 13.42).abs() < 1e-12);
        assert!(parse_at("52.52").is_err());
        assert!(parse_at("95,10").is_err());
        assert!(parse_at("a,b").is_err());
    }
}
