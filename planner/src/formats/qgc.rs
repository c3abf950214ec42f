//! QGroundControl `.plan` files (JSON): mission items with MAVLink command numbers, the survey
//! polygons as inclusion geofences, no-fly zones as exclusion geofences, home as rally point.
//! The items are [`mission_items`] after home (which is `plannedHomePosition`), numbered as
//! the vehicle numbers them (`doJumpId` = sequence number).

use aviary_core::mission_items::{cmd, frame, mission_items};
use aviary_core::{LatLon, SurveyArea, Waypoint, WaypointAction};
use serde_json::{Value, json};

use super::MissionDoc;
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

fn ring_json(r: &[LatLon]) -> Value {
    Value::Array(r.iter().map(|p| json!([p.lat_deg, p.lon_deg])).collect())
}

/// Renders a mission as a QGroundControl `.plan` (ArduPilot multirotor).
pub fn to_qgc_plan(doc: &MissionDoc) -> String {
    let items: Vec<Value> = mission_items(doc.home, &doc.items, doc.speed_mps)
        .iter()
        .skip(1)
        .map(|i| {
            let p = i.params;
            let params = [
                f64::from(p[0]),
                f64::from(p[1]),
                f64::from(p[2]),
                f64::from(p[3]),
                i.lat_deg,
                i.lon_deg,
                i.alt_m,
            ];
            let mut item = json!({
                "autoContinue": i.autocontinue,
                "command": i.command,
                "doJumpId": i.seq,
                "frame": i.frame,
                "params": params.iter().map(|p| num(*p)).collect::<Vec<_>>(),
                "type": "SimpleItem",
            });
            if i.frame == MAV_FRAME_GLOBAL_RELATIVE_ALT
                && let Some(o) = item.as_object_mut()
            {
                o.insert("AMSLAltAboveTerrain".into(), Value::Null);
                o.insert("Altitude".into(), num(i.alt_m));
                o.insert("AltitudeMode".into(), json!(1));
            }
            item
        })
        .collect();
    let mut polygons: Vec<Value> = doc
        .areas
        .iter()
        .map(|a| json!({"inclusion": true, "polygon": ring_json(&a.exterior), "version": 1}))
        .collect();
    let exclusions = doc
        .areas
        .iter()
        .flat_map(|a| a.holes.iter())
        .chain(doc.no_fly.iter().map(|z| &z.exterior));
    polygons.extend(
        exclusions.map(|r| json!({"inclusion": false, "polygon": ring_json(r), "version": 1})),
    );
    let alt = doc.items.first().map_or(0.0, |w| w.alt_rel_m);
    let plan = json!({
        "fileType": "Plan",
        "geoFence": {"circles": [], "polygons": polygons, "version": 2},
        "groundStation": "Aviary",
        "mission": {
            "cruiseSpeed": doc.speed_mps,
            "firmwareType": 3,
            "globalPlanAltitudeMode": 1,
            "hoverSpeed": doc.speed_mps,
            "items": items,
            "plannedHomePosition": [doc.home.lat_deg, doc.home.lon_deg, 0],
            "vehicleType": 2,
            "version": 2
        },
        "rallyPoints": {"points": [[doc.home.lat_deg, doc.home.lon_deg, alt]], "version": 2},
        "version": 1
    });
    let mut s = serde_json::to_string_pretty(&plan).unwrap_or_default();
    s.push('\n');
    s
}

fn get_f64(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// Reads a QGroundControl `.plan`: simple items (commands 16, 20, 21, 22, 206; 178 sets the
/// speed), inclusion
/// geofence polygons as areas and exclusion polygons as no-fly zones.
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
    let speed_mps = mission
        .get("cruiseSpeed")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let mut items = Vec::new();
    let mut speed_from_items = None;
    let (mut prev, mut prev_alt) = (home, 0.0);
    for (i, it) in mission
        .get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let ctx = format!("mission item {}", i + 1);
        if it.get("type").and_then(Value::as_str) != Some("SimpleItem") {
            return Err(err(format!("{ctx}: only SimpleItem is supported")));
        }
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
            if params[1] > 0.0 && speed_from_items.is_none() {
                speed_from_items = Some(params[1]);
            }
            continue;
        }
        let w = from_mavlink(command, params, prev, home, prev_alt, &ctx)?;
        prev = w.pos;
        prev_alt = w.alt_rel_m;
        items.push(w);
    }
    let mut areas = Vec::new();
    let mut no_fly = Vec::new();
    if let Some(polys) = v.pointer("/geoFence/polygons").and_then(Value::as_array) {
        for (i, p) in polys.iter().enumerate() {
            let ring = p
                .get("polygon")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|q| match q.as_array().map(Vec::as_slice) {
                    Some([lat, lon, ..]) => LatLon::checked(get_f64(lat), get_f64(lon))
                        .map_err(|e| err(format!("geofence polygon {}: {e}", i + 1))),
                    _ => Err(err(format!("geofence polygon {}: bad vertex", i + 1))),
                })
                .collect::<Result<Vec<_>>>()?;
            let area = SurveyArea {
                exterior: ring,
                holes: vec![],
            };
            if p.get("inclusion").and_then(Value::as_bool).unwrap_or(true) {
                areas.push(area);
            } else {
                no_fly.push(area);
            }
        }
    }
    Ok(MissionDoc {
        home,
        items,
        areas,
        no_fly,
        speed_mps: speed_from_items.unwrap_or(speed_mps),
    })
}
