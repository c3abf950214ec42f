//! The planner's entry points: [`plan_survey`] for one drone and [`plan_split`] for a fleet.

use aviary_core::{LatLon, SurveyArea, Waypoint};
use geo::{BooleanOps, Centroid, Coord, LineString, MultiPolygon, Polygon};

use crate::area::Area;
use crate::error::{PlanError, Result};
use crate::estimate::{self, Estimate, Sortie, SortieSpec};
use crate::params::{Derived, Pattern, SurveyParams};
use crate::patterns::{self, Gen, SurveyPath};
use crate::sweep::{FreeSpace, Rings, Rot, Segment, Uv, transects};
use crate::transit::{Transits, refuse_transit_crossings, transit_via, via_latlon};

/// A planned survey: the mission, its estimates and its sorties.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Plan {
    /// Pattern flown.
    pub pattern: Pattern,
    /// Takeoff and return point.
    pub home: LatLon,
    /// Cruise speed, m/s.
    pub speed_mps: f64,
    /// Altitude, spacing, trigger distance and GSD used.
    pub derived: Derived,
    /// Transect bearing, degrees clockwise from north (straight-transect patterns).
    pub sweep_angle_deg: Option<f64>,
    /// The whole mission: takeoff, transit waypoints around the no-fly zones, survey
    /// waypoints, camera start/stop, transit waypoints back, return to launch.
    pub items: Vec<Waypoint>,
    /// The survey in [`Plan::items`]: from its first survey waypoint to its camera stop (the
    /// transits around the no-fly zones are before and after it).
    pub survey_items: std::ops::Range<usize>,
    /// Estimates for the whole mission (as if flown on one battery).
    pub estimate: Estimate,
    /// The mission cut into flights that each fit the item limit and one battery.
    pub sorties: Vec<Sortie>,
    /// Survey polygons (for geofences and exports).
    pub areas: Vec<SurveyArea>,
    /// No-fly zones (exclusion geofences).
    pub no_fly: Vec<SurveyArea>,
}

impl Plan {
    /// The survey waypoints only (camera on), without takeoff and return.
    pub fn survey_path(&self) -> impl Iterator<Item = LatLon> + '_ {
        self.items
            .get(self.survey_items.clone())
            .unwrap_or_default()
            .iter()
            .filter(|w| matches!(w.action, aviary_core::WaypointAction::FlyThrough))
            .map(|w| w.pos)
    }
}

fn gen_for(area: &Area, params: &SurveyParams, d: &Derived) -> Gen {
    let af = &params.airframe;
    Gen {
        spacing_m: d.line_spacing_m,
        turnaround_m: params.turnaround_m,
        turn_cost_m: params.speed_mps * 2.0 * params.speed_mps / af.accel_mps2,
        home: params.home.map(|h| area.frame().to_local(h)),
        grid_anchor_v: None,
    }
}

fn centroid(area: &Area) -> Coord {
    area.free_local()
        .centroid()
        .map_or(Coord { x: 0.0, y: 0.0 }, |p| p.0)
}

/// Plans a survey of `area` for one drone.
pub fn plan_survey(area: &Area, params: &SurveyParams) -> Result<Plan> {
    // On a worker of the planner's pool: its parts hand work between the workers.
    crate::par::run(|| plan_survey_here(area, params))
}

fn plan_survey_here(area: &Area, params: &SurveyParams) -> Result<Plan> {
    let d = params.derive()?;
    check_area(area, params, &d, 1)?;
    let g = gen_for(area, params, &d);
    let tr = Transits::new(area, g.home)?;
    let (bearing, path) = shortest_path(area, params, &d, &g, tr.as_ref());
    plan_with(area, params, &d, &g, tr.as_ref(), bearing, &path)
}

/// Transect pieces (as the angle search estimates them) that the bearing candidates generated
/// may have together (see [`shortest_path`]); the best estimate is always generated.
const CANDIDATE_BUDGET_PIECES: f64 = 1_720.0;

/// The bearing and path to fly: a given bearing, or among the angle search's near ties
/// ([`patterns::bearing_candidates_deg`]) the one whose generated path is shortest (the first
/// on equal lengths). Near ties are tried within a budget of transect pieces, known before
/// generating: small areas, where the way the pieces join weighs most, try them all; large
/// ones fly the best estimate. The candidates are generated side by side on the cores there are.
fn shortest_path(
    area: &Area,
    params: &SurveyParams,
    d: &Derived,
    g: &Gen,
    tr: Option<&Transits>,
) -> (f64, SurveyPath) {
    let candidates: Vec<f64> = match params.sweep_angle_deg {
        Some(b) => vec![b.rem_euclid(180.0)],
        None if matches!(params.pattern, Pattern::Lawnmower | Pattern::Crosshatch) => {
            let mut pieces = 0.0;
            patterns::bearing_candidates_deg(
                area.free_local(),
                g,
                params.pattern == Pattern::Crosshatch,
            )
            .into_iter()
            .take_while(|c| {
                // The first always; the others while all of them fit in the budget.
                let within = pieces == 0.0 || pieces + c.pieces <= CANDIDATE_BUDGET_PIECES;
                pieces += c.pieces;
                within
            })
            .map(|c| c.bearing_deg)
            .collect()
        }
        None => vec![0.0],
    };
    // Bearings are compared by survey length (a crosshatch's two orders by the whole mission,
    // see `shortest_mission`).
    let paths = crate::par::map(&candidates, |&b| generate(area, params, d, g, tr, b));
    let mut best: Option<(f64, f64, SurveyPath)> = None;
    for (b, path) in candidates.into_iter().zip(paths) {
        let len_m = path.length_m();
        if best.as_ref().is_none_or(|(l, ..)| len_m < l - 1e-6) {
            best = Some((len_m, b, path));
        }
    }
    let Some((len_m, b, path)) = best else {
        return (0.0, generate(area, params, d, g, tr, 0.0));
    };
    // The chosen lawnmower's transects flown from each corner (when there is no home and the
    // area is small): the same coverage, possibly a shorter path.
    if params.pattern == Pattern::Lawnmower
        && g.home.is_none()
        && path.points.len() <= 4 * patterns::FREE_START_PIECES
    {
        let free = patterns::lawnmower_from_best_corner(area, g, b);
        if free.length_m() < len_m - 1e-6 {
            return (b, free);
        }
    }
    (b, path)
}

fn bearing_for(area: &Area, params: &SurveyParams, g: &Gen) -> f64 {
    match params.sweep_angle_deg {
        Some(b) => b.rem_euclid(180.0),
        None if matches!(params.pattern, Pattern::Lawnmower | Pattern::Crosshatch) => {
            patterns::best_bearing_deg(area.free_local(), g, params.pattern == Pattern::Crosshatch)
        }
        None => 0.0,
    }
}

/// A path made elsewhere (an imported plan, another tool's tour) with every leg that leaves
/// the flyable region or crosses a hole or no-fly zone replaced by a route inside it, routed
/// as the planner routes its own connectors. Returns the path and the number of legs no route
/// was found for (left straight).
pub fn keep_inside(area: &Area, path: &[LatLon]) -> (Vec<LatLon>, usize) {
    let frame = area.frame();
    let rot = Rot::new(0.0);
    let bin_h_m = (area.area_m2().sqrt() / 200.0).max(1.0);
    let fs = FreeSpace::new(Rings::from_multipolygon(area.free_local(), rot), bin_h_m);
    let local: Vec<Uv> = path.iter().map(|p| rot.fwd(frame.to_local(*p))).collect();
    let mut out = Vec::with_capacity(path.len());
    let mut unrouted = 0;
    for (i, &p) in path.iter().enumerate() {
        if let Some(&a) = i.checked_sub(1).and_then(|j| local.get(j)) {
            let b = local[i];
            if !fs.clear(a, b) {
                match fs.route(a, fs.nearest_edge(a), b, fs.nearest_edge(b)) {
                    Some(via) => out.extend(via.into_iter().map(|x| frame.to_latlon(rot.inv(x)))),
                    None => unrouted += 1,
                }
            }
        }
        out.push(p);
    }
    (out, unrouted)
}

/// The mission items of a survey without estimates, coverage or sorties: what a map preview
/// redraws while the operator drags a vertex. Same items as [`plan_survey`]'s `items`.
pub fn plan_path(area: &Area, params: &SurveyParams) -> Result<Vec<Waypoint>> {
    crate::par::run(|| plan_path_here(area, params))
}

fn plan_path_here(area: &Area, params: &SurveyParams) -> Result<Vec<Waypoint>> {
    let d = params.derive()?;
    check_area(area, params, &d, 1)?;
    let g = gen_for(area, params, &d);
    let tr = Transits::new(area, g.home)?;
    let (_, path) = shortest_path(area, params, &d, &g, tr.as_ref());
    let frame = area.frame();
    let to_ll = |c: Coord| frame.to_latlon(c);
    let home_local = home_local(area, &g, &path);
    let home = params.home.unwrap_or_else(|| to_ll(home_local));
    let spec = sortie_spec(params, &d, home_local, tr.as_ref());
    let via = transit_via(&spec, home_local, &path.points, &to_ll)?;
    let survey_ll: Vec<LatLon> = path.points.iter().map(|c| to_ll(*c)).collect();
    Ok(estimate::mission_items(
        home,
        &survey_ll,
        &via_latlon(&via, &to_ll),
        d.alt_rel_m,
        d.trigger_distance_m,
    ))
}

fn generate(
    area: &Area,
    params: &SurveyParams,
    d: &Derived,
    g: &Gen,
    tr: Option<&Transits>,
    bearing: f64,
) -> SurveyPath {
    shortest_mission(
        area,
        params,
        d,
        g,
        tr,
        generate_variants(area, params, g, bearing),
    )
}

/// The paths a pattern offers at a bearing (a small crosshatch: two orders of its passes).
fn generate_variants(area: &Area, params: &SurveyParams, g: &Gen, bearing: f64) -> Vec<SurveyPath> {
    match params.pattern {
        Pattern::Lawnmower => vec![patterns::lawnmower(area, g, bearing)],
        Pattern::Crosshatch => patterns::crosshatch(area, g, bearing),
        Pattern::Perimeter => vec![patterns::loops(area, g, true, loop_spec(params), false)],
        Pattern::Spiral => vec![patterns::loops(
            area,
            g,
            false,
            loop_spec(params),
            params.spiral_inward,
        )],
        Pattern::ExpandingSquare => vec![patterns::expanding_square(
            area,
            g,
            g.home.unwrap_or_else(|| centroid(area)),
        )],
    }
}

/// The perimeter's loops: `perimeter_loops` of them, the first half a footprint inside the
/// boundary (its photos reach the edge), the next ones a spacing further in each; or, with
/// `perimeter_fill`, loops a spacing apart from half a spacing in until the area is covered
/// (the side overlap asked for everywhere, the edge strip included).
fn loop_spec(params: &SurveyParams) -> patterns::LoopSpec {
    let Ok(d) = params.derive() else {
        return patterns::LoopSpec {
            first_m: 0.0,
            max_depths: 1,
        };
    };
    if params.perimeter_fill {
        patterns::LoopSpec {
            first_m: d.line_spacing_m / 2.0,
            max_depths: usize::MAX,
        }
    } else {
        patterns::LoopSpec {
            first_m: d.footprint_side_m.max(d.line_spacing_m) / 2.0,
            max_depths: params.perimeter_loops.max(1),
        }
    }
}

/// Of several variants, the one whose whole mission (sorties with their flights from and
/// back to launch) is shortest, the first on equal distances.
fn shortest_mission(
    area: &Area,
    params: &SurveyParams,
    d: &Derived,
    g: &Gen,
    tr: Option<&Transits>,
    variants: Vec<SurveyPath>,
) -> SurveyPath {
    if variants.len() == 1 {
        return variants.into_iter().next().unwrap_or_default();
    }
    let mut best: Option<(f64, SurveyPath)> = None;
    for v in variants {
        let dist = mission_m(area, params, d, g, tr, &v);
        if best.as_ref().is_none_or(|(b, _)| dist < b - 1e-6) {
            best = Some((dist, v));
        }
    }
    best.map(|(_, p)| p).unwrap_or_default()
}

/// Where the sorties take off in the local frame: home, else the path's first point.
fn home_local(area: &Area, g: &Gen, path: &SurveyPath) -> Coord {
    g.home
        .or_else(|| path.points.first().copied())
        .unwrap_or_else(|| centroid(area))
}

/// What the sortie split and the estimates need of the survey.
fn sortie_spec<'a>(
    params: &'a SurveyParams,
    d: &Derived,
    home: Coord,
    transits: Option<&'a Transits>,
) -> SortieSpec<'a> {
    SortieSpec {
        home,
        alt_rel_m: d.alt_rel_m,
        speed_mps: params.speed_mps,
        trigger_distance_m: d.trigger_distance_m,
        max_items: params.max_mission_items,
        airframe: &params.airframe,
        transits,
    }
}

/// Distance of the whole mission flying `path` (see [`estimate::mission_distance_m`]);
/// infinite when its sorties cannot be worked out.
fn mission_m(
    area: &Area,
    params: &SurveyParams,
    d: &Derived,
    g: &Gen,
    tr: Option<&Transits>,
    path: &SurveyPath,
) -> f64 {
    let spec = sortie_spec(params, d, home_local(area, g, path), tr);
    estimate::mission_distance_m(&spec, &path.points).unwrap_or(f64::INFINITY)
}

/// What is refused before any path is made: an area too large, smaller than one footprint or
/// thinner than a line spacing, and a survey that needs more sorties than allowed (`drones`
/// share the survey).
fn check_area(area: &Area, params: &SurveyParams, d: &Derived, drones: usize) -> Result<()> {
    if area.area_m2() > params.max_area_m2 {
        return Err(PlanError::AreaTooLarge {
            area_km2: area.area_m2() / 1e6,
            max_km2: params.max_area_m2 / 1e6,
        });
    }
    let (diameter_m, width_m) = extents_m(area.free_local());
    if diameter_m <= d.footprint_side_m {
        return Err(PlanError::AreaSmallerThanFootprint {
            area_m2: area.area_m2(),
            footprint_m: d.footprint_side_m,
        });
    }
    if width_m < d.line_spacing_m {
        return Err(PlanError::AreaThinnerThanSpacing {
            width_m,
            spacing_m: d.line_spacing_m,
        });
    }
    let needed = sorties_at_least(area, params, d) / drones.max(1);
    if needed > params.max_sorties {
        return Err(PlanError::TooManySorties {
            needed,
            max: params.max_sorties,
        });
    }
    Ok(())
}

/// The largest distance across a region and its width (the smallest distance between two
/// parallel lines that hold it), metres: from the convex hull of its outer rings.
fn extents_m(region: &MultiPolygon) -> (f64, f64) {
    use geo::ConvexHull as _;
    let hull = region.convex_hull();
    let pts = &hull.exterior().0;
    let n = pts.len().saturating_sub(1);
    if n < 3 {
        return (0.0, 0.0);
    }
    let mut diameter = 0.0_f64;
    let mut width = f64::INFINITY;
    for i in 0..n {
        let (a, b) = (pts[i], pts[i + 1]);
        let (ex, ey) = (b.x - a.x, b.y - a.y);
        let len = ex.hypot(ey);
        let mut far = 0.0_f64;
        for q in &pts[..n] {
            diameter = diameter.max((q.x - a.x).hypot(q.y - a.y));
            if len > 0.0 {
                far = far.max(((q.x - a.x) * ey - (q.y - a.y) * ex).abs() / len);
            }
        }
        if len > 0.0 {
            width = width.min(far);
        }
    }
    (diameter, if width.is_finite() { width } else { 0.0 })
}

/// A lower bound on the sorties a survey needs, known before its path is made: the survey
/// path of a pattern that covers the area is at least about its area over the line spacing
/// (twice for a crosshatch), flown at cruise power; transits, climbs and turns come on top.
/// A perimeter that does not fill flies only its few loops and is not bounded here.
fn sorties_at_least(area: &Area, params: &SurveyParams, d: &Derived) -> usize {
    let passes = match params.pattern {
        Pattern::Perimeter if !params.perimeter_fill => return 0,
        Pattern::Crosshatch => 2.0,
        Pattern::Lawnmower | Pattern::Perimeter | Pattern::Spiral | Pattern::ExpandingSquare => 1.0,
    };
    let af = &params.airframe;
    // 10 % below the estimate: a lawnmower can fly a little less than area / spacing.
    let survey_m = 0.9 * passes * area.free_area_m2() / d.line_spacing_m;
    let wh = survey_m / params.speed_mps * af.cruise_power_w / 3600.0;
    let sorties = (wh / af.usable_wh()).floor();
    if sorties.is_finite() && sorties > 0.0 {
        sorties as usize
    } else {
        0
    }
}

fn plan_with(
    area: &Area,
    params: &SurveyParams,
    d: &Derived,
    g: &Gen,
    tr: Option<&Transits>,
    bearing: f64,
    path: &SurveyPath,
) -> Result<Plan> {
    let frame = area.frame();
    let home_local = home_local(area, g, path);
    let home = params.home.unwrap_or_else(|| frame.to_latlon(home_local));
    let to_ll = |c: Coord| frame.to_latlon(c);
    let spec = sortie_spec(params, d, home_local, tr);
    let via = transit_via(&spec, home_local, &path.points, &to_ll)?;
    // Independent parts on the cores there are: the coverage (which reads only the local path)
    // and the whole path's estimate, the sortie cuts (one sequential scan) and the survey
    // points in WGS84; the two longest, coverage and cuts, start first, one per core.
    let (((cov, half), whole), (pieces, survey_ll)) = crate::par::join(
        || {
            crate::par::join(
                || {
                    estimate::coverage(
                        area.free_local(),
                        path,
                        d.footprint_side_m,
                        d.line_spacing_m,
                    )
                },
                || estimate::estimate_for(&spec, home_local, &via, &path.points, 0),
            )
        },
        || {
            crate::par::join(
                || estimate::split_sorties(&spec, &path.points, &to_ll),
                || crate::par::map_chunks(&path.points, |c| to_ll(*c)),
            )
        },
    );
    let pieces = pieces?;
    let via_ll = via_latlon(&via, &to_ll);
    let items =
        estimate::mission_items(home, &survey_ll, &via_ll, d.alt_rel_m, d.trigger_distance_m);
    let survey_items = estimate::survey_item_range(items.len(), &via_ll);
    let mut estimate = Estimate {
        waypoints: items.len(),
        ..whole
    };
    // Sorties reuse the survey points projected above; only cuts inside legs are new.
    let numbered: Vec<(usize, &estimate::Piece)> = pieces.iter().enumerate().collect();
    let sorties = crate::par::map(&numbered, |&(i, piece)| -> Result<Sortie> {
        let ll: Vec<LatLon> = piece
            .pts
            .iter()
            .zip(&piece.orig)
            .map(|(c, o)| {
                o.and_then(|k| survey_ll.get(k).copied())
                    .unwrap_or_else(|| to_ll(*c))
            })
            .collect();
        let launch = if piece.launch == home_local {
            home
        } else {
            to_ll(piece.launch)
        };
        let via = transit_via(&spec, piece.launch, &piece.pts, &to_ll)?;
        let via_ll = via_latlon(&via, &to_ll);
        let items =
            estimate::mission_items(launch, &ll, &via_ll, d.alt_rel_m, d.trigger_distance_m);
        let survey = estimate::survey_item_range(items.len(), &via_ll);
        refuse_transit_crossings(launch, &items, survey, area.no_fly())?;
        let e = estimate::estimate_for(&spec, piece.launch, &via, &piece.pts, items.len());
        Ok(Sortie {
            number: i + 1,
            launch_at: launch,
            resume_at: ll.first().copied().unwrap_or(home),
            stop_at: ll.last().copied().unwrap_or(home),
            items,
            estimate: e,
        })
    })
    .into_iter()
    .collect::<Result<Vec<Sortie>>>()?;
    if sorties.len() > params.max_sorties {
        return Err(PlanError::TooManySorties {
            needed: sorties.len(),
            max: params.max_sorties,
        });
    }
    if sorties.len() > 1 {
        estimate.distance_m = sorties.iter().map(|s| s.estimate.distance_m).sum();
        estimate.duration_s = sorties.iter().map(|s| s.estimate.duration_s).sum();
        estimate.energy_wh = sorties.iter().map(|s| s.estimate.energy_wh).sum();
        estimate.battery_pct = estimate.energy_wh / params.airframe.battery_wh * 100.0;
    }
    estimate.area_m2 = area.area_m2();
    estimate.flyable_area_m2 = area.free_area_m2();
    estimate.coverage_pct = cov * 100.0;
    estimate.covered_area_m2 = cov * area.free_area_m2();
    estimate.within_half_spacing_pct = half * 100.0;
    estimate.unrouted_connectors = path.unrouted;
    let straight = matches!(params.pattern, Pattern::Lawnmower | Pattern::Crosshatch);
    let plan = Plan {
        pattern: params.pattern,
        home,
        speed_mps: params.speed_mps,
        derived: *d,
        sweep_angle_deg: straight.then_some(bearing),
        items,
        survey_items,
        estimate,
        sorties,
        areas: area.areas().to_vec(),
        no_fly: area.no_fly().to_vec(),
    };
    refuse_transit_crossings(
        plan.home,
        &plan.items,
        plan.survey_items.clone(),
        area.no_fly(),
    )?;
    Ok(plan)
}

/// Splits one survey among `drones` drones into balanced, non-overlapping parts and plans
/// each. Parts are bands across the transects with equal flyable area, cut midway between
/// transects so every transect of the single-drone plan is flown by exactly one drone. Fewer
/// plans come back when the area has fewer transects than drones.
pub fn plan_split(area: &Area, params: &SurveyParams, drones: usize) -> Result<Vec<Plan>> {
    crate::par::run(|| plan_split_here(area, params, drones))
}

fn plan_split_here(area: &Area, params: &SurveyParams, drones: usize) -> Result<Vec<Plan>> {
    if drones == 0 || drones > 1000 {
        return Err(PlanError::InvalidParam {
            name: "drones",
            value: drones as f64,
            expected: "must be between 1 and 1000",
        });
    }
    let d = params.derive()?;
    check_area(area, params, &d, drones)?;
    let g = gen_for(area, params, &d);
    let tr = Transits::new(area, g.home)?;
    let tr = tr.as_ref();
    let bearing = bearing_for(area, params, &g);
    if drones == 1 {
        let path = generate(area, params, &d, &g, tr, bearing);
        return plan_with(area, params, &d, &g, tr, bearing, &path).map(|p| vec![p]);
    }
    let rot = Rot::new(bearing);
    let rings = Rings::from_multipolygon(area.free_local(), rot);
    let (v_min, v_max) = rings.v_range();
    let (u_min, u_max) = rings.u_range();
    let s = d.line_spacing_m;
    // Area profile across the transects, sampled finely, to place equal-area cuts.
    let dv = (s / 8.0).max((v_max - v_min) / 50_000.0);
    let mut rows: Vec<Segment> = Vec::new();
    let nrows = transects(&rings, dv, v_min, &mut rows);
    let mut per_row = vec![0.0; nrows];
    for r in &rows {
        per_row[r.line as usize] += r.u1 - r.u0;
    }
    let total: f64 = per_row.iter().sum();
    let mut cuts = vec![v_min - 1.0];
    let mut acc = 0.0;
    let mut k = 1;
    for (i, w) in per_row.iter().enumerate() {
        acc += w;
        while k < drones && acc >= total * k as f64 / drones as f64 {
            let v = v_min + (i as f64 + 1.0) * dv;
            let snapped = v_min + ((v - v_min) / s).round() * s;
            if snapped > cuts[cuts.len() - 1] + s / 2.0 && snapped < v_max {
                cuts.push(snapped);
            }
            k += 1;
        }
    }
    cuts.push(v_max + 1.0);
    let mut plans = Vec::with_capacity(drones);
    let pad = 10.0;
    for w in cuts.windows(2) {
        let corners = [
            (u_min - pad, w[0]),
            (u_max + pad, w[0]),
            (u_max + pad, w[1]),
            (u_min - pad, w[1]),
        ];
        let band = Polygon::new(
            LineString::from(
                corners
                    .iter()
                    .map(|&(u, v)| rot.inv(crate::sweep::Uv { u, v }))
                    .collect::<Vec<Coord>>(),
            ),
            vec![],
        );
        let part: MultiPolygon = area.free_local().intersection(&MultiPolygon(vec![band]));
        if geo::Area::unsigned_area(&part) < 1.0 {
            continue;
        }
        let sub = area.restricted(part);
        let gp = Gen {
            grid_anchor_v: Some(v_min),
            ..g
        };
        let path = generate(&sub, params, &d, &gp, tr, bearing);
        plans.push(plan_with(&sub, params, &d, &gp, tr, bearing, &path)?);
    }
    Ok(plans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(w: f64, h: f64) -> Area {
        crate::area::from_ring(vec![
            LatLon::new(37.0, -122.0),
            LatLon::new(37.0, -122.0 + w),
            LatLon::new(37.0 + h, -122.0 + w),
            LatLon::new(37.0 + h, -122.0),
        ])
    }

    /// A U open to the north (about 300 × 200 m, a 100 × 150 m notch).
    fn u_area() -> Area {
        let (dx, dy) = (0.000_011_35, 0.000_009);
        let p = |x: f64, y: f64| LatLon::new(37.0 + y * dy, -122.0 + x * dx);
        crate::area::from_ring(vec![
            p(0.0, 0.0),
            p(300.0, 0.0),
            p(300.0, 200.0),
            p(200.0, 200.0),
            p(200.0, 50.0),
            p(100.0, 50.0),
            p(100.0, 200.0),
            p(0.0, 200.0),
        ])
    }

    #[test]
    fn keep_inside_routes_a_leg_across_the_notch_around_it() {
        let a = u_area();
        let (dx, dy) = (0.000_011_35, 0.000_009);
        let p = |x: f64, y: f64| LatLon::new(37.0 + y * dy, -122.0 + x * dx);
        // Inside legs stay as they are.
        let inside = vec![p(20.0, 20.0), p(280.0, 20.0), p(280.0, 180.0)];
        assert_eq!(keep_inside(&a, &inside), (inside.clone(), 0));
        // From the left arm to the right arm across the notch: around its bottom instead.
        let across = vec![p(50.0, 150.0), p(250.0, 150.0)];
        let (routed, unrouted) = keep_inside(&a, &across);
        assert_eq!(unrouted, 0);
        assert!(routed.len() > 2, "{routed:?}");
        assert_eq!(routed.first(), across.first());
        assert_eq!(routed.last(), across.last());
        let frame = a.frame();
        for w in routed.windows(2) {
            let (q0, q1) = (frame.to_local(w[0]), frame.to_local(w[1]));
            // No point of a leg lies in the notch (100 < x < 200 above y = 50, local metres
            // from the first vertex).
            let o = frame.to_local(p(0.0, 0.0));
            for t in [0.25, 0.5, 0.75] {
                let x = q0.x + t * (q1.x - q0.x) - o.x;
                let y = q0.y + t * (q1.y - q0.y) - o.y;
                assert!(
                    !(x > 100.5 && x < 199.5 && y > 50.5),
                    "leg enters the notch at {x}, {y}"
                );
            }
        }
    }

    #[test]
    fn keep_inside_takes_points_outside_the_area_and_nonsense_without_panicking() {
        let a = u_area();
        let far = vec![
            LatLon::new(36.0, -121.0),
            LatLon::new(37.000_5, -121.999),
            LatLon::new(f64::NAN, -122.0),
            LatLon::new(37.0, f64::INFINITY),
            LatLon::new(38.0, -123.0),
        ];
        let (out, _) = keep_inside(&a, &far);
        // Every given point is kept, in order, whatever is routed between them.
        let same = |p: &LatLon, q: &LatLon| {
            p.lat_deg.to_bits() == q.lat_deg.to_bits() && p.lon_deg.to_bits() == q.lon_deg.to_bits()
        };
        let mut at = 0;
        for p in &out {
            if at < far.len() && same(p, &far[at]) {
                at += 1;
            }
        }
        assert_eq!(at, far.len(), "{out:?}");
        assert_eq!(keep_inside(&a, &[]), (vec![], 0));
    }

    #[test]
    fn lawnmower_on_a_rectangle_covers_it() {
        let a = rect(0.004, 0.003);
        let p = plan_survey(&a, &SurveyParams::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.estimate.coverage_pct > 99.9, "{:?}", p.estimate);
        assert!(
            p.estimate.within_half_spacing_pct > 98.0,
            "{:?}",
            p.estimate
        );
        // Along the sides, every point is within half a spacing of a transect.
        let along = SurveyParams {
            sweep_angle_deg: Some(90.0),
            ..SurveyParams::default()
        };
        let q = plan_survey(&a, &along).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            q.estimate.within_half_spacing_pct > 99.9,
            "{:?}",
            q.estimate
        );
        assert_eq!(p.sorties.len(), 1);
        assert_eq!(p.items.len(), p.estimate.waypoints);
        assert!(p.estimate.photos > 100);
    }

    #[test]
    fn split_among_drones_is_balanced_and_disjoint() {
        let a = rect(0.01, 0.01);
        let plans = plan_split(&a, &SurveyParams::default(), 3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plans.len(), 3);
        let lens: Vec<f64> = plans.iter().map(|p| p.estimate.survey_distance_m).collect();
        let (lo, hi) = lens
            .iter()
            .fold((f64::INFINITY, 0.0_f64), |(l, h), x| (l.min(*x), h.max(*x)));
        assert!(hi / lo < 1.25, "{lens:?}");
        let whole = plan_survey(&a, &SurveyParams::default()).unwrap_or_else(|e| panic!("{e}"));
        let flyable: f64 = plans.iter().map(|p| p.estimate.flyable_area_m2).sum();
        assert!((flyable - whole.estimate.flyable_area_m2).abs() / flyable < 1e-6);
    }

    #[test]
    fn small_battery_gives_several_sorties() {
        let a = rect(0.015, 0.015);
        let mut params = SurveyParams::default();
        params.airframe.battery_wh = 60.0;
        let p = plan_survey(&a, &params).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.sorties.len() > 1);
        for w in p.sorties.windows(2) {
            assert_eq!(
                w[0].stop_at, w[1].resume_at,
                "each sortie resumes where the last stopped"
            );
        }
        for s in &p.sorties {
            assert!(s.estimate.energy_wh <= params.airframe.usable_wh() + 1e-6);
        }
        let small = SurveyParams {
            max_mission_items: 20,
            ..SurveyParams::default()
        };
        let p = plan_survey(&rect(0.01, 0.01), &small).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.sorties.iter().all(|s| s.items.len() <= 20));
        assert!(p.sorties.len() > 2);
    }
}
