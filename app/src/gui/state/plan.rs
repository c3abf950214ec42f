//! The Plan view's editor (polygon with undo/redo, no-fly zones, parameters) and its preview.

use aviary_core::{DroneId, FlightPattern, LatLon, MissionParams, SiteId, SurveyArea, Waypoint};

/// Result of planning the editor's polygon.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanPreview {
    /// Full mission: takeoff, survey, return.
    pub waypoints: Vec<Waypoint>,
    /// Mission items.
    pub item_count: usize,
    /// Horizontal distance, metres.
    pub distance_m: f64,
    /// Flight time, seconds.
    pub duration_s: f64,
    /// Photos.
    pub photos: u64,
    /// Flights needed (item limit and battery).
    pub sorties: usize,
    /// Battery for the whole mission as a share of one battery, percent.
    pub battery_pct: f64,
    /// Survey area, m².
    pub area_m2: f64,
    /// Altitude flown, metres.
    pub alt_rel_m: f64,
    /// Distance between transects, metres.
    pub line_spacing_m: f64,
    /// Ground sample distance, cm per pixel (none with a direct line spacing).
    pub gsd_cm_px: Option<f64>,
    /// Things the operator should know (item limit, battery, ...).
    pub warnings: Vec<String>,
    /// Takeoff and return point.
    pub home: LatLon,
    /// Cruise speed, m/s.
    pub speed_mps: f64,
    /// The path over the plan's DEM, when one is loaded (boxed: most plans have none).
    pub terrain: Option<Box<super::PlanTerrain>>,
}

/// The Plan view's editor: polygon with undo/redo, parameters, live preview.
#[derive(Debug, Clone)]
pub struct PlanEditor {
    /// Polygon vertices (not closed).
    pub vertices: Vec<LatLon>,
    /// Earlier polygons.
    pub undo: Vec<Vec<LatLon>>,
    /// Undone polygons.
    pub redo: Vec<Vec<LatLon>>,
    /// Clicking the map adds vertices.
    pub drawing: bool,
    /// Text form of the polygon (`lat, lon` per line).
    pub vertices_text: String,
    /// Error of the text form.
    pub vertices_error: Option<String>,
    /// Mission name.
    pub name: String,
    /// Site the mission is flown from.
    pub site: Option<SiteId>,
    /// Drone to fly it.
    pub drone: Option<DroneId>,
    /// Pattern.
    pub pattern: FlightPattern,
    /// Parameters.
    pub params: MissionParams,
    /// Bumped on every change; the preview carries the revision it was planned for.
    pub revision: u64,
    /// Revision the last preview request was sent for.
    pub requested_revision: u64,
    /// Latest preview and the revision it belongs to.
    pub preview: Option<(u64, PlanPreview)>,
    /// Why the latest planning failed.
    pub preview_error: Option<String>,
    /// Vertex being dragged on the map.
    pub dragging: Option<usize>,
    /// No-fly zones (outer rings) the path must keep out of.
    pub no_fly: Vec<Vec<LatLon>>,
    /// The no-fly zone being drawn on the map (clicks add its vertices while this is set).
    pub drawing_no_fly: Option<Vec<LatLon>>,
    /// Why the zone being drawn cannot be finished.
    pub no_fly_error: Option<String>,
    /// Altitude above home or above the terrain.
    pub alt_mode: super::AltitudeMode,
    /// Above the terrain: the largest gap between the flown line and the AGL profile,
    /// metres (the clearance never falls below the altitude less it).
    pub terrain_tolerance_m: f64,
    /// Legs of the terrain profile closer to the ground than this are marked, metres.
    pub warn_clearance_m: f64,
}

impl Default for PlanEditor {
    fn default() -> Self {
        Self {
            vertices: Vec::new(),
            undo: Vec::new(),
            redo: Vec::new(),
            drawing: false,
            vertices_text: String::new(),
            vertices_error: None,
            name: "Survey".to_owned(),
            site: None,
            drone: None,
            pattern: FlightPattern::Lawnmower,
            params: MissionParams::default(),
            revision: 0,
            requested_revision: 0,
            preview: None,
            preview_error: None,
            dragging: None,
            no_fly: Vec::new(),
            drawing_no_fly: None,
            no_fly_error: None,
            alt_mode: super::AltitudeMode::AboveHome,
            terrain_tolerance_m: aviary_planner::terrain::DEFAULT_TOLERANCE_M,
            warn_clearance_m: 30.0,
        }
    }
}

impl PlanEditor {
    /// Replaces the polygon, remembering the old one for undo.
    pub fn set_vertices(&mut self, vertices: Vec<LatLon>) {
        if vertices == self.vertices {
            return;
        }
        let old = std::mem::replace(&mut self.vertices, vertices);
        self.undo.push(old);
        self.redo.clear();
        self.changed();
    }

    /// Starts an edit that happens in several steps (a drag): saves the polygon for undo once.
    pub fn begin_edit(&mut self) {
        self.undo.push(self.vertices.clone());
        self.redo.clear();
    }

    /// Marks the plan as changed (a new preview is needed) and refreshes the text form.
    pub fn changed(&mut self) {
        self.revision += 1;
        self.vertices_text = self
            .vertices
            .iter()
            .map(|p| format!("{:.6}, {:.6}", p.lat_deg, p.lon_deg))
            .collect::<Vec<_>>()
            .join("\n");
        self.vertices_error = None;
    }

    /// Undoes the last polygon change.
    pub fn undo(&mut self) -> bool {
        let Some(prev) = self.undo.pop() else {
            return false;
        };
        let cur = std::mem::replace(&mut self.vertices, prev);
        self.redo.push(cur);
        self.changed();
        true
    }

    /// Redoes an undone change.
    pub fn redo(&mut self) -> bool {
        let Some(next) = self.redo.pop() else {
            return false;
        };
        let cur = std::mem::replace(&mut self.vertices, next);
        self.undo.push(cur);
        self.changed();
        true
    }

    /// Parses the text form (`lat, lon` per line, or separated by `;`) into the polygon.
    pub fn apply_text(&mut self) {
        let parsed: Result<Vec<LatLon>, String> = self
            .vertices_text
            .split(['\n', ';'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .enumerate()
            .map(|(i, l)| {
                l.parse::<LatLon>()
                    .map_err(|e| format!("line {}: {e}", i + 1))
            })
            .collect();
        match parsed {
            Ok(v) if v.len() >= 3 || v.is_empty() => {
                self.set_vertices(v);
                self.vertices_error = None;
            }
            Ok(v) => {
                self.vertices_error = Some(format!(
                    "a polygon needs at least 3 vertices, got {}",
                    v.len()
                ));
            }
            Err(e) => self.vertices_error = Some(e),
        }
    }

    /// Starts drawing a no-fly zone on the map (area drawing stops meanwhile).
    pub fn start_no_fly(&mut self) {
        self.drawing = false;
        self.drawing_no_fly = Some(Vec::new());
        self.no_fly_error = None;
    }

    /// Adds a vertex to the zone being drawn.
    pub fn push_no_fly_vertex(&mut self, p: LatLon) {
        if let Some(zone) = &mut self.drawing_no_fly {
            zone.push(p);
            self.no_fly_error = None;
        }
    }

    /// Closes the zone being drawn and adds it: it needs at least 3 distinct vertices.
    pub fn finish_no_fly(&mut self) -> Result<(), String> {
        let Some(zone) = self.drawing_no_fly.take() else {
            return Err("no zone is being drawn".to_owned());
        };
        let mut distinct: Vec<LatLon> = Vec::with_capacity(zone.len());
        for p in &zone {
            if !distinct.contains(p) {
                distinct.push(*p);
            }
        }
        if distinct.len() < 3 {
            let e = format!(
                "a no-fly zone needs at least 3 distinct vertices, got {}",
                distinct.len()
            );
            self.no_fly_error = Some(e.clone());
            self.drawing_no_fly = Some(zone);
            return Err(e);
        }
        self.no_fly.push(zone);
        self.no_fly_error = None;
        self.revision += 1;
        Ok(())
    }

    /// Stops drawing a zone without adding it.
    pub fn cancel_no_fly(&mut self) {
        self.drawing_no_fly = None;
        self.no_fly_error = None;
    }

    /// Adds zones read from a file.
    pub fn add_no_fly(&mut self, zones: impl IntoIterator<Item = Vec<LatLon>>) {
        let before = self.no_fly.len();
        self.no_fly
            .extend(zones.into_iter().filter(|z| z.len() >= 3));
        if self.no_fly.len() != before {
            self.revision += 1;
        }
    }

    /// Removes zone `i`.
    pub fn remove_no_fly(&mut self, i: usize) {
        if i < self.no_fly.len() {
            self.no_fly.remove(i);
            self.revision += 1;
        }
    }

    /// The no-fly zones as areas for the planner.
    pub fn no_fly_areas(&self) -> Vec<SurveyArea> {
        self.no_fly
            .iter()
            .map(|z| SurveyArea {
                exterior: z.clone(),
                holes: Vec::new(),
            })
            .collect()
    }

    /// The polygon as a survey area.
    pub fn area(&self) -> SurveyArea {
        SurveyArea {
            exterior: self.vertices.clone(),
            holes: Vec::new(),
        }
    }

    /// The preview if it matches the current revision.
    pub fn current_preview(&self) -> Option<&PlanPreview> {
        self.preview
            .as_ref()
            .filter(|(rev, _)| *rev == self.revision)
            .map(|(_, p)| p)
    }

    /// Any preview, possibly stale (drawn while a new one is computed).
    pub fn any_preview(&self) -> Option<&PlanPreview> {
        self.preview.as_ref().map(|(_, p)| p)
    }
}

/// How far `home` is from the survey `area`, metres: 0 when it lies inside, else the distance
/// to the nearest edge (`None` without vertices). Beyond 100 km the nearest vertex is close
/// enough and a local frame would not be.
pub fn area_distance_m(area: &[LatLon], home: LatLon) -> Option<f64> {
    let nearest_vertex_m = area
        .iter()
        .map(|v| v.distance_m(home))
        .min_by(f64::total_cmp)?;
    if nearest_vertex_m > 100_000.0 {
        return Some(nearest_vertex_m);
    }
    let frame = aviary_planner::LocalFrame::new(home);
    let ring: Vec<_> = area.iter().map(|v| frame.to_local(*v)).collect();
    // Home is the frame's origin, (0, 0).
    let origin = frame.to_local(home);
    let edges = || ring.iter().zip(ring.iter().cycle().skip(1));
    // Even-odd rule: a ray from home towards +x crosses the boundary an odd number of times.
    let crossings = edges()
        .filter(|(a, b)| {
            (a.y > origin.y) != (b.y > origin.y)
                && a.x + (origin.y - a.y) * (b.x - a.x) / (b.y - a.y) > origin.x
        })
        .count();
    if ring.len() >= 3 && crossings % 2 == 1 {
        return Some(0.0);
    }
    edges()
        .map(|(a, b)| aviary_planner::frame::point_segment_distance_m(origin, *a, *b))
        .min_by(f64::total_cmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_distance_from_home_to_the_area() {
        let home = LatLon::new(51.92, 4.48);
        // A 200 m square whose west edge is 1 km east of home.
        let square = [
            home.offset_ne(-100.0, 1_000.0),
            home.offset_ne(-100.0, 1_200.0),
            home.offset_ne(100.0, 1_200.0),
            home.offset_ne(100.0, 1_000.0),
        ];
        let d = area_distance_m(&square, home).unwrap_or_default();
        // (offset_ne is spherical, the local frame ellipsoidal: they agree to 0.5 %.)
        assert!((d - 1_000.0).abs() < 5.0, "{d}");
        // Home inside the area.
        let around = [
            home.offset_ne(-100.0, -100.0),
            home.offset_ne(-100.0, 100.0),
            home.offset_ne(100.0, 100.0),
            home.offset_ne(100.0, -100.0),
        ];
        assert_eq!(area_distance_m(&around, home), Some(0.0));
        // Across the Atlantic: the nearest vertex.
        let far = [
            LatLon::new(40.7, -74.0),
            LatLon::new(40.7, -73.9),
            LatLon::new(40.8, -73.9),
        ];
        let d = area_distance_m(&far, home).unwrap_or_default();
        assert!((5_800_000.0..6_000_000.0).contains(&d), "{d}");
        assert_eq!(area_distance_m(&[], home), None);
    }

    #[test]
    fn plan_editor_undo_redo_and_text() {
        let mut e = PlanEditor::default();
        e.set_vertices(vec![
            LatLon::new(1.0, 2.0),
            LatLon::new(1.0, 3.0),
            LatLon::new(2.0, 3.0),
        ]);
        assert_eq!(e.revision, 1);
        assert!(e.vertices_text.starts_with("1.000000, 2.000000"));
        e.vertices_text = "10, 10\n10, 11\n11, 11\n11, 10".to_owned();
        e.apply_text();
        assert_eq!(e.vertices.len(), 4);
        assert!(e.undo());
        assert_eq!(e.vertices.len(), 3);
        assert!(e.redo());
        assert_eq!(e.vertices.len(), 4);
        e.vertices_text = "10, 10\n95, 0\n1,1".to_owned();
        e.apply_text();
        assert!(
            e.vertices_error
                .as_deref()
                .is_some_and(|m| m.contains("line 2")),
            "{:?}",
            e.vertices_error
        );
        assert_eq!(e.vertices.len(), 4, "a bad text leaves the polygon alone");
    }
}
