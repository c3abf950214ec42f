//! `aviary sim`: a simulated ArduCopter fleet, headless, over MAVLink 2 UDP.
//!
//! Each drone binds its own UDP port (`--base-port + index`, or ephemeral ports with
//! `--base-port 0`) and sends to the ground station (`--gcs`), like SITL instances started
//! with `--out udp:…`. System ids are `1 + index % 254`.

use aviary_core::LatLon;
use aviary_sim::{SimConfig, Simulator, StreamRates};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Arguments of `aviary sim`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Number of drones (1–1000).
    #[arg(long, default_value_t = 1)]
    pub drones: u32,
    /// Ground station address the drones send to (`udp:HOST:PORT`, `udpout:HOST:PORT` or `HOST:PORT`).
    #[arg(long, default_value = "udp:127.0.0.1:14550")]
    pub gcs: String,
    /// Simulated seconds per wall second.
    #[arg(long, default_value_t = 1.0)]
    pub speedup: f64,
    /// First drone port (drone i binds base-port + i); 0 picks ephemeral ports.
    #[arg(long, default_value_t = 14560)]
    pub base_port: u16,
    /// Stream telemetry without being asked (ArduPilot sends only heartbeats until a ground
    /// station sets stream rates; our own app sees streaming drones at once).
    #[arg(long)]
    pub stream: bool,
    /// Position rate when streaming by default, Hz.
    #[arg(long, default_value_t = 4.0)]
    pub rate_hz: f64,
    /// Latitude of the first drone's home.
    #[arg(long, default_value_t = 47.397_742)]
    pub lat: f64,
    /// Longitude of the first drone's home.
    #[arg(long, default_value_t = 8.545_594)]
    pub lon: f64,
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long)]
    pub seconds: Option<f64>,
}

fn parse_gcs(s: &str) -> anyhow::Result<SocketAddr> {
    let hostport = s
        .strip_prefix("udpout:")
        .or_else(|| s.strip_prefix("udp:"))
        .unwrap_or(s);
    hostport
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow::anyhow!("cannot resolve {s:?}"))
}

/// Runs the fleet until `--seconds` elapse or the process is interrupted.
pub fn run(args: SimArgs) -> anyhow::Result<()> {
    let SimArgs {
        drones,
        gcs,
        speedup,
        base_port,
        stream,
        rate_hz,
        lat,
        lon,
        seconds,
    } = args;
    anyhow::ensure!((1..=1000).contains(&drones), "--drones must be 1 to 1000");
    anyhow::ensure!(
        speedup > 0.0 && speedup <= 1000.0,
        "--speedup must be in (0, 1000]"
    );
    let mut cfg = SimConfig::new(parse_gcs(&gcs)?, drones);
    cfg.speedup = speedup;
    cfg.base_port = base_port;
    cfg.home = LatLon::checked(lat, lon)?;
    cfg.default_streams = stream.then_some(StreamRates {
        position_hz: rate_hz,
        status_hz: 1.0,
    });
    let sim = Simulator::spawn(cfg)?;
    println!(
        "{} drone(s) sending to {} at speed-up {}:",
        drones,
        sim.config().gcs_addr,
        speedup
    );
    for d in sim.drones() {
        println!(
            "  drone {:>4}  sysid {:>3}  udp {}",
            d.id, d.system_id, d.local_addr
        );
    }
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(200));
        if seconds.is_some_and(|s| start.elapsed().as_secs_f64() >= s) {
            break;
        }
    }
    sim.shutdown();
    Ok(())
}
