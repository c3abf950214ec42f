//! The real-window benchmark: the desktop app measures itself while it runs in its own window
//! (under Xvfb with Mesa's software GL in `scripts/bench-window.sh`), and prints one JSON line.
//!
//! Turned on by the environment, never by a setting:
//! - `AVIARY_BENCH_WINDOW=SECONDS` measures for that long after a warm-up, prints the JSON line
//!   on stdout and closes the window;
//! - `AVIARY_BENCH_WARMUP_S` (default 10) lets the drones report in and the map settle first;
//! - `AVIARY_BENCH_CONTINUOUS=1` asks for a new frame as soon as one is drawn, as while the
//!   operator drags the map: the frame rate is then what the window can draw. Without it the
//!   app repaints as it does for a user (on telemetry, at most at the view's rate), and the CPU
//!   figure is what a laptop pays while the operator watches;
//! - `AVIARY_BENCH_WINDOW_SIZE=WxH` opens the window at that size (default 1440x900).
//!
//! The line's fields: `frames`, `fps` (frames drawn over the measured wall time), `ui_ms_*`
//! (logic, `ui` and commands of one frame — the app's own work, as the readout shows it),
//! `interval_ms_*` (frame start to frame start, which adds tessellation, GL drawing and the
//! wait for the next frame), `cpu_pct` (the whole process, every thread, percent of one core,
//! Linux), `rss_mb` / `peak_rss_mb` (resident memory at the end and its peak, Linux), the view
//! and the number of drones the app knows.

use std::time::{Duration, Instant};

/// What the environment asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowBenchConfig {
    /// Measured time.
    pub measure: Duration,
    /// Time before the measurement.
    pub warmup: Duration,
    /// A new frame as soon as one is drawn.
    pub continuous: bool,
    /// Window size, points.
    pub size: Option<[f32; 2]>,
}

impl WindowBenchConfig {
    /// From `AVIARY_BENCH_*`; `None` when no benchmark was asked for. A value that does not
    /// parse is an error naming the variable.
    pub fn from_env() -> Result<Option<Self>, String> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let Some(measure) = var("AVIARY_BENCH_WINDOW") else {
            return Ok(None);
        };
        let seconds = |name: &str, text: &str| {
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("{name}={text:?} is not a number of seconds"))
        };
        let measure = seconds("AVIARY_BENCH_WINDOW", &measure)?;
        if measure.is_zero() {
            return Err("AVIARY_BENCH_WINDOW must be more than 0 seconds".to_owned());
        }
        let warmup = match var("AVIARY_BENCH_WARMUP_S") {
            Some(w) => seconds("AVIARY_BENCH_WARMUP_S", &w)?,
            None => Duration::from_secs(10),
        };
        let continuous = var("AVIARY_BENCH_CONTINUOUS").is_some_and(|v| v.trim() == "1");
        let size = match var("AVIARY_BENCH_WINDOW_SIZE") {
            Some(s) => Some(parse_size(&s).ok_or_else(|| {
                format!("AVIARY_BENCH_WINDOW_SIZE={s:?} is not WIDTHxHEIGHT (e.g. 1600x1000)")
            })?),
            None => None,
        };
        Ok(Some(Self {
            measure,
            warmup,
            continuous,
            size,
        }))
    }
}

fn parse_size(text: &str) -> Option<[f32; 2]> {
    let (w, h) = text.trim().split_once(['x', 'X'])?;
    let w: f32 = w.trim().parse().ok()?;
    let h: f32 = h.trim().parse().ok()?;
    (w >= 400.0 && h >= 300.0 && w.is_finite() && h.is_finite()).then_some([w, h])
}

/// Process figures at one instant (Linux; `None` elsewhere).
#[derive(Debug, Clone, Copy)]
struct ProcSnapshot {
    cpu_s: f64,
}

fn proc_snapshot() -> Option<ProcSnapshot> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'; utime
    // and stime are fields 14 and 15, 11 and 12 after the name; USER_HZ is 100 on Linux.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    Some(ProcSnapshot {
        cpu_s: (ticks(11)? + ticks(12)?) / 100.0,
    })
}

/// `VmRSS` and `VmHWM` of `/proc/self/status`, MB.
fn rss_mb() -> (Option<f64>, Option<f64>) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (None, None);
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The running benchmark.
#[derive(Debug)]
pub struct WindowBench {
    config: WindowBenchConfig,
    started: Instant,
    window: Option<(Instant, Option<ProcSnapshot>)>,
    last_frame: Option<Instant>,
    ui_ms: Vec<f32>,
    interval_ms: Vec<f32>,
    done: bool,
}

/// What the app tells the benchmark about a frame.
#[derive(Debug, Clone, Copy)]
pub struct FrameFacts<'a> {
    /// Logic + ui + commands, milliseconds.
    pub ui_ms: f32,
    /// The view shown.
    pub view: &'a str,
    /// Drones the app knows.
    pub drones: usize,
}

impl WindowBench {
    /// A benchmark starting now.
    pub fn new(config: WindowBenchConfig) -> Self {
        Self {
            config,
            started: Instant::now(),
            window: None,
            last_frame: None,
            ui_ms: Vec::new(),
            interval_ms: Vec::new(),
            done: false,
        }
    }

    /// Whether a frame should follow this one at once.
    pub const fn continuous(&self) -> bool {
        self.config.continuous && !self.done
    }

    /// Called at the start of every frame, before the app's own work.
    pub fn frame_start(&mut self, now: Instant) {
        if self.window.is_none() {
            return;
        }
        if let Some(last) = self.last_frame {
            self.interval_ms.push((now - last).as_secs_f32() * 1000.0);
        }
        self.last_frame = Some(now);
    }

    /// Called at the end of every frame; returns the JSON line once the measurement is over
    /// (and never again).
    pub fn frame_end(&mut self, now: Instant, facts: FrameFacts<'_>) -> Option<String> {
        if self.done {
            return None;
        }
        let Some((window_start, cpu_start)) = self.window else {
            if now - self.started >= self.config.warmup {
                self.window = Some((now, proc_snapshot()));
                self.last_frame = Some(now);
            }
            return None;
        };
        self.ui_ms.push(facts.ui_ms);
        let elapsed = now - window_start;
        if elapsed < self.config.measure {
            return None;
        }
        self.done = true;
        let wall_s = elapsed.as_secs_f64();
        let cpu_pct = cpu_start
            .zip(proc_snapshot())
            .map(|(a, b)| (b.cpu_s - a.cpu_s) / wall_s * 100.0);
        let (rss, peak) = rss_mb();
        let line = serde_json::json!({
            "bench": "window",
            "view": facts.view,
            "drones": facts.drones,
            "continuous": self.config.continuous,
            "seconds": round2(wall_s),
            "frames": self.ui_ms.len(),
            "fps": round2(self.ui_ms.len() as f64 / wall_s),
            "ui_ms_mean": round2(mean(&self.ui_ms)),
            "ui_ms_p50": round2(quantile(&self.ui_ms, 0.50)),
            "ui_ms_p99": round2(quantile(&self.ui_ms, 0.99)),
            "interval_ms_p50": round2(quantile(&self.interval_ms, 0.50)),
            "interval_ms_p99": round2(quantile(&self.interval_ms, 0.99)),
            "cpu_pct": cpu_pct.map(round2),
            "rss_mb": rss.map(round2),
            "peak_rss_mb": peak.map(round2),
        });
        Some(line.to_string())
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn mean(v: &[f32]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.iter().map(|x| f64::from(*x)).sum::<f64>() / v.len() as f64
}

/// Quantile `q` (0–1) of `v` by the workspace's one rule (0 when empty).
fn quantile(v: &[f32], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut sorted: Vec<f64> = v.iter().map(|x| f64::from(*x)).collect();
    sorted.sort_by(f64::total_cmp);
    aviary_core::samples::percentile(&sorted, q)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn reads_the_environment_and_names_a_bad_value() {
        assert_eq!(WindowBenchConfig::from_vars(vars(&[])).unwrap(), None);
        let c = WindowBenchConfig::from_vars(vars(&[
            ("AVIARY_BENCH_WINDOW", "20"),
            ("AVIARY_BENCH_WARMUP_S", "2.5"),
            ("AVIARY_BENCH_CONTINUOUS", "1"),
            ("AVIARY_BENCH_WINDOW_SIZE", "1600x1000"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(c.measure, Duration::from_secs(20));
        assert_eq!(c.warmup, Duration::from_millis(2500));
        assert!(c.continuous);
        assert_eq!(c.size, Some([1600.0, 1000.0]));
        let e = WindowBenchConfig::from_vars(vars(&[("AVIARY_BENCH_WINDOW", "soon")])).unwrap_err();
        assert!(e.contains("AVIARY_BENCH_WINDOW=\"soon\""), "{e}");
        let e = WindowBenchConfig::from_vars(vars(&[
            ("AVIARY_BENCH_WINDOW", "5"),
            ("AVIARY_BENCH_WINDOW_SIZE", "big"),
        ]))
        .unwrap_err();
        assert!(e.contains("WIDTHxHEIGHT"), "{e}");
    }

    #[test]
    fn measures_frames_after_the_warm_up_and_reports_once() {
        let config = WindowBenchConfig {
            measure: Duration::from_secs(1),
            warmup: Duration::from_millis(500),
            continuous: true,
            size: None,
        };
        let mut b = WindowBench::new(config);
        let t0 = b.started;
        let facts = |ms| FrameFacts {
            ui_ms: ms,
            view: "Monitor",
            drones: 3,
        };
        // Warm-up frames are not counted.
        for i in 0..5 {
            let t = t0 + Duration::from_millis(100 * i);
            b.frame_start(t);
            assert!(b.frame_end(t, facts(50.0)).is_none());
        }
        // 10 frames 100 ms apart from 0.5 s: the window opens at 0.5 s, closes at 1.5 s.
        let mut line = None;
        for i in 5..=15 {
            let t = t0 + Duration::from_millis(100 * i);
            b.frame_start(t);
            if let Some(l) = b.frame_end(t, facts(4.0)) {
                line = Some(l);
            }
        }
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        assert_eq!(v["frames"], 10);
        assert!((v["fps"].as_f64().unwrap() - 10.0).abs() < 1e-9, "{v}");
        assert!((v["ui_ms_p99"].as_f64().unwrap() - 4.0).abs() < 1e-9, "{v}");
        assert!(
            (v["interval_ms_p50"].as_f64().unwrap() - 100.0).abs() < 0.01,
            "{v}"
        );
        assert_eq!(v["drones"], 3);
        assert!(!b.continuous(), "no more frames asked once reported");
        let t = t0 + Duration::from_millis(1700);
        assert!(b.frame_end(t, facts(4.0)).is_none(), "reported once");
    }
}
