//! The weather a mission flew in, for its report: the forecast verdict when it started and the
//! wind its own drone measured (the autopilot's `WIND` estimate), summed up while it flew.
//!
//! Pure: the host feeds the measurements with their time and stores the results
//! (`Store::put_mission_weather`).

use crate::weather::{WeatherReport, WeatherSample, WeatherVerdict};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The forecast when the mission started: the verdict the pre-flight check showed and the
/// forecast hour the start fell in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartForecast {
    /// The verdict for the mission's window at the start.
    pub verdict: WeatherVerdict,
    /// The forecast hour (or observation) nearest before the start, when there was data.
    pub sample: Option<WeatherSample>,
}

impl StartForecast {
    /// The verdict and the sample of `report` nearest at or before `at` (else the first one).
    pub fn new(verdict: WeatherVerdict, report: Option<&WeatherReport>, at: DateTime<Utc>) -> Self {
        let sample = report.and_then(|r| {
            r.samples
                .iter()
                .rev()
                .find(|s| s.time <= at)
                .or_else(|| r.samples.first())
                .cloned()
        });
        Self { verdict, sample }
    }

    /// One line for a report: the verdict with its first reason, then where the data came
    /// from, the hour it was for and its age at the start, and the forecast wind and gusts,
    /// e.g. `no-go: gusts 9.5 m/s at 10 m > 9.0 m/s limit for Aviary X4. Open-Meteo forecast
    /// for 13:00 UTC (30 min old): wind 4.7 m/s at 10 m from 248°, gusts 9.5 m/s`.
    pub fn line(&self) -> String {
        use std::fmt::Write as _;
        let mut out = self.verdict.summary();
        let Some(s) = &self.sample else {
            return out;
        };
        let source = self.verdict.source.as_deref().unwrap_or("weather data");
        let _ = write!(out, ". {source} for {}", s.time.format("%H:%M UTC"));
        if let Some(age_s) = self.verdict.age_s {
            let _ = write!(out, " ({} min old)", age_s / 60);
        }
        let mut parts = Vec::new();
        if let Some(w) = s.wind.first() {
            let mut p = format!("wind {:.1} m/s at {:.0} m", w.speed_mps, w.height_m);
            if let Some(d) = s.wind_dir_deg {
                let _ = write!(p, " from {d:.0}°");
            }
            parts.push(p);
        }
        if let Some(g) = s.gust_mps {
            parts.push(format!("gusts {g:.1} m/s"));
        }
        if !parts.is_empty() {
            let _ = write!(out, ": {}", parts.join(", "));
        }
        out
    }
}

/// The wind the drone measured over a flight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeasuredWind {
    /// Measurements summed up.
    pub samples: u32,
    /// Mean wind speed, m/s.
    pub mean_mps: f64,
    /// Highest wind speed, m/s.
    pub max_mps: f64,
    /// Direction the wind came from at the highest speed, degrees.
    pub max_dir_deg: f64,
    /// First measurement.
    pub first: DateTime<Utc>,
    /// Last measurement.
    pub last: DateTime<Utc>,
}

impl MeasuredWind {
    /// One line for a report, with the span the estimates cover, e.g. `mean 5.1 m/s, max
    /// 6.3 m/s from 250° (10 estimates, 13:00:00 to 13:00:09 UTC)`.
    pub fn line(&self) -> String {
        format!(
            "mean {:.1} m/s, max {:.1} m/s from {:.0}° ({} estimates, {} to {} UTC)",
            self.mean_mps,
            self.max_mps,
            self.max_dir_deg,
            self.samples,
            self.first.format("%H:%M:%S"),
            self.last.format("%H:%M:%S")
        )
    }
}

/// Sums up wind estimates as they arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindAccumulator {
    sum_mps: f64,
    out: Option<MeasuredWind>,
}

impl WindAccumulator {
    /// Adds one estimate (non-finite or negative speeds are ignored).
    pub fn add(&mut self, speed_mps: f64, dir_deg: f64, at: DateTime<Utc>) {
        if !speed_mps.is_finite() || speed_mps < 0.0 || !dir_deg.is_finite() {
            return;
        }
        self.sum_mps += speed_mps;
        let m = self.out.get_or_insert(MeasuredWind {
            samples: 0,
            mean_mps: 0.0,
            max_mps: speed_mps,
            max_dir_deg: dir_deg.rem_euclid(360.0),
            first: at,
            last: at,
        });
        m.samples += 1;
        m.mean_mps = self.sum_mps / f64::from(m.samples);
        if speed_mps > m.max_mps {
            m.max_mps = speed_mps;
            m.max_dir_deg = dir_deg.rem_euclid(360.0);
        }
        m.last = at;
    }

    /// The summary so far (`None`: no estimate arrived).
    pub const fn result(&self) -> Option<MeasuredWind> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weather::{Verdict, WindLevel};

    #[test]
    fn wind_estimates_give_mean_max_and_its_direction() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).expect("t");
        let mut acc = WindAccumulator::default();
        assert!(acc.result().is_none());
        acc.add(4.0, 270.0, t0);
        acc.add(8.0, -10.0, t0 + chrono::Duration::seconds(1));
        acc.add(f64::NAN, 0.0, t0 + chrono::Duration::seconds(2));
        acc.add(6.0, 90.0, t0 + chrono::Duration::seconds(3));
        let m = acc.result().expect("measured");
        assert_eq!(m.samples, 3);
        assert!((m.mean_mps - 6.0).abs() < 1e-9);
        assert!((m.max_mps - 8.0).abs() < 1e-9);
        assert!((m.max_dir_deg - 350.0).abs() < 1e-9);
        assert_eq!((m.first, m.last), (t0, t0 + chrono::Duration::seconds(3)));
        assert_eq!(
            m.line(),
            "mean 6.0 m/s, max 8.0 m/s from 350° (3 estimates, 08:00:00 to 08:00:03 UTC)"
        );
    }

    #[test]
    fn the_start_forecast_keeps_the_hour_the_start_fell_in() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).expect("t");
        let hour = |h: i64, wind: f64| WeatherSample {
            time: t0 + chrono::Duration::hours(h),
            wind: vec![WindLevel {
                height_m: 10.0,
                speed_mps: wind,
            }],
            gust_mps: Some(wind + 3.0),
            wind_dir_deg: Some(200.0),
            ..WeatherSample::default()
        };
        let report = WeatherReport {
            source: crate::weather::WeatherSource::Metar {
                station: "EDDB".into(),
            },
            fetched_at: t0,
            samples: vec![hour(0, 3.0), hour(1, 5.0), hour(2, 7.0)],
        };
        let verdict = WeatherVerdict {
            verdict: Verdict::Go,
            reasons: Vec::new(),
            not_assessed: Vec::new(),
            model: "Aviary X4".into(),
            source: Some("METAR EDDB".into()),
            age_s: Some(0),
            window_start: t0,
            window_end: t0,
        };
        let f = StartForecast::new(verdict, Some(&report), t0 + chrono::Duration::minutes(90));
        assert_eq!(f.sample.as_ref().map(|s| s.gust_mps), Some(Some(8.0)));
        assert_eq!(
            f.line(),
            "go: within every limit for Aviary X4. METAR EDDB for 09:00 UTC (0 min old): \
             wind 5.0 m/s at 10 m from 200°, gusts 8.0 m/s"
        );
    }
}
