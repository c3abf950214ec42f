//! `aviary bench`: benchmarks that need real sockets.
//!
//! `fleet` loads an already running fleet server through its MQTT broker and measures it from
//! outside (ingest counters, mission WebSocket, REST reads); the wire code and the measurement
//! are `aviary_links::fleet_bench`, this module only parses the options and prints the JSON.
//!
//! `live` times the desktop's whole telemetry path (drone socket → decode → app state →
//! SQLite) under a simulated fleet in a child process: [`super::bench_live`].

use super::bench_live::{self, LiveOptions};
use aviary_app::gui::backend::LIVE_REPAINT_MS;

/// Subcommands of `aviary bench`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchCommand {
    /// Live telemetry through the desktop's whole path: N simulated drones (a child process)
    /// streaming positions over UDP to the app's link, `logic` and SQLite store (no window).
    Live {
        /// Number of drones (at most 65,000: one UDP port each).
        #[arg(long, default_value_t = 1000)]
        drones: u32,
        /// Position rate per drone, Hz.
        #[arg(long, default_value_t = 10.0)]
        rate_hz: f64,
        /// Measured duration, seconds (after all drones joined the fleet).
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
        /// Delay from the link's wake-up to the `logic` pass, milliseconds, as the window
        /// repaints views that draw live data; 0: a pass as soon as events arrive.
        #[arg(long, default_value_t = LIVE_REPAINT_MS)]
        frame_ms: u64,
        /// Store every sample, as for a flying fleet (default: the desktop's rule, which keeps
        /// one sample per 10 s of a grounded, unchanged drone, as the bench's drones are).
        #[arg(long)]
        store_every_sample: bool,
    },
    /// Fleet server under load: simulated drones publish telemetry through the MQTT broker to
    /// an already running `aviary-server`; measures ingest, publish → WebSocket latency and
    /// REST reads from outside (`aviary_links::fleet_bench`).
    Fleet(Box<FleetArgs>),
    /// The simulator half of `live` (started by it; not for direct use).
    #[command(hide = true)]
    LiveSimChild {
        /// The link's address.
        gcs: String,
        /// Number of drones.
        drones: u32,
        /// Position rate per drone, Hz.
        rate_hz: f64,
    },
}

/// Arguments of `aviary bench fleet`.
#[derive(Debug, Clone, clap::Args)]
pub struct FleetArgs {
    /// The running fleet server (`http://host:8080`).
    #[arg(long, value_name = "URL")]
    server: String,
    /// The broker the server ingests from (`mqtt://host:1883`, `mqtts://host:8883?ca=PATH`).
    #[arg(long, value_name = "URL", default_value = "mqtt://127.0.0.1:1883")]
    mqtt: String,
    /// An admin of the organisation the bench drones join.
    #[arg(long, env = "AVIARY_FLEET_EMAIL")]
    email: String,
    /// Its password (prefer the environment variable to the command line).
    #[arg(long, env = "AVIARY_FLEET_PASSWORD", hide_env_values = true)]
    password: String,
    /// Simulated drones.
    #[arg(long, default_value_t = 1000)]
    drones: usize,
    /// Telemetry rate per drone, Hz.
    #[arg(long, default_value_t = 10.0)]
    rate_hz: f64,
    /// Length of the publishing phase, seconds.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Drones flying the watched mission (timed to a WebSocket client).
    #[arg(long, default_value_t = 10)]
    watched: usize,
    /// Drones registered on the server (site `bench`, serials BENCH-0001…), read by the REST
    /// phase.
    #[arg(long, default_value_t = 100)]
    registered: usize,
    /// MQTT connections the drones share.
    #[arg(long, default_value_t = 20)]
    publishers: usize,
    /// QoS 1 messages in flight per connection (keep within the broker's
    /// `max_inflight_messages`).
    #[arg(long, default_value_t = 1000)]
    inflight: u16,
    /// REST reads per second (the server's `--api-rate` must allow it); 0 skips the phase.
    #[arg(long, default_value_t = 1000)]
    rest_rps: u64,
    /// Length of the REST phase, seconds.
    #[arg(long, default_value_t = 10.0)]
    rest_seconds: f64,
}

fn fleet(a: &FleetArgs) -> anyhow::Result<()> {
    use aviary_links::fleet::FleetConfig;
    use aviary_links::fleet_bench::{self, FleetBenchOptions};
    use aviary_links::mqtt::BrokerAddr;
    let mut opts = FleetBenchOptions::new(
        FleetConfig::new(&a.server, &a.email, &a.password)?,
        BrokerAddr::parse(&a.mqtt)?,
    );
    opts.drones = a.drones;
    opts.rate_hz = a.rate_hz;
    opts.seconds = a.seconds;
    opts.watched = a.watched;
    opts.registered = a.registered;
    opts.publishers = a.publishers;
    opts.inflight = a.inflight;
    opts.rest_rps = a.rest_rps;
    opts.rest_seconds = a.rest_seconds;
    let report = fleet_bench::run(&opts)?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Runs a benchmark and prints its JSON line.
pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Fleet(a) => fleet(&a),
        BenchCommand::Live {
            drones,
            rate_hz,
            seconds,
            frame_ms,
            store_every_sample,
        } => bench_live::run(&LiveOptions {
            drones,
            rate_hz,
            seconds,
            frame_ms,
            store_every_sample,
        }),
        BenchCommand::LiveSimChild {
            gcs,
            drones,
            rate_hz,
        } => bench_live::sim_child(&gcs, drones, rate_hz),
    }
}
