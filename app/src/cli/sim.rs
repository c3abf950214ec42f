//! `aviary sim`: a simulated ArduCopter fleet, headless, over MAVLink 2 UDP or MQTT.
//!
//! Over MAVLink each drone binds its own UDP port (`--base-port + index`, or ephemeral ports
//! with `--base-port 0`) and sends to the ground station (`--gcs`), like SITL instances
//! started with `--out udp:…`. System ids are `1 + index % 254`.
//!
//! With `--mqtt URL` the drones are MQTT clients of that broker instead (the design's
//! `drones/{id}/…` topics). With `--register SERVER` they are first registered on a fleet
//! server at `--site` (found by name or created) under serial numbers `--serial-prefix-NNNN`,
//! so every desktop connected to that server sees them; a second run reuses the same drones.

use aviary_app::sim_mqtt;
use aviary_core::{DroneId, LatLon};
use aviary_links::fleet::{FleetConfig, FleetEvent, FleetLink, Registration};
use aviary_sim::{SimConfig, Simulator, StreamRates};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
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
    /// ArduPilot-like terrain (`TERRAIN_ENABLE` = 1, 100 m spacing): the drones ask the
    /// ground station for terrain data and refuse to arm until it has arrived (answer with
    /// `aviary fly --dem FILE`).
    #[arg(long)]
    pub terrain: bool,
    /// Position rate when streaming by default, Hz.
    #[arg(long, default_value_t = 4.0)]
    pub rate_hz: f64,
    /// Latitude of the first drone's home.
    #[arg(long, default_value_t = 47.397_742)]
    pub lat: f64,
    /// Altitude of the homes above mean sea level, metres (as SITL's `--home LAT,LON,ALT`).
    #[arg(long, default_value_t = 488.0, allow_hyphen_values = true)]
    pub alt: f64,
    /// Longitude of the first drone's home.
    #[arg(long, default_value_t = 8.545_594)]
    pub lon: f64,
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Fly the drones as MQTT clients of this broker (`mqtt://host:1883`) instead of MAVLink.
    #[arg(long, value_name = "URL")]
    pub mqtt: Option<String>,
    /// Register the MQTT drones on this fleet server (`http://host:8080`) first.
    #[arg(long, value_name = "SERVER", requires = "mqtt")]
    pub register: Option<String>,
    /// Fleet-server account (an admin) used by `--register`.
    #[arg(long, env = "AVIARY_FLEET_EMAIL", requires = "register")]
    pub email: Option<String>,
    /// Its password (prefer the environment variable to the command line).
    #[arg(
        long,
        env = "AVIARY_FLEET_PASSWORD",
        hide_env_values = true,
        requires = "register"
    )]
    pub password: Option<String>,
    /// Site the registered drones belong to (created at the home position when missing).
    #[arg(long, default_value = "Simulator field")]
    pub site: String,
    /// Serial numbers of registered drones: PREFIX-0001, PREFIX-0002, …
    #[arg(long, default_value = "SIM")]
    pub serial_prefix: String,
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
        terrain,
        rate_hz,
        lat,
        lon,
        alt,
        seconds,
        mqtt,
        register,
        email,
        password,
        site,
        serial_prefix,
    } = args;
    anyhow::ensure!((1..=1000).contains(&drones), "--drones must be 1 to 1000");
    anyhow::ensure!(
        speedup > 0.0 && speedup <= 1000.0,
        "--speedup must be in (0, 1000]"
    );
    if let Some(url) = mqtt {
        let home = LatLon::checked(lat, lon)?;
        let mut fleet_drones = sim_mqtt::cli_fleet(drones, &serial_prefix, home);
        if let Some(server) = register {
            let ids = register_fleet(
                &server,
                email.as_deref().unwrap_or_default(),
                password.as_deref().unwrap_or_default(),
                sim_mqtt::registration(&site, home, None, &fleet_drones),
            )?;
            for (d, id) in fleet_drones.iter_mut().zip(ids) {
                d.id = id;
            }
        }
        let fleet = sim_mqtt::fly(&url, &fleet_drones, rate_hz, speedup)?;
        println!("{drones} MQTT drone(s) on {url} at speed-up {speedup}:");
        for id in fleet.drone_ids() {
            println!("  drone {id}");
        }
        wait(seconds);
        fleet.shutdown();
        return Ok(());
    }
    let mut cfg = SimConfig::new(parse_gcs(&gcs)?, drones);
    cfg.speedup = speedup;
    cfg.base_port = base_port;
    cfg.home = LatLon::checked(lat, lon)?;
    anyhow::ensure!(
        (-500.0..=9_000.0).contains(&alt),
        "--alt {alt} m is not a ground altitude (-500 to 9000 m above sea level)"
    );
    cfg.home_alt_amsl_m = alt;
    cfg.terrain = terrain.then(aviary_sim::TerrainOptions::default);
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
    wait(seconds);
    sim.shutdown();
    Ok(())
}

/// Runs until `seconds` elapse, or forever (until the process is interrupted).
fn wait(seconds: Option<f64>) {
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(200));
        if seconds.is_some_and(|s| start.elapsed().as_secs_f64() >= s) {
            break;
        }
    }
}

/// Registers the simulated drones on the fleet server; returns their ids (existing drones with
/// the same serial numbers keep theirs).
fn register_fleet(
    server: &str,
    email: &str,
    password: &str,
    registration: Registration,
) -> anyhow::Result<Vec<DroneId>> {
    let config = FleetConfig::new(server, email, password)?;
    let (link, events) = FleetLink::spawn(Arc::new(|| {}), 16)?;
    link.connect(config)?;
    let site = registration.site_name.clone();
    link.register(registration)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        anyhow::ensure!(!left.is_zero(), "no answer from {server} within 30 s");
        match events.recv_timeout(left) {
            Ok(FleetEvent::Registered { site_id, drones }) => {
                let created = drones.iter().filter(|(_, c)| *c).count();
                println!(
                    "registered on {server}: site {site} ({site_id}), {created} new drone(s), {} existing",
                    drones.len() - created
                );
                return Ok(drones.into_iter().map(|(id, _)| id).collect());
            }
            Ok(FleetEvent::Error { error, .. }) => {
                anyhow::bail!("cannot register the fleet on {server}: {error}")
            }
            Ok(_) => {}
            Err(e) => anyhow::bail!("the fleet link stopped: {e}"),
        }
    }
}
