//! Terrain in the desktop (issue 20), driven through `egui_kittest` on the real app state:
//! Settings → Terrain takes a DEM through the file chooser, every `MAVLink` link answers the
//! autopilots' terrain requests from it (the built-in simulator's drones, with terrain on,
//! load their blocks from it over real UDP), and a file that cannot be used is refused by name
//! while the DEM in use stays. The Plan view follows the terrain of Terrarium elevation tiles
//! from a local tile server the test starts, fetched once and then read from disk.

use aviary_app::gui::app::AviaryApp;
use aviary_app::gui::command::{Command, ExportFormat};
use aviary_app::gui::settings::{FileDialogChoice, PlanTerrainSource};
use aviary_app::gui::state::{AltitudeMode, DemUse, TerrainStatus, View};
use aviary_core::{DroneId, LatLon};
use aviary_planner::terrain::Elevation as _;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

mod common;
use common::terrarium::TerrariumServer;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn app(dir: &Path, simulated_fleet: bool) -> AviaryApp {
    let start = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    AviaryApp::headless(&dir.join("aviary.db"), start, simulated_fleet).expect("store")
}

fn harness(app: AviaryApp) -> Harness<'static, AviaryApp> {
    Harness::builder()
        .with_size([1600.0, 1000.0])
        .build_ui_state(|ui, app: &mut AviaryApp| app.frame_ui(ui), app)
}

/// Steps until `done` holds; the simulated vehicles answer over real UDP, so this waits for a
/// real peer (bounded), it does not sleep a fixed time to decide anything.
fn step_until(h: &mut Harness<'_, AviaryApp>, what: &str, done: impl Fn(&AviaryApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}

fn send(h: &mut Harness<'_, AviaryApp>, command: Command) {
    h.state_mut().commands.send(command);
    h.state_mut().handle_commands();
}

/// A cone 700 m high over a 200 m plain, 2.8 km across, its top 600 m north and 400 m east
/// of the drone: the ground under the drone slopes, so a wrong post or block shows in its
/// height.
struct Cone {
    top: LatLon,
}

impl Cone {
    fn ground_m(&self, p: LatLon) -> f64 {
        (900.0 - 0.5 * self.top.distance_m(p)).max(200.0)
    }
}

/// The 3″ SRTM tile holding `near` with the heights of `ground_m`, written to `dir` under its
/// SRTM name.
fn write_hgt(dir: &Path, near: LatLon, ground_m: impl Fn(LatLon) -> f64) -> PathBuf {
    let south = near.lat_deg.floor();
    let west = near.lon_deg.floor();
    let name = format!(
        "{}{:02}{}{:03}.hgt",
        if south < 0.0 { 'S' } else { 'N' },
        south.abs() as i32,
        if west < 0.0 { 'W' } else { 'E' },
        west.abs() as i32
    );
    let n = 1201;
    let mut bytes = Vec::with_capacity(n * n * 2);
    for r in 0..n {
        let lat = south + 1.0 - r as f64 / 1200.0;
        for c in 0..n {
            let lon = west + c as f64 / 1200.0;
            let h = ground_m(LatLon::new(lat, lon)).round() as i16;
            bytes.extend_from_slice(&h.to_be_bytes());
        }
    }
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write hgt");
    path
}

/// A simulated drone of the running fleet and its home.
fn simulated_drone(app: &AviaryApp) -> Option<(DroneId, LatLon)> {
    app.backend
        .sim
        .as_ref()?
        .drones()
        .keys()
        .find_map(|id| app.state.drones.get(id).map(|d| (*id, d.drone.home)))
}

/// The terrain height an `ArduPilot` vehicle at `p` computes from a DEM of `ground_m`:
/// `AP_Terrain::height_amsl`, the bilinear blend of the four grid posts around `p`, each post
/// placed as the ground station places it (the block's corner offset by whole spacings) and
/// sent as whole metres. The grid measures `p` from the whole degree south-west of it with
/// the longitude scaled at the middle latitude, the posts from the block's corner: the two
/// disagree by metres east, so on a slope the vehicle's height is not the DEM's at `p`.
fn vehicle_terrain_m(ground_m: impl Fn(LatLon) -> f64, p: LatLon) -> f64 {
    use aviary_core::terrain_grid::{DEFAULT_SPACING_M, PointE7, grid_info};
    let info = grid_info(PointE7::from_latlon(p), DEFAULT_SPACING_M);
    let spacing = f64::from(DEFAULT_SPACING_M);
    let post = |north: usize, east: usize| {
        let at = info
            .block
            .offset(north as f64 * spacing, east as f64 * spacing);
        ground_m(at.to_latlon()).round()
    };
    let (x, y) = (info.idx_north, info.idx_east);
    let west = (1.0 - info.frac_north) * post(x, y) + info.frac_north * post(x + 1, y);
    let east = (1.0 - info.frac_north) * post(x, y + 1) + info.frac_north * post(x + 1, y + 1);
    (1.0 - info.frac_east) * west + info.frac_east * east
}

/// Restarts the built-in simulator with terrain on and waits until `drone` has loaded every
/// terrain block around it; its reported terrain height must be the one the vehicle computes
/// from the cone's posts (within 1 m: the DEM's own interpolation between its samples and the
/// post heights' rounding), and the cone's own height within 12 m.
fn terrain_from_restarted_simulator(
    h: &mut Harness<'_, AviaryApp>,
    drone: DroneId,
    cone: &Cone,
) -> TerrainStatus {
    h.state_mut().settings.sim_terrain = true;
    send(h, Command::ApplySimulator);
    let loaded = |a: &AviaryApp| {
        a.state
            .drones
            .get(&drone)
            .and_then(|d| d.link.terrain)
            .filter(|t| t.pending == 0 && t.loaded > 0 && t.terrain_height_m.is_some())
    };
    step_until(h, "the drone's terrain blocks loaded", |a| {
        loaded(a).is_some()
    });
    let t = loaded(h.state()).expect("terrain");
    let pos = h.state().state.drones[&drone].position();
    let height = t.terrain_height_m.expect("height");
    let want = vehicle_terrain_m(|p| cone.ground_m(p), pos);
    let cone_m = cone.ground_m(pos);
    assert!(
        (height - want).abs() < 1.0 && (height - cone_m).abs() < 12.0,
        "the vehicle's terrain height {height:.1} m, from the cone's posts {want:.1} m, \
         the cone's at the vehicle {cone_m:.1} m"
    );
    t
}

#[test]
fn the_settings_dem_answers_the_simulated_drones_terrain_requests() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), true));
    h.run_steps(2);
    step_until(&mut h, "the simulated fleet", |a| {
        simulated_drone(a).is_some()
    });
    let (drone, home) = simulated_drone(h.state()).expect("a simulated drone");
    let cone = Cone {
        top: home.offset_ne(600.0, 400.0),
    };
    let dem = write_hgt(dir.path(), home, |p| cone.ground_m(p));
    let bad = dir.path().join("N10E010.hgt");
    std::fs::write(&bad, b"not a tile").expect("write bad file");

    // Settings → Terrain: "Choose DEM…" opens the app's file chooser (the built-in one here,
    // as on a desktop without a portal) on DEM files; its answer loads the file.
    h.state_mut().settings.file_dialog = FileDialogChoice::BuiltIn;
    h.state_mut().state.view = View::Settings;
    h.run_steps(2);
    h.get_by_label("Terrain");
    h.get_by_label("none: the autopilots' terrain requests stay unanswered");
    h.get_by_label("Choose DEM…").click();
    h.run_steps(2);
    let chooser = h.state().state.chooser.clone().expect("the file chooser");
    assert_eq!(chooser.title, "Terrain for the autopilots (DEM)");
    assert_eq!(chooser.extensions, ["hgt", "tif", "tiff"]);
    send(&mut h, Command::ChooserChoose(bad.clone()));
    h.run_steps(3);
    // Refused by name and why; nothing in use, nothing stored.
    let error = h
        .state()
        .state
        .terrain
        .links
        .error
        .clone()
        .expect("an error");
    assert!(
        error.contains("N10E010.hgt") && error.contains("SRTM"),
        "{error}"
    );
    h.get_by_label(&error);
    assert!(h.state().state.terrain.links.dem.is_none());
    assert_eq!(h.state().settings.terrain_dem, "");

    send(
        &mut h,
        Command::LoadDem {
            used_for: DemUse::Links,
            path: dem.clone(),
        },
    );
    h.run_steps(3);
    let in_use = h
        .state()
        .state
        .terrain
        .links
        .dem
        .clone()
        .expect("the DEM in use");
    assert_eq!(in_use.path, dem);
    assert!(in_use.describe.contains("SRTM"), "{}", in_use.describe);
    assert_eq!(h.state().settings.terrain_dem, dem.display().to_string());
    assert!(h.state().state.terrain.links.error.is_none());
    h.get_by_label(&in_use.describe);
    h.get_by_label("Stop answering");

    // A bad file later: refused, the previous DEM stays in use and in the settings.
    send(
        &mut h,
        Command::LoadDem {
            used_for: DemUse::Links,
            path: bad,
        },
    );
    h.run_steps(3);
    assert!(h.state().state.terrain.links.error.is_some());
    assert_eq!(
        h.state().state.terrain.links.dem.as_ref().map(|d| &d.path),
        Some(&dem)
    );
    assert_eq!(h.state().settings.terrain_dem, dem.display().to_string());

    // The simulated drones do terrain from the restart on; the simulator's link, opened
    // before the DEM was chosen, answers them from it.
    let t = terrain_from_restarted_simulator(&mut h, drone, &cone);
    let link = h.state().backend.sim_link.expect("the simulator's link");
    let stats = h.state().backend.links.links[link].handle.stats();
    assert!(stats.terrain_requests_rx.load(Ordering::Relaxed) > 0);
    assert!(stats.terrain_data_tx.load(Ordering::Relaxed) >= u64::from(t.loaded));

    // The flight display shows it: nothing pending.
    h.state_mut().state.selected_drone = Some(drone);
    h.state_mut().state.view = View::Monitor;
    h.run_steps(3);
    h.get_by_label_contains(&format!("{} loaded · 0 pending", t.loaded));
}

#[test]
fn without_a_dem_the_simulated_drones_wait_for_terrain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), false));
    h.run_steps(2);
    h.state_mut().settings.sim_terrain = true;
    h.state_mut().settings.simulated_fleet = true;
    send(&mut h, Command::ApplySimulator);
    step_until(&mut h, "a simulated drone's terrain report", |a| {
        simulated_drone(a)
            .and_then(|(d, _)| a.state.drones[&d].link.terrain)
            .is_some_and(|t| t.pending > 0)
    });
    let (drone, _) = simulated_drone(h.state()).expect("drone");
    let t = h.state().state.drones[&drone]
        .link
        .terrain
        .expect("terrain");
    assert_eq!(t.loaded, 0, "nothing answers: {t:?}");
    assert_eq!(t.terrain_height_m, None);
}

/// A plain at 300 m with a ridge 150 m high running north–south 500 m east of `site`, its
/// flanks at 40 %.
fn ridge_m(site: LatLon, p: LatLon) -> f64 {
    let east_m = (p.lon_deg - site.lon_deg).to_radians()
        * aviary_core::geo::EARTH_RADIUS_M
        * site.lat_deg.to_radians().cos();
    300.0 + (150.0 - 0.4 * (east_m - 500.0).abs()).max(0.0)
}

#[test]
fn the_plan_view_draws_the_terrain_profile_with_its_minimum_clearance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), false));
    h.run_steps(2);
    h.state_mut().state.view = View::Plan;
    h.run_steps(2);
    // The plan flies from the site (the first one, chosen for a new plan).
    let site = {
        let s = &h.state().state;
        let id = s.plan.site.expect("a site");
        s.sites.iter().find(|x| x.id == id).expect("site").location
    };
    let dem = write_hgt(dir.path(), site, |p| ridge_m(site, p));
    {
        let ed = &mut h.state_mut().state.plan;
        ed.params.altitude_m = 60.0;
        ed.set_vertices(vec![
            site.offset_ne(100.0, 300.0),
            site.offset_ne(100.0, 700.0),
            site.offset_ne(400.0, 700.0),
            site.offset_ne(400.0, 300.0),
        ]);
    }
    let planned = |a: &AviaryApp| a.state.plan.current_preview().cloned();
    step_until(&mut h, "the flat plan", |a| planned(a).is_some());
    assert!(planned(h.state()).is_some_and(|p| p.terrain.is_none()));
    assert!(
        h.query_by_label("Terrain profile").is_none(),
        "no DEM, no profile"
    );

    // Above home over the ridge: the profile shows the path going into it.
    h.get_by_label("Import DEM...");
    send(
        &mut h,
        Command::LoadDem {
            used_for: DemUse::Plan,
            path: dem.clone(),
        },
    );
    let with_terrain = |a: &AviaryApp| planned(a).and_then(|p| p.terrain.map(|t| (p.waypoints, t)));
    step_until(&mut h, "the plan over the DEM", |a| {
        with_terrain(a).is_some()
    });
    let (flat_items, t) = with_terrain(h.state()).expect("terrain");
    assert!(t.following.is_none());
    let p = &t.profile;
    // 60 m above a 300 m home is 360 m AMSL; the ridge tops 450 m (a little less between
    // the DEM's posts, 60 to 90 m apart).
    assert!((p.home_amsl_m - 300.0).abs() < 1.0, "{}", p.home_amsl_m);
    assert!(
        (-91.0..-75.0).contains(&p.min_clearance_m),
        "the path meets the ridge's top about 90 m too low: {}",
        p.min_clearance_m
    );
    let below = p.legs_below(30.0).count();
    assert!(below > 0, "legs into the ridge");
    h.get_by_label("Terrain profile");
    h.get_by_label_contains(&format!("Minimum clearance: {:.1} m", p.min_clearance_m));
    h.get_by_label(&format!(
        "{below} of {} legs below 30 m (red in the profile)",
        p.legs.len()
    ));

    // Above the terrain: the same survey follows the ground, every leg clear of it.
    // The Terrain section sits below the Mission section: scrolled to, as an operator would.
    h.get_by_label("Above terrain (AGL)").scroll_to_me();
    h.run_steps(30); // the scroll animates over several frames
    h.get_by_label("Above terrain (AGL)").click();
    let following = |a: &AviaryApp| with_terrain(a).filter(|(_, t)| t.following.is_some());
    step_until(&mut h, "the terrain-following plan", |a| {
        following(a).is_some()
    });
    let (items, t) = following(h.state()).expect("following");
    let f = t.following.expect("following");
    assert!(
        items.len() > flat_items.len(),
        "points added over the ridge"
    );
    assert_eq!(f.inserted_waypoints, items.len() - flat_items.len());
    let p = &t.profile;
    assert!(
        p.min_clearance_m >= 60.0 - f.tolerance_m - 0.5,
        "clearance {} along the whole path",
        p.min_clearance_m
    );
    h.get_by_label_contains(&format!("Minimum clearance: {:.1} m", p.min_clearance_m));
    h.get_by_label(&format!("No leg below 30 m of {}", p.legs.len()));

    // A tighter tolerance: more points, the clearance closer to the altitude.
    let points_at_5 = f.inserted_waypoints;
    h.state_mut().state.plan.terrain_tolerance_m = 2.0;
    h.state_mut().state.plan.revision += 1;
    step_until(&mut h, "the plan at a 2 m tolerance", |a| {
        following(a).is_some_and(|(_, t)| t.following.is_some_and(|f| f.tolerance_m < 2.5))
    });
    let (_, t2) = following(h.state()).expect("following");
    let f2 = t2.following.expect("following");
    assert!(
        f2.inserted_waypoints > points_at_5,
        "{} vs {points_at_5}",
        f2.inserted_waypoints
    );
    assert!(
        t2.profile.min_clearance_m >= 60.0 - 2.0 - 0.5,
        "{}",
        t2.profile.min_clearance_m
    );
    h.get_by_label("Tolerance");

    // Exported as the CLI writes it: absolute (AMSL) altitudes, 60 m over the DEM's ground
    // at each waypoint (the climb rate may hold one higher).
    h.state_mut().settings.file_dialog = FileDialogChoice::BuiltIn;
    send(&mut h, Command::ExportPlan(ExportFormat::QgcPlan));
    h.run_steps(2);
    let out = dir.path().join("over-the-ridge.plan");
    send(&mut h, Command::ChooserChoose(out.clone()));
    step_until(&mut h, "the exported plan", |_| out.exists());
    let plan_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("plan")).expect("JSON");
    assert_eq!(
        plan_json["mission"]["globalPlanAltitudeMode"], 2,
        "absolute altitudes"
    );
    let tile = aviary_planner::terrain::SrtmTile::read(&dem).expect("tile");
    let mut checked = 0;
    for item in plan_json["mission"]["items"].as_array().expect("items") {
        if item["command"] != 16 {
            continue;
        }
        let params = &item["params"];
        let pos = LatLon::new(
            params[4].as_f64().expect("lat"),
            params[5].as_f64().expect("lon"),
        );
        let agl = params[6].as_f64().expect("alt") - tile.elevation_m(pos).expect("ground");
        assert!(
            (55.0..=120.0).contains(&agl),
            "{agl} m over the ground at {pos}"
        );
        checked += 1;
    }
    assert!(checked > 10, "{checked}");

    // Above sea level: one altitude over the whole survey, 500 m over a plain at 300 m
    // and a ridge topping 450 m at the area's centre line.
    h.state_mut().state.plan.params.altitude_m = 500.0;
    h.get_by_label("Above sea level (AMSL)").click();
    h.run_steps(2);
    assert_eq!(h.state().state.plan.alt_mode, AltitudeMode::AboveSeaLevel);
    let at_sea_level = |a: &AviaryApp| {
        planned(a).filter(|sea_plan| {
            sea_plan
                .terrain
                .as_ref()
                .and_then(|terrain| terrain.planned.as_ref())
                .is_some_and(|planned| planned.sea_level)
        })
    };
    step_until(&mut h, "the plan above sea level", |a| {
        if let Some(e) = &a.state.plan.preview_error {
            panic!("planning failed: {e}");
        }
        at_sea_level(a).is_some()
    });
    let sea_plan = at_sea_level(h.state()).expect("above sea level");
    let sea_terrain = sea_plan.terrain.as_ref().expect("terrain");
    let sea = sea_terrain.planned.clone().expect("planned");
    assert!((sea.home_amsl_m - 300.0).abs() < 1.0, "{sea:?}");
    for wp in sea_plan
        .waypoints
        .iter()
        .filter(|wp| wp.action == aviary_core::WaypointAction::FlyThrough)
    {
        assert!(
            (wp.alt_rel_m - (500.0 - sea.home_amsl_m)).abs() < 1e-9,
            "{wp:?}"
        );
    }
    // The camera's height at the centre (the ridge's crest, about 450 m) sets the spacing.
    assert!((45.0..60.0).contains(&sea.agl_m), "{sea:?}");
    assert!(
        (45.0..60.0).contains(&sea_terrain.profile.min_clearance_m),
        "{} m at {} m along the path",
        sea_terrain.profile.min_clearance_m,
        sea_terrain.profile.min_clearance_at_m
    );
    assert_eq!(sea.ground_amsl_m.len(), sea_plan.waypoints.len());

    // A bad file for the plan: refused by name, the plan keeps its DEM.
    let bad = dir.path().join("plan.tif");
    std::fs::write(&bad, b"II*\0 not a tiff").expect("write");
    send(
        &mut h,
        Command::LoadDem {
            used_for: DemUse::Plan,
            path: bad,
        },
    );
    h.run_steps(3);
    let choice = h.state().state.terrain.plan.clone();
    assert!(
        choice
            .error
            .as_deref()
            .is_some_and(|e| e.contains("plan.tif")),
        "{choice:?}"
    );
    assert_eq!(choice.dem.map(|d| d.path), Some(dem));
}

#[test]
fn the_plan_view_follows_elevation_tiles_fetched_once_and_then_read_from_disk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut app = app(dir.path(), false);
    let site = {
        let s = &app.state;
        s.sites.first().expect("a site").location
    };
    let server = TerrariumServer::start(Arc::new(move |p| ridge_m(site, p)));
    app.settings.tile_dir = dir.path().join("tiles").display().to_string();
    app.settings.terrain_tile_url = server.template();
    let mut h = harness(app);
    h.run_steps(2);
    h.state_mut().state.view = View::Plan;
    h.run_steps(2);
    let site_id = h.state().state.plan.site.expect("a site");
    assert_eq!(
        h.state()
            .state
            .sites
            .iter()
            .find(|s| s.id == site_id)
            .map(|s| s.location),
        Some(site),
        "the plan flies from the first site"
    );
    // Terrain → From: Elevation tiles, then Above terrain, as an operator clicks them.
    h.get_by_label("Elevation tiles").scroll_to_me();
    h.run_steps(30);
    h.get_by_label("Elevation tiles").click();
    h.run_steps(2);
    assert_eq!(h.state().settings.plan_terrain, PlanTerrainSource::Tiles);
    h.get_by_label_contains("Terrarium tiles at zoom 12");
    h.get_by_label("Above terrain (AGL)").scroll_to_me();
    h.run_steps(30);
    h.get_by_label("Above terrain (AGL)").click();
    h.run_steps(2);
    assert_eq!(h.state().state.plan.alt_mode, AltitudeMode::AboveTerrain);
    {
        let ed = &mut h.state_mut().state.plan;
        ed.params.altitude_m = 60.0;
        ed.set_vertices(vec![
            site.offset_ne(100.0, 300.0),
            site.offset_ne(100.0, 700.0),
            site.offset_ne(400.0, 700.0),
            site.offset_ne(400.0, 300.0),
        ]);
    }
    let following = |a: &AviaryApp| {
        a.state
            .plan
            .current_preview()
            .and_then(|p| p.terrain.clone())
            .filter(|t| t.following.is_some())
    };
    step_until(&mut h, "the plan following the tiles", |a| {
        if let Some(e) = &a.state.plan.preview_error {
            panic!("planning failed: {e}");
        }
        following(a).is_some()
    });
    let t = following(h.state()).expect("following");
    let fetched = server.requests();
    assert!(fetched >= 1, "tiles came from the server");
    let p = &t.profile;
    assert!(
        p.terrain_source.contains("Terrarium z12"),
        "{}",
        p.terrain_source
    );
    // Home on the plain (300 m); the ridge (450 m at its top) followed at 60 m.
    assert!((p.home_amsl_m - 300.0).abs() < 0.5, "{}", p.home_amsl_m);
    let f = t.following.expect("following");
    assert!(
        p.min_clearance_m >= 60.0 - f.tolerance_m - 0.5,
        "clearance {} along the whole path",
        p.min_clearance_m
    );
    assert!(
        f.max_climb_m > 50.0,
        "it climbs the ridge: {}",
        f.max_climb_m
    );
    h.get_by_label_contains(&format!("Minimum clearance: {:.1} m", p.min_clearance_m));

    // The next plan reads the same tiles from the cache: no request.
    h.state_mut().state.plan.params.altitude_m = 80.0;
    h.state_mut().state.plan.revision += 1;
    step_until(&mut h, "the plan at 80 m", |a| {
        following(a).is_some_and(|t| t.following.is_some_and(|f| (f.agl_m - 80.0).abs() < 1e-9))
    });
    assert_eq!(server.requests(), fetched, "read from disk");
}

#[test]
fn stored_elevation_tiles_answer_the_simulated_drones_terrain_requests() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut app = app(dir.path(), true);
    app.settings.tile_dir = dir.path().join("tiles").display().to_string();
    let mut h = harness(app);
    h.run_steps(2);
    step_until(&mut h, "the simulated fleet", |a| {
        simulated_drone(a).is_some()
    });
    let (drone, home) = simulated_drone(h.state()).expect("a simulated drone");
    let cone = Cone {
        top: home.offset_ne(600.0, 400.0),
    };
    let top = cone.top;
    let server = TerrariumServer::start(Arc::new(move |p| Cone { top }.ground_m(p)));
    h.state_mut().settings.terrain_tile_url = server.template();
    // The area's elevation tiles stored on this computer, as Offline maps would (here through
    // the loader, which writes what it fetches to the cache).
    let store = h.state().settings.tile_store().expect("tile folder");
    let source = h.state().settings.terrain_tile_source().expect("source");
    aviary_links::tiles::load_elevation(
        &store,
        &aviary_links::tiles::ElevationRequest {
            source,
            bbox: aviary_links::tiles::BoundingBox::from_corners(
                home.offset_ne(-8000.0, -8000.0),
                home.offset_ne(8000.0, 8000.0),
            ),
            zoom: 12,
        },
        &aviary_links::tiles::ClientOptions::default(),
    )
    .expect("tiles stored");
    let fetched = server.requests();

    // Settings → Terrain → "Use elevation tiles".
    h.state_mut().state.view = View::Settings;
    h.run_steps(2);
    h.get_by_label("Use elevation tiles").click();
    h.run_steps(3);
    let in_use = h.state().state.terrain.links.dem.clone().expect("in use");
    assert!(
        in_use.describe.contains("stored tiles"),
        "{}",
        in_use.describe
    );
    assert!(h.state().settings.autopilot_terrain_tiles);
    h.get_by_label(&in_use.describe);

    terrain_from_restarted_simulator(&mut h, drone, &cone);
    assert_eq!(
        server.requests(),
        fetched,
        "a link reads stored tiles, never the network"
    );
}
