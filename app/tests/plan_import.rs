//! Missions other tools wrote, opened in the Plan view through `egui_kittest` on the real app
//! state: a QGroundControl `.plan` with a survey item (sent as Import does, and dropped on the
//! window) gives the editor its polygon, settings and fence; a `QGC WPL 110` file without a
//! survey polygon and a broken file are errors shown in the window; a plan that needs more
//! sorties than the limit is a warning before anything more is planned.

use aviary_app::gui::app::AviaryApp;
use aviary_app::gui::command::Command;
use aviary_app::gui::state::View;
use aviary_core::{FlightPattern, LatLon, SurveyArea};
use aviary_planner::formats::{self, MissionDoc, PlanFileOptions};
use aviary_planner::{Area, Pattern, SurveyParams, plan_survey};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

/// The app on the Plan view.
fn harness(dir: &std::path::Path) -> Harness<'static, AviaryApp> {
    let start = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let app = AviaryApp::headless(&dir.join("aviary.db"), start, false).expect("store");
    let mut h = Harness::builder()
        .with_size([1500.0, 950.0])
        .build_ui_state(|ui, app: &mut AviaryApp| app.frame_ui(ui), app);
    h.run_steps(2);
    h.get_by_label("Plan").click();
    h.run_steps(2);
    assert_eq!(h.state().state.view, View::Plan);
    h
}

fn square(sw: LatLon, side_m: f64) -> Vec<LatLon> {
    vec![
        sw,
        sw.offset_ne(0.0, side_m),
        sw.offset_ne(side_m, side_m),
        sw.offset_ne(side_m, 0.0),
    ]
}

/// A crosshatch at 60 m over a 300 m square with a no-fly zone, written as Aviary writes a
/// `.plan` (a QGroundControl survey item, the fence).
fn write_plan(path: &std::path::Path, sw: LatLon, zone: &[LatLon]) -> Vec<LatLon> {
    let ring = square(sw, 300.0);
    let area = SurveyArea {
        exterior: ring.clone(),
        holes: vec![],
    };
    let zone = SurveyArea {
        exterior: zone.to_vec(),
        holes: vec![],
    };
    let params = SurveyParams {
        pattern: Pattern::Crosshatch,
        alt_rel_m: 60.0,
        home: Some(sw.offset_ne(-30.0, -30.0)),
        ..SurveyParams::default()
    };
    let checked = Area::new(&[area], std::slice::from_ref(&zone), 500e6).expect("area");
    let plan = plan_survey(&checked, &params).expect("plan");
    let doc = MissionDoc::from_plan_editable(&plan, &params);
    assert_eq!(doc.surveys.len(), 1);
    let options = PlanFileOptions {
        fence: true,
        ..PlanFileOptions::default()
    };
    formats::write_mission_file_with(path, &doc, &options).expect("write .plan");
    ring
}

/// A file dropped on the window, as the native integration hands it over.
#[derive(Debug)]
struct FileOnDisk(std::path::PathBuf);

impl egui::DroppedFile for FileOnDisk {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn last_notice(h: &Harness<'_, AviaryApp>) -> (String, bool) {
    let n = h.state().state.notices.back().expect("a notice");
    (n.text.clone(), n.error)
}

#[test]
fn a_qgc_plan_opens_in_the_plan_view_by_import_and_by_drop() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(dir.path());
    let sw = LatLon::new(47.40, 8.50);
    let zone = square(sw.offset_ne(120.0, 120.0), 40.0);
    let file = dir.path().join("field.plan");
    let ring = write_plan(&file, sw, &zone);

    h.state_mut()
        .commands
        .send(Command::ImportMissionFrom(file.clone()));
    h.run_steps(6);
    let (text, error) = last_notice(&h);
    assert!(!error, "{text}");
    assert!(text.starts_with("imported field: survey of"), "{text}");
    let ed = &h.state().state.plan;
    assert_eq!(ed.vertices.len(), ring.len());
    for (a, b) in ed.vertices.iter().zip(&ring) {
        assert!(a.distance_m(*b) < 0.01);
    }
    assert_eq!(ed.pattern, FlightPattern::Crosshatch);
    assert!((ed.params.altitude_m - 60.0).abs() < 1e-6);
    assert!(ed.params.sweep_angle_deg.is_some());
    assert_eq!(ed.no_fly.len(), 1, "the fence's exclusion");
    assert_eq!(ed.name, "field");
    // The editor plans it again.
    h.run_steps(6);
    assert!(
        h.state().state.plan.current_preview().is_some(),
        "{:?}",
        h.state().state.plan.preview_error
    );

    // Dropped on the window: the same.
    h.state_mut().state.plan.set_vertices(Vec::new());
    h.state_mut().state.plan.no_fly.clear();
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(FileOnDisk(file)));
    h.run_steps(6);
    let (text, error) = last_notice(&h);
    assert!(!error && text.starts_with("imported field"), "{text}");
    assert_eq!(h.state().state.plan.vertices.len(), ring.len());
}

#[test]
fn files_without_a_survey_polygon_or_broken_are_errors_in_the_window() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(dir.path());
    let wpl = dir.path().join("route.waypoints");
    std::fs::write(
        &wpl,
        "QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t47.4\t8.5\t400\t1\n\
         1\t0\t3\t22\t0\t0\t0\t0\t47.4\t8.5\t30\t1\n\
         2\t0\t3\t16\t0\t0\t0\t0\t47.401\t8.5\t30\t1\n",
    )
    .expect("write wpl");
    h.state_mut().commands.send(Command::ImportMissionFrom(wpl));
    h.run_steps(6);
    let (text, error) = last_notice(&h);
    assert!(error, "{text}");
    assert!(
        text.starts_with("mission import failed") && text.contains("2 mission items"),
        "{text}"
    );
    assert!(h.state().state.plan.vertices.is_empty());

    let bad = dir.path().join("broken.plan");
    std::fs::write(&bad, "{\"fileType\": \"Plan\"}").expect("write");
    h.state_mut().commands.send(Command::ImportMissionFrom(bad));
    h.run_steps(6);
    let (text, error) = last_notice(&h);
    assert!(error && text.contains("no \"mission\" object"), "{text}");
}

#[test]
fn too_many_sorties_is_a_warning_before_planning_further() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(dir.path());
    // 15 km × 15 km at 1 m: about 20,000 sorties, over the limit of 10,000.
    h.state_mut().state.plan.params.altitude_m = 1.0;
    h.state_mut()
        .state
        .plan
        .set_vertices(square(LatLon::new(47.3, 8.4), 15_000.0));
    h.run_steps(8);
    let e = h
        .state()
        .state
        .plan
        .preview_error
        .clone()
        .unwrap_or_else(|| {
            panic!(
                "no warning; preview: {:?}",
                h.state().state.plan.any_preview().map(|p| p.sorties)
            )
        });
    assert!(
        e.starts_with("Warning: not planned further: this survey needs at least")
            && e.contains("more than the limit of 10000"),
        "{e}"
    );
}
