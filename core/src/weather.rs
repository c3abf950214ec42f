//! Weather go/no-go: the flight limits of a drone model and the verdict a forecast or an
//! observation gives against them for a mission's time window.
//!
//! Pure: the provider (`aviary_links::weather`) fetches and parses; the host passes the
//! report, the window and `now`. The same [`evaluate`] serves `aviary weather`, the app's
//! panels and the pre-flight check, so every place says the same thing.
//!
//! Missing, stale or offline data gives [`Verdict::Unknown`], never [`Verdict::Go`]: a
//! verdict is only as good as the numbers behind it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

// --- limits -------------------------------------------------------------------------------

/// What a drone model may fly in. Editable per model; [`WeatherLimits::for_model`] gives the
/// defaults of the built-in models.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WeatherLimits {
    /// Highest sustained wind at any height up to the flight height, m/s.
    pub max_wind_mps: f64,
    /// Highest gust, m/s.
    pub max_gust_mps: f64,
    /// The airframe is rated to fly in rain.
    pub rain_allowed: bool,
    /// Coldest air temperature, °C (batteries lose capacity below it).
    pub min_temp_c: f64,
    /// Warmest air temperature, °C.
    pub max_temp_c: f64,
    /// Lowest visibility, metres (visual line of sight).
    pub min_visibility_m: f64,
}

impl Default for WeatherLimits {
    /// Conservative limits for an unknown multirotor.
    fn default() -> Self {
        Self {
            max_wind_mps: 10.0,
            max_gust_mps: 12.0,
            rain_allowed: false,
            min_temp_c: -10.0,
            max_temp_c: 40.0,
            min_visibility_m: 1_000.0,
        }
    }
}

/// Built-in models and their limits (name matched case-insensitively, by prefix, so
/// "Aviary X4 (simulated)" takes the "Aviary X4" row).
const BUILTIN: &[(&str, WeatherLimits)] = &[
    (
        "Aviary X4",
        WeatherLimits {
            max_wind_mps: 10.0,
            max_gust_mps: 12.0,
            rain_allowed: false,
            min_temp_c: -10.0,
            max_temp_c: 40.0,
            min_visibility_m: 1_000.0,
        },
    ),
    (
        "Aviary X8",
        WeatherLimits {
            max_wind_mps: 14.0,
            max_gust_mps: 17.0,
            rain_allowed: true,
            min_temp_c: -20.0,
            max_temp_c: 45.0,
            min_visibility_m: 1_000.0,
        },
    ),
    (
        "Aviary SimCopter",
        WeatherLimits {
            max_wind_mps: 12.0,
            max_gust_mps: 15.0,
            rain_allowed: false,
            min_temp_c: -10.0,
            max_temp_c: 40.0,
            min_visibility_m: 1_000.0,
        },
    ),
];

impl WeatherLimits {
    /// The limits of a built-in model, or the conservative [`Default`] for any other.
    pub fn for_model(model: &str) -> Self {
        let lower = model.trim().to_lowercase();
        BUILTIN
            .iter()
            .find(|(name, _)| lower.starts_with(&name.to_lowercase()))
            .map_or_else(Self::default, |(_, l)| *l)
    }

    /// Names of the built-in models, for help texts.
    pub fn builtin_models() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(name, _)| *name)
    }
}

// --- data ---------------------------------------------------------------------------------

/// Wind at one height above ground.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindLevel {
    /// Height above ground, metres.
    pub height_m: f64,
    /// Sustained wind, m/s.
    pub speed_mps: f64,
}

/// One hour of forecast, or one observation. Every figure is optional: providers and
/// stations leave fields out, and what is missing is reported, never assumed fine.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WeatherSample {
    /// Start of the hour (forecast) or observation time.
    pub time: DateTime<Utc>,
    /// Sustained wind at the heights given, lowest first.
    pub wind: Vec<WindLevel>,
    /// Gusts at 10 m, m/s.
    pub gust_mps: Option<f64>,
    /// Direction the wind blows from at 10 m, degrees true.
    pub wind_dir_deg: Option<f64>,
    /// Precipitation in the hour, mm (an observation reports 1.0 when it is raining).
    pub precipitation_mm: Option<f64>,
    /// Probability of precipitation, percent.
    pub precipitation_probability_pct: Option<f64>,
    /// Air temperature at 2 m, °C.
    pub temperature_c: Option<f64>,
    /// Visibility, metres.
    pub visibility_m: Option<f64>,
    /// Lowest broken or overcast cloud above ground, metres.
    pub cloud_base_m: Option<f64>,
}

/// Where a report came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum WeatherSource {
    /// An Open-Meteo compatible forecast API (hourly).
    OpenMeteo {
        /// The URL asked.
        url: String,
    },
    /// A METAR observation from an airfield.
    Metar {
        /// ICAO station identifier.
        station: String,
    },
}

impl fmt::Display for WeatherSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OpenMeteo { .. } => f.write_str("Open-Meteo forecast"),
            Self::Metar { station } => write!(f, "METAR {station}"),
        }
    }
}

/// A provider's answer: samples in time order and when it was fetched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeatherReport {
    /// The provider.
    pub source: WeatherSource,
    /// When the answer arrived (the age of the data counts from here).
    pub fetched_at: DateTime<Utc>,
    /// Hourly forecast or the single observation.
    pub samples: Vec<WeatherSample>,
}

// --- verdict ------------------------------------------------------------------------------

/// The answer, worst last so that `max` picks the overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Within every limit with margin.
    Go,
    /// Within limits but near one, or an uncertain hazard (chance of rain).
    Caution,
    /// Data missing, stale or offline: nobody can say it is safe.
    Unknown,
    /// A limit is exceeded.
    NoGo,
}

impl Verdict {
    /// The word the CLI prints and scripts match.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Go => "go",
            Self::Caution => "caution",
            Self::Unknown => "unknown",
            Self::NoGo => "no-go",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a reason is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// Sustained wind.
    Wind,
    /// Gusts.
    Gust,
    /// Rain, snow or its probability.
    Precipitation,
    /// Air temperature.
    Temperature,
    /// Visibility.
    Visibility,
    /// Cloud base below or near the flight height.
    CloudBase,
    /// The data itself: missing, stale, not covering the window.
    Data,
}

/// One finding, with the value, the limit and the unit it was compared in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// What about.
    pub kind: ReasonKind,
    /// How bad.
    pub verdict: Verdict,
    /// The worst value in the window, where there is one.
    pub value: Option<f64>,
    /// The limit it was held against.
    pub limit: Option<f64>,
    /// Unit of `value` and `limit` ("m/s", "°C", "m", "mm", "%", "min").
    pub unit: String,
    /// When the worst value occurs.
    pub at: Option<DateTime<Utc>>,
    /// In words, e.g. "gusts 14.0 m/s at 10 m > 12.0 m/s limit for Aviary X4".
    pub text: String,
}

/// The evaluation of one report for one model and window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeatherVerdict {
    /// The worst of the reasons (go when there is none).
    pub verdict: Verdict,
    /// Every finding that is not a plain go, worst first.
    pub reasons: Vec<Reason>,
    /// Figures the data did not give, so not checked (e.g. "visibility").
    pub not_assessed: Vec<String>,
    /// The drone model the limits are for.
    pub model: String,
    /// The provider, if there was data.
    pub source: Option<String>,
    /// Age of the data at evaluation, seconds (`None` when there is none).
    pub age_s: Option<i64>,
    /// The window evaluated.
    pub window_start: DateTime<Utc>,
    /// End of the window.
    pub window_end: DateTime<Utc>,
}

impl WeatherVerdict {
    /// One line: the verdict and its first reason.
    pub fn summary(&self) -> String {
        match self.reasons.first() {
            Some(r) => format!("{}: {}", self.verdict, r.text),
            None => format!("{}: within every limit for {}", self.verdict, self.model),
        }
    }
}

/// A verdict as a pre-flight check (see [`WeatherVerdict::start_check`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartCheck {
    /// Does not stop the start (go, caution, unknown).
    pub ok: bool,
    /// Passed with a warning (caution, unknown): shown, never as a plain pass.
    pub warn: bool,
    /// The verdict, its first reason and the data's age.
    pub detail: String,
}

impl WeatherVerdict {
    /// As a soft pre-flight check: go passes; caution warns; unknown (offline, stale or no
    /// data for the window) warns "unknown" and never passes plainly; no-go fails, and only an
    /// operator's typed reason (audited) overrides it.
    pub fn start_check(&self) -> StartCheck {
        let detail = match self.age_s {
            Some(age) => format!("{} (data {} min old)", self.summary(), age / 60),
            None => self.summary(),
        };
        StartCheck {
            ok: self.verdict != Verdict::NoGo,
            warn: matches!(self.verdict, Verdict::Caution | Verdict::Unknown),
            detail,
        }
    }
}

/// Thresholds of the evaluation that are not a model's limits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    /// Data older than this is stale: the verdict is unknown.
    pub max_age: Duration,
    /// A value past this fraction of its limit gives caution (wind, gust).
    pub caution_fraction: f64,
    /// Probability of precipitation from which a rain-intolerant model gets caution, %.
    pub caution_precip_probability_pct: f64,
    /// Precipitation that counts as rain, mm in the hour.
    pub rain_mm: f64,
    /// How far before the window an observation or forecast hour still describes it.
    pub lookback: Duration,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            max_age: Duration::hours(3),
            caution_fraction: 0.8,
            caution_precip_probability_pct: 40.0,
            rain_mm: 0.1,
            lookback: Duration::hours(1),
        }
    }
}

/// What is evaluated: the model, its limits, when and how high it flies.
#[derive(Debug, Clone, PartialEq)]
pub struct Flight<'a> {
    /// Model name, for the reasons.
    pub model: &'a str,
    /// Its limits.
    pub limits: WeatherLimits,
    /// First moment of the mission.
    pub start: DateTime<Utc>,
    /// Last moment (start + estimated duration).
    pub end: DateTime<Utc>,
    /// Highest flight height above ground, metres.
    pub max_alt_m: f64,
}

/// The verdict for `flight` from `report` (`None`: offline or never fetched).
pub fn evaluate(
    report: Option<&WeatherReport>,
    flight: &Flight<'_>,
    config: &EvalConfig,
    now: DateTime<Utc>,
) -> WeatherVerdict {
    let mut out = WeatherVerdict {
        verdict: Verdict::Go,
        reasons: Vec::new(),
        not_assessed: Vec::new(),
        model: flight.model.to_string(),
        source: report.map(|r| r.source.to_string()),
        age_s: report.map(|r| (now - r.fetched_at).num_seconds().max(0)),
        window_start: flight.start,
        window_end: flight.end,
    };
    let unknown = |text: String| Reason {
        kind: ReasonKind::Data,
        verdict: Verdict::Unknown,
        value: None,
        limit: None,
        unit: String::new(),
        at: None,
        text,
    };
    let Some(report) = report else {
        out.reasons.push(unknown(
            "no weather data (offline or not fetched yet)".into(),
        ));
        return finish(out);
    };
    let age = now - report.fetched_at;
    if age > config.max_age {
        out.reasons.push(Reason {
            value: Some(age.num_minutes() as f64),
            limit: Some(config.max_age.num_minutes() as f64),
            unit: "min".into(),
            ..unknown(format!(
                "weather data is {} min old > {} min limit",
                age.num_minutes(),
                config.max_age.num_minutes()
            ))
        });
        return finish(out);
    }
    let window: Vec<&WeatherSample> = report
        .samples
        .iter()
        .filter(|s| s.time > flight.start - config.lookback && s.time <= flight.end)
        .collect();
    if window.is_empty() {
        out.reasons.push(unknown(format!(
            "{} has no data for {} – {}",
            report.source,
            flight.start.format("%Y-%m-%d %H:%M UTC"),
            flight.end.format("%H:%M UTC")
        )));
        return finish(out);
    }
    let model = flight.model;
    let l = &flight.limits;

    // Wind: every level up to the first at or above the flight height.
    let wind = worst(&window, |s| {
        let mut best: Option<(f64, f64)> = None;
        for w in &s.wind {
            if best.is_none_or(|(v, _)| w.speed_mps > v) {
                best = Some((w.speed_mps, w.height_m));
            }
            if w.height_m >= flight.max_alt_m.max(10.0) {
                break;
            }
        }
        best
    });
    match wind {
        Some((t, (v, h))) => out.reasons.extend(upper(
            ReasonKind::Wind,
            v,
            l.max_wind_mps,
            config.caution_fraction,
            "m/s",
            t,
            &format!("wind {v:.1} m/s at {h:.0} m"),
            model,
        )),
        None => out
            .reasons
            .push(unknown("the data gives no wind speed".into())),
    }
    match worst(&window, |s| s.gust_mps.map(|g| (g, ()))) {
        Some((t, (v, ()))) => out.reasons.extend(upper(
            ReasonKind::Gust,
            v,
            l.max_gust_mps,
            config.caution_fraction,
            "m/s",
            t,
            &format!("gusts {v:.1} m/s at 10 m"),
            model,
        )),
        None => out.not_assessed.push("gusts".into()),
    }

    // Precipitation: amount, then probability.
    let rain = worst(&window, |s| s.precipitation_mm.map(|p| (p, ())));
    let chance = worst(&window, |s| {
        s.precipitation_probability_pct.map(|p| (p, ()))
    });
    if rain.is_none() && chance.is_none() {
        out.not_assessed.push("precipitation".into());
    }
    if !l.rain_allowed {
        if let Some((t, (v, ()))) = rain.filter(|(_, (v, ()))| *v >= config.rain_mm) {
            out.reasons.push(Reason {
                kind: ReasonKind::Precipitation,
                verdict: Verdict::NoGo,
                value: Some(v),
                limit: Some(0.0),
                unit: "mm".into(),
                at: Some(t),
                text: format!("precipitation {v:.1} mm/h > 0 mm/h: {model} is not rated for rain"),
            });
        } else if let Some((t, (v, ()))) =
            chance.filter(|(_, (v, ()))| *v >= config.caution_precip_probability_pct)
        {
            out.reasons.push(Reason {
                kind: ReasonKind::Precipitation,
                verdict: Verdict::Caution,
                value: Some(v),
                limit: Some(config.caution_precip_probability_pct),
                unit: "%".into(),
                at: Some(t),
                text: format!(
                    "precipitation probability {v:.0} % ≥ {:.0} %: {model} is not rated for rain",
                    config.caution_precip_probability_pct
                ),
            });
        }
    }

    // Temperature: both ends of the range.
    let cold = worst(&window, |s| s.temperature_c.map(|c| (-c, ())));
    let hot = worst(&window, |s| s.temperature_c.map(|c| (c, ())));
    match (cold, hot) {
        (Some((tc, (neg, ()))), Some((th, (c, ())))) => {
            let lo = -neg;
            if lo < l.min_temp_c {
                out.reasons.push(Reason {
                    kind: ReasonKind::Temperature,
                    verdict: Verdict::NoGo,
                    value: Some(lo),
                    limit: Some(l.min_temp_c),
                    unit: "°C".into(),
                    at: Some(tc),
                    text: format!(
                        "temperature {lo:.1} °C < {:.1} °C limit for {model}",
                        l.min_temp_c
                    ),
                });
            }
            if c > l.max_temp_c {
                out.reasons.push(Reason {
                    kind: ReasonKind::Temperature,
                    verdict: Verdict::NoGo,
                    value: Some(c),
                    limit: Some(l.max_temp_c),
                    unit: "°C".into(),
                    at: Some(th),
                    text: format!(
                        "temperature {c:.1} °C > {:.1} °C limit for {model}",
                        l.max_temp_c
                    ),
                });
            }
        }
        _ => out.not_assessed.push("temperature".into()),
    }

    // Visibility: the lowest in the window.
    match worst(&window, |s| s.visibility_m.map(|v| (-v, ()))) {
        Some((t, (neg, ()))) => {
            let v = -neg;
            let verdict = if v < l.min_visibility_m {
                Verdict::NoGo
            } else if v < l.min_visibility_m * 1.5 {
                Verdict::Caution
            } else {
                Verdict::Go
            };
            if verdict != Verdict::Go {
                out.reasons.push(Reason {
                    kind: ReasonKind::Visibility,
                    verdict,
                    value: Some(v),
                    limit: Some(l.min_visibility_m),
                    unit: "m".into(),
                    at: Some(t),
                    text: format!(
                        "visibility {v:.0} m {} {:.0} m limit for {model}",
                        if verdict == Verdict::NoGo {
                            "<"
                        } else {
                            "near"
                        },
                        l.min_visibility_m
                    ),
                });
            }
        }
        None => out.not_assessed.push("visibility".into()),
    }

    // Cloud base: the drone must stay below and in sight.
    if let Some((t, (neg, ()))) = worst(&window, |s| s.cloud_base_m.map(|v| (-v, ()))) {
        let base = -neg;
        let verdict = if base < flight.max_alt_m {
            Verdict::NoGo
        } else if base < flight.max_alt_m + 50.0 {
            Verdict::Caution
        } else {
            Verdict::Go
        };
        if verdict != Verdict::Go {
            out.reasons.push(Reason {
                kind: ReasonKind::CloudBase,
                verdict,
                value: Some(base),
                limit: Some(flight.max_alt_m),
                unit: "m".into(),
                at: Some(t),
                text: format!(
                    "cloud base {base:.0} m {} flight height {:.0} m",
                    if verdict == Verdict::NoGo {
                        "<"
                    } else {
                        "less than 50 m above"
                    },
                    flight.max_alt_m
                ),
            });
        }
    }
    finish(out)
}

/// Sorts the reasons worst first and sets the overall verdict.
fn finish(mut out: WeatherVerdict) -> WeatherVerdict {
    out.reasons.sort_by_key(|r| std::cmp::Reverse(r.verdict));
    out.verdict = out
        .reasons
        .iter()
        .map(|r| r.verdict)
        .max()
        .unwrap_or(Verdict::Go);
    out
}

/// The sample with the largest key over the window, and its time.
fn worst<T: Copy>(
    window: &[&WeatherSample],
    key: impl Fn(&WeatherSample) -> Option<(f64, T)>,
) -> Option<(DateTime<Utc>, (f64, T))> {
    window
        .iter()
        .filter_map(|s| key(s).filter(|(v, _)| v.is_finite()).map(|k| (s.time, k)))
        .fold(None, |best, cur| match best {
            Some((_, (v, _))) if v >= cur.1.0 => best,
            _ => Some(cur),
        })
}

/// A reason for a value with an upper limit, or none when it is well inside.
#[expect(
    clippy::too_many_arguments,
    reason = "one call per limit; a struct adds nothing"
)]
fn upper(
    kind: ReasonKind,
    value: f64,
    limit: f64,
    caution_fraction: f64,
    unit: &str,
    at: DateTime<Utc>,
    what: &str,
    model: &str,
) -> Option<Reason> {
    let (verdict, text) = if value > limit {
        (
            Verdict::NoGo,
            format!("{what} > {limit:.1} {unit} limit for {model}"),
        )
    } else if value > limit * caution_fraction {
        (
            Verdict::Caution,
            format!(
                "{what} is over {:.0} % of the {limit:.1} {unit} limit for {model}",
                caution_fraction * 100.0
            ),
        )
    } else {
        return None;
    };
    Some(Reason {
        kind,
        verdict,
        value: Some(value),
        limit: Some(limit),
        unit: unit.to_string(),
        at: Some(at),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + h * 3600, 0).unwrap_or_default()
    }

    fn calm(h: i64) -> WeatherSample {
        WeatherSample {
            time: t(h),
            wind: vec![
                WindLevel {
                    height_m: 10.0,
                    speed_mps: 3.0,
                },
                WindLevel {
                    height_m: 80.0,
                    speed_mps: 4.0,
                },
                WindLevel {
                    height_m: 120.0,
                    speed_mps: 5.0,
                },
                WindLevel {
                    height_m: 180.0,
                    speed_mps: 30.0,
                },
            ],
            gust_mps: Some(6.0),
            wind_dir_deg: Some(240.0),
            precipitation_mm: Some(0.0),
            precipitation_probability_pct: Some(5.0),
            temperature_c: Some(12.0),
            visibility_m: Some(20_000.0),
            cloud_base_m: None,
        }
    }

    fn report(samples: Vec<WeatherSample>) -> WeatherReport {
        WeatherReport {
            source: WeatherSource::OpenMeteo {
                url: "http://test".into(),
            },
            fetched_at: t(0),
            samples,
        }
    }

    fn flight() -> Flight<'static> {
        Flight {
            model: "Aviary X4",
            limits: WeatherLimits::for_model("Aviary X4"),
            start: t(1),
            end: t(2),
            max_alt_m: 100.0,
        }
    }

    fn eval(samples: Vec<WeatherSample>) -> WeatherVerdict {
        evaluate(
            Some(&report(samples)),
            &flight(),
            &EvalConfig::default(),
            t(0),
        )
    }

    fn day(f: impl Fn(&mut WeatherSample)) -> Vec<WeatherSample> {
        (0..6)
            .map(|h| {
                let mut s = calm(h);
                if h == 2 {
                    f(&mut s);
                }
                s
            })
            .collect()
    }

    #[test]
    fn calm_day_is_go() {
        let v = eval(day(|_| {}));
        assert_eq!(v.verdict, Verdict::Go, "{v:#?}");
        assert!(v.reasons.is_empty());
        assert!(v.not_assessed.is_empty());
        assert_eq!(v.age_s, Some(0));
        assert!(v.summary().starts_with("go: within every limit"));
    }

    #[test]
    fn wind_above_flight_height_beyond_next_level_is_ignored() {
        // 30 m/s at 180 m: the drone flies at 100 m; 120 m is the level just above.
        let v = eval(day(|_| {}));
        assert_eq!(v.verdict, Verdict::Go);
        let mut high = flight();
        high.max_alt_m = 150.0;
        let v = evaluate(
            Some(&report(day(|_| {}))),
            &high,
            &EvalConfig::default(),
            t(0),
        );
        assert_eq!(v.verdict, Verdict::NoGo);
        assert_eq!(
            v.reasons[0].text,
            "wind 30.0 m/s at 180 m > 10.0 m/s limit for Aviary X4"
        );
    }

    #[test]
    fn gusts_over_the_limit_are_no_go_with_value_limit_and_unit() {
        let v = eval(day(|s| s.gust_mps = Some(14.0)));
        assert_eq!(v.verdict, Verdict::NoGo);
        let r = &v.reasons[0];
        assert_eq!(r.kind, ReasonKind::Gust);
        assert_eq!(
            (r.value, r.limit, r.unit.as_str()),
            (Some(14.0), Some(12.0), "m/s")
        );
        assert_eq!(r.at, Some(t(2)));
        assert_eq!(
            r.text,
            "gusts 14.0 m/s at 10 m > 12.0 m/s limit for Aviary X4"
        );
    }

    #[test]
    fn wind_near_the_limit_is_caution_and_over_it_no_go() {
        let v = eval(day(|s| s.wind[2].speed_mps = 9.0));
        assert_eq!(v.verdict, Verdict::Caution);
        assert_eq!(v.reasons[0].kind, ReasonKind::Wind);
        assert!(
            v.reasons[0].text.contains("at 120 m"),
            "{}",
            v.reasons[0].text
        );
        let v = eval(day(|s| s.wind[0].speed_mps = 11.0));
        assert_eq!(v.verdict, Verdict::NoGo);
        assert_eq!(v.reasons[0].value, Some(11.0));
    }

    #[test]
    fn rain_is_no_go_for_a_dry_model_and_fine_for_a_wet_one() {
        let samples = day(|s| s.precipitation_mm = Some(1.2));
        let v = eval(samples.clone());
        assert_eq!(v.verdict, Verdict::NoGo);
        assert_eq!(v.reasons[0].kind, ReasonKind::Precipitation);
        assert_eq!(v.reasons[0].unit, "mm");
        let mut wet = flight();
        wet.model = "Aviary X8";
        wet.limits = WeatherLimits::for_model("aviary x8");
        assert!(wet.limits.rain_allowed);
        let v = evaluate(Some(&report(samples)), &wet, &EvalConfig::default(), t(0));
        assert_eq!(v.verdict, Verdict::Go, "{v:#?}");
    }

    #[test]
    fn chance_of_rain_is_caution() {
        let v = eval(day(|s| s.precipitation_probability_pct = Some(70.0)));
        assert_eq!(v.verdict, Verdict::Caution);
        assert_eq!(v.reasons[0].unit, "%");
    }

    #[test]
    fn temperature_outside_the_range_is_no_go() {
        let v = eval(day(|s| s.temperature_c = Some(-15.0)));
        assert_eq!(v.verdict, Verdict::NoGo);
        assert_eq!(
            v.reasons[0].text,
            "temperature -15.0 °C < -10.0 °C limit for Aviary X4"
        );
        let v = eval(day(|s| s.temperature_c = Some(43.0)));
        assert_eq!(v.verdict, Verdict::NoGo);
        assert_eq!(v.reasons[0].limit, Some(40.0));
    }

    #[test]
    fn low_visibility_and_low_cloud() {
        let v = eval(day(|s| s.visibility_m = Some(600.0)));
        assert_eq!(v.verdict, Verdict::NoGo);
        assert_eq!(v.reasons[0].kind, ReasonKind::Visibility);
        let v = eval(day(|s| s.visibility_m = Some(1_200.0)));
        assert_eq!(v.verdict, Verdict::Caution);
        let v = eval(day(|s| s.cloud_base_m = Some(90.0)));
        assert_eq!(v.verdict, Verdict::NoGo);
        let v = eval(day(|s| s.cloud_base_m = Some(130.0)));
        assert_eq!(v.verdict, Verdict::Caution);
    }

    #[test]
    fn outside_the_window_does_not_count() {
        // Hour 5 is after the window (1..=2).
        let mut samples = day(|_| {});
        samples[5].gust_mps = Some(25.0);
        assert_eq!(eval(samples).verdict, Verdict::Go);
    }

    #[test]
    fn offline_stale_and_uncovered_are_unknown_never_go() {
        let f = flight();
        let c = EvalConfig::default();
        let v = evaluate(None, &f, &c, t(0));
        assert_eq!(v.verdict, Verdict::Unknown);
        assert_eq!(v.age_s, None);
        let r = report(day(|_| {}));
        let v = evaluate(Some(&r), &f, &c, t(4));
        assert_eq!(v.verdict, Verdict::Unknown);
        assert_eq!(v.reasons[0].unit, "min");
        assert_eq!(
            v.reasons[0].text,
            "weather data is 240 min old > 180 min limit"
        );
        let v = eval(vec![calm(10), calm(11)]);
        assert_eq!(v.verdict, Verdict::Unknown);
        assert!(v.reasons[0].text.contains("has no data for"));
    }

    #[test]
    fn partial_data_without_wind_is_unknown_and_missing_fields_are_listed() {
        let v = eval(
            day(|_| {})
                .into_iter()
                .map(|s| WeatherSample {
                    wind: Vec::new(),
                    visibility_m: None,
                    ..s
                })
                .collect(),
        );
        assert_eq!(v.verdict, Verdict::Unknown);
        assert_eq!(v.reasons[0].kind, ReasonKind::Data);
        assert_eq!(v.not_assessed, vec!["visibility".to_string()]);
    }

    #[test]
    fn no_go_outranks_unknown_and_caution() {
        let v = eval(
            day(|s| {
                s.gust_mps = Some(20.0);
                s.wind[0].speed_mps = 9.0;
            })
            .into_iter()
            .map(|s| WeatherSample {
                temperature_c: None,
                ..s
            })
            .collect(),
        );
        assert_eq!(v.verdict, Verdict::NoGo);
        assert_eq!(v.reasons[0].kind, ReasonKind::Gust);
        assert_eq!(v.reasons[1].verdict, Verdict::Caution);
        assert_eq!(v.not_assessed, vec!["temperature".to_string()]);
    }

    #[test]
    fn a_level_at_the_flight_height_ends_the_wind_levels() {
        let mut at120 = flight();
        at120.max_alt_m = 120.0;
        let v = evaluate(
            Some(&report(day(|_| {}))),
            &at120,
            &EvalConfig::default(),
            t(0),
        );
        assert_eq!(
            v.verdict,
            Verdict::Go,
            "180 m is above a 120 m flight: {v:#?}"
        );
    }

    #[test]
    fn start_check_passes_go_warns_caution_and_unknown_fails_no_go() {
        let go = eval(day(|_| {})).start_check();
        assert!(go.ok && !go.warn);
        assert_eq!(
            go.detail,
            "go: within every limit for Aviary X4 (data 0 min old)"
        );
        let caution = eval(day(|s| s.wind[0].speed_mps = 9.0)).start_check();
        assert!(caution.ok && caution.warn, "{caution:?}");
        assert!(
            caution.detail.starts_with("caution: wind 9.0 m/s"),
            "{caution:?}"
        );
        let no_go = eval(day(|s| s.gust_mps = Some(14.0))).start_check();
        assert!(!no_go.ok && !no_go.warn);
        assert!(
            no_go.detail.starts_with("no-go: gusts 14.0 m/s"),
            "{no_go:?}"
        );
        let offline = evaluate(None, &flight(), &EvalConfig::default(), t(0)).start_check();
        assert!(offline.ok && offline.warn, "{offline:?}");
        assert!(
            offline.detail.starts_with("unknown: no weather data"),
            "{offline:?}"
        );
        let stale = evaluate(
            Some(&report(day(|_| {}))),
            &flight(),
            &EvalConfig::default(),
            t(0) + Duration::hours(4),
        )
        .start_check();
        assert!(stale.ok && stale.warn, "{stale:?}");
        assert!(
            stale.detail.starts_with("unknown: weather data is"),
            "{stale:?}"
        );
    }

    #[test]
    fn model_defaults() {
        assert_eq!(
            WeatherLimits::for_model("Aviary X4 (simulated)"),
            WeatherLimits::for_model("Aviary X4")
        );
        assert_eq!(
            WeatherLimits::for_model("Homebuilt"),
            WeatherLimits::default()
        );
        assert!(WeatherLimits::builtin_models().any(|m| m == "Aviary SimCopter"));
        let json = serde_json::to_string(&Verdict::NoGo).unwrap_or_default();
        assert_eq!(json, "\"no-go\"");
    }
}
