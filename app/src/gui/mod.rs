//! The desktop app: window setup ([`run`]), the eframe [`App`](app::AviaryApp), runtime
//! [`state`], persisted [`settings`], the [`command::Command`] enum and its handler in
//! [`logic`], the map and its overlays ([`map`]) and one module per view in [`ui`].

pub mod app;
pub mod backend;
pub mod command;
pub mod fleet_server;
pub mod jobs;
pub mod links;
pub mod logic;
pub mod map;
pub mod natural;
pub mod planning;
pub mod seed;
pub mod settings;
pub mod sound;
pub mod speech;
pub mod state;
pub mod ui;
pub mod view;
pub mod window_bench;

use std::sync::Arc;

/// Why the desktop app could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum GuiError {
    /// No graphical display is available (headless machine, SSH without X forwarding).
    #[error(
        "no graphical display found (neither DISPLAY nor WAYLAND_DISPLAY is set); run `aviary` from a desktop \
         session, or use the headless subcommands (`aviary --help`)"
    )]
    NoDisplay,
    /// The local store could not be opened.
    #[error("cannot open the local store: {0}")]
    Store(#[from] aviary_store::StoreError),
    /// The window or its graphics context could not be created.
    #[error("cannot open the Aviary window: {0}")]
    Window(String),
}

/// Opens the Aviary window with the default store, settings and the built-in simulated fleet,
/// and runs until the window is closed. `open` is a file to open at once (an area, a mission or
/// a `.tlog`: what a double-click in the file manager passes).
pub fn run(open: Option<std::path::PathBuf>) -> Result<(), GuiError> {
    if !display_available() {
        return Err(GuiError::NoDisplay);
    }
    let started = std::time::Instant::now();
    keep_freed_c_heap();
    no_transparent_huge_pages();
    let settings = settings::Settings::load();
    let clock: Arc<dyn aviary_core::Clock> = Arc::new(aviary_core::SystemClock);
    let store = aviary_store::Store::open_default(
        Arc::clone(&clock),
        aviary_store::StoreOptions::desktop(settings.telemetry_retention_days),
    )?;
    let bench = window_bench::WindowBenchConfig::from_env().map_err(GuiError::Window)?;
    let size = bench
        .as_ref()
        .and_then(|b| b.size)
        .unwrap_or([1440.0, 900.0]);
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        // No dithering: each pixel of the fragment shader computed a noise value to spread
        // rounding over gradients the window does not draw (flat colours, text); under
        // Mesa's software renderer that was ~20 % of an idle window's CPU time.
        dithering: false,
        viewport: egui::ViewportBuilder::default()
            .with_title("Aviary — mission control")
            .with_inner_size(size)
            .with_min_inner_size([900.0, 600.0]),
        ..eframe::NativeOptions::default()
    };
    eframe::run_native(
        "Aviary",
        options,
        Box::new(move |cc| {
            let backend = backend::Backend::start(store, clock, &settings, cc.egui_ctx.clone());
            let mut app =
                app::AviaryApp::new(&cc.egui_ctx, backend, settings, app::MapTiles::FromSettings);
            if let Some(path) = open {
                app.open_file(&path);
            }
            app.bench = bench.map(window_bench::WindowBench::new);
            // The window draws with glow: the map's background is a GL clear.
            app.map.fill = map::fill::FillMode::GlClear;
            tracing::info!(startup_ms = started.elapsed().as_millis(), "window created");
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| GuiError::Window(e.to_string()))
}

/// Keeps the C heap's freed memory for reuse instead of giving it back to the system at once.
/// The OpenGL driver (Mesa, and its software renderer on machines without a GPU) allocates
/// the vertex and index buffers of every mesh with `malloc` on every frame; with glibc's
/// defaults the freed top of the heap goes back to the system (`brk`) and the next frame
/// faults the same pages in again, zeroed: a third of the window's CPU time under `perf`
/// (page faults, page clearing, unmapping) with a thousand drones. Rust's own allocations
/// (mimalloc) are not affected.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn keep_freed_c_heap() {
    /// Free memory at the top of the heap kept before it is returned, bytes.
    const TRIM_THRESHOLD_B: libc::c_int = 64 << 20;
    /// Allocations up to this size come from the heap, not their own mapping, bytes
    /// (glibc's largest allowed value on 64-bit systems).
    const MMAP_THRESHOLD_B: libc::c_int = 32 << 20;
    // SAFETY: `mallopt` only sets two of glibc's allocator tunables; it is called before the
    // window, its driver and the app's threads start, and a refused value leaves the default.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_B);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_B);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_c_heap() {}

/// Keeps the process's memory in normal pages. mimalloc asks the kernel for transparent huge
/// pages on its segments (`madvise`), so a segment touched at all is resident as whole 2 MiB
/// pages: 27 MiB of the window's 180 MiB with 12 drones was such padding (`AnonHugePages` in
/// `/proc/PID/smaps_rollup`), and zeroing a huge page on the first touch stalls that frame.
/// Linux only; a refusal (an old kernel) leaves the default.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn no_transparent_huge_pages() {
    // SAFETY: `prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)` only sets a flag of this process's
    // memory map; it takes no pointers.
    let refused = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } != 0;
    if refused {
        tracing::debug!("transparent huge pages stay on: prctl refused");
    }
}

/// Elsewhere there is nothing to do.
#[cfg(not(target_os = "linux"))]
pub fn no_transparent_huge_pages() {}

/// True when a window can be opened: on Linux and the BSDs an X11 or Wayland display must be
/// named in the environment; elsewhere the OS always has one.
fn display_available() -> bool {
    if cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd"
    )) {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        set("DISPLAY") || set("WAYLAND_DISPLAY")
    } else {
        true
    }
}
