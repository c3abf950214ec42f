//! `aviary bench`: benchmarks that need real sockets.
//!
//! `fleet` loads an already running fleet server through its MQTT broker and measures it from
//! outside (ingest counters, mission WebSocket, REST reads); the wire code and the measurement
//! are `aviary_links::fleet_bench`, this module only parses the options and prints the JSON.
//!
//! `live` is the telemetry benchmark as a process pair: the simulated fleet runs in a child
//! process (this same executable, `aviary bench live-sim-child`, hidden), the `MAVLink` link in
//! this one; they meet over real UDP on 127.0.0.1, as the app and `aviary sim` (or a real
//! fleet) would. It prints one JSON line:
//! - `sent`, `received`, `lost`: every `GLOBAL_POSITION_INT` of the run, warm-up included, so
//!   nothing is in flight when either end is counted (the child stops its drones and reports
//!   what it sent; we count once our socket has drained);
//! - `p50_ms`, `p99_ms`: drone send → vehicle state updated in the link, over the measured
//!   `--seconds` after every drone was discovered. The send instant is the child's epoch (as
//!   Unix time) plus the message's `time_boot_ms` (whole milliseconds: up to 1 ms of upward
//!   bias); the update instant is the link's `position_received`, mapped to Unix time. Both
//!   processes read the same system clock;
//! - `cpu_pct`: CPU time of the link process over the measured wall time, percent of one core;
//!   `sim_cpu_pct` the same for the simulator process.
//!
//! Child protocol (line-based JSON on stdout, commands on stdin): the child prints
//! `{"epoch_unix_us":…}` once its drones run; `mark` starts its measurement window
//! (answer `{"marked":true}`); `stop` or end of input stops the drones and prints
//! `{"sent":…,"cpu_pct":…}`.

use aviary_core::samples::percentile;
use aviary_links::mav::{self, LinkAddress, LinkConfig, LinkEvent};
use aviary_sim::{SimConfig, Simulator, StreamRates};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Subcommands of `aviary bench`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchCommand {
    /// Live telemetry: N simulated drones (a child process) streaming positions to one link
    /// over UDP.
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
        } => link_parent(drones, rate_hz, seconds),
        BenchCommand::LiveSimChild {
            gcs,
            drones,
            rate_hz,
        } => sim_child(&gcs, drones, rate_hz),
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
    // utime and stime are fields 14 and 15 of /proc/PID/stat, 11 and 12 after the name;
    // USER_HZ is 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn unix_us(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

// --- the simulator process -----------------------------------------------------------------

fn sim_child(gcs: &str, drones: u32, rate_hz: f64) -> anyhow::Result<()> {
    let mut sc = SimConfig::new(gcs.parse()?, drones);
    sc.default_streams = Some(StreamRates {
        position_hz: rate_hz,
        status_hz: 0.0,
    });
    sc.tick_hz = (rate_hz * 2.0).max(20.0);
    let sim = Simulator::spawn(sc)?;
    let epoch = sim.epoch();
    let epoch_unix_us = unix_us(SystemTime::now()) - epoch.elapsed().as_secs_f64() * 1e6;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        serde_json::json!({ "epoch_unix_us": epoch_unix_us })
    )?;
    out.flush()?;
    let (mut cpu0, mut t0) = (cpu_time_s(), Instant::now());
    for line in std::io::stdin().lock().lines() {
        match line?.trim() {
            "mark" => {
                (cpu0, t0) = (cpu_time_s(), Instant::now());
                writeln!(out, "{}", serde_json::json!({ "marked": true }))?;
                out.flush()?;
            }
            "stop" => break,
            other => anyhow::bail!("unknown command {other:?}"),
        }
    }
    let cpu_pct = (cpu_time_s() - cpu0) / t0.elapsed().as_secs_f64() * 100.0;
    let counters: Vec<_> = sim
        .drones()
        .iter()
        .filter_map(|d| sim.counters(d.id))
        .collect();
    sim.shutdown();
    let sent: u64 = counters
        .iter()
        .map(|c| c.position_sent.load(Ordering::Relaxed))
        .sum();
    writeln!(
        out,
        "{}",
        serde_json::json!({ "sent": sent, "cpu_pct": cpu_pct })
    )?;
    out.flush()?;
    Ok(())
}

// --- the link process ----------------------------------------------------------------------

/// The child and its pipes; killed if the parent bails out early.
struct SimProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl SimProcess {
    fn spawn(gcs: std::net::SocketAddr, drones: u32, rate_hz: f64) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args([
                "bench".to_owned(),
                "live-sim-child".to_owned(),
                gcs.to_string(),
                drones.to_string(),
                rate_hz.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| anyhow::anyhow!("child has no stdin"))?;
        let stdout = BufReader::new(
            child
                .stdout
                .take()
                .ok_or_else(|| anyhow::anyhow!("child has no stdout"))?,
        );
        Ok(Self {
            child,
            stdin,
            stdout,
        })
    }

    fn send(&mut self, cmd: &str) -> anyhow::Result<()> {
        writeln!(self.stdin, "{cmd}")?;
        self.stdin.flush()?;
        Ok(())
    }

    fn read(&mut self) -> anyhow::Result<serde_json::Value> {
        let mut line = String::new();
        anyhow::ensure!(
            self.stdout.read_line(&mut line)? > 0,
            "simulator process ended early"
        );
        Ok(serde_json::from_str(&line)?)
    }

    fn field(v: &serde_json::Value, name: &str) -> anyhow::Result<f64> {
        v.get(name)
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| anyhow::anyhow!("simulator said {v}, expected {name}"))
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        // Normally it has already exited after `stop`; this reaps it or ends a stuck one.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn link_parent(drones: u32, rate_hz: f64, seconds: f64) -> anyhow::Result<()> {
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
    // One reading of both clocks maps the link's instants to Unix time.
    let (inst0, sys0_us) = (Instant::now(), unix_us(SystemTime::now()));
    let to_unix_us = |t: Instant| sys0_us + t.duration_since(inst0).as_secs_f64() * 1e6;

    let mut sim = SimProcess::spawn(local, drones, rate_hz)?;
    let epoch_unix_us = SimProcess::field(&sim.read()?, "epoch_unix_us")?;

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

    let mut latencies_ms =
        Vec::with_capacity((f64::from(drones) * rate_hz * seconds) as usize + 1024);
    let mut last_boot: HashMap<mav::VehicleId, u32> = HashMap::new();
    let mut drain = |events: &mut mav::LinkEvents, latencies_ms: &mut Vec<f64>| {
        while let Some(e) = events.try_recv() {
            if let LinkEvent::State(s) = e
                && let Some(at) = s.position_received
                && last_boot.insert(s.id, s.time_boot_ms) != Some(s.time_boot_ms)
            {
                let sent_us = epoch_unix_us + f64::from(s.time_boot_ms) * 1000.0;
                latencies_ms.push((to_unix_us(at) - sent_us) / 1000.0);
            }
        }
    };
    // Warm-up updates still queued are not part of the measured window.
    drain(&mut events, &mut Vec::new());
    sim.send("mark")?;
    let marked = sim.read()?;
    anyhow::ensure!(
        marked.get("marked") == Some(&serde_json::Value::Bool(true)),
        "simulator said {marked}, expected marked"
    );
    let cpu0 = cpu_time_s();
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs_f64(seconds);
    while Instant::now() < end {
        drain(&mut events, &mut latencies_ms);
        std::thread::sleep(Duration::from_millis(2));
    }
    let wall_s = t0.elapsed().as_secs_f64();
    let cpu_pct = (cpu_time_s() - cpu0) / wall_s * 100.0;

    // Stop the drones; the child answers once its runtime has shut down, so every datagram
    // it will ever send is on its way. Then wait until our socket has drained.
    sim.send("stop")?;
    let done = sim.read()?;
    let sent = SimProcess::field(&done, "sent")? as u64;
    let sim_cpu_pct = SimProcess::field(&done, "cpu_pct")?;
    let mut received = link.stats().positions_rx.load(Ordering::Relaxed);
    loop {
        std::thread::sleep(Duration::from_millis(100));
        drain(&mut events, &mut Vec::new());
        let now = link.stats().positions_rx.load(Ordering::Relaxed);
        if now == received {
            break;
        }
        received = now;
    }
    link.shutdown();
    drop(sim);
    latencies_ms.sort_by(f64::total_cmp);
    let line = serde_json::json!({
        "drones": drones,
        "rate_hz": rate_hz,
        "seconds": seconds,
        "processes": 2,
        "sent": sent,
        "received": received,
        "lost": sent.saturating_sub(received),
        "samples": latencies_ms.len(),
        "p50_ms": (percentile(&latencies_ms, 0.50) * 100.0).round() / 100.0,
        "p99_ms": (percentile(&latencies_ms, 0.99) * 100.0).round() / 100.0,
        "cpu_pct": cpu_pct.round(),
        "sim_cpu_pct": sim_cpu_pct.round(),
    });
    println!("{line}");
    Ok(())
}
