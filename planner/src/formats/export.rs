//! Map and table exports: KML, GeoJSON (area, path, waypoints) and CSV.

use std::fmt::Write as _;

use aviary_core::{LatLon, Waypoint, WaypointAction};
use serde_json::{Value, json};

use super::{AltitudeFrame, MissionDoc};

fn action_name(a: WaypointAction) -> (&'static str, Option<f64>) {
    match a {
        WaypointAction::FlyThrough => ("waypoint", None),
        WaypointAction::Takeoff => ("takeoff", None),
        WaypointAction::CameraTriggerStart { distance_m } => ("camera_start", Some(distance_m)),
        WaypointAction::CameraTriggerStop => ("camera_stop", None),
        WaypointAction::ReturnToLaunch => ("return_to_launch", None),
        WaypointAction::Land => ("land", None),
    }
}

/// Positions the drone flies through, in order (home, takeoff, waypoints, home).
/// Altitudes in the document's frame (above home, or above mean sea level).
fn flown(doc: &MissionDoc) -> Vec<(LatLon, f64)> {
    let off = doc.alt_frame.offset_m();
    let mut v = vec![(doc.home, off)];
    for w in &doc.items {
        match w.action {
            WaypointAction::FlyThrough | WaypointAction::Takeoff | WaypointAction::Land => {
                v.push((w.pos, w.alt_rel_m + off));
            }
            WaypointAction::ReturnToLaunch => v.push((doc.home, w.alt_rel_m + off)),
            _ => {}
        }
    }
    v
}

/// CSV of the mission items: `seq,action,lat_deg,lon_deg,alt_rel_m,trigger_distance_m`.
pub fn to_csv(doc: &MissionDoc) -> String {
    let mut s = String::from("seq,action,lat_deg,lon_deg,alt_rel_m,trigger_distance_m\n");
    for (i, w) in doc.items.iter().enumerate() {
        let (name, d) = action_name(w.action);
        let _ = writeln!(
            s,
            "{},{name},{:.8},{:.8},{:.2},{}",
            i + 1,
            w.pos.lat_deg,
            w.pos.lon_deg,
            w.alt_rel_m,
            d.map(|d| format!("{d:.3}")).unwrap_or_default()
        );
    }
    s
}

fn ring(r: &[LatLon]) -> Vec<[f64; 2]> {
    r.iter()
        .chain(r.first())
        .map(|p| [p.lon_deg, p.lat_deg])
        .collect()
}

/// GeoJSON FeatureCollection: survey polygons (`role: area`), no-fly zones (`no_fly`), the
/// flight path as a LineString (`path`) and every mission item as a Point (`item`).
pub fn to_geojson(doc: &MissionDoc) -> String {
    let mut features: Vec<Value> = Vec::new();
    for (role, list) in [("area", &doc.areas), ("no_fly", &doc.no_fly)] {
        for a in list {
            let rings: Vec<_> = std::iter::once(ring(&a.exterior))
                .chain(a.holes.iter().map(|h| ring(h)))
                .collect();
            features.push(json!({"type": "Feature", "properties": {"role": role}, "geometry": {"type": "Polygon", "coordinates": rings}}));
        }
    }
    let path: Vec<[f64; 3]> = flown(doc)
        .iter()
        .map(|(p, a)| [p.lon_deg, p.lat_deg, *a])
        .collect();
    features.push(json!({"type": "Feature", "properties": {"role": "path"}, "geometry": {"type": "LineString", "coordinates": path}}));
    for (i, w) in doc.items.iter().enumerate() {
        features.push(item_feature(i, w, doc.alt_frame));
    }
    let mut s = serde_json::to_string(&json!({"type": "FeatureCollection", "features": features}))
        .unwrap_or_default();
    s.push('\n');
    s
}

fn item_feature(i: usize, w: &Waypoint, alt_frame: AltitudeFrame) -> Value {
    let (name, d) = action_name(w.action);
    let mut f = json!({
        "type": "Feature",
        "properties": {"role": "item", "seq": i + 1, "action": name, "alt_rel_m": w.alt_rel_m, "trigger_distance_m": d},
        "geometry": {"type": "Point", "coordinates": [w.pos.lon_deg, w.pos.lat_deg, w.alt_rel_m + alt_frame.offset_m()]}
    });
    if let AltitudeFrame::Amsl { home_amsl_m } = alt_frame
        && let Some(props) = f.get_mut("properties").and_then(Value::as_object_mut)
    {
        props.insert("alt_amsl_m".into(), json!(w.alt_rel_m + home_amsl_m));
    }
    f
}

fn kml_coords(pts: impl Iterator<Item = (LatLon, f64)>) -> String {
    let mut s = String::new();
    for (p, a) in pts {
        let _ = write!(s, "{:.8},{:.8},{:.2} ", p.lon_deg, p.lat_deg, a);
    }
    s.trim_end().to_owned()
}

fn kml_polygon(s: &mut String, name: &str, a: &aviary_core::SurveyArea) {
    let closed = |r: &[LatLon]| kml_coords(r.iter().chain(r.first()).map(|p| (*p, 0.0)));
    let _ = write!(
        s,
        "<Placemark><name>{name}</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{}</coordinates></LinearRing></outerBoundaryIs>",
        closed(&a.exterior)
    );
    for h in &a.holes {
        let _ = write!(
            s,
            "<innerBoundaryIs><LinearRing><coordinates>{}</coordinates></LinearRing></innerBoundaryIs>",
            closed(h)
        );
    }
    s.push_str("</Polygon></Placemark>\n");
}

/// KML document: survey and no-fly polygons, the flight path and a folder of mission items,
/// altitudes `relativeToGround` (above home) or `absolute` (above mean sea level, for a
/// terrain-following mission).
pub fn to_kml(doc: &MissionDoc) -> String {
    let (mode, off) = match doc.alt_frame {
        AltitudeFrame::AboveHome => ("relativeToGround", 0.0),
        AltitudeFrame::Amsl { home_amsl_m } => ("absolute", home_amsl_m),
    };
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document><name>Aviary mission</name>\n",
    );
    for (i, a) in doc.areas.iter().enumerate() {
        kml_polygon(&mut s, &format!("Survey area {}", i + 1), a);
    }
    for (i, a) in doc.no_fly.iter().enumerate() {
        kml_polygon(&mut s, &format!("No-fly zone {}", i + 1), a);
    }
    let _ = writeln!(
        s,
        "<Placemark><name>Flight path</name><LineString><altitudeMode>{mode}</altitudeMode><coordinates>{}</coordinates></LineString></Placemark>",
        kml_coords(flown(doc).into_iter())
    );
    s.push_str("<Folder><name>Mission items</name>\n");
    for (i, w) in doc.items.iter().enumerate() {
        let (name, _) = action_name(w.action);
        let _ = writeln!(
            s,
            "<Placemark><name>{} {name}</name><Point><altitudeMode>{mode}</altitudeMode><coordinates>{}</coordinates></Point></Placemark>",
            i + 1,
            kml_coords(std::iter::once((w.pos, w.alt_rel_m + off)))
        );
    }
    s.push_str("</Folder>\n</Document>\n</kml>\n");
    s
}
