//! Weather feed formats shared by every host (the links-side providers and the fleet
//! server): the Open-Meteo `/v1/forecast` request URL and the parser of its answer into a
//! [`WeatherReport`]. Pure: the caller does the HTTP and passes the body and the time.

use crate::LatLon;
use crate::weather::{WeatherReport, WeatherSample, WeatherSource, WindLevel};
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};

/// Hourly variables asked of Open-Meteo.
pub const OPEN_METEO_HOURLY: &str = "temperature_2m,precipitation,precipitation_probability,\
visibility,wind_speed_10m,wind_speed_80m,wind_speed_120m,wind_speed_180m,wind_direction_10m,\
wind_gusts_10m";

/// Wind levels Open-Meteo gives, metres above ground.
pub const OPEN_METEO_WIND_LEVELS: [u32; 4] = [10, 80, 120, 180];

/// The forecast URL asked for a position from an Open-Meteo compatible endpoint (`base` may
/// carry a query of its own; ours is appended): SI wind, UTC times, three days.
pub fn open_meteo_url(base: &str, at: LatLon) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!(
        "{base}{sep}latitude={:.4}&longitude={:.4}&hourly={OPEN_METEO_HOURLY}\
         &wind_speed_unit=ms&timezone=GMT&forecast_days=3",
        at.lat_deg, at.lon_deg
    )
}

/// Parses an Open-Meteo `/v1/forecast` answer (`hourly` arrays, `hourly_units`, times in
/// `iso8601` local to `utc_offset_seconds` or `unixtime`). Values are converted to SI from
/// the units the answer states; `null`s and absent variables become `None`.
pub fn parse_open_meteo(
    body: &[u8],
    url: &str,
    fetched_at: DateTime<Utc>,
) -> Result<WeatherReport, String> {
    let decode = |reason: String| reason;
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| decode(format!("not JSON: {e}")))?;
    if v.get("error").and_then(serde_json::Value::as_bool) == Some(true) {
        return Err(decode(format!(
            "the provider says: {}",
            v.get("reason").and_then(|r| r.as_str()).unwrap_or("error")
        )));
    }
    let hourly = v
        .get("hourly")
        .and_then(|h| h.as_object())
        .ok_or_else(|| decode("no `hourly` object".into()))?;
    let units = v.get("hourly_units").and_then(|u| u.as_object());
    let unit = |name: &str| {
        units
            .and_then(|u| u.get(name))
            .and_then(|u| u.as_str())
            .unwrap_or("")
            .to_string()
    };
    let offset_s = v
        .get("utc_offset_seconds")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    let times = hourly
        .get("time")
        .and_then(|t| t.as_array())
        .ok_or_else(|| decode("no `hourly.time` array".into()))?;
    let times = times
        .iter()
        .map(|t| parse_time(t, offset_s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(decode)?;
    let series = |name: &str| -> Result<Option<Vec<Option<f64>>>, String> {
        let Some(values) = hourly.get(name) else {
            return Ok(None);
        };
        let values = values
            .as_array()
            .ok_or_else(|| decode(format!("`hourly.{name}` is not an array")))?;
        if values.len() != times.len() {
            return Err(decode(format!(
                "`hourly.{name}` has {} values for {} times",
                values.len(),
                times.len()
            )));
        }
        let convert =
            to_si(&unit(name)).map_err(|u| decode(format!("`{name}` in unknown unit {u:?}")))?;
        Ok(Some(
            values
                .iter()
                .map(|x| x.as_f64().filter(|f| f.is_finite()).map(&convert))
                .collect(),
        ))
    };
    let at = |s: &Option<Vec<Option<f64>>>, i: usize| s.as_ref().and_then(|v| v[i]);
    let winds = OPEN_METEO_WIND_LEVELS
        .iter()
        .map(|h| Ok((f64::from(*h), series(&format!("wind_speed_{h}m"))?)))
        .collect::<Result<Vec<_>, String>>()?;
    let gust = series("wind_gusts_10m")?;
    let dir = series("wind_direction_10m")?;
    let precip = series("precipitation")?;
    let chance = series("precipitation_probability")?;
    let temp = series("temperature_2m")?;
    let vis = series("visibility")?;
    let samples = times
        .iter()
        .enumerate()
        .map(|(i, time)| WeatherSample {
            time: *time,
            wind: winds
                .iter()
                .filter_map(|(h, s)| {
                    at(s, i).map(|speed_mps| WindLevel {
                        height_m: *h,
                        speed_mps,
                    })
                })
                .collect(),
            gust_mps: at(&gust, i),
            wind_dir_deg: at(&dir, i),
            precipitation_mm: at(&precip, i),
            precipitation_probability_pct: at(&chance, i),
            temperature_c: at(&temp, i),
            visibility_m: at(&vis, i),
            cloud_base_m: None,
        })
        .collect();
    Ok(WeatherReport {
        source: WeatherSource::OpenMeteo {
            url: url.to_string(),
        },
        fetched_at,
        samples,
    })
}

fn parse_time(t: &serde_json::Value, offset_s: i64) -> Result<DateTime<Utc>, String> {
    if let Some(unix) = t.as_i64() {
        return DateTime::from_timestamp(unix, 0).ok_or_else(|| format!("bad time {unix}"));
    }
    let s = t.as_str().ok_or_else(|| format!("bad time {t}"))?;
    let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|e| format!("bad time {s:?}: {e}"))?;
    Ok(Utc.from_utc_datetime(&local) - Duration::seconds(offset_s))
}

/// The conversion to SI (m/s, °C, mm, m, %, °) from a unit Open-Meteo names.
fn to_si(unit: &str) -> Result<fn(f64) -> f64, String> {
    Ok(match unit {
        "" | "m/s" | "ms" | "°C" | "mm" | "m" | "%" | "°" => |x| x,
        "km/h" | "kmh" => |x| x / 3.6,
        "mph" => |x| x * 0.447_04,
        "kn" | "knots" => |x| x * 0.514_444,
        "°F" => |x| (x - 32.0) * 5.0 / 9.0,
        "inch" | "in" => |x| x * 25.4,
        "ft" => |x| x * 0.3048,
        other => return Err(other.to_string()),
    })
}
