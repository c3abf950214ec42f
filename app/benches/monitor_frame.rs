//! CPU cost of one frame of the Monitor view with 1,000 drones and their trails: the egui
//! pass (`Context::run_ui` over the app's real `ui` code: map, basemap, overlays, panels,
//! plots) plus tessellation into meshes, with every drone's trail and plot buffer full and
//! live telemetry arriving between frames (10 Hz per drone at 60 fps). No GPU is involved;
//! the goal is ≤ 8 ms so 60 fps holds with headroom.

use aviary_app::gui::app::AviaryApp;
use aviary_app::gui::state::{DroneView, PLOT_SAMPLES_MAX, View};
use aviary_core::{Drone, DroneId, DroneStatus, TelemetrySample};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// The allocator of the `aviary` binary (see `main.rs`), so the bench measures what the app does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DRONES: usize = 1_000;
/// Every drone's plot buffer full (the steady state of a long session); its trail keeps the
/// last `TRAIL_POINTS_MAX` (600) of these positions, 1 m apart.
const TRAIL_SAMPLES: usize = PLOT_SAMPLES_MAX;

/// Sample `k` of a drone flying a wavy line north from `home`, 1 m per sample.
fn bench_sample(
    id: DroneId,
    home: aviary_core::LatLon,
    bearing: f64,
    start: chrono::DateTime<chrono::Utc>,
    k: usize,
) -> TelemetrySample {
    let t = k as f64;
    TelemetrySample {
        time: start + chrono::Duration::seconds(k as i64 - TRAIL_SAMPLES as i64),
        mission_id: None,
        drone_id: id,
        pos: home.offset_ne(t * 1.0, 25.0 * (t / 15.0).sin()),
        alt_rel_m: 40.0 + (t / 20.0).sin(),
        speed_mps: 6.0,
        heading_deg: (bearing + t) % 360.0,
        battery_pct: 90.0 - t / 10.0,
        signal_pct: 95.0,
        status: DroneStatus::InMission,
    }
}

/// Live telemetry between frames: 1,000 drones at 10 Hz and 60 frames a second are 167 new
/// samples a frame, each moving its drone's trail on by one position.
struct LiveFeed {
    drones: Vec<(DroneId, aviary_core::LatLon, f64, usize)>,
    next: usize,
    start: chrono::DateTime<chrono::Utc>,
}

const SAMPLES_PER_FRAME: usize = 167;

impl LiveFeed {
    fn feed(&mut self, app: &mut AviaryApp) {
        for _ in 0..SAMPLES_PER_FRAME {
            let n = self.drones.len();
            let (id, home, bearing, k) = &mut self.drones[self.next % n];
            *k += 1;
            let s = bench_sample(*id, *home, *bearing, self.start, *k);
            if let Some(d) = app.state.drones.get_mut(id) {
                d.push_sample(s);
            }
            self.next += 1;
        }
    }
}

fn fleet_app(dir: &std::path::Path) -> (AviaryApp, LiveFeed) {
    let start = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let mut app = AviaryApp::headless(&dir.join("bench.db"), start, false).expect("store");
    let site = app.state.sites[0].clone();
    let mut first = None;
    let mut feed = LiveFeed {
        drones: Vec::with_capacity(DRONES),
        next: 0,
        start,
    };
    for i in 0..DRONES {
        // Drones on a ring pattern around the site, 2 km across, each with a wavy trail.
        let ring = 200.0 + 800.0 * ((i % 10) as f64 / 10.0);
        let bearing = (i as f64) * 137.508;
        let home = site.location.offset(bearing, ring);
        let id = DroneId::new_random();
        first.get_or_insert(id);
        feed.drones.push((id, home, bearing, TRAIL_SAMPLES - 1));
        let drone = Drone {
            id,
            site_id: site.id,
            serial_number: format!("B-{i:04}"),
            model: "bench".to_owned(),
            status: if i % 3 == 0 {
                DroneStatus::InMission
            } else {
                DroneStatus::Available
            },
            battery_pct: 80,
            last_seen: None,
            home,
            firmware_version: "bench".to_owned(),
            link: None,
            created_at: start,
        };
        let mut view = DroneView::new(drone, site.name.clone());
        for k in 0..TRAIL_SAMPLES {
            view.push_sample(bench_sample(id, home, bearing, start, k));
        }
        app.state.drones.insert(id, view);
    }
    app.state.view = View::Monitor;
    app.state.selected_drone = first;
    let _ = app.map.memory.set_zoom(14.0);
    app.map.memory.center_at(walkers::lat_lon(
        site.location.lat_deg,
        site.location.lon_deg,
    ));
    app.map.centred = true;
    (app, feed)
}

fn monitor_frame(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut app, mut feed) = fleet_app(dir.path());
    let ctx = egui::Context::default();
    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1440.0, 900.0),
        )),
        ..egui::RawInput::default()
    };
    // Warm up: fonts, galley caches, panel sizes.
    for _ in 0..5 {
        let mut out = ctx.run_ui(input(), |ui| app.ui_step(ui));
        // No GPU here: texture uploads (font atlas, ...) are dropped on purpose.
        out.textures_delta.clear();
        let _ = ctx.tessellate(out.shapes, out.pixels_per_point);
    }
    let mut group = c.benchmark_group("monitor_view");
    group.sample_size(30);
    group.bench_function("1000_drones_with_trails_run_ui_and_tessellate", |b| {
        b.iter(|| {
            feed.feed(&mut app);
            let mut out = ctx.run_ui(input(), |ui| app.ui_step(ui));
            out.textures_delta.clear();
            black_box(ctx.tessellate(out.shapes, out.pixels_per_point))
        });
    });
    group.bench_function("1000_drones_with_trails_run_ui_only", |b| {
        b.iter(|| {
            feed.feed(&mut app);
            let mut out = ctx.run_ui(input(), |ui| app.ui_step(ui));
            out.textures_delta.clear();
            black_box(out.shapes.len())
        });
    });
    group.finish();
    // Memory of this process with the 1,000-drone state, its trails and plot buffers, the
    // store and the egui caches (no GL context or window buffers here).
    if let Some(kib) = peak_rss_kib() {
        println!(
            "peak resident memory with {DRONES} drones: {:.0} MB",
            kib as f64 / 1024.0
        );
    }
}

/// `VmHWM` of `/proc/self/status` (Linux), KiB.
fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

criterion_group!(benches, monitor_frame);
criterion_main!(benches);
