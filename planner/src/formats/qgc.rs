//! QGroundControl `.plan` files (JSON): mission items with MAVLink command numbers, home as
//! rally point and, when asked ([`PlanFileOptions::fence`]), a geofence that the whole flight
//! stays in. The items are [`mission_items`](aviary_core::mission_items::mission_items) after
//! home (which is `plannedHomePosition`), numbered as the vehicle numbers them (`doJumpId` =
//! sequence number).

use aviary_core::mission_items::{PlanItem, cmd, frame};
use aviary_core::{LatLon, SurveyArea, Waypoint, WaypointAction};
use geo::{
    BooleanOps as _, ConvexHull as _, Coord, Intersects as _, Line, LineString, MultiLineString,
    MultiPoint, Point, Polygon,
};
use serde_json::{Value, json};

use super::qgc_survey::{QgcSurvey, read_survey, survey_json};
use super::{AltitudeFrame, MissionDoc};
use crate::error::{PlanError, Result};

/// `MAV_FRAME_GLOBAL_RELATIVE_ALT`.
pub const MAV_FRAME_GLOBAL_RELATIVE_ALT: u8 = frame::GLOBAL_RELATIVE_ALT;

/// Rebuilds a waypoint from a MAVLink item; commands without a position take `prev`'s.
pub(crate) fn from_mavlink(
    command: u64,
    params: [f64; 7],
    prev: LatLon,
    home: LatLon,
    prev_alt_m: f64,
    context: &str,
) -> Result<Waypoint> {
    let here = LatLon::checked(params[4], params[5])
        .map_err(|e| PlanError::format("mission", format!("{context}: {e}")));
    let wp = |pos, alt_rel_m, action| {
        Ok(Waypoint {
            pos,
            alt_rel_m,
            action,
        })
    };
    match command {
        16 => wp(here?, params[6], WaypointAction::FlyThrough),
        22 => wp(here?, params[6], WaypointAction::Takeoff),
        21 => wp(here?, params[6], WaypointAction::Land),
        20 => wp(home, prev_alt_m, WaypointAction::ReturnToLaunch),
        206 if params[0] > 0.0 => wp(
            prev,
            prev_alt_m,
            WaypointAction::CameraTriggerStart {
                distance_m: params[0],
            },
        ),
        206 => wp(prev, prev_alt_m, WaypointAction::CameraTriggerStop),
        c => Err(PlanError::format(
            "mission",
            format!("{context}: MAVLink command {c} is not supported"),
        )),
    }
}

fn num(v: f64) -> Value {
    if v.is_finite() { json!(v) } else { Value::Null }
}

/// A wire (`f32`) parameter as people read it: the shortest decimal that reads back as the same
/// `f32` (a trigger distance of 6, not 5.999999999999998 or 6.000000238418579).
fn num32(v: f32) -> Value {
    if v.is_finite() {
        format!("{v}")
            .parse::<f64>()
            .map_or(Value::Null, |x| json!(x))
    } else {
        Value::Null
    }
}

/// The autopilot a `.plan` is written for (QGroundControl's `firmwareType`, a `MAV_AUTOPILOT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Firmware {
    /// ArduPilot (`MAV_AUTOPILOT_ARDUPILOTMEGA`, 3).
    #[default]
    ArduPilot,
    /// PX4 (`MAV_AUTOPILOT_PX4`, 12).
    Px4,
}

impl Firmware {
    /// QGroundControl's `firmwareType`: the `MAV_AUTOPILOT` number.
    pub const fn firmware_type(self) -> u8 {
        match self {
            Self::ArduPilot => 3,
            Self::Px4 => 12,
        }
    }
}

impl std::str::FromStr for Firmware {
    type Err = PlanError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ardupilot" | "arducopter" | "apm" => Ok(Self::ArduPilot),
            "px4" => Ok(Self::Px4),
            _ => Err(PlanError::UnknownAutopilot(s.to_owned())),
        }
    }
}

/// What a `.plan` holds besides the mission items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanFileOptions {
    /// The autopilot the file is for.
    pub firmware: Firmware,
    /// Write a geofence: an inclusion polygon around the survey areas, home and every item
    /// (so the vehicle can arm at home and fly every transit with the fence enabled), and the
    /// no-fly zones (and the holes no leg crosses) as exclusions. Off by default: a fence that
    /// is only the survey area leaves home outside it, and ArduPilot then refuses to arm.
    pub fence: bool,
}

/// Metres per degree of latitude (a leg's length inside a hole, in degrees, is at most this
/// many metres per degree).
const METRES_PER_DEGREE: f64 = 111_320.0;

/// How far, at least, the inclusion fence lies outside everything the flight reaches, metres.
const FENCE_MARGIN_M: f64 = 10.0;

/// The inclusion fence: the convex hull of the survey areas, home and every item's position,
/// each corner moved [`FENCE_MARGIN_M`] away from the hull's centre (the hull contains every
/// straight leg between its points, so every transit is inside).
fn inclusion_fence(doc: &MissionDoc) -> Vec<LatLon> {
    let pts: Vec<Point> = doc
        .areas
        .iter()
        .flat_map(|a| a.exterior.iter())
        .chain(std::iter::once(&doc.home))
        .chain(doc.items.iter().map(|w| &w.pos))
        .map(|p| Point::new(p.lon_deg, p.lat_deg))
        .collect();
    let hull = MultiPoint::new(pts).convex_hull();
    let ring: Vec<Coord> = hull.exterior().0.clone();
    let n = ring.len().saturating_sub(1).max(1);
    let (cx, cy) = ring.iter().take(n).fold((0.0, 0.0), |(x, y), c| {
        (x + c.x / n as f64, y + c.y / n as f64)
    });
    let centre = LatLon::new(cy, cx);
    ring.iter()
        .take(n)
        .map(|c| {
            let p = LatLon::new(c.y, c.x);
            let d = centre.distance_m(p);
            if d < 1e-6 {
                return p.offset_ne(FENCE_MARGIN_M, 0.0);
            }
            // Along the ray from the centre: metres north and east of the centre, scaled.
            let north = (p.lat_deg - centre.lat_deg).to_radians() * 6_371_008.8;
            let east = (p.lon_deg - centre.lon_deg).to_radians()
                * 6_371_008.8
                * centre.lat_deg.to_radians().cos();
            let len = north.hypot(east).max(1e-9);
            p.offset_ne(north / len * FENCE_MARGIN_M, east / len * FENCE_MARGIN_M)
        })
        .collect()
}

/// The straight legs the vehicle flies, from home through every positioned item and back.
fn legs(doc: &MissionDoc) -> Vec<Line> {
    let mut pts = vec![doc.home];
    for w in &doc.items {
        match w.action {
            WaypointAction::FlyThrough | WaypointAction::Takeoff | WaypointAction::Land => {
                pts.push(w.pos);
            }
            WaypointAction::ReturnToLaunch => pts.push(doc.home),
            _ => {}
        }
    }
    pts.windows(2)
        .map(|w| {
            Line::new(
                Coord {
                    x: w[0].lon_deg,
                    y: w[0].lat_deg,
                },
                Coord {
                    x: w[1].lon_deg,
                    y: w[1].lat_deg,
                },
            )
        })
        .collect()
}

fn geofence(doc: &MissionDoc) -> Value {
    let mut polygons =
        vec![json!({"inclusion": true, "polygon": ring_json(&inclusion_fence(doc)), "version": 1})];
    // A hole is only not surveyed (the connectors go round it, a transit may cross it): it is
    // an exclusion only when no leg crosses it. No-fly zones are always exclusions.
    let legs = legs(doc);
    let crossed = |r: &[LatLon]| {
        let poly = Polygon::new(
            LineString::from(
                r.iter()
                    .map(|p| Coord {
                        x: p.lon_deg,
                        y: p.lat_deg,
                    })
                    .collect::<Vec<_>>(),
            ),
            vec![],
        );
        // Through its inside, not along or on its edge (transects end on a hole's edge, and a
        // straight line in degrees strays there by millimetres): more than a metre inside.
        legs.iter().any(|l| {
            l.intersects(&poly) && {
                let inside = poly.clip(
                    &MultiLineString::new(vec![LineString::new(vec![l.start, l.end])]),
                    false,
                );
                let deg: f64 = inside
                    .iter()
                    .flat_map(LineString::lines)
                    .map(|l| l.dx().hypot(l.dy()))
                    .sum();
                deg * METRES_PER_DEGREE > 1.0
            }
        })
    };
    let holes = doc
        .areas
        .iter()
        .flat_map(|a| a.holes.iter())
        .filter(|h| !crossed(h));
    polygons.extend(
        holes
            .chain(doc.no_fly.iter().map(|z| &z.exterior))
            .map(|r| json!({"inclusion": false, "polygon": ring_json(r), "version": 1})),
    );
    json!({"circles": [], "polygons": polygons, "version": 2})
}

fn ring_json(r: &[LatLon]) -> Value {
    Value::Array(r.iter().map(|p| json!([p.lat_deg, p.lon_deg])).collect())
}

/// Renders a mission as a QGroundControl `.plan` for an ArduPilot multirotor, without a
/// geofence ([`to_qgc_plan_with`] with the default options).
pub fn to_qgc_plan(doc: &MissionDoc) -> String {
    to_qgc_plan_with(doc, &PlanFileOptions::default())
}

/// One mission item as a QGroundControl `SimpleItem`.
fn simple_json(i: &PlanItem) -> Value {
    let p = i.params;
    let params = [
        num32(p[0]),
        num32(p[1]),
        num32(p[2]),
        num32(p[3]),
        num(i.lat_deg),
        num(i.lon_deg),
        num(i.alt_m),
    ];
    let mut item = json!({
        "autoContinue": i.autocontinue,
        "command": i.command,
        "doJumpId": i.seq,
        "frame": i.frame,
        "params": params,
        "type": "SimpleItem",
    });
    if i.frame == MAV_FRAME_GLOBAL_RELATIVE_ALT
        && let Some(o) = item.as_object_mut()
    {
        o.insert("AMSLAltAboveTerrain".into(), Value::Null);
        o.insert("Altitude".into(), num(i.alt_m));
        o.insert("AltitudeMode".into(), json!(1));
    } else if i.frame == frame::GLOBAL
        && i.seq > 0
        && let Some(o) = item.as_object_mut()
    {
        // QGroundControl's AltitudeModeAbsolute (MAV_FRAME_GLOBAL, above mean sea level).
        o.insert("AMSLAltAboveTerrain".into(), Value::Null);
        o.insert("Altitude".into(), num(i.alt_m));
        o.insert("AltitudeMode".into(), json!(2));
    }
    item
}

/// The mission's items after home: simple items, and each survey of `doc.surveys` (whose
/// range is valid and does not overlap an earlier one) as one survey `ComplexItem` holding
/// its items.
fn items_json(doc: &MissionDoc) -> Vec<Value> {
    let list = super::file_items(doc);
    // The MAVLink item of each of doc.items (the speed item is the only one added).
    let of_item: Vec<usize> = (1..list.len())
        .filter(|&j| list[j].command != cmd::DO_CHANGE_SPEED)
        .collect();
    // Surveys by their first MAVLink item: (last MAVLink item, survey).
    let mut surveys: Vec<(usize, usize, &QgcSurvey)> = Vec::new();
    if of_item.len() == doc.items.len() {
        let mut sorted: Vec<&QgcSurvey> = doc.surveys.iter().collect();
        sorted.sort_by_key(|s| s.items.start);
        let mut free_from = 0;
        for s in sorted {
            let r = &s.items;
            if r.start >= free_from && r.start < r.end && r.end <= doc.items.len() {
                surveys.push((of_item[r.start], of_item[r.end - 1], s));
                free_from = r.end;
            }
        }
    }
    let mut out = Vec::with_capacity(list.len());
    let mut next = surveys.iter().peekable();
    let mut open: Option<(usize, &QgcSurvey, Vec<Value>)> = None;
    for (j, item) in list.iter().enumerate().skip(1) {
        if open.is_none()
            && let Some(&&(first, last, s)) = next.peek()
            && first == j
        {
            open = Some((last, s, Vec::new()));
            next.next();
        }
        let v = simple_json(item);
        match open.take() {
            Some((last, s, mut inner)) => {
                inner.push(v);
                if j == last {
                    // The path as the items give it (1e-7 degrees, as they read back).
                    let path: Vec<LatLon> = list[j + 1 - inner.len()..=j]
                        .iter()
                        .filter(|i| i.command == cmd::NAV_WAYPOINT)
                        .map(|i| LatLon::new(i.lat_deg, i.lon_deg))
                        .collect();
                    out.push(survey_json(s, inner, &path));
                } else {
                    open = Some((last, s, inner));
                }
            }
            None => out.push(v),
        }
    }
    out
}

/// Renders a mission as a QGroundControl `.plan` (multirotor) with `options`: its surveys as
/// survey `ComplexItem`s, the other items as `SimpleItem`s.
pub fn to_qgc_plan_with(doc: &MissionDoc, options: &PlanFileOptions) -> String {
    let items = items_json(doc);
    let geofence = if options.fence {
        geofence(doc)
    } else {
        json!({"circles": [], "polygons": [], "version": 2})
    };
    let alt = doc.items.first().map_or(0.0, |w| w.alt_rel_m);
    let rally: Vec<Value> = if doc.rally_points.is_empty() {
        vec![json!([doc.home.lat_deg, doc.home.lon_deg, alt])]
    } else {
        doc.rally_points
            .iter()
            .map(|p| json!([p.lat_deg, p.lon_deg, alt]))
            .collect()
    };
    let plan = json!({
        "fileType": "Plan",
        "geoFence": geofence,
        "groundStation": "Aviary",
        "mission": {
            "cruiseSpeed": doc.speed_mps,
            "firmwareType": options.firmware.firmware_type(),
            "globalPlanAltitudeMode": if matches!(doc.alt_frame, AltitudeFrame::Amsl { .. }) { 2 } else { 1 },
            "hoverSpeed": doc.speed_mps,
            "items": items,
            "plannedHomePosition": [doc.home.lat_deg, doc.home.lon_deg, doc.alt_frame.offset_m()],
            "vehicleType": 2,
            "version": 2
        },
        "rallyPoints": {"points": rally, "version": 2},
        "version": 1
    });
    let mut s = serde_json::to_string_pretty(&plan).unwrap_or_default();
    s.push('\n');
    s
}

fn get_f64(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// A ring of `[lat, lon, …]` vertices; `ctx` names it in errors.
fn ring_of(v: Option<&Value>, ctx: &str) -> Result<Vec<LatLon>> {
    v.and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|q| match q.as_array().map(Vec::as_slice) {
            Some([lat, lon, ..]) => LatLon::checked(get_f64(lat), get_f64(lon))
                .map_err(|e| PlanError::format(".plan", format!("{ctx}: {e}"))),
            _ => Err(PlanError::format(".plan", format!("{ctx}: bad vertex"))),
        })
        .collect()
}

/// What the `mission.items` of a `.plan` hold.
struct ReadItems {
    items: Vec<Waypoint>,
    speed_mps: Option<f64>,
    survey_areas: Vec<SurveyArea>,
    surveys: Vec<QgcSurvey>,
    alt_frame: AltitudeFrame,
}

/// Simple items in order; a complex item (QGroundControl's survey, corridor or structure scan)
/// by the simple items it generated (`TransectStyleComplexItem.Items`), its polygon as a
/// survey area, and a survey's settings as a [`QgcSurvey`].
fn read_items(mission: &Value, home: LatLon) -> Result<ReadItems> {
    let err = |d: String| PlanError::format(".plan", d);
    // Each simple item with its context and the complex item it belongs to.
    let mut simple: Vec<(String, &Value, Option<usize>)> = Vec::new();
    let mut complex: Vec<(String, &Value, Vec<LatLon>)> = Vec::new();
    let mut survey_areas = Vec::new();
    for (i, it) in mission
        .get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let ctx = format!("mission item {}", i + 1);
        match it.get("type").and_then(Value::as_str) {
            Some("SimpleItem") => simple.push((ctx, it, None)),
            Some("ComplexItem") => {
                let kind = it
                    .get("complexItemType")
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                let generated = it
                    .pointer("/TransectStyleComplexItem/Items")
                    .and_then(Value::as_array)
                    .ok_or_else(|| {
                        err(format!(
                            "{ctx}: complex item {kind:?} without TransectStyleComplexItem.Items"
                        ))
                    })?;
                for (k, g) in generated.iter().enumerate() {
                    simple.push((
                        format!("{ctx} ({kind}), generated item {}", k + 1),
                        g,
                        Some(complex.len()),
                    ));
                }
                let ring = ring_of(it.get("polygon"), &format!("{ctx} polygon"))?;
                if ring.len() >= 3 {
                    survey_areas.push(SurveyArea {
                        exterior: ring.clone(),
                        holes: vec![],
                    });
                }
                complex.push((ctx, it, ring));
            }
            other => {
                return Err(err(format!(
                    "{ctx}: item type {other:?} is not supported (SimpleItem or ComplexItem)"
                )));
            }
        }
    }
    let mut items = Vec::new();
    let mut speed_mps = None;
    let (mut prev, mut prev_alt) = (home, 0.0);
    // Home's altitude: the ground height at home in a plan of absolute altitudes.
    let home_alt_m = mission
        .pointer("/plannedHomePosition/2")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let mut absolute = false;
    // The waypoints each complex item generated: first and one past the last.
    let mut spans: Vec<Option<(usize, usize)>> = vec![None; complex.len()];
    for (ctx, it, owner) in simple {
        let command = it
            .get("command")
            .and_then(Value::as_u64)
            .ok_or_else(|| err(format!("{ctx}: no command")))?;
        let ps = it
            .get("params")
            .and_then(Value::as_array)
            .ok_or_else(|| err(format!("{ctx}: no params")))?;
        if ps.len() != 7 {
            return Err(err(format!("{ctx}: params must have 7 values")));
        }
        let mut params = [0.0; 7];
        for (k, p) in ps.iter().enumerate() {
            params[k] = get_f64(p);
        }
        if command == u64::from(cmd::DO_CHANGE_SPEED) {
            // The mission's speed, not a waypoint; cruiseSpeed says the same.
            if params[1] > 0.0 && speed_mps.is_none() {
                speed_mps = Some(params[1]);
            }
            continue;
        }
        let mut w = from_mavlink(command, params, prev, home, prev_alt, &ctx)?;
        if it.get("frame").and_then(Value::as_u64) == Some(u64::from(frame::GLOBAL))
            && command < 100
            && command != u64::from(cmd::NAV_RETURN_TO_LAUNCH)
        {
            // An absolute altitude: above home is above the ground at home.
            w.alt_rel_m -= home_alt_m;
            absolute = true;
        }
        prev = w.pos;
        prev_alt = w.alt_rel_m;
        if let Some(c) = owner
            && let Some(span) = spans.get_mut(c)
        {
            let first = span.map_or(items.len(), |s| s.0);
            *span = Some((first, items.len() + 1));
        }
        items.push(w);
    }
    let mut surveys = Vec::new();
    for ((ctx, it, ring), span) in complex.into_iter().zip(spans) {
        if it.get("complexItemType").and_then(Value::as_str) == Some("survey")
            && ring.len() >= 3
            && let Some((first, end)) = span
        {
            surveys.push(read_survey(it, first..end, ring, &ctx)?);
        }
    }
    Ok(ReadItems {
        items,
        speed_mps,
        survey_areas,
        surveys,
        alt_frame: if absolute {
            AltitudeFrame::Amsl {
                home_amsl_m: home_alt_m,
            }
        } else {
            AltitudeFrame::AboveHome
        },
    })
}

/// Reads a QGroundControl `.plan`: simple items (commands 16, 20, 21, 22, 206; 178 sets the
/// speed), complex items by the items they generated with their polygon as a survey area (a
/// survey with its settings in [`MissionDoc::surveys`]), inclusion geofence polygons as areas,
/// exclusion polygons as no-fly zones, and the rally points.
pub fn read_qgc_plan(text: &str) -> Result<MissionDoc> {
    let err = |d: String| PlanError::format(".plan", d);
    let v: Value = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    if v.get("fileType").and_then(Value::as_str) != Some("Plan") {
        return Err(err("fileType is not \"Plan\"".into()));
    }
    let mission = v
        .get("mission")
        .ok_or_else(|| err("no \"mission\" object".into()))?;
    let home_arr = mission
        .get("plannedHomePosition")
        .and_then(Value::as_array)
        .ok_or_else(|| err("no plannedHomePosition".into()))?;
    let home = match home_arr.as_slice() {
        [lat, lon, ..] => LatLon::checked(get_f64(lat), get_f64(lon))
            .map_err(|e| err(format!("plannedHomePosition: {e}")))?,
        _ => {
            return Err(err(
                "plannedHomePosition needs latitude and longitude".into()
            ));
        }
    };
    let cruise_mps = mission
        .get("cruiseSpeed")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let read = read_items(mission, home)?;
    let mut areas = read.survey_areas;
    let mut no_fly = Vec::new();
    if let Some(polys) = v.pointer("/geoFence/polygons").and_then(Value::as_array) {
        for (i, p) in polys.iter().enumerate() {
            let area = SurveyArea {
                exterior: ring_of(p.get("polygon"), &format!("geofence polygon {}", i + 1))?,
                holes: vec![],
            };
            if p.get("inclusion").and_then(Value::as_bool).unwrap_or(true) {
                areas.push(area);
            } else {
                no_fly.push(area);
            }
        }
    }
    let rally_points = ring_of(v.pointer("/rallyPoints/points"), "rally point")?;
    Ok(MissionDoc {
        home,
        items: read.items,
        areas,
        no_fly,
        speed_mps: read.speed_mps.unwrap_or(cruise_mps),
        surveys: read.surveys,
        rally_points,
        alt_frame: read.alt_frame,
    })
}
