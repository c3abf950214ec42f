//! The eframe [`App`](eframe::App): `logic` drains events into state, `ui` draws and queues
//! commands, which are executed right after the frame.

use super::backend::Backend;
use super::command::{Command, CommandQueue};
use super::logic::{self, INGEST_BUDGET, LogicMemory};
use super::map::basemap::Basemap;
use super::settings::Settings;
use super::state::AppState;
use super::ui;
pub use super::view::{FrameStats, MapView};
use std::time::{Duration, Instant};
use walkers::MapMemory;

/// Which map tiles the app loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapTiles {
    /// HTTP tiles as the settings say (the app).
    FromSettings,
    /// No HTTP tiles: the bundled basemap only (tests, benchmarks, offline use).
    BasemapOnly,
}

/// The Aviary window.
pub struct AviaryApp {
    /// Runtime state.
    pub state: AppState,
    /// Persisted settings.
    pub settings: Settings,
    /// Store, jobs, simulator.
    pub backend: Backend,
    /// The UI's outbox.
    pub commands: CommandQueue,
    /// The map.
    pub map: MapView,
    /// Frame times.
    pub frame_stats: FrameStats,
    /// The real-window benchmark, when the environment asked for one.
    pub bench: Option<super::window_bench::WindowBench>,
    frame_started: Option<Instant>,
    /// When the previous frame started (its length sets this frame's ingest budget).
    last_frame_start: Option<Instant>,
    logic: LogicMemory,
    tiles_mode: MapTiles,
    ctx: egui::Context,
}

impl AviaryApp {
    /// The app as tests and benchmarks drive it: a store file at `db` on a manual clock
    /// starting at `start`, the demo organisation seeded, the built-in simulated fleet when
    /// `simulated_fleet`, background jobs run inline, default settings, the bundled basemap
    /// and no HTTP tiles.
    pub fn headless(
        db: &std::path::Path,
        start: chrono::DateTime<chrono::Utc>,
        simulated_fleet: bool,
    ) -> Result<Self, aviary_store::StoreError> {
        let clock = std::sync::Arc::new(aviary_core::ManualClock::new(start));
        let store =
            aviary_store::Store::open(db, clock.clone(), aviary_store::StoreOptions::default())?;
        let options = super::backend::BackendOptions {
            seed_demo: true,
            simulated_fleet,
            job_mode: super::jobs::JobMode::Inline,
        };
        let mut backend = Backend::new(store, clock, options, std::sync::Arc::new(|| {}));
        // Tests record the phrases they would hear; nothing is spoken.
        backend.speech = super::speech::AlertSpeech::silent();
        // No weather fetches unless a test points the settings at its own server.
        let settings = Settings {
            weather_url: String::new(),
            ..Settings::default()
        };
        Ok(Self::new(
            &egui::Context::default(),
            backend,
            settings,
            MapTiles::BasemapOnly,
        ))
    }

    /// The app on `backend`.
    pub fn new(ctx: &egui::Context, backend: Backend, settings: Settings, tiles: MapTiles) -> Self {
        // Panels paint nothing: the window is cleared to their colour ([`panel_colour`],
        // eframe's `clear_color`) before each frame, which costs the GL nothing like a
        // textured, blended rectangle over the whole window. With software GL every layer
        // of pixels is paid for on the CPU, every frame.
        ctx.all_styles_mut(|style| style.visuals.panel_fill = egui::Color32::TRANSPARENT);
        let basemap = if settings.offline_basemap || tiles == MapTiles::BasemapOnly {
            Basemap::bundled()
                .map_err(|e| tracing::error!(error = %e, "bundled basemap unreadable"))
                .ok()
        } else {
            None
        };
        let mut memory = MapMemory::default();
        let _ = memory.set_zoom(16.0);
        let mut app = Self {
            state: AppState::new(backend.clock.now()),
            settings,
            backend,
            commands: CommandQueue::default(),
            map: MapView {
                memory,
                tiles: None,
                tiles_url: String::new(),
                basemap,
                fill: crate::gui::map::fill::FillMode::default(),
                centred: false,
                trails: crate::gui::map::overlays::TrailCache::default(),
                goto_text: String::new(),
                goto_error: None,
            },
            frame_stats: FrameStats::default(),
            bench: None,
            frame_started: None,
            last_frame_start: None,
            logic: LogicMemory::default(),
            tiles_mode: tiles,
            ctx: ctx.clone(),
        };
        app.reload_tiles();
        app.state.server.email.clone_from(&app.settings.fleet_email);
        // Wall displays and documentation screenshots open on a chosen view.
        if let Ok(name) = std::env::var("AVIARY_START_VIEW")
            && let Some(v) = super::state::View::ALL
                .into_iter()
                .find(|v| v.label().eq_ignore_ascii_case(name.trim()))
        {
            app.state.view = v;
        }
        // Unattended stations (wall displays, CI screenshots) connect at start with the password
        // from the environment; it is never written to the settings file.
        if let Ok(password) = std::env::var("AVIARY_FLEET_PASSWORD")
            && !app.settings.fleet_server.trim().is_empty()
        {
            app.commands.send(Command::ConnectServer {
                url: app.settings.fleet_server.trim().to_owned(),
                email: app.settings.fleet_email.trim().to_owned(),
                password,
            });
        }
        logic::start(&mut app.state, &mut app.backend, &mut app.logic);
        // The links answer terrain requests from the DEM of the last session, and the Plan
        // view plans over its last one.
        if app.settings.autopilot_terrain_tiles {
            app.commands.send(Command::TerrainFromTiles);
        }
        for (used_for, path) in [
            (super::state::DemUse::Links, &app.settings.terrain_dem),
            (super::state::DemUse::Plan, &app.settings.plan_dem),
        ] {
            if !path.trim().is_empty() {
                app.commands.send(Command::LoadDem {
                    used_for,
                    path: path.trim().into(),
                });
            }
        }
        logic::ingest(
            &mut app.state,
            &mut app.backend,
            &mut app.settings,
            &mut app.logic,
            INGEST_BUDGET,
        );
        app
    }

    /// Opens `path` as a drop would (see [`super::command::open_file_command`]): the view that
    /// shows it comes up and the import or log load starts; a file Aviary cannot open is
    /// refused in the status line.
    pub fn open_file(&mut self, path: &std::path::Path) {
        match super::command::open_file_command(path) {
            Ok((view, command)) => {
                self.state.view = view;
                self.commands.send(command);
                self.handle_commands();
            }
            Err(e) => self.state.notice(e, true),
        }
    }

    /// (Re)creates the tile layer when the settings changed.
    fn reload_tiles(&mut self) {
        let want = self.tiles_mode == MapTiles::FromSettings && self.settings.online_tiles;
        if !want {
            self.map.tiles = None;
            self.map.tiles_url.clear();
            return;
        }
        let wanted = format!(
            "{}\n{}\n{}",
            self.settings.tile_url, self.settings.tile_key, self.settings.tile_dir
        );
        if self.map.tiles.is_some() && self.map.tiles_url == wanted {
            return;
        }
        let layer = self
            .settings
            .tile_source()
            .map_err(|e| e.to_string())
            .and_then(|source| {
                let store = self
                    .settings
                    .tile_store()
                    .ok_or_else(|| "no data folder for map tiles".to_owned())?;
                super::map::tiles::LayerTiles::spawn(source, store, &self.ctx)
                    .map_err(|e| e.to_string())
            });
        match layer {
            Ok(t) => {
                self.map.tiles = Some(t);
                self.map.tiles_url = wanted;
            }
            Err(e) => {
                self.map.tiles = None;
                self.map.tiles_url.clear();
                self.state.notice(
                    format!("map tiles: {e}; showing the offline basemap only"),
                    true,
                );
            }
        }
        if self.settings.offline_basemap && self.map.basemap.is_none() {
            self.map.basemap = Basemap::bundled().ok();
        }
    }

    /// Loads map tiles as the settings say even in a headless app (tests point the settings
    /// at their own tile server and folder first).
    pub fn enable_tiles(&mut self) {
        self.tiles_mode = MapTiles::FromSettings;
        self.reload_tiles();
    }

    /// Drains events into the state (eframe's `logic`).
    pub fn logic_step(&mut self, ctx: &egui::Context) {
        let now = Instant::now();
        let last_frame = self.last_frame_start.map(|t| now - t);
        self.last_frame_start = Some(now);
        self.frame_started = Some(now);
        if let Some(b) = &mut self.bench {
            b.frame_start(now);
        }
        let more = logic::ingest(
            &mut self.state,
            &mut self.backend,
            &mut self.settings,
            &mut self.logic,
            logic::ingest_budget(last_frame),
        );
        let delay_ms =
            super::backend::repaint_delay_ms(self.state.view, self.settings.live_refresh_hz);
        self.backend
            .repaint_delay_ms
            .store(delay_ms, std::sync::atomic::Ordering::Relaxed);
        self.refresh_offline_sets();
        if more {
            ctx.request_repaint();
        } else {
            // The clock and link timeouts move even when nothing arrives: twice a second where
            // live data is drawn, once a second on the static views.
            ctx.request_repaint_after(Duration::from_millis(delay_ms.max(500)));
        }
    }

    /// Draws the window and executes the commands it emitted.
    pub fn ui_step(&mut self, ui: &mut egui::Ui) {
        // The frame started with its logic step (eframe calls `logic` first).
        let started = self.frame_started.take().unwrap_or_else(Instant::now);
        let mut cx = ui::UiCx {
            state: &mut self.state,
            settings: &mut self.settings,
            map: &mut self.map,
            commands: &mut self.commands,
            frame_stats: &self.frame_stats,
        };
        ui::root_ui(ui, &mut cx);
        self.handle_commands();
        let ui_ms = started.elapsed().as_secs_f32() * 1000.0;
        self.frame_stats.push(ui_ms);
        if let Some(b) = &mut self.bench {
            let facts = super::window_bench::FrameFacts {
                ui_ms,
                view: self.state.view.label(),
                drones: self.state.drones.len(),
            };
            if let Some(line) = b.frame_end(Instant::now(), facts) {
                println!("{line}");
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            } else if b.continuous() {
                ui.ctx().request_repaint();
            }
        }
    }

    /// One whole frame: logic, UI and commands (tests and benchmarks drive the app this way).
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.logic_step(&ctx);
        self.ui_step(ui);
    }

    /// Executes the queued commands.
    pub fn handle_commands(&mut self) {
        let mut settings_saved = false;
        for cmd in self.commands.drain() {
            settings_saved |= matches!(cmd, super::command::Command::SaveSettings);
            logic::handle_command(
                &mut self.state,
                &mut self.backend,
                &mut self.settings,
                &mut self.logic,
                cmd,
            );
        }
        if settings_saved {
            self.reload_tiles();
        }
        self.refresh_offline_sets();
    }

    /// The map re-reads the stored offline sets after one was stored or deleted.
    fn refresh_offline_sets(&mut self) {
        if std::mem::take(&mut self.state.offline.sets_changed)
            && let Some(tiles) = &mut self.map.tiles
        {
            tiles.refresh();
        }
    }
}

/// The colour panels would be painted in the theme of `visuals` (egui's own): the window is
/// cleared to it and the panels themselves paint nothing (see [`AviaryApp::new`]).
pub fn panel_colour(visuals: &egui::Visuals) -> egui::Color32 {
    if visuals.dark_mode {
        egui::Visuals::dark().panel_fill
    } else {
        egui::Visuals::light().panel_fill
    }
}

impl eframe::App for AviaryApp {
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        panel_colour(visuals).to_normalized_gamma_f32()
    }

    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.logic_step(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.ui_step(ui);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if let Err(e) = self.settings.save() {
            tracing::warn!(error = %e, "settings not saved");
        }
    }
}
