//! `aviary bench`: benchmarks that need real sockets.
//!
//! `live` runs the simulator and the `MAVLink` link in this process, each on its own runtime
//! thread, talking over real UDP on loopback, and prints one JSON line.

use aviary_links::mav::{self, LinkAddress, LinkConfig, LinkEvent};
use aviary_sim::{SimConfig, Simulator, StreamRates};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Subcommands of `aviary bench`.
#[derive(Debug, Clone, Copy, clap::Subcommand)]
pub enum BenchCommand {
    /// Live telemetry: N simulated drones streaming positions to one link over UDP.
    Live {
        /// Number of drones.
        #[arg(long, default_value_t = 1000)]
        drones: u32,
        /// Position rate per drone, Hz.
        #[arg(long, default_value_t = 10.0)]
        rate_hz: f64,
        /// Measured duration, seconds (after all drones were discovered).
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
    },
}

/// Runs a benchmark and prints its JSON line.
pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Live {
            drones,
            rate_hz,
            seconds,
        } => live(drones, rate_hz, seconds),
    }
}

/// CPU time of this process (user + system), seconds.
fn cpu_time_s() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of /proc/PID/stat, i.e. 11 and 12 after the name; USER_HZ is 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile_ms(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn live(drones: u32, rate_hz: f64, seconds: f64) -> anyhow::Result<()> {
    anyhow::ensure!((1..=1000).contains(&drones), "--drones must be 1 to 1000");
    anyhow::ensure!(
        rate_hz > 0.0 && seconds > 0.0,
        "--rate-hz and --seconds must be positive"
    );
    let mut lc = LinkConfig::new(LinkAddress::UdpIn("127.0.0.1:0".parse()?));
    lc.request_streams_hz = None;
    lc.event_capacity = 1 << 16;
    let (link, mut events) = mav::spawn(lc, Arc::new(|| {}))?;
    let local = link
        .local_addr()
        .ok_or_else(|| anyhow::anyhow!("link has no local address"))?;
    let mut sc = SimConfig::new(local, drones);
    sc.base_port = 0;
    sc.default_streams = Some(StreamRates {
        position_hz: rate_hz,
        status_hz: 0.0,
    });
    sc.tick_hz = (rate_hz * 2.0).max(20.0);
    let sim = Simulator::spawn(sc)?;
    let epoch = sim.epoch();

    // Warm-up: every drone discovered.
    let warm_deadline = Instant::now() + Duration::from_secs(30);
    let mut discovered = 0;
    while discovered < drones && Instant::now() < warm_deadline {
        if let Some(LinkEvent::VehicleDiscovered { .. }) =
            events.recv_timeout(Duration::from_millis(50))
        {
            discovered += 1;
        }
    }
    anyhow::ensure!(
        discovered == drones,
        "only {discovered} of {drones} drones discovered in 30 s"
    );

    let counters: Vec<_> = (0..drones).filter_map(|i| sim.counters(i)).collect();
    let sent_total = || -> u64 {
        counters
            .iter()
            .map(|c| c.position_sent.load(Ordering::Relaxed))
            .sum()
    };
    let sent0 = sent_total();
    let recv0 = link.stats().positions_rx.load(Ordering::Relaxed);
    let cpu0 = cpu_time_s();
    let t0 = Instant::now();
    let mut latencies_ms =
        Vec::with_capacity((f64::from(drones) * rate_hz * seconds) as usize + 1024);
    let mut last_boot: HashMap<mav::VehicleId, u32> = HashMap::new();
    let end = t0 + Duration::from_secs_f64(seconds);
    let mut drain = |events: &mut mav::LinkEvents, latencies_ms: &mut Vec<f64>| {
        while let Some(e) = events.try_recv() {
            if let LinkEvent::State(s) = e
                && let Some(at) = s.position_received
                && last_boot.insert(s.id, s.time_boot_ms) != Some(s.time_boot_ms)
            {
                let recv_ms = at.duration_since(epoch).as_secs_f64() * 1000.0;
                latencies_ms.push(recv_ms - f64::from(s.time_boot_ms));
            }
        }
    };
    while Instant::now() < end {
        drain(&mut events, &mut latencies_ms);
        std::thread::sleep(Duration::from_millis(2));
    }
    // Stop the drones, then let in-flight datagrams land before counting.
    sim.shutdown();
    let sent = sent_total() - sent0;
    std::thread::sleep(Duration::from_millis(200));
    let received = link.stats().positions_rx.load(Ordering::Relaxed) - recv0;
    let wall_s = t0.elapsed().as_secs_f64();
    let cpu_pct = (cpu_time_s() - cpu0) / wall_s * 100.0;
    drain(&mut events, &mut latencies_ms);
    link.shutdown();
    latencies_ms.sort_by(f64::total_cmp);
    let line = serde_json::json!({
        "drones": drones,
        "rate_hz": rate_hz,
        "seconds": seconds,
        "sent": sent,
        "received": received,
        "lost": sent.saturating_sub(received),
        "p50_ms": (percentile_ms(&latencies_ms, 0.50) * 100.0).round() / 100.0,
        "p99_ms": (percentile_ms(&latencies_ms, 0.99) * 100.0).round() / 100.0,
        "cpu_pct": cpu_pct.round(),
    });
    println!("{line}");
    Ok(())
}
