//! `aviary bench live`: the desktop's whole telemetry path under a simulated fleet, timed.
//!
//! The simulated fleet runs in a child process (this same executable, `aviary bench
//! live-sim-child`, hidden); this process is the desktop app without a window: the app's
//! backend ([`Backend`], its store in a temporary folder opened with
//! [`StoreOptions::desktop`] on the system clock, the demo organisation seeded so new
//! vehicles have a site to join), one `MAVLink` link opened through the app's own
//! [`Links`](aviary_app::gui::links::Links) with the configuration it gives every link (the
//! links crate's event and request channel capacities), and `logic`'s own pass
//! ([`logic::ingest_observed`], [`INGEST_BUDGET`]) applying the link's events to the app's
//! state and handing telemetry to the store's writer thread. The two processes meet over
//! real UDP on 127.0.0.1, as the app and `aviary sim` (or a real fleet) would. The one
//! departure from the app's link: it asks the vehicles for no streams (the app asks for
//! 4 Hz), so the drones stream at `--rate-hz`.
//!
//! Frames: the window runs a `logic` pass when the link's wake-up closure asks for a repaint,
//! `LIVE_REPAINT_MS` (100 ms) after it on the views that draw live data, at once while a pass
//! left work over. `--frame-ms` sets that delay (default: the app's); 0 runs a pass as soon as
//! the link wakes us (a window repainting continuously), which times the pipeline itself.
//!
//! Warm-up: the child adds its drones 1,000 a second, as a fleet powers up; each new vehicle
//! joins the fleet (identified by its autopilot's uid, filed under the nearest site, stored)
//! through the app's own code. Once every drone is in the fleet, passes run [`SETTLE`] more so
//! the queues the joining filled drain, then the measured window opens.
//!
//! Storage rule: the bench's drones stream on the ground, unchanged. The desktop's writer
//! stores those one sample per 10 s ([`StoreOptions::desktop`]'s `grounded_sample_interval`;
//! full rate only in flight), so by default "stored" is counted against that rule: every
//! sample the writer's thinning keeps. `--store-every-sample` sets the interval to zero, so
//! every sample is written as it would be for a flying fleet (the writer's full load). The
//! JSON says which rule applied (`storage_rule`).
//!
//! It prints one JSON line; counts cover the whole run (warm-up included) and are read after
//! the child stopped its drones and every queue drained:
//! - `sent`: `GLOBAL_POSITION_INT` the drones sent; `received` (= `decoded`): positions the
//!   link decoded; `lost` = `sent − received`; `socket_drops`: datagrams the kernel dropped
//!   on the link's socket (receive buffer full; Linux `/proc/net/udp`, `null` elsewhere);
//!   `undecodable`: frames that did not parse;
//! - `channel_coalesced`: state updates overwritten in the link because the link → app event
//!   channel was full (each one a position the app never saw); `channel_coalesced_window`:
//!   those of the measured window only (the rest happened while the fleet joined);
//! - `delivered`: positions applied to the app's state for drones of the fleet; `unbound`:
//!   positions of vehicles not yet in the fleet (warm-up: a vehicle joins once identified and
//!   placed); `app_lost` = `received − delivered − unbound`;
//! - `submitted`: telemetry samples `logic` handed to the writer (one per vehicle state with a
//!   position: positions, and heartbeats, which also update the state); `writer_queue_full`,
//!   `writer_errors`: samples the writer dropped; `thinned`: samples the storage rule left
//!   out; `written`: rows the writer inserted; `stored`: telemetry rows counted in the file
//!   after the writer drained; `stored_ok`: `stored == submitted − thinned` and nothing
//!   dropped; `all_stored`: `stored_ok`, `lost`, `app_lost` and the drops all zero;
//! - `passes`, `pass_max_ms`: `logic` passes in the window and the longest;
//! - `p50_ms`, `p99_ms`, `max_ms`: drone send → end of the `logic` pass that applied the
//!   position to the app's state, over the measured `--seconds` after every drone joined the
//!   fleet. The send instant is the child's epoch (as Unix time) plus the message's
//!   `time_boot_ms` (whole milliseconds: up to 1 ms of upward bias); both processes read the
//!   same system clock;
//! - `cpu_pct`: CPU time of this process over the measured wall time, percent of one core
//!   (`link_cpu_pct`, `app_cpu_pct`, `writer_cpu_pct`: its `aviary-mavlink`, main and
//!   `aviary-telemetry-writer` threads, Linux only); `sim_cpu_pct` the same for the simulator.
//!
//! Child protocol (line-based JSON on stdout, commands on stdin): the child prints
//! `{"epoch_unix_us":…}` once its simulator runs, before it adds its drones (the app's passes
//! run through the power-up); `mark` starts its measurement window
//! (answer `{"marked":true}`); `stop` or end of input stops the drones and prints
//! `{"sent":…,"cpu_pct":…}`.

use aviary_app::gui::backend::{Backend, BackendOptions};
use aviary_app::gui::jobs::JobMode;
use aviary_app::gui::logic::{self, INGEST_BUDGET, LogicMemory};
use aviary_app::gui::settings::Settings;
use aviary_app::gui::state::AppState;
use aviary_core::samples::percentile;
use aviary_links::mav::{LinkEvent, VehicleId};
use aviary_sim::{SimConfig, Simulator, StreamRates};
use aviary_store::{Store, StoreOptions};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, sync_channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// After every drone joined, passes run this long before the window opens: the queues the
/// joining filled drain first.
const SETTLE: Duration = Duration::from_secs(3);

/// Most drones: each is one UDP socket on its own port in the simulator process.
pub const MAX_DRONES: u32 = 65_000;

/// Options of `aviary bench live`.
#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    /// Simulated drones.
    pub drones: u32,
    /// Position rate per drone, Hz.
    pub rate_hz: f64,
    /// Measured duration, seconds.
    pub seconds: f64,
    /// Delay from a wake-up to the `logic` pass, milliseconds (0: at once).
    pub frame_ms: u64,
    /// Store every sample (a flying fleet's load) instead of the desktop's grounded rule.
    pub store_every_sample: bool,
}

/// User + system CPU time in a `/proc/…/stat` file, seconds (0 where there is none).
fn stat_cpu_s(path: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(path) else {
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

/// CPU time of this process (user + system), seconds.
fn cpu_time_s() -> f64 {
    stat_cpu_s("/proc/self/stat")
}

/// CPU time of this process's threads by role, seconds: the link runtime, the main thread
/// (the app's `logic`) and the telemetry writer (Linux; empty elsewhere).
#[derive(Debug, Default, Clone, Copy)]
struct ThreadCpuSeconds {
    link: f64,
    app: f64,
    writer: f64,
}

impl ThreadCpuSeconds {
    fn now() -> Self {
        let mut t = Self::default();
        let pid = std::process::id().to_string();
        let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
            return t;
        };
        for task in dir.flatten() {
            let tid = task.file_name().to_string_lossy().into_owned();
            let comm =
                std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap_or_default();
            let cpu_s = stat_cpu_s(&format!("/proc/self/task/{tid}/stat"));
            // Thread names are cut to 15 bytes.
            match comm.trim() {
                _ if tid == pid => t.app += cpu_s,
                "aviary-mavlink" => t.link += cpu_s,
                c if c.starts_with("aviary-telemetr") => t.writer += cpu_s,
                _ => {}
            }
        }
        t
    }
}

/// Datagrams the kernel dropped on this process's UDP socket bound to `port` (its receive
/// buffer was full), from `/proc/net/udp` and `udp6`; `None` where that is not readable.
fn socket_drops(port: u16) -> Option<u64> {
    let mut found = None;
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(table) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in table.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields
                .get(1)
                .and_then(|a| a.rsplit_once(':'))
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port)
                && let Some(drops) = fields.last().and_then(|d| d.parse::<u64>().ok())
            {
                *found.get_or_insert(0) += drops;
            }
        }
    }
    found
}

fn unix_us(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

// --- the simulator process -----------------------------------------------------------------

/// Drones the simulator process adds at a time, [`RAMP_EVERY`] apart (1,000 a second).
const RAMP_BATCH: u32 = 100;
/// See [`RAMP_BATCH`].
const RAMP_EVERY: Duration = Duration::from_millis(100);

/// The simulator process: `drones` streaming positions to `gcs` at `rate_hz` until told to stop.
pub fn sim_child(gcs: &str, drones: u32, rate_hz: f64) -> anyhow::Result<()> {
    let mut sc = SimConfig::new(gcs.parse()?, 0);
    sc.default_streams = Some(StreamRates {
        position_hz: rate_hz,
        status_hz: 0.0,
    });
    sc.tick_hz = (rate_hz * 2.0).max(20.0);
    let sim = Simulator::spawn(sc)?;
    // The epoch first, so the app runs its passes while the fleet powers up (it waits for
    // this line): a parent blocked through the ramp would find its link's queue overflowed.
    let epoch = sim.epoch();
    let epoch_unix_us = unix_us(SystemTime::now()) - epoch.elapsed().as_secs_f64() * 1e6;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        serde_json::json!({ "epoch_unix_us": epoch_unix_us })
    )?;
    out.flush()?;
    // Drones join RAMP_BATCH at a time, as a fleet powers up: thousands at one instant would
    // all be discovered at once, and their identity answers (`AUTOPILOT_VERSION`) queue
    // behind every position already streaming past the link's wait for them.
    for i in 0..drones {
        sim.add_drone()?;
        if (i + 1) % RAMP_BATCH == 0 {
            std::thread::sleep(RAMP_EVERY);
        }
    }
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

// --- the app process ----------------------------------------------------------------------

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

/// What `logic` applied, seen event by event ([`logic::ingest_observed`]).
#[derive(Debug, Default)]
struct Probe {
    /// The latest `time_boot_ms` seen per vehicle: a new one is a new position.
    last_boot: HashMap<VehicleId, u32>,
    /// Positions applied for drones of the fleet.
    delivered: u64,
    /// Positions of vehicles not (yet) in the fleet.
    unbound: u64,
    /// Vehicle states with a position applied for drones of the fleet (a sample each).
    submitted: u64,
    /// Timing: the child's epoch as Unix time, microseconds, once the window is open.
    epoch_unix_us: Option<f64>,
    /// Send instants (Unix, microseconds) of positions applied in the current pass.
    pending_us: Vec<f64>,
    /// Send → end of the pass, milliseconds.
    latencies_ms: Vec<f64>,
    /// Passes in the window and the longest, milliseconds.
    passes: u64,
    pass_max_ms: f64,
}

impl Probe {
    fn see(&mut self, backend: &Backend, link: usize, event: &LinkEvent) {
        let LinkEvent::State(s) = event else { return };
        if s.pos.is_none() {
            return;
        }
        let bound = backend.links.by_vehicle.contains_key(&(link, s.id));
        let new_position = s.position_received.is_some()
            && self.last_boot.insert(s.id, s.time_boot_ms) != Some(s.time_boot_ms);
        match (bound, new_position) {
            (true, true) => {
                self.delivered += 1;
                if let Some(epoch) = self.epoch_unix_us {
                    self.pending_us
                        .push(epoch + f64::from(s.time_boot_ms) * 1000.0);
                }
            }
            (false, true) => self.unbound += 1,
            _ => {}
        }
        if bound {
            self.submitted += 1;
        }
    }

    /// The pass that applied the pending positions ended now.
    fn pass_ended(&mut self) {
        if self.pending_us.is_empty() {
            return;
        }
        let now_us = unix_us(SystemTime::now());
        self.latencies_ms.extend(
            self.pending_us
                .drain(..)
                .map(|sent| (now_us - sent) / 1000.0),
        );
    }
}

/// The desktop app without a window: its backend, state, settings and `logic` memory, the one
/// link, and the doorbell its wake-up closure rings.
struct HeadlessApp {
    state: AppState,
    backend: Backend,
    settings: Settings,
    memory: LogicMemory,
    link: usize,
    doorbell: Receiver<()>,
    /// Baseline telemetry rows (the demo organisation's).
    rows_before: u64,
    frame_ms: u64,
    _dir: tempfile::TempDir,
}

impl HeadlessApp {
    fn open(o: &LiveOptions) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("aviary-bench-live")
            .tempdir()?;
        let clock: Arc<dyn aviary_core::Clock> = Arc::new(aviary_core::SystemClock);
        let mut options = StoreOptions::desktop(aviary_store::DEFAULT_RETENTION_DAYS);
        if o.store_every_sample {
            options.grounded_sample_interval = chrono::Duration::zero();
        }
        let store = Store::open(&dir.path().join("aviary.db"), Arc::clone(&clock), options)?;
        // Bounded: one ring is enough to say "events are waiting".
        let (ring, doorbell) = sync_channel::<()>(1);
        let wake = Arc::new(move || {
            let _ = ring.try_send(());
        });
        let backend_options = BackendOptions {
            seed_demo: true,
            simulated_fleet: false,
            job_mode: JobMode::Inline,
        };
        let mut backend = Backend::new(store, clock, backend_options, wake);
        backend.speech = aviary_app::gui::speech::AlertSpeech::silent();
        let settings = Settings {
            weather_url: String::new(),
            mute_critical: true,
            mute_warning: true,
            ..Settings::default()
        };
        let address = "udpin:127.0.0.1:0";
        let mut config = backend.links.link_config(address)?;
        config.request_streams_hz = None;
        let wake = Arc::clone(&backend.wake);
        let link = backend.links.open_with(address, config, wake)?;
        backend.store.telemetry().flush()?;
        let rows_before = backend.store.telemetry_count()?;
        let mut state = AppState::new(backend.clock.now());
        let mut memory = LogicMemory::default();
        logic::start(&mut state, &mut backend, &mut memory);
        Ok(Self {
            state,
            backend,
            settings,
            memory,
            link,
            doorbell,
            rows_before,
            frame_ms: o.frame_ms,
            _dir: dir,
        })
    }

    fn link(&self) -> anyhow::Result<&aviary_links::mav::LinkHandle> {
        self.backend
            .links
            .links
            .get(self.link)
            .map(|l| &l.handle)
            .ok_or_else(|| anyhow::anyhow!("the bench's link is gone"))
    }

    /// One `logic` pass on the app's budget; returns whether it left work over.
    fn pass(&mut self, probe: &mut Probe) -> bool {
        // Rings from before the pass are answered by it.
        while self.doorbell.try_recv().is_ok() {}
        let started = Instant::now();
        let more = logic::ingest_observed(
            &mut self.state,
            &mut self.backend,
            &mut self.settings,
            &mut self.memory,
            INGEST_BUDGET,
            &mut |backend, link, event| probe.see(backend, link, event),
        );
        if probe.epoch_unix_us.is_some() {
            probe.passes += 1;
            probe.pass_max_ms = probe
                .pass_max_ms
                .max(started.elapsed().as_secs_f64() * 1000.0);
        }
        probe.pass_ended();
        more
    }

    /// Until the next frame, as the window schedules it: at once after a pass that left work
    /// over; else on the next wake-up, `frame_ms` after it (at most `idle` without one).
    fn wait_for_frame(&self, more: bool, idle: Duration) {
        if more {
            return;
        }
        if self.doorbell.recv_timeout(idle).is_ok() && self.frame_ms > 0 {
            std::thread::sleep(Duration::from_millis(self.frame_ms));
        }
    }

    /// Drones of the fleet heard on the link.
    fn bound(&self) -> usize {
        self.backend
            .links
            .by_vehicle
            .keys()
            .filter(|(l, _)| *l == self.link)
            .count()
    }
}

/// Runs `aviary bench live` and prints its JSON line.
pub fn run(o: &LiveOptions) -> anyhow::Result<()> {
    // The process is the desktop app without a window: its memory settings too.
    aviary_app::gui::no_transparent_huge_pages();
    anyhow::ensure!(
        (1..=MAX_DRONES).contains(&o.drones),
        "--drones must be 1 to {MAX_DRONES} (each simulated drone is one UDP socket on its own \
         port), not {}",
        o.drones
    );
    anyhow::ensure!(
        o.rate_hz > 0.0 && o.seconds > 0.0,
        "--rate-hz and --seconds must be positive"
    );
    let mut app = HeadlessApp::open(o)?;
    let local = app
        .link()?
        .local_addr()
        .ok_or_else(|| anyhow::anyhow!("link has no local address"))?;
    let mut probe = Probe::default();
    // The first pass reads the sites from the store, as the window's first frame does before
    // any vehicle is heard.
    app.pass(&mut probe);
    let mut sim = SimProcess::spawn(local, o.drones, o.rate_hz)?;
    let epoch_unix_us = SimProcess::field(&sim.read()?, "epoch_unix_us")?;

    // Warm-up: every drone identified and in the fleet (the app files each new vehicle
    // under a site and stores it: seconds for thousands).
    let warm_started = Instant::now();
    let warm_deadline = warm_started + Duration::from_secs(30 + u64::from(o.drones) / 50);
    let drones = o.drones as usize;
    let mut said = Instant::now();
    while app.bound() < drones && Instant::now() < warm_deadline {
        let more = app.pass(&mut probe);
        app.wait_for_frame(more, Duration::from_millis(50));
        if said.elapsed() >= Duration::from_secs(5) {
            said = Instant::now();
            let stats = app.link()?.stats();
            eprintln!(
                "bench live: {} of {drones} drones in the fleet after {:.0} s ({} heard, {} \
                 frames not sent)",
                app.bound(),
                warm_started.elapsed().as_secs_f64(),
                app.link()?.vehicles().len(),
                stats.send_dropped.load(Ordering::Relaxed),
            );
        }
    }
    let bound = app.bound();
    if bound < drones {
        for n in &app.state.notices {
            eprintln!("bench live: the app said: {}", n.text);
        }
        let no_uid = app
            .link()?
            .vehicles()
            .iter()
            .filter(|v| v.uid.is_none())
            .count();
        eprintln!("bench live: {no_uid} vehicles without a unique id");
    }
    anyhow::ensure!(
        bound == drones,
        "only {bound} of {drones} drones joined the fleet in {:.0} s",
        warm_started.elapsed().as_secs_f64()
    );
    // Then the queues the joining filled drain (a few seconds), before the window opens.
    let settle_end = Instant::now() + SETTLE;
    while Instant::now() < settle_end {
        let more = app.pass(&mut probe);
        app.wait_for_frame(more, Duration::from_millis(50));
    }
    let warmup_s = warm_started.elapsed().as_secs_f64();

    sim.send("mark")?;
    let marked = sim.read()?;
    anyhow::ensure!(
        marked.get("marked") == Some(&serde_json::Value::Bool(true)),
        "simulator said {marked}, expected marked"
    );
    // Positions queued during the warm-up are applied but not timed.
    let more = app.pass(&mut probe);
    app.wait_for_frame(more, Duration::from_millis(50));
    probe.epoch_unix_us = Some(epoch_unix_us);
    let coalesced0 = app.link()?.stats().coalesced_states.load(Ordering::Relaxed);
    let (cpu0, threads0, t0) = (cpu_time_s(), ThreadCpuSeconds::now(), Instant::now());
    let end = t0 + Duration::from_secs_f64(o.seconds);
    while Instant::now() < end {
        let more = app.pass(&mut probe);
        app.wait_for_frame(more, Duration::from_millis(50));
    }
    let wall_s = t0.elapsed().as_secs_f64();
    let pct = |s: f64| (s / wall_s * 100.0).round();
    let threads1 = ThreadCpuSeconds::now();
    let coalesced_window =
        app.link()?.stats().coalesced_states.load(Ordering::Relaxed) - coalesced0;
    let cpu = serde_json::json!({
        "channel_coalesced_window": coalesced_window,
        "cpu_pct": pct(cpu_time_s() - cpu0),
        "link_cpu_pct": pct(threads1.link - threads0.link),
        "app_cpu_pct": pct(threads1.app - threads0.app),
        "writer_cpu_pct": pct(threads1.writer - threads0.writer),
    });
    probe.epoch_unix_us = None;

    // Stop the drones; the child answers once its runtime has shut down, so every datagram
    // it will ever send is on its way. Then drain the socket, the channel and the writer.
    sim.send("stop")?;
    let done = sim.read()?;
    let sent = SimProcess::field(&done, "sent")? as u64;
    let sim_cpu_pct = SimProcess::field(&done, "cpu_pct")?;
    drop(sim);
    drain(&mut app, &mut probe)?;
    let line = report(&app, &probe, o, sent, local.port())?;
    let mut line = line;
    if let (Some(obj), Some(cpu)) = (line.as_object_mut(), cpu.as_object()) {
        obj.extend(cpu.clone());
        obj.insert("sim_cpu_pct".into(), sim_cpu_pct.round().into());
        obj.insert("warmup_s".into(), ((warmup_s * 10.0).round() / 10.0).into());
    }
    app.backend.links.shutdown();
    println!("{line}");
    Ok(())
}

/// Runs passes until the link has decoded nothing new for a while and `logic` has nothing
/// left, then waits for the writer to commit what it was handed.
fn drain(app: &mut HeadlessApp, probe: &mut Probe) -> anyhow::Result<()> {
    let mut quiet = 0;
    let mut received = app.link()?.stats().positions_rx.load(Ordering::Relaxed);
    while quiet < 3 {
        let seen = probe.submitted;
        let more = app.pass(probe);
        app.wait_for_frame(more, Duration::from_millis(100));
        let now = app.link()?.stats().positions_rx.load(Ordering::Relaxed);
        // The link republishes a state that waited for room every tick (50 ms).
        if now == received && !more && probe.submitted == seen {
            quiet += 1;
            std::thread::sleep(Duration::from_millis(50));
        } else {
            quiet = 0;
        }
        received = now;
    }
    app.backend.store.telemetry().flush()?;
    Ok(())
}

/// The JSON line: counts of every stage, latencies.
fn report(
    app: &HeadlessApp,
    probe: &Probe,
    o: &LiveOptions,
    sent: u64,
    port: u16,
) -> anyhow::Result<serde_json::Value> {
    let stats = app.link()?.stats();
    let received = stats.positions_rx.load(Ordering::Relaxed);
    let coalesced = stats.coalesced_states.load(Ordering::Relaxed);
    let undecodable = stats.unparsed_frames.load(Ordering::Relaxed)
        + stats.rejected_signature.load(Ordering::Relaxed);
    let writer = app.backend.store.telemetry().stats();
    let stored = app
        .backend
        .store
        .telemetry_count()?
        .saturating_sub(app.rows_before);
    let lost = sent.saturating_sub(received);
    let app_lost = received.saturating_sub(probe.delivered + probe.unbound);
    let writer_errors = writer.dropped_disk_full + writer.dropped_error;
    let stored_ok = writer.lost() == 0
        && stored == writer.written
        && stored + writer.thinned == probe.submitted;
    let mut latencies_ms = probe.latencies_ms.clone();
    latencies_ms.sort_by(f64::total_cmp);
    let round2 = |v: f64| (v * 100.0).round() / 100.0;
    Ok(serde_json::json!({
        "drones": o.drones,
        "rate_hz": o.rate_hz,
        "seconds": o.seconds,
        "frame_ms": o.frame_ms,
        "processes": 2,
        "sent": sent,
        "received": received,
        "lost": lost,
        "socket_drops": socket_drops(port),
        "decoded": received,
        "undecodable": undecodable,
        "channel_coalesced": coalesced,
        "delivered": probe.delivered,
        "unbound": probe.unbound,
        "app_lost": app_lost,
        "submitted": probe.submitted,
        "writer_queue_full": writer.dropped_queue_full,
        "writer_errors": writer_errors,
        "storage_rule": if o.store_every_sample { "every-sample" } else { "desktop-grounded-10s" },
        "thinned": writer.thinned,
        "written": writer.written,
        "stored": stored,
        "stored_ok": stored_ok,
        "all_stored": stored_ok && lost == 0 && app_lost == 0,
        "samples": latencies_ms.len(),
        "p50_ms": round2(percentile(&latencies_ms, 0.50)),
        "p99_ms": round2(percentile(&latencies_ms, 0.99)),
        "max_ms": round2(latencies_ms.last().copied().unwrap_or(f64::NAN)),
        "passes": probe.passes,
        "pass_max_ms": round2(probe.pass_max_ms),
    }))
}
