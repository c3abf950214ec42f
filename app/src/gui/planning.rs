//! The app's use of `aviary-planner`: from the editor's polygon and parameters to a
//! [`PlanPreview`] (waypoints, estimates, warnings), and plan files. Runs on job threads.

use super::state::{AltitudeMode, Following, PlanPreview, PlanTerrain, plain_primes};
use aviary_core::{FlightPattern, LatLon, MissionParams, SurveyArea, Waypoint};
use aviary_planner::formats::{MissionDoc, OutputFormat};
use aviary_planner::terrain::{PathProfile, TerrainParams, follow_terrain, path_profile};
use aviary_planner::{ARDUCOPTER_MAX_ITEMS, Area, SurveyParams, plan_survey};
use std::path::Path;

/// Plans `area`, keeping out of `no_fly`, with `pattern` and `params` from `home` (the
/// area's first vertex when `None`).
pub fn plan_preview(
    area: &SurveyArea,
    no_fly: &[SurveyArea],
    pattern: FlightPattern,
    params: &MissionParams,
    home: Option<LatLon>,
) -> Result<PlanPreview, String> {
    let survey =
        SurveyParams::from_mission(pattern.into(), params, home).map_err(|e| e.to_string())?;
    let checked = Area::new(std::slice::from_ref(area), no_fly, survey.max_area_m2)
        .map_err(|e| e.to_string())?;
    let plan = plan_survey(&checked, &survey).map_err(|e| match e {
        // Stopped before the path is generated: the operator changes the plan, not the file.
        aviary_planner::PlanError::TooManySorties { .. } => {
            format!("Warning: not planned further: {e}")
        }
        e => e.to_string(),
    })?;
    let est = plan.estimate;
    let mut warnings = Vec::new();
    if est.waypoints > ARDUCOPTER_MAX_ITEMS {
        warnings.push(format!(
            "{} mission items exceed the ArduCopter limit of {ARDUCOPTER_MAX_ITEMS}: flown as {} sorties",
            est.waypoints,
            plan.sorties.len()
        ));
    }
    let usable_pct = 100.0 - survey.airframe.reserve_pct;
    if est.battery_pct > usable_pct {
        warnings.push(format!(
            "needs {:.0} % of a battery (usable {usable_pct:.0} %): {} sorties",
            est.battery_pct,
            plan.sorties.len()
        ));
    }
    if est.unrouted_connectors > 0 {
        warnings.push(format!(
            "{} connectors leave the area (flown straight)",
            est.unrouted_connectors
        ));
    }
    warnings.extend(plan.no_fly_crossings().iter().map(ToString::to_string));
    if est.coverage_pct < 95.0 && est.flyable_area_m2 > 0.0 {
        warnings.push(format!(
            "camera covers only {:.0} % of the area",
            est.coverage_pct
        ));
    }
    Ok(PlanPreview {
        item_count: plan.items.len(),
        waypoints: plan.items,
        distance_m: est.distance_m,
        duration_s: est.duration_s,
        photos: est.photos,
        sorties: plan.sorties.len(),
        battery_pct: est.battery_pct,
        area_m2: est.area_m2,
        alt_rel_m: plan.derived.alt_rel_m,
        line_spacing_m: plan.derived.line_spacing_m,
        gsd_cm_px: plan.derived.gsd_cm_px,
        warnings,
        home: plan.home,
        speed_mps: plan.speed_mps,
        terrain: None,
    })
}

/// Points of the terrain profile kept for drawing.
const PROFILE_POINTS: usize = 1_500;

/// The preview over the plan's DEM: with [`AltitudeMode::AboveTerrain`] its mission follows
/// the terrain at the plan's altitude above the ground (the same planning as
/// `aviary plan --terrain-follow`); either way, with a DEM, the path's terrain profile.
/// Above the terrain without a DEM, or over a DEM that misses the path, is an error; above
/// home, a DEM that misses the path only leaves the profile out, with a warning.
pub fn over_terrain(
    mut preview: PlanPreview,
    dem: Option<&aviary_links::mav::TerrainSource>,
    (mode, tolerance_m): (AltitudeMode, f64),
    params: &MissionParams,
) -> Result<PlanPreview, String> {
    let Some(dem) = dem else {
        return match mode {
            // (above sea level is planned by `at_sea_level`, which needs a DEM itself)
            AltitudeMode::AboveHome | AltitudeMode::AboveSeaLevel => Ok(preview),
            AltitudeMode::AboveTerrain => Err(
                "Above terrain needs a DEM: import one under Terrain (SRTM .hgt or GeoTIFF)"
                    .to_owned(),
            ),
        };
    };
    let dem = &*dem.0;
    let mut ground_amsl_m = Vec::new();
    let following = match mode {
        AltitudeMode::AboveHome | AltitudeMode::AboveSeaLevel => None,
        AltitudeMode::AboveTerrain => {
            let terrain = TerrainParams {
                tolerance_m,
                ..TerrainParams::new(
                    params.altitude_m,
                    preview.speed_mps,
                    &aviary_planner::Airframe::default(),
                )
            };
            let t = follow_terrain(&preview.waypoints, preview.home, dem, &terrain)
                .map_err(|e| plain_primes(&format!("terrain following: {e}")))?;
            // The estimates of the path as it will be flown: its climbs and descents over
            // the ground cost time and energy (added to the plan's own estimate, which
            // also counts the sorties' transits).
            let extra = aviary_planner::terrain_extra(
                preview.home,
                &preview.waypoints,
                &t.items,
                preview.speed_mps,
                &aviary_planner::Airframe::default(),
            );
            let flat_battery_pct = preview.battery_pct;
            preview.distance_m += extra.distance_m;
            preview.duration_s += extra.duration_s;
            preview.battery_pct += extra.battery_pct;
            for w in &mut preview.warnings {
                if w.starts_with("needs ") && w.contains("of a battery") {
                    *w = w.replacen(
                        &format!("needs {flat_battery_pct:.0} %"),
                        &format!("needs {:.0} %", preview.battery_pct),
                        1,
                    );
                }
            }
            preview.item_count = t.items.len();
            preview.waypoints = t.items;
            ground_amsl_m = t.ground_amsl_m;
            Some(Following {
                agl_m: t.agl_m,
                tolerance_m: t.tolerance_m,
                inserted_waypoints: t.inserted_waypoints,
                max_climb_m: t.max_climb_m,
            })
        }
    };
    match path_profile(&preview.waypoints, preview.home, dem, PROFILE_POINTS) {
        Ok(profile) => {
            if profile.min_clearance_m < 0.0 {
                preview.warnings.push(format!(
                    "the path goes {:.0} m below the ground of {} ({:.2} km along the path)",
                    -profile.min_clearance_m,
                    plain_primes(&profile.terrain_source),
                    profile.min_clearance_at_m / 1000.0
                ));
            }
            let source = plain_primes(&profile.terrain_source);
            let planned = following.map(|f| aviary_core::PlannedTerrain {
                agl_m: f.agl_m,
                tolerance_m: f.tolerance_m,
                min_clearance_m: profile.min_clearance_m,
                home_amsl_m: profile.home_amsl_m,
                ground_amsl_m,
                source: source.clone(),
                sea_level: false,
            });
            preview.terrain = Some(Box::new(PlanTerrain {
                profile: PathProfile {
                    terrain_source: source,
                    ..profile
                },
                following,
                planned,
            }));
        }
        Err(e) if following.is_some() => {
            return Err(plain_primes(&format!("terrain profile: {e}")));
        }
        Err(e) => preview
            .warnings
            .push(plain_primes(&format!("no terrain profile: {e}"))),
    }
    Ok(preview)
}

/// What the Plan view plans.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The survey polygon.
    pub area: &'a SurveyArea,
    /// No-fly zones.
    pub no_fly: &'a [SurveyArea],
    /// The pattern.
    pub pattern: FlightPattern,
    /// Its parameters; `altitude_m` is the altitude above mean sea level.
    pub params: &'a MissionParams,
    /// Takeoff point (`None`: the area's first vertex).
    pub home: Option<LatLon>,
}

/// The preview of a mission flown at one altitude above mean sea level
/// ([`AltitudeMode::AboveSeaLevel`], `input.params.altitude_m`): planned with the camera's
/// spacing for its height above the DEM's ground at the area's centre, every waypoint at
/// that sea-level altitude (above home: it less the ground at home), and the path's terrain
/// profile. Needs a DEM under the area and home.
pub fn at_sea_level(
    input: &PlanInput<'_>,
    dem: Option<&aviary_links::mav::TerrainSource>,
) -> Result<PlanPreview, String> {
    let dem = dem.ok_or(
        "Above sea level needs terrain: import a DEM or use elevation tiles under Terrain",
    )?;
    let amsl_m = input.params.altitude_m;
    let ring = &input.area.exterior;
    let n = ring.len().max(1) as f64;
    let centre = LatLon::new(
        ring.iter().map(|p| p.lat_deg).sum::<f64>() / n,
        ring.iter().map(|p| p.lon_deg).sum::<f64>() / n,
    );
    let no_data = |e: aviary_planner::terrain::NoData| plain_primes(&format!("terrain: {e}"));
    let centre_ground_m = dem.0.elevation_m(centre).map_err(no_data)?;
    let camera_m = amsl_m - centre_ground_m;
    if camera_m < 5.0 {
        return Err(format!(
            "{amsl_m:.0} m above sea level is {camera_m:.0} m above the ground at the area's \
             centre ({centre_ground_m:.0} m): fly higher"
        ));
    }
    let params = MissionParams {
        altitude_m: camera_m,
        ..input.params.clone()
    };
    let mut preview = plan_preview(input.area, input.no_fly, input.pattern, &params, input.home)?;
    let home_amsl_m = dem.0.elevation_m(preview.home).map_err(no_data)?;
    let alt_rel_m = amsl_m - home_amsl_m;
    let mut ground_amsl_m = Vec::with_capacity(preview.waypoints.len());
    for w in &mut preview.waypoints {
        let flown = matches!(
            w.action,
            aviary_core::WaypointAction::FlyThrough | aviary_core::WaypointAction::Takeoff
        );
        // Every item but a landing at the one altitude (the return flies home at it).
        if w.action != aviary_core::WaypointAction::Land {
            w.alt_rel_m = alt_rel_m;
        }
        ground_amsl_m.push(if flown || w.action == aviary_core::WaypointAction::Land {
            Some(dem.0.elevation_m(w.pos).map_err(no_data)?)
        } else {
            None
        });
    }
    preview.alt_rel_m = alt_rel_m;
    let mut preview = over_terrain(
        preview,
        Some(dem),
        (AltitudeMode::AboveHome, 0.0),
        input.params,
    )?;
    if let Some(t) = preview.terrain.as_mut() {
        t.planned = Some(aviary_core::PlannedTerrain {
            agl_m: camera_m,
            tolerance_m: 0.0,
            min_clearance_m: t.profile.min_clearance_m,
            home_amsl_m,
            ground_amsl_m,
            source: t.profile.terrain_source.clone(),
            sea_level: true,
        });
    }
    Ok(preview)
}

/// Reads the first polygon of an area file (GeoJSON, KML, KMZ, SHP).
pub fn read_area(path: &Path) -> Result<SurveyArea, String> {
    let areas = aviary_planner::formats::read_area_file(path).map_err(|e| e.to_string())?;
    areas
        .into_iter()
        .next()
        .ok_or_else(|| format!("{} holds no polygon", path.display()))
}

/// Every polygon of an area file (GeoJSON, KML, KMZ, SHP), e.g. a set of no-fly zones.
pub fn read_areas(path: &Path) -> Result<Vec<SurveyArea>, String> {
    let areas = aviary_planner::formats::read_area_file(path).map_err(|e| e.to_string())?;
    if areas.is_empty() {
        return Err(format!("{} holds no polygon", path.display()));
    }
    Ok(areas)
}

/// A planned mission as the Plan view exports it.
#[derive(Debug, Clone, Copy)]
pub struct PlanFile<'a> {
    /// The survey polygon.
    pub area: &'a SurveyArea,
    /// No-fly zones.
    pub no_fly: &'a [SurveyArea],
    /// The mission's items, altitudes above home.
    pub waypoints: &'a [Waypoint],
    /// Takeoff point.
    pub home: LatLon,
    /// Cruise speed, m/s.
    pub speed_mps: f64,
    /// Ground at home above mean sea level for a plan over the terrain: the file then holds
    /// absolute (AMSL) altitudes; `None`: altitudes above home.
    pub home_amsl_m: Option<f64>,
}

/// Writes a planned mission in the format given by `path`'s extension (no-fly zones go to
/// the `.plan` geofence and the KML/GeoJSON layers), in absolute altitudes for a plan over
/// the terrain.
pub fn write_plan(path: &Path, plan: &PlanFile<'_>) -> Result<(), String> {
    let doc = MissionDoc {
        home: plan.home,
        items: plan.waypoints.to_vec(),
        areas: vec![plan.area.clone()],
        no_fly: plan.no_fly.to_vec(),
        speed_mps: plan.speed_mps,
        surveys: Vec::new(),
        rally_points: Vec::new(),
        alt_frame: plan.home_amsl_m.map_or(
            aviary_planner::formats::AltitudeFrame::AboveHome,
            |home_amsl_m| aviary_planner::formats::AltitudeFrame::Amsl { home_amsl_m },
        ),
    };
    OutputFormat::from_path(path).map_err(|e| e.to_string())?;
    aviary_planner::formats::write_mission_file(path, &doc).map_err(|e| e.to_string())
}

/// A mission another tool wrote (QGroundControl `.plan`, `QGC WPL 110`), as the Plan view
/// takes it: the survey polygon to plan again, its settings, the no-fly zones of its fence.
#[derive(Debug, Clone, PartialEq)]
pub struct MissionImport {
    /// The file's name.
    pub name: String,
    /// The survey polygon.
    pub polygon: Vec<LatLon>,
    /// Altitude of the survey, metres above takeoff.
    pub alt_rel_m: f64,
    /// Transect bearing, degrees clockwise from north.
    pub angle_deg: f64,
    /// A second pass at +90° (crosshatch).
    pub crosshatch: bool,
    /// Side and front overlap, percent, when the survey names its camera.
    pub overlaps_pct: Option<(f64, f64)>,
    /// Cruise speed, m/s (0: not given).
    pub speed_mps: f64,
    /// Exclusion polygons of the fence.
    pub no_fly: Vec<Vec<LatLon>>,
    /// Mission items read.
    pub items: usize,
    /// Rally points read.
    pub rally_points: usize,
}

/// Reads a mission file (`.plan`, `.waypoints`, `.wpl`, `.txt`, `.mission`) for the Plan view.
/// The view plans from a survey polygon, so a file without a survey item is refused with what
/// it holds.
pub fn read_mission(path: &Path) -> Result<MissionImport, String> {
    let doc = aviary_planner::formats::read_mission_file(path).map_err(|e| e.to_string())?;
    let name = path.file_stem().map_or_else(
        || "Imported mission".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let Some(s) = doc.surveys.first() else {
        return Err(format!(
            "{}: {} mission items but no survey pattern with a polygon (the Plan view plans \
             from a survey area; import the area itself, or a .plan with a survey item)",
            path.display(),
            doc.items.len()
        ));
    };
    Ok(MissionImport {
        name,
        polygon: s.polygon.clone(),
        alt_rel_m: s.alt_rel_m,
        angle_deg: s.angle_deg,
        crosshatch: s.refly_90_deg,
        overlaps_pct: s.camera.map(|c| (c.side_overlap_pct, c.front_overlap_pct)),
        speed_mps: doc.speed_mps,
        no_fly: doc.no_fly.iter().map(|z| z.exterior.clone()).collect(),
        items: doc.items.len(),
        rally_points: doc.rally_points.len(),
    })
}

/// Whether `path` names a mission file (read by [`read_mission`]) rather than an area file.
pub fn is_mission_file(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    ["plan", "waypoints", "wpl", "txt", "mission"].contains(&ext.as_str())
}
