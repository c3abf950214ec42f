//! `aviary plan`: plan a survey from an area file and write the mission file(s).
//!
//! Reads the area (`GeoJSON`, KML, KMZ, Shapefile) and optional no-fly zones, plans with
//! `aviary-planner`, writes `--out` in the format its extension names, and prints a summary
//! (or one JSON object with `--json`). With `--drones N`, each drone's mission is also written
//! as `STEM_droneK.EXT` (and `--out` holds drone 1's). With `--sorties`, a mission that needs
//! several sorties also gets one file per sortie (its own items only) in the folder
//! `STEM_sorties` beside `--out`: `STEM_sortieK.EXT` (`STEM_droneD_sortieK.EXT` per drone).
//! With `--terrain-follow --dem FILE` (or `--terrain-tiles [URL]`: Terrarium tiles over HTTP,
//! disk first), each mission follows the ground at `--agl-m` (module `terrain`) and the files
//! hold absolute (AMSL) altitudes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use aviary_core::LatLon;
use aviary_planner::formats::{self, Firmware, MissionDoc, PlanFileOptions};

use super::terrain;
use aviary_planner::{
    ARDUCOPTER_MAX_ITEMS, Area, Camera, PX4_MAX_ITEMS, Pattern, Plan, Spacing, SurveyParams,
};

/// Arguments of `aviary plan`.
#[derive(Debug, clap::Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "command-line flags: each bool is one independent switch"
)]
pub struct PlanArgs {
    /// Survey area: .geojson/.json, .kml, .kmz or .shp (WGS84).
    #[arg(long, value_name = "FILE", required_unless_present = "mission")]
    area: Option<PathBuf>,
    /// A mission another tool wrote (QGroundControl .plan with simple items or a survey, or
    /// QGC WPL 110 .waypoints/.txt): estimated again and written to --out instead of planning.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["area", "no_fly"])]
    mission: Option<PathBuf>,
    /// lawnmower, crosshatch, perimeter, spiral or expanding-square.
    #[arg(long, default_value = "lawnmower")]
    pattern: String,
    /// Perimeter: loops flown, the first half a footprint inside the boundary and each hole.
    #[arg(long, default_value_t = 1)]
    loops: usize,
    /// Perimeter: loops until the area is covered (instead of --loops).
    #[arg(long)]
    fill: bool,
    /// Spiral: fly from the boundary in (default: from the centre out).
    #[arg(long)]
    inward: bool,
    /// Altitude above takeoff, metres.
    #[arg(long, default_value_t = 50.0)]
    altitude_m: f64,
    /// Cruise speed, m/s.
    #[arg(long, default_value_t = 5.0)]
    speed_mps: f64,
    /// Side overlap, percent.
    #[arg(long, default_value_t = 70.0)]
    side_overlap: f64,
    /// Front overlap, percent.
    #[arg(long, default_value_t = 80.0)]
    front_overlap: f64,
    /// Transect bearing, degrees from north (default: chosen for the shortest path).
    #[arg(long)]
    angle_deg: Option<f64>,
    /// Distance flown beyond the outer boundary to turn, metres.
    #[arg(long, default_value_t = 0.0)]
    turnaround_m: f64,
    /// Built-in camera (phantom4pro, mavic3e, sony-a6000, rededge-mx, sequoia).
    #[arg(long, conflicts_with_all = ["sensor_width_mm", "line_spacing_m"])]
    camera: Option<String>,
    /// Custom camera: sensor width, mm.
    #[arg(long, requires_all = ["focal_mm", "image_width_px"])]
    sensor_width_mm: Option<f64>,
    /// Custom camera: sensor height, mm (default: 2/3 of the width).
    #[arg(long)]
    sensor_height_mm: Option<f64>,
    /// Custom camera: focal length, mm.
    #[arg(long)]
    focal_mm: Option<f64>,
    /// Custom camera: image width, px.
    #[arg(long)]
    image_width_px: Option<u32>,
    /// Custom camera: image height, px (default: from the sensor's aspect ratio).
    #[arg(long)]
    image_height_px: Option<u32>,
    /// Direct line spacing in metres instead of a camera.
    #[arg(long, conflicts_with = "sensor_width_mm")]
    line_spacing_m: Option<f64>,
    /// With --line-spacing-m: distance between photos, metres.
    #[arg(long, requires = "line_spacing_m")]
    trigger_distance_m: Option<f64>,
    /// Target ground sample distance, cm/px (sets the altitude).
    #[arg(long)]
    gsd_cm: Option<f64>,
    /// No-fly zone file (polygons); repeat for several.
    #[arg(long, value_name = "FILE")]
    no_fly: Vec<PathBuf>,
    /// Takeoff point, "LAT,LON".
    #[arg(long, value_name = "LAT,LON")]
    home: Option<LatLon>,
    /// Split the survey among N drones.
    #[arg(long, default_value_t = 1)]
    drones: usize,
    /// Target autopilot, for its mission-item limit: ardupilot (718) or px4 (500).
    #[arg(long, default_value = "ardupilot")]
    autopilot: String,
    /// Mission-item limit (overrides --autopilot).
    #[arg(long)]
    max_items: Option<usize>,
    /// Largest accepted area, km².
    #[arg(long, default_value_t = 500.0)]
    max_area_km2: f64,
    /// Battery energy, Wh (default: a Phantom 4 Pro class 89.2 Wh).
    #[arg(long)]
    battery_wh: Option<f64>,
    /// Most sorties (battery flights) the mission may need; more stops before planning.
    #[arg(long, default_value_t = aviary_planner::params::DEFAULT_MAX_SORTIES)]
    max_sorties: usize,
    /// Also write one file per sortie into the folder `STEM_sorties` beside `--out`.
    #[arg(long)]
    sorties: bool,
    /// Write a geofence into a .plan: an inclusion polygon around the area, home and every
    /// transit, and the no-fly zones as exclusions (none is written without it).
    #[arg(long)]
    fence: bool,
    /// Follow the terrain of --dem (or --terrain-tiles) at --agl-m above the ground: points
    /// are added along the legs where the ground departs from the straight line, and the
    /// files hold absolute (AMSL) altitudes.
    #[arg(long, conflicts_with_all = ["mission", "sorties"])]
    terrain_follow: bool,
    /// With --terrain-follow: height above the ground, metres (default: --altitude-m); also
    /// the height the camera's spacing and GSD are computed for.
    #[arg(long, requires = "terrain_follow")]
    agl_m: Option<f64>,
    /// With --terrain-follow: largest distance between the flown line and the AGL profile,
    /// metres (the clearance never falls below AGL minus it).
    #[arg(long, default_value_t = 5.0, requires = "terrain_follow")]
    terrain_tolerance_m: f64,
    /// Elevation data for --terrain-follow: SRTM .hgt tiles (repeat for several) or one
    /// TIFF DEM with geo tags (.tif, geographic or UTM).
    #[arg(long, value_name = "FILE")]
    dem: Vec<PathBuf>,
    /// Elevation for --terrain-follow from Terrarium PNG tiles over HTTP instead of --dem:
    /// the URL template ({z} {x} {y}; default, without a value: the AWS Terrain Tiles). Tiles
    /// are read from the tile folder first (offline sets, then the cache) and fetched only
    /// where missing.
    #[arg(
        long,
        value_name = "URL",
        num_args = 0..=1,
        default_missing_value = "",
        conflicts_with = "dem",
        requires = "terrain_follow"
    )]
    terrain_tiles: Option<String>,
    /// With --terrain-tiles: the tiles' zoom (12: ~38 m between posts at the equator).
    #[arg(long, default_value_t = aviary_links::tiles::DEFAULT_TERRAIN_ZOOM, requires = "terrain_tiles")]
    terrain_zoom: u8,
    /// With --terrain-tiles: the folder of offline sets and cached tiles (default: the
    /// desktop's, Settings → Map → tile folder).
    #[arg(long, value_name = "DIR", requires = "terrain_tiles")]
    tile_dir: Option<PathBuf>,
    /// Output: .plan, .waypoints, .kml, .geojson or .csv.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Print one JSON object with the estimates instead of a summary.
    #[arg(long)]
    json: bool,
}

fn params(args: &PlanArgs) -> anyhow::Result<SurveyParams> {
    let pattern: Pattern = args.pattern.parse()?;
    let spacing = if let Some(s) = args.line_spacing_m {
        Spacing::Direct {
            line_spacing_m: s,
            trigger_distance_m: args.trigger_distance_m,
        }
    } else if let (Some(w), Some(f), Some(px)) =
        (args.sensor_width_mm, args.focal_mm, args.image_width_px)
    {
        let h = args.sensor_height_mm.unwrap_or(w * 2.0 / 3.0);
        let hpx = args
            .image_height_px
            .unwrap_or_else(|| (f64::from(px) * h / w).round() as u32);
        Spacing::Camera(Camera {
            sensor_width_mm: w,
            sensor_height_mm: h,
            focal_length_mm: f,
            image_width_px: px,
            image_height_px: hpx,
        })
    } else {
        Spacing::Camera(aviary_planner::builtin_camera(
            args.camera.as_deref().unwrap_or("phantom4pro"),
        )?)
    };
    let max_mission_items = match (args.max_items, args.autopilot.parse::<Firmware>()?) {
        (Some(n), _) => n,
        (None, Firmware::ArduPilot) => ARDUCOPTER_MAX_ITEMS,
        (None, Firmware::Px4) => PX4_MAX_ITEMS,
    };
    let mut p = SurveyParams {
        pattern,
        alt_rel_m: args.agl_m.unwrap_or(args.altitude_m),
        speed_mps: args.speed_mps,
        side_overlap_pct: args.side_overlap,
        front_overlap_pct: args.front_overlap,
        sweep_angle_deg: args.angle_deg,
        turnaround_m: args.turnaround_m,
        spacing,
        target_gsd_cm_px: args.gsd_cm,
        home: args.home,
        max_mission_items,
        max_area_m2: args.max_area_km2 * 1e6,
        max_sorties: args.max_sorties,
        perimeter_loops: args.loops,
        perimeter_fill: args.fill,
        spiral_inward: args.inward,
        ..SurveyParams::default()
    };
    if let Some(wh) = args.battery_wh {
        p.airframe.battery_wh = wh;
    }
    Ok(p)
}

fn stem(path: &Path) -> &str {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("mission")
}

/// `STEM_suffix.EXT` in `dir`.
fn suffixed_in(dir: &Path, path: &Path, suffix: &str) -> PathBuf {
    let stem = stem(path);
    let name = match path.extension().and_then(|e| e.to_str()) {
        Some(ext) => format!("{stem}_{suffix}.{ext}"),
        None => format!("{stem}_{suffix}"),
    };
    dir.join(name)
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    suffixed_in(path.parent().unwrap_or(Path::new("")), path, suffix)
}

/// The folder the sortie files go to: `STEM_sorties` beside `--out`.
fn sortie_dir(out: &Path) -> PathBuf {
    out.with_file_name(format!("{}_sorties", stem(out)))
}

/// A number as people read it: metres and degrees to the micrometre or microdegree, so a
/// trigger distance of 5.999999999999998 m reads 6.
fn readable(v: f64) -> f64 {
    if v.is_finite() && v.abs() < 1e12 {
        (v * 1e6).round() / 1e6
    } else {
        v
    }
}

/// Runs `aviary plan`.
#[expect(
    clippy::needless_pass_by_value,
    reason = "the dispatcher hands each subcommand its arguments by value"
)]
pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    // The planner's worker threads start while the files are read (process start-up, not
    // planning time).
    aviary_planner::start_workers();
    let params = params(&args)?;
    formats::OutputFormat::from_path(&args.out)?;
    if let Some(mission) = &args.mission {
        return run_mission(&args, &params, mission);
    }
    let area_file = args
        .area
        .as_ref()
        .context("--area or --mission is needed")?;
    let areas = formats::read_area_file(area_file)
        .with_context(|| format!("reading {}", area_file.display()))?;
    let mut no_fly = Vec::new();
    for f in &args.no_fly {
        no_fly.extend(
            formats::read_area_file(f).with_context(|| format!("reading {}", f.display()))?,
        );
    }
    let follow = args.terrain_follow.then_some(terrain::Follow {
        agl_m: params.alt_rel_m,
        tolerance_m: args.terrain_tolerance_m,
    });
    let dem = match (&follow, &args.terrain_tiles) {
        (Some(_), None) => Some(terrain::load_dem(&args.dem)?),
        _ => None,
    };

    // Planning time: validation and generation, not file I/O or process start.
    let started = Instant::now();
    let area = Area::new(&areas, &no_fly, params.max_area_m2)?;
    let plans: Vec<Plan> = if args.drones == 1 {
        vec![aviary_planner::plan_survey(&area, &params)?]
    } else {
        aviary_planner::plan_split(&area, &params, args.drones)?
    };
    let mut compute_ms = started.elapsed().as_secs_f64() * 1000.0;
    // Tiles for the planned paths: disk and network time, not planning time.
    let dem = match (&follow, &args.terrain_tiles, dem) {
        (Some(_), Some(url), _) => Some(terrain::load_tiles(
            &plans,
            &terrain::TilesArgs {
                url,
                zoom: args.terrain_zoom,
                tile_dir: args.tile_dir.as_deref(),
            },
        )?),
        (_, _, dem) => dem,
    };
    let started = Instant::now();
    let terrain = match (&follow, &dem) {
        (Some(f), Some(dem)) => plans
            .iter()
            .map(|p| terrain::follow(p, dem.as_ref(), f))
            .collect::<anyhow::Result<Vec<_>>>()?,
        _ => Vec::new(),
    };
    compute_ms += started.elapsed().as_secs_f64() * 1000.0;

    let options = PlanFileOptions {
        firmware: args.autopilot.parse()?,
        fence: args.fence,
    };
    let mut files = Vec::new();
    let first = plans.first().context("the area produced no mission")?;
    // A lawnmower or crosshatch over one polygon as a QGroundControl survey the operator can
    // edit there (other patterns and formats: the items as they are).
    let doc_of = |d: usize, plan: &Plan| match terrain.get(d) {
        Some(t) => terrain::mission_doc(plan, t),
        None => MissionDoc::from_plan_editable(plan, &params),
    };
    formats::write_mission_file_with(&args.out, &doc_of(0, first), &options)?;
    files.push(args.out.clone());
    let dir = sortie_dir(&args.out);
    let mut sortie_files = 0_usize;
    for (d, plan) in plans.iter().enumerate() {
        let prefix = if plans.len() > 1 {
            format!("drone{}", d + 1)
        } else {
            String::new()
        };
        if plans.len() > 1 {
            let p = suffixed(&args.out, &prefix);
            formats::write_mission_file_with(&p, &doc_of(d, plan), &options)?;
            files.push(p);
        }
        if args.sorties && plan.sorties.len() > 1 {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for i in 0..plan.sorties.len() {
                // Each file holds its sortie's items only; the survey polygons only when a
                // fence is asked for.
                let doc = if args.fence {
                    MissionDoc::from_sortie(plan, i)
                } else {
                    MissionDoc::sortie_items_only(plan, i)
                }
                .context("sortie index")?;
                let name = if prefix.is_empty() {
                    format!("sortie{}", i + 1)
                } else {
                    format!("{prefix}_sortie{}", i + 1)
                };
                let p = suffixed_in(&dir, &args.out, &name);
                formats::write_mission_file_with(&p, &doc, &options)?;
                sortie_files += 1;
            }
        }
    }

    let several = plans.len() > 1;
    let crossings: Vec<String> = plans
        .iter()
        .enumerate()
        .flat_map(|(d, p)| {
            p.no_fly_crossings().into_iter().map(move |c| {
                if several {
                    format!("drone {}: {c}", d + 1)
                } else {
                    c.to_string()
                }
            })
        })
        .collect();
    let sum = |f: fn(&Plan) -> f64| plans.iter().map(f).sum::<f64>();
    let flyable = sum(|p| p.estimate.flyable_area_m2).max(f64::MIN_POSITIVE);
    let mut summary = serde_json::json!({
        "waypoints": plans.iter().map(|p| p.estimate.waypoints).sum::<usize>(),
        "distance_m": sum(|p| p.estimate.distance_m),
        "survey_distance_m": sum(|p| p.estimate.survey_distance_m),
        "duration_s": plans.iter().map(|p| p.estimate.duration_s).fold(0.0, f64::max),
        "photos": plans.iter().map(|p| p.estimate.photos).sum::<u64>(),
        "area_m2": area.area_m2(),
        "coverage_pct": sum(|p| p.estimate.coverage_pct * p.estimate.flyable_area_m2) / flyable,
        "sorties": plans.iter().map(|p| p.sorties.len()).sum::<usize>(),
        "compute_ms": compute_ms,
        "pattern": first.pattern.as_str(),
        "alt_rel_m": readable(first.derived.alt_rel_m),
        "line_spacing_m": readable(first.derived.line_spacing_m),
        "trigger_distance_m": first.derived.trigger_distance_m.map(readable),
        "gsd_cm_px": first.derived.gsd_cm_px.map(readable),
        "sweep_angle_deg": first.sweep_angle_deg,
        "within_half_spacing_pct": sum(|p| p.estimate.within_half_spacing_pct * p.estimate.flyable_area_m2) / flyable,
        "energy_wh": sum(|p| p.estimate.energy_wh),
        "drones": plans.iter().map(|p| serde_json::json!({
            "waypoints": p.estimate.waypoints,
            "distance_m": p.estimate.distance_m,
            "duration_s": p.estimate.duration_s,
            "photos": p.estimate.photos,
            "sorties": p.sorties.len(),
        })).collect::<Vec<_>>(),
        "files": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
        "sortie_files": sortie_files,
        "sortie_dir": (sortie_files > 0).then(|| dir.display().to_string()),
        "no_fly_crossings": crossings,
    });
    if !terrain.is_empty()
        && let (Some(obj), serde_json::Value::Object(extra)) =
            (summary.as_object_mut(), terrain::summary(&terrain))
    {
        obj.extend(extra);
        obj.insert(
            "waypoints".into(),
            terrain.iter().map(|t| t.items.len()).sum::<usize>().into(),
        );
        // The estimates of the paths as flown over the ground: climbs and descents cost
        // time and energy, on top of the plans' own estimates (with their sorties).
        let flown: Vec<(f64, f64, f64)> = plans
            .iter()
            .zip(&terrain)
            .map(|(p, t)| {
                let extra = aviary_planner::terrain_extra(
                    p.home,
                    &p.items,
                    &t.items,
                    p.speed_mps,
                    &params.airframe,
                );
                (
                    p.estimate.distance_m + extra.distance_m,
                    p.estimate.duration_s + extra.duration_s,
                    p.estimate.energy_wh + extra.energy_wh,
                )
            })
            .collect();
        obj.insert(
            "distance_m".into(),
            flown.iter().map(|e| e.0).sum::<f64>().into(),
        );
        obj.insert(
            "duration_s".into(),
            flown.iter().map(|e| e.1).fold(0.0, f64::max).into(),
        );
        obj.insert(
            "energy_wh".into(),
            flown.iter().map(|e| e.2).sum::<f64>().into(),
        );
    }
    for c in &crossings {
        eprintln!("warning: {c}");
    }
    if args.json {
        println!("{summary}");
    } else {
        let e = &first.estimate;
        println!(
            "{} over {:.2} km² ({} drone(s)): {} items, {:.1} km, {:.0} min, {} photos, coverage {:.1} %, {} sortie(s), planned in {:.1} ms",
            first.pattern.as_str(),
            area.area_m2() / 1e6,
            plans.len(),
            summary["waypoints"],
            summary["distance_m"].as_f64().unwrap_or(0.0) / 1000.0,
            summary["duration_s"].as_f64().unwrap_or(0.0) / 60.0,
            summary["photos"],
            e.coverage_pct,
            summary["sorties"],
            compute_ms
        );
        for t in &terrain {
            println!(
                "terrain ({}): {} points added, clearance at least {:.1} m, largest climb {:.1} m, altitudes AMSL ({})",
                t.terrain_source,
                t.inserted_waypoints,
                t.min_clearance_m,
                t.max_climb_m,
                t.datum.as_str()
            );
        }
        for f in &files {
            println!("wrote {}", f.display());
        }
        if sortie_files > 0 {
            println!("wrote {sortie_files} sortie files in {}", dir.display());
        } else if !args.sorties && summary["sorties"].as_u64().is_some_and(|n| n > 1) {
            println!("(--sorties writes one file per sortie)");
        }
    }
    Ok(())
}

/// `aviary plan --mission FILE`: a mission read from another tool's file, estimated again
/// (its speed when it names one, else --speed-mps) and written to `--out`.
fn run_mission(args: &PlanArgs, params: &SurveyParams, path: &Path) -> anyhow::Result<()> {
    let doc =
        formats::read_mission_file(path).with_context(|| format!("reading {}", path.display()))?;
    let speed_mps = if doc.speed_mps > 0.0 {
        doc.speed_mps
    } else {
        args.speed_mps
    };
    let doc = formats::MissionDoc { speed_mps, ..doc };
    let route = aviary_planner::estimate_route(doc.home, &doc.items, speed_mps, &params.airframe);
    let options = PlanFileOptions {
        firmware: args.autopilot.parse()?,
        fence: args.fence,
    };
    formats::write_mission_file_with(&args.out, &doc, &options)?;
    let items = aviary_core::mission_items::mission_items(doc.home, &doc.items, speed_mps).len();
    let summary = serde_json::json!({
        "mission": path.display().to_string(),
        "waypoints": doc.items.len(),
        "mission_items": items,
        "distance_m": route.distance_m,
        "duration_s": route.duration_s,
        "energy_wh": route.energy_wh,
        "battery_pct": route.battery_pct,
        "alt_rel_m": readable(route.alt_rel_m),
        "speed_mps": readable(speed_mps),
        "areas": doc.areas.len(),
        "files": [args.out.display().to_string()],
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "{}: {} waypoints, {:.1} km, {:.0} min, {:.0} % of a battery",
            path.display(),
            doc.items.len(),
            route.distance_m / 1000.0,
            route.duration_s / 60.0,
            route.battery_pct
        );
        println!("wrote {}", args.out.display());
    }
    Ok(())
}
