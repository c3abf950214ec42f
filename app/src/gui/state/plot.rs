//! One drone's plotted telemetry: the recent samples at the rate they arrive, and older ones
//! kept one per [`FLIGHT_STEP_MS`] so the plots can show the whole flight, with the link's
//! dropouts marked so they are drawn as gaps.

use aviary_core::TelemetrySample;
use chrono::{DateTime, Utc};
use std::collections::VecDeque;

/// Most recent samples kept at full rate per drone.
pub const PLOT_SAMPLES_MAX: usize = 1_200;
/// Older samples are kept one per this many milliseconds.
pub const FLIGHT_STEP_MS: i64 = 5_000;
/// Most older samples kept per drone: two hours at one per [`FLIGHT_STEP_MS`].
pub const FLIGHT_SAMPLES_MAX: usize = 1_440;
/// Two samples further apart than this are drawn with a gap between them, milliseconds (the
/// time after which the window shows a drone as link lost).
pub const PLOT_GAP_MS: i64 = 5_000;

/// One drone's plotted values at one time (32 bytes, so 1,000 drones' full recent buffers
/// stay under 40 MB).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlotSample {
    /// Sample time, milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// Altitude above takeoff, metres.
    pub alt_rel_m: f32,
    /// Ground speed, m/s.
    pub speed_mps: f32,
    /// Heading, degrees.
    pub heading_deg: f32,
    /// Battery, percent (negative: unknown).
    pub battery_pct: f32,
    /// Link quality, percent.
    pub signal_pct: f32,
    /// The link was silent for more than [`PLOT_GAP_MS`] before this sample.
    pub after_gap: bool,
}

impl From<&TelemetrySample> for PlotSample {
    fn from(s: &TelemetrySample) -> Self {
        Self {
            time_ms: s.time.timestamp_millis(),
            alt_rel_m: s.alt_rel_m as f32,
            speed_mps: s.speed_mps as f32,
            heading_deg: s.heading_deg as f32,
            battery_pct: s.battery_pct as f32,
            signal_pct: s.signal_pct as f32,
            after_gap: false,
        }
    }
}

/// How much of the flight the plots show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlotWindow {
    /// The last 30 seconds.
    Last30s,
    /// The last 2 minutes.
    #[default]
    Last2min,
    /// The last 10 minutes.
    Last10min,
    /// The whole flight: since the drone's mission started, or everything kept.
    Flight,
}

impl PlotWindow {
    /// Every choice, shortest first.
    pub const ALL: [Self; 4] = [Self::Last30s, Self::Last2min, Self::Last10min, Self::Flight];

    /// The button's text.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Last30s => "30 s",
            Self::Last2min => "2 min",
            Self::Last10min => "10 min",
            Self::Flight => "Whole flight",
        }
    }

    /// The window's length, seconds (`None` for the whole flight).
    pub const fn length_s(self) -> Option<i64> {
        match self {
            Self::Last30s => Some(30),
            Self::Last2min => Some(120),
            Self::Last10min => Some(600),
            Self::Flight => None,
        }
    }
}

/// The plotted samples of one drone, oldest first.
#[derive(Debug, Clone, Default)]
pub struct PlotBuffer {
    /// Older samples, one per [`FLIGHT_STEP_MS`] at most.
    flight: VecDeque<PlotSample>,
    /// The most recent samples at full rate.
    recent: VecDeque<PlotSample>,
    /// A gap was seen among the recent samples dropped since the last one kept in `flight`.
    gap_pending: bool,
}

impl PlotBuffer {
    /// Adds a sample, marking it as after a gap when the link was silent for longer than
    /// [`PLOT_GAP_MS`]; a sample older than the newest is ignored.
    pub fn push(&mut self, mut s: PlotSample) {
        if let Some(last) = self.recent.back() {
            if s.time_ms < last.time_ms {
                return;
            }
            s.after_gap = s.time_ms - last.time_ms > PLOT_GAP_MS;
        }
        // Exact capacities: a growing VecDeque doubles, which for 1,000 drones' full buffers
        // would hold 40 % more memory than the samples need.
        if self.recent.capacity() == 0 {
            self.recent.reserve_exact(PLOT_SAMPLES_MAX);
        }
        if self.recent.len() == PLOT_SAMPLES_MAX
            && let Some(old) = self.recent.pop_front()
        {
            self.keep_older(old);
        }
        self.recent.push_back(s);
    }

    /// Keeps a sample leaving the recent buffer if it is [`FLIGHT_STEP_MS`] after the last
    /// one kept, carrying any gap among the samples dropped in between.
    fn keep_older(&mut self, mut old: PlotSample) {
        let gap = self.gap_pending || old.after_gap;
        let due = self
            .flight
            .back()
            .is_none_or(|last| old.time_ms - last.time_ms >= FLIGHT_STEP_MS);
        if !due {
            self.gap_pending = gap;
            return;
        }
        old.after_gap = gap;
        self.gap_pending = false;
        if self.flight.len() == FLIGHT_SAMPLES_MAX {
            self.flight.pop_front();
        }
        self.flight.push_back(old);
    }

    /// Number of samples held.
    pub fn len(&self) -> usize {
        self.flight.len() + self.recent.len()
    }

    /// Whether no sample is held.
    pub fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }

    /// Every sample held, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &PlotSample> + '_ {
        self.flight.iter().chain(self.recent.iter())
    }

    /// The samples at or after `since`, oldest first.
    pub fn since(&self, since: DateTime<Utc>) -> impl Iterator<Item = &PlotSample> + '_ {
        let since_ms = since.timestamp_millis();
        self.iter().skip_while(move |s| s.time_ms < since_ms)
    }
}

/// One quantity over time as the plot draws it: lines broken where the link was silent, x in
/// seconds before `now`.
pub fn segments<'a>(
    samples: impl Iterator<Item = &'a PlotSample>,
    now: DateTime<Utc>,
    value: impl Fn(&PlotSample) -> Option<f32>,
) -> Vec<Vec<[f64; 2]>> {
    let now_ms = now.timestamp_millis();
    let mut out: Vec<Vec<[f64; 2]>> = Vec::new();
    let mut open = false;
    for s in samples {
        let Some(v) = value(s) else {
            // An unknown value breaks the line as a dropout does.
            open = false;
            continue;
        };
        let point = [(s.time_ms - now_ms) as f64 / 1000.0, f64::from(v)];
        match out.last_mut() {
            Some(line) if open && !s.after_gap => line.push(point),
            _ => out.push(vec![point]),
        }
        open = true;
    }
    out
}

/// The y range to show for `lines`: the data's range, widened around its centre to at least
/// `min_span` (so a level flight at 243.1 m reads "240, 245", not "243.08, 243.09"), kept
/// inside `limits` when the quantity has them (percent, degrees). `None` without data.
pub fn y_range(
    lines: &[Vec<[f64; 2]>],
    min_span: f64,
    limits: Option<(f64, f64)>,
) -> Option<(f64, f64)> {
    let (lo, hi) = lines
        .iter()
        .flatten()
        .fold(None, |acc: Option<(f64, f64)>, p| {
            Some(acc.map_or((p[1], p[1]), |(lo, hi)| (lo.min(p[1]), hi.max(p[1]))))
        })?;
    let (mut lo, mut hi) = if hi - lo < min_span {
        let mid = f64::midpoint(lo, hi);
        (mid - min_span / 2.0, mid + min_span / 2.0)
    } else {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    };
    if let Some((min, max)) = limits {
        if lo < min {
            hi = (hi + (min - lo)).min(max);
            lo = min;
        }
        if hi > max {
            lo = (lo - (hi - max)).max(min);
            hi = max;
        }
    }
    Some((lo, hi))
}

/// A time axis mark, seconds before now, as people read it: `now`, `-30 s`, `-2:30`,
/// `-1:05:00`.
pub fn time_tick(x_s: f64) -> String {
    let s = (-x_s).round() as i64;
    if s == 0 {
        return "now".to_owned();
    }
    let sign = if s > 0 { "-" } else { "+" };
    let s = s.abs();
    match s {
        0..60 => format!("{sign}{s} s"),
        60..3_600 => format!("{sign}{}:{:02}", s / 60, s % 60),
        _ => format!("{sign}{}:{:02}:{:02}", s / 3_600, s / 60 % 60, s % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time_ms: i64, alt_rel_m: f32) -> PlotSample {
        PlotSample {
            time_ms,
            alt_rel_m,
            speed_mps: 5.0,
            heading_deg: 90.0,
            battery_pct: 80.0,
            signal_pct: 99.0,
            after_gap: false,
        }
    }

    #[test]
    fn a_sample_is_32_bytes() {
        assert_eq!(std::mem::size_of::<PlotSample>(), 32);
    }

    #[test]
    fn a_dropout_is_a_gap_and_stays_one_in_the_older_samples() {
        let mut b = PlotBuffer::default();
        // 10 Hz for 100 s, silence for 20 s, 10 Hz again for 10 minutes.
        for k in 0..1_000 {
            b.push(at(k * 100, 40.0));
        }
        for k in 0..6_000 {
            b.push(at(120_000 + k * 100, 40.0));
        }
        let gaps: Vec<i64> = b
            .iter()
            .filter(|s| s.after_gap)
            .map(|s| s.time_ms)
            .collect();
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        // The silence ends at 120 s; the older samples keep one per 5 s, so the gap sits on
        // the first one kept after it.
        assert!((120_000..125_000).contains(&gaps[0]), "{gaps:?}");
        let lines = segments(b.iter(), chrono::DateTime::UNIX_EPOCH, |s| {
            Some(s.alt_rel_m)
        });
        assert_eq!(lines.len(), 2, "one line before the dropout, one after");
        // The whole flight is still there: its first sample and one per 5 s after it.
        assert_eq!(b.iter().next().map(|s| s.time_ms), Some(0));
        assert_eq!(b.recent.len(), PLOT_SAMPLES_MAX);
        assert!(
            b.flight
                .iter()
                .zip(b.flight.iter().skip(1))
                .all(|(a, c)| c.time_ms - a.time_ms >= FLIGHT_STEP_MS)
        );
    }

    #[test]
    fn the_older_samples_hold_two_hours() {
        let mut b = PlotBuffer::default();
        // Three hours at 1 Hz.
        for k in 0..10_800 {
            b.push(at(k * 1_000, 40.0));
        }
        assert_eq!(b.flight.len(), FLIGHT_SAMPLES_MAX);
        let first = b.iter().next().map_or(0, |s| s.time_ms);
        let span_s = (10_799_000 - first) / 1_000;
        assert!(span_s >= 7_200, "{span_s} s kept");
    }

    #[test]
    fn unknown_values_break_the_line() {
        let mut b = PlotBuffer::default();
        for (k, pct) in [80.0, 79.0, -1.0, -1.0, 78.0].into_iter().enumerate() {
            b.push(PlotSample {
                battery_pct: pct,
                ..at(k as i64 * 1_000, 40.0)
            });
        }
        let lines = segments(b.iter(), chrono::DateTime::UNIX_EPOCH, |s| {
            (s.battery_pct >= 0.0).then_some(s.battery_pct)
        });
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 2);
        assert_eq!(lines[1], vec![[4.0, 78.0]]);
    }

    #[test]
    fn the_window_starts_where_asked() {
        let mut b = PlotBuffer::default();
        for k in 0..100 {
            b.push(at(k * 1_000, k as f32));
        }
        let since = chrono::DateTime::from_timestamp_millis(70_000).unwrap_or_default();
        let first = b.since(since).next().map(|s| s.time_ms);
        assert_eq!(first, Some(70_000));
        assert_eq!(b.since(since).count(), 30);
    }

    #[test]
    fn a_level_line_gets_a_readable_range() {
        let level = vec![vec![[-10.0, 243.08], [0.0, 243.09]]];
        let (lo, hi) = y_range(&level, 5.0, None).unwrap_or_default();
        assert!((hi - lo - 5.0).abs() < 1e-9, "{lo} {hi}");
        assert!(lo < 243.08 && hi > 243.09);
        // Percent stays within 0–100 and keeps its span at the top.
        let full = vec![vec![[-10.0, 100.0], [0.0, 99.5]]];
        assert_eq!(
            y_range(&full, 10.0, Some((0.0, 100.0))),
            Some((90.0, 100.0))
        );
        // A real climb is shown whole, with a margin.
        let climb = vec![vec![[-10.0, 0.0], [0.0, 60.0]]];
        assert_eq!(y_range(&climb, 5.0, None), Some((-3.0, 63.0)));
        assert_eq!(y_range(&[], 5.0, None), None);
    }

    #[test]
    fn time_marks_read_as_times() {
        assert_eq!(time_tick(0.0), "now");
        assert_eq!(time_tick(-30.0), "-30 s");
        assert_eq!(time_tick(-150.0), "-2:30");
        assert_eq!(time_tick(-3_900.0), "-1:05:00");
        assert_eq!(time_tick(-29.6), "-30 s");
    }
}
