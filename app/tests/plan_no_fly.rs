//! No-fly zones in the Plan view, driven by label through `egui_kittest` on the real app
//! state: a zone drawn in the editor (its vertices placed as map clicks place them) and one
//! imported from a GeoJSON file; the planned path keeps out of both, a zone with too few
//! vertices is refused with a message, and deleting a zone replans.

use aviary_app::gui::app::AviaryApp;
use aviary_app::gui::command::Command;
use aviary_app::gui::state::View;
use aviary_core::{LatLon, WaypointAction};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

fn harness(dir: &std::path::Path) -> Harness<'static, AviaryApp> {
    let start = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let app = AviaryApp::headless(&dir.join("aviary.db"), start, false).expect("store");
    Harness::builder()
        .with_size([1500.0, 950.0])
        .build_ui_state(|ui, app: &mut AviaryApp| app.frame_ui(ui), app)
}

/// Ray casting: is `p` strictly inside `ring` (lat/lon treated as plane coordinates, fine at
/// this scale)?
fn inside(p: LatLon, ring: &[LatLon]) -> bool {
    let mut hit = false;
    for (i, a) in ring.iter().enumerate() {
        let b = ring[(i + 1) % ring.len()];
        if (a.lat_deg > p.lat_deg) != (b.lat_deg > p.lat_deg) {
            let t = (p.lat_deg - a.lat_deg) / (b.lat_deg - a.lat_deg);
            if p.lon_deg < a.lon_deg + t * (b.lon_deg - a.lon_deg) {
                hit = !hit;
            }
        }
    }
    hit
}

/// Flown positions of the current preview (camera stop items repeat a position).
fn path(h: &Harness<'_, AviaryApp>) -> Vec<LatLon> {
    let plan = &h.state().state.plan;
    plan.current_preview()
        .unwrap_or_else(|| {
            panic!(
                "no preview of the current revision: {:?}",
                plan.preview_error
            )
        })
        .waypoints
        .iter()
        .filter(|w| !matches!(w.action, WaypointAction::CameraTriggerStop))
        .map(|w| w.pos)
        .collect()
}

/// Points along the leg from `a` to `b`, both ends included, at most 2 m apart.
fn along(a: LatLon, b: LatLon) -> impl Iterator<Item = LatLon> {
    // Truncation intended: a count of steps.
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let steps = (a.distance_m(b) / 2.0).ceil().max(1.0) as usize;
    (0..=steps).map(move |i| {
        #[expect(clippy::cast_precision_loss)]
        let t = i as f64 / steps as f64;
        LatLon::new(
            a.lat_deg + t * (b.lat_deg - a.lat_deg),
            a.lon_deg + t * (b.lon_deg - a.lon_deg),
        )
    })
}

/// Does any leg of `path` pass through `ring`? Sampled along every leg, not only at its
/// middle: a leg's midpoint lands in a zone by the accident of where the leg ends (the
/// return to home was once the only leg whose midpoint did).
fn enters(path: &[LatLon], ring: &[LatLon]) -> bool {
    path.windows(2)
        .any(|w| along(w[0], w[1]).any(|p| inside(p, ring)))
}

/// A square of `side_m` with its south-west corner at `sw`.
fn square(sw: LatLon, side_m: f64) -> Vec<LatLon> {
    vec![
        sw,
        sw.offset_ne(0.0, side_m),
        sw.offset_ne(side_m, side_m),
        sw.offset_ne(side_m, 0.0),
    ]
}

/// Types `ring` into the vertex text box, applies it and lets the preview be planned.
fn enter_area(h: &mut Harness<'_, AviaryApp>, ring: &[LatLon]) {
    let text = ring
        .iter()
        .map(|p| format!("{:.6}, {:.6}", p.lat_deg, p.lon_deg))
        .collect::<Vec<_>>()
        .join("; ");
    h.get_by_label("Vertices (lat, lon per line)").focus();
    h.run_steps(1);
    h.get_by_label("Vertices (lat, lon per line)")
        .type_text(&text);
    h.run_steps(1);
    h.get_by_label("Apply vertices").click();
    h.run_steps(4);
    assert_eq!(h.state().state.plan.vertices.len(), ring.len());
}

#[test]
fn zones_drawn_and_imported_keep_the_path_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(dir.path());
    h.run_steps(2);
    h.get_by_label("Plan").click();
    h.run_steps(2);
    assert_eq!(h.state().state.view, View::Plan);
    h.get_by_label("None: the path may go anywhere in the area.");

    // A 600 m survey square next to the first site.
    let site = h.state().state.sites[0].location;
    let area_sw = site.offset_ne(100.0, 100.0);
    enter_area(&mut h, &square(area_sw, 600.0));
    let free = path(&h);
    let drawn_sw = area_sw.offset_ne(150.0, 150.0);
    let drawn = square(drawn_sw, 120.0);
    // The path may run along a zone's edge (connectors route around its corners), never
    // inside: checked against the zone shrunk by half a metre.
    let drawn_core = square(drawn_sw.offset_ne(0.5, 0.5), 119.0);
    assert!(
        enters(&free, &drawn),
        "without zones the path crosses the middle of the area"
    );

    // --- draw a zone: two vertices are refused, four are a zone ---
    h.get_by_label("Draw zone").click();
    h.run_steps(2);
    assert!(h.state().state.plan.drawing_no_fly.is_some());
    for p in &drawn[..2] {
        // What a click on the map does in zone-drawing mode.
        h.state_mut().state.plan.push_no_fly_vertex(*p);
    }
    h.run_steps(1);
    h.get_by_label("2 vertices: click the map to add");
    h.get_by_label("Finish zone").click();
    h.run_steps(2);
    h.get_by_label("a no-fly zone needs at least 3 distinct vertices, got 2");
    assert!(
        h.state().state.plan.no_fly.is_empty(),
        "refused zone not added"
    );
    for p in &drawn[2..] {
        h.state_mut().state.plan.push_no_fly_vertex(*p);
    }
    h.get_by_label("Finish zone").click();
    h.run_steps(4);
    assert_eq!(h.state().state.plan.no_fly.len(), 1);
    assert!(h.query_by_label_contains("Zone 1 · 4 vertices").is_some());
    let avoiding = path(&h);
    assert!(
        !enters(&avoiding, &drawn_core),
        "a leg enters the drawn zone"
    );

    // --- import a second zone from a GeoJSON file ---
    let imported_sw = area_sw.offset_ne(400.0, 380.0);
    let imported = square(imported_sw, 100.0);
    let imported_core = square(imported_sw.offset_ne(0.5, 0.5), 99.0);
    let mut ring: Vec<[f64; 2]> = imported.iter().map(|p| [p.lon_deg, p.lat_deg]).collect();
    ring.push(ring[0]);
    let file = dir.path().join("tower.geojson");
    let doc = serde_json::json!({
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"name": "tower"},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}}]
    });
    std::fs::write(&file, doc.to_string()).expect("write zone file");
    h.state_mut().commands.send(Command::ImportNoFlyFrom(file));
    h.run_steps(6);
    assert_eq!(
        h.state().state.plan.no_fly.len(),
        2,
        "{:?}",
        h.state().state.notices
    );
    assert!(h.query_by_label_contains("Zone 2 · ").is_some());
    // Every leg, the transits from home and back included, sampled every 2 m: outside both
    // zones. In this layout the straight return to home crossed the drawn zone; it is routed
    // around it now, and no crossing is left to warn about.
    let zoned = path(&h);
    assert!(
        !enters(&zoned, &drawn_core) && !enters(&zoned, &imported_core),
        "a leg enters a zone"
    );
    let preview = h.state().state.plan.current_preview().expect("a preview");
    assert_eq!(preview.home, zoned[0]);
    assert_eq!(zoned.last(), Some(&preview.home), "back home");
    assert!(
        !preview
            .warnings
            .iter()
            .any(|w| w.contains("crosses no-fly zone")),
        "{:?}",
        preview.warnings
    );
    // Still the survey: the camera runs, over a path that reaches across the area.
    assert!(preview.photos > 100, "{} photos", preview.photos);
    let camera_on = preview
        .waypoints
        .iter()
        .position(|w| matches!(w.action, WaypointAction::CameraTriggerStart { .. }))
        .expect("a camera start");
    assert!(
        camera_on >= 2,
        "the camera starts after the takeoff and the first survey point"
    );
    let far = area_sw.offset_ne(600.0, 600.0);
    assert!(
        zoned.iter().any(|p| p.distance_m(far) < 100.0),
        "the survey reaches the far corner"
    );

    // --- a file that is not an area is a clear error, the zones stay ---
    let bad = dir.path().join("notes.geojson");
    std::fs::write(&bad, "not json").expect("write");
    h.state_mut().commands.send(Command::ImportNoFlyFrom(bad));
    h.run_steps(4);
    assert_eq!(h.state().state.plan.no_fly.len(), 2);
    assert!(
        h.state()
            .state
            .notices
            .iter()
            .any(|n| n.text.starts_with("no-fly import failed")),
        "{:?}",
        h.state().state.notices
    );

    // --- delete the drawn zone: the path may cross it again ---
    h.get_all_by_label("Delete")
        .next()
        .expect("a Delete button per zone")
        .click();
    h.run_steps(4);
    let left = &h.state().state.plan.no_fly;
    assert_eq!(left.len(), 1);
    assert!(
        left[0].iter().all(|p| imported
            .iter()
            .any(|q| (p.lat_deg - q.lat_deg).abs() < 1e-9 && (p.lon_deg - q.lon_deg).abs() < 1e-9)),
        "the imported zone is the one left"
    );
    assert!(
        enters(&path(&h), &drawn),
        "with the drawn zone deleted the path crosses its square again"
    );
}

#[test]
fn camera_and_sweep_angle_change_the_plan() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(dir.path());
    h.run_steps(2);
    h.get_by_label("Plan").click();
    h.run_steps(2);
    let site = h.state().state.sites[0].location;
    enter_area(&mut h, &square(site.offset_ne(100.0, 100.0), 500.0));
    let spacing = |h: &Harness<'_, AviaryApp>| {
        h.state()
            .state
            .plan
            .current_preview()
            .expect("a preview")
            .line_spacing_m
    };
    let default_spacing_m = spacing(&h);
    assert!(h.query_by_label_contains("cm/px").is_some(), "GSD shown");

    // --- another camera: a narrower footprint, closer lines ---
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Camera")
        .click();
    h.run_steps(2);
    h.get_by_label_contains("Parrot Sequoia").click();
    h.run_steps(4);
    assert_eq!(
        h.state().state.plan.params.camera.as_deref(),
        Some("sequoia")
    );
    let sequoia_spacing_m = spacing(&h);
    // 50 m × 6.17 mm / 4.88 mm × 30 % = 19.0 m.
    assert!(
        (sequoia_spacing_m - 19.0).abs() < 0.1
            && (sequoia_spacing_m - default_spacing_m).abs() > 1.0,
        "{default_spacing_m} -> {sequoia_spacing_m}"
    );

    // --- a fixed sweep angle of 0°: transects run north-south ---
    h.get_by_label("Auto").click();
    h.run_steps(4);
    assert_eq!(h.state().state.plan.params.sweep_angle_deg, Some(0.0));
    let legs = path(&h);
    let home = legs[0];
    let longest = legs
        .windows(2)
        .filter(|w| w[0] != home && w[1] != home)
        .max_by(|a, b| a[0].distance_m(a[1]).total_cmp(&b[0].distance_m(b[1])))
        .expect("a path");
    let east_m = (longest[1].lon_deg - longest[0].lon_deg).to_radians()
        * aviary_core::geo::EARTH_RADIUS_M
        * longest[0].lat_deg.to_radians().cos();
    assert!(
        east_m.abs() < 1.0 && longest[0].distance_m(longest[1]) > 400.0,
        "longest leg {longest:?} is not a north-south transect"
    );
}
