//! Map overlays as walkers [`Plugin`]s: trails, home points and sites, drones (heading arrow
//! in status colour), the planned path, the survey polygon (read-only or editable) and a
//! replay. Each draws through the [`Projector`]; positions never leave `LatLon` until then.

use super::drones::drone_dart;
use super::triangulate::triangulate;
use super::{PICK_RADIUS, mark_color, screen, status_color, to_position};
use crate::gui::state::{DroneView, PlanEditor, Replay};
use aviary_core::{DroneId, LatLon, Site, Waypoint, WaypointAction};
use egui::{Align2, Color32, FontId, Mesh, PointerButton, Pos2, Response, Shape, Stroke, Ui, Vec2};
use std::collections::BTreeMap;
use walkers::{MapMemory, Plugin, Projector};

/// Largest error, screen points, that [`LocalProjector`] accepts from extrapolating.
const LOCAL_MAX_ERROR_PX: f64 = 0.05;

/// The projector linearised around an anchor point: one exact projection (plus two for the
/// Jacobian) per anchor, then two multiply-adds per point. A drone's trail spans a few hundred
/// metres, so a 300-sample trail costs three projections instead of three hundred `tan` and
/// `asinh` calls. Points farther from the anchor than the step whose Mercator curvature error
/// reaches [`LOCAL_MAX_ERROR_PX`] move it (≈ 2.5 km at zoom 14 in San Francisco, ≈ 150 m at
/// zoom 19 in Tromsø).
pub struct LocalProjector<'a, 'p> {
    projector: &'a Projector<'p>,
    anchor: Option<Anchor>,
}

#[derive(Clone, Copy)]
struct Anchor {
    at: LatLon,
    /// Largest latitude or longitude step from `at`, degrees.
    step_deg: f64,
    screen: Pos2,
    /// Screen points per degree of longitude (x, y).
    per_lon: Vec2,
    /// Screen points per degree of latitude (x, y).
    per_lat: Vec2,
}

impl<'a, 'p> LocalProjector<'a, 'p> {
    /// A linearised view of `projector`.
    pub fn new(projector: &'a Projector<'p>) -> Self {
        Self {
            projector,
            anchor: None,
        }
    }

    /// Screen position of `p`.
    pub fn project(&mut self, p: LatLon) -> Pos2 {
        let anchor = match self.anchor {
            Some(a)
                if (p.lat_deg - a.at.lat_deg).abs() <= a.step_deg
                    && (p.lon_deg - a.at.lon_deg).abs() <= a.step_deg =>
            {
                a
            }
            _ => *self.anchor.insert(self.anchor_at(p)),
        };
        let d_lat = (p.lat_deg - anchor.at.lat_deg) as f32;
        let d_lon = (p.lon_deg - anchor.at.lon_deg) as f32;
        anchor.screen + anchor.per_lon * d_lon + anchor.per_lat * d_lat
    }

    fn anchor_at(&self, p: LatLon) -> Anchor {
        // Central differences of the projection in f64 (its pixels, before the f32 screen).
        const H: f64 = 1e-4;
        let projection = self.projector.projection();
        let zoom = self.projector.zoom();
        let at = |lat: f64, lon: f64| projection.project(walkers::lat_lon(lat, lon), zoom);
        let (east, west) = (at(p.lat_deg, p.lon_deg + H), at(p.lat_deg, p.lon_deg - H));
        let (north, south) = (at(p.lat_deg + H, p.lon_deg), at(p.lat_deg - H, p.lon_deg));
        let per = |plus: f64, minus: f64| ((plus - minus) / (2.0 * H)) as f32;
        // Web Mercator: y'' = T / 2π · sec φ · tan φ per radian² (T: world width in pixels);
        // the error of a step Δ is y'' Δ² / 2.
        let phi = p.lat_deg.to_radians().clamp(-1.5, 1.5);
        let world_px = 256.0 * zoom.exp2();
        let curvature = world_px / std::f64::consts::TAU * (phi.tan().abs() / phi.cos()).max(0.05);
        let step_deg = (2.0 * LOCAL_MAX_ERROR_PX / curvature)
            .sqrt()
            .to_degrees()
            .clamp(1e-6, 0.02);
        Anchor {
            at: p,
            step_deg,
            screen: screen(self.projector, p),
            per_lon: Vec2::new(per(east.x(), west.x()), per(east.y(), west.y())),
            per_lat: Vec2::new(per(north.x(), south.x()), per(north.y(), south.y())),
        }
    }
}

/// Projects a polyline, dropping points closer than `min_px` to the previous kept one (a
/// zoomed-out trail of 600 samples is a handful of pixels); the last point is always kept.
/// Projection goes through a [`LocalProjector`], so a point costs two multiply-adds and a
/// squared distance: no transcendental function per point, which was the largest cost of a
/// 1,000-drone frame.
pub fn project_decimated(
    projector: &Projector,
    points: impl Iterator<Item = LatLon>,
    min_px: f32,
) -> Vec<Pos2> {
    let mut local = LocalProjector::new(projector);
    let min_px2 = min_px * min_px;
    let mut out: Vec<Pos2> = Vec::new();
    let mut pending: Option<Pos2> = None;
    for p in points {
        let q = local.project(p);
        match out.last() {
            Some(l) if l.distance_sq(q) < min_px2 => pending = Some(q),
            _ => {
                out.push(q);
                pending = None;
            }
        }
    }
    if let Some(q) = pending {
        out.push(q);
    }
    out
}

// --- trails --------------------------------------------------------------------------------

/// Recent track of every drone.
pub struct TrailsOverlay<'a> {
    /// Drones.
    pub drones: &'a BTreeMap<DroneId, DroneView>,
    /// Thinned trails kept between frames.
    pub cache: &'a mut TrailCache,
}

/// Trail line width, points.
const TRAIL_WIDTH: f32 = 2.0;
/// Smallest distance between drawn trail points, points.
const TRAIL_MIN_PX: f64 = 2.0;

/// Every drone's trail thinned to [`TRAIL_MIN_PX`] in world pixels (Web Mercator pixels of
/// the whole world at the map's zoom), kept between frames. A frame only thins the positions
/// that arrived since the last one, drops the ones that left the trail, and shifts the rest
/// onto the screen: panning costs nothing, a zoom change rebuilds. With 1,000 drones the trails
/// hold 600,000 positions; thinning them all every frame was most of the frame.
#[derive(Debug, Default)]
pub struct TrailCache {
    zoom: f64,
    trails: BTreeMap<DroneId, ThinTrail>,
}

#[derive(Debug, Default)]
struct ThinTrail {
    /// Kept points: (position number in the drone's trail, world pixels).
    kept: std::collections::VecDeque<(u64, [f64; 2])>,
    /// The newest position when it is too close to the last kept one to keep.
    pending: Option<[f64; 2]>,
    /// Positions up to this number have been seen.
    seen: u64,
}

impl ThinTrail {
    fn update(&mut self, d: &DroneView, world: &mut impl FnMut(LatLon) -> [f64; 2]) {
        let first = d.trail_pushed - d.trail.len() as u64;
        if self.seen > d.trail_pushed {
            // The drone's trail was replaced (fewer positions than seen): start again.
            *self = Self::default();
        }
        while self.kept.front().is_some_and(|(n, _)| *n < first) {
            self.kept.pop_front();
        }
        // The oldest remaining position always starts the line.
        if let Some(p) = d.trail.front()
            && self.kept.front().is_none_or(|(n, _)| *n > first)
            && self.seen > first
        {
            self.kept.push_front((first, world(*p)));
        }
        let new_from = self.seen.max(first);
        let skip = usize::try_from(new_from - first).unwrap_or(usize::MAX);
        for (i, p) in d.trail.iter().enumerate().skip(skip) {
            let n = first + i as u64;
            let q = world(*p);
            match self.kept.back() {
                Some((_, l))
                    if (l[0] - q[0]).powi(2) + (l[1] - q[1]).powi(2)
                        < TRAIL_MIN_PX * TRAIL_MIN_PX =>
                {
                    self.pending = Some(q);
                }
                _ => {
                    self.kept.push_back((n, q));
                    self.pending = None;
                }
            }
        }
        self.seen = d.trail_pushed;
    }
}

impl Plugin for TrailsOverlay<'_> {
    fn run(
        self: Box<Self>,
        ui: &mut Ui,
        _response: &Response,
        projector: &Projector,
        _memory: &MapMemory,
    ) {
        let zoom = projector.zoom();
        let cache = self.cache;
        if (cache.zoom - zoom).abs() > f64::EPSILON {
            cache.zoom = zoom;
            cache.trails.clear();
        }
        cache.trails.retain(|id, _| self.drones.contains_key(id));
        // World pixels to screen: a shift, taken from one exactly projected point.
        let Some(origin) = self.drones.values().find_map(|d| d.trail.back().copied()) else {
            return;
        };
        let o_world = projector.projection().project(to_position(origin), zoom);
        let o_screen = screen(projector, origin);
        let shift = [
            f64::from(o_screen.x) - o_world.x(),
            f64::from(o_screen.y) - o_world.y(),
        ];
        // New positions go through the linearised projector (no transcendental per point),
        // then back to world pixels.
        let mut local = LocalProjector::new(projector);
        let mut world = |p: LatLon| {
            let q = local.project(p);
            [f64::from(q.x) - shift[0], f64::from(q.y) - shift[1]]
        };
        let to_screen =
            |w: &[f64; 2]| Pos2::new((w[0] + shift[0]) as f32, (w[1] + shift[1]) as f32);
        let clip = projector.clip_rect().expand(50.0);
        // Every trail goes into one mesh that epaint copies as it is: a stroked path per drone
        // (epaint's general tessellator, feathering included) was two thirds of a 1,000-drone
        // frame.
        let mut mesh = Mesh::default();
        let mut pts: Vec<Pos2> = Vec::new();
        for (id, d) in self.drones {
            if d.trail.len() < 2 {
                continue;
            }
            let thin = cache.trails.entry(*id).or_default();
            thin.update(d, &mut world);
            pts.clear();
            pts.extend(thin.kept.iter().map(|(_, w)| to_screen(w)));
            if let Some(w) = &thin.pending {
                pts.push(to_screen(w));
            }
            if pts.len() < 2 || !pts.iter().any(|p| clip.contains(*p)) {
                continue;
            }
            let c = status_color(d.drone.status).gamma_multiply(0.7);
            add_polyline(&mut mesh, &pts, TRAIL_WIDTH, c);
        }
        if !mesh.is_empty() {
            ui.painter().add(Shape::mesh(mesh));
        }
    }
}

/// Appends an anti-aliased open polyline of `width` points to `mesh`: per point two vertices
/// of the line's colour half a point inside each edge and two transparent ones half a point
/// outside (a one-point feather, as epaint draws strokes), joined with mitres limited to twice
/// the width.
pub fn add_polyline(mesh: &mut Mesh, pts: &[Pos2], width: f32, color: Color32) {
    let n = pts.len();
    if n < 2 {
        return;
    }
    let Ok(base) = u32::try_from(mesh.vertices.len()) else {
        return;
    };
    let inner = (width * 0.5 - 0.5).max(0.0);
    let outer = width * 0.5 + 0.5;
    let clear = Color32::TRANSPARENT;
    let uv = egui::epaint::WHITE_UV;
    mesh.vertices.reserve(4 * n);
    mesh.indices.reserve(18 * (n - 1));
    let dir = |a: Pos2, b: Pos2| (b - a).normalized();
    for i in 0..n {
        let d_in = if i > 0 {
            dir(pts[i - 1], pts[i])
        } else {
            dir(pts[0], pts[1])
        };
        let d_out = if i + 1 < n {
            dir(pts[i], pts[i + 1])
        } else {
            d_in
        };
        let n_in = d_in.rot90();
        let n_out = d_out.rot90();
        let sum = n_in + n_out;
        // Mitre: the bisector scaled so the edges keep their distance; a reversal (sum ≈ 0)
        // falls back to the incoming normal.
        let normal = if sum.length_sq() < 1e-6 {
            n_in
        } else {
            let m = sum.normalized();
            let cos = m.dot(n_in).max(0.5);
            m / cos
        };
        let p = pts[i];
        for (offset, c) in [
            (-outer, clear),
            (-inner, color),
            (inner, color),
            (outer, clear),
        ] {
            mesh.vertices.push(egui::epaint::Vertex {
                pos: p + normal * offset,
                uv,
                color: c,
            });
        }
    }
    for i in 0..(n - 1) as u32 {
        let a = base + 4 * i;
        let b = a + 4;
        for k in 0..3 {
            mesh.indices
                .extend_from_slice(&[a + k, a + k + 1, b + k, a + k + 1, b + k + 1, b + k]);
        }
    }
}

// --- homes and sites -----------------------------------------------------------------------

/// Home points of drones and site names.
pub struct HomesOverlay<'a> {
    /// Drones.
    pub drones: &'a BTreeMap<DroneId, DroneView>,
    /// Sites.
    pub sites: &'a [Site],
}

impl Plugin for HomesOverlay<'_> {
    fn run(
        self: Box<Self>,
        ui: &mut Ui,
        _response: &Response,
        projector: &Projector,
        _memory: &MapMemory,
    ) {
        let clip = projector.clip_rect();
        let painter = ui.painter();
        if projector.zoom() >= 13.0 {
            // Homes are decluttered as the drones are: where they crowd into a cluster's cell
            // they would be a smear of outlines under the cluster (and a thousand of them
            // cost the frame more than the rest of the map), so only uncrowded ones show.
            let homes: Vec<Pos2> = self
                .drones
                .values()
                .map(|d| screen(projector, d.drone.home))
                .filter(|p| clip.contains(*p))
                .collect();
            let stroke = Stroke::new(1.5, Color32::from_rgb(0x55, 0x33, 0x88));
            for i in super::drones::group(&homes, None).singles {
                let r = egui::Rect::from_center_size(homes[i], Vec2::splat(7.0));
                painter.rect_stroke(r, 0.0, stroke, egui::StrokeKind::Middle);
            }
        }
        for s in self.sites {
            let p = screen(projector, s.location);
            if !clip.contains(p) {
                continue;
            }
            painter.circle(
                p,
                5.0,
                Color32::from_rgb(0x55, 0x33, 0x88),
                Stroke::new(1.5, Color32::WHITE),
            );
            let text = painter.layout_no_wrap(
                s.name.clone(),
                FontId::proportional(13.0),
                Color32::from_rgb(0x30, 0x20, 0x50),
            );
            let pos = p + Vec2::new(-10.0 - text.size().x, -18.0);
            let bg = egui::Rect::from_min_size(pos, text.size()).expand(3.0);
            painter.rect_filled(bg, 3.0, Color32::from_white_alpha(220));
            painter.galley(pos, text, Color32::BLACK);
        }
    }
}

// --- planned path ----------------------------------------------------------------------------

/// A planned mission path with its start and current waypoint.
pub struct PathOverlay<'a> {
    /// Mission items.
    pub waypoints: &'a [Waypoint],
    /// Line colour.
    pub color: Color32,
    /// Index of the waypoint being flown.
    pub current: Option<usize>,
}

impl Plugin for PathOverlay<'_> {
    fn run(
        self: Box<Self>,
        ui: &mut Ui,
        _response: &Response,
        projector: &Projector,
        _memory: &MapMemory,
    ) {
        let pts = project_decimated(
            projector,
            self.waypoints
                .iter()
                .filter(|w| !matches!(w.action, WaypointAction::CameraTriggerStop))
                .map(|w| w.pos),
            1.5,
        );
        if pts.len() < 2 {
            return;
        }
        let painter = ui.painter();
        painter.add(Shape::line(pts.clone(), Stroke::new(2.0, self.color)));
        if let Some(first) = pts.first() {
            painter.circle(
                *first,
                5.0,
                Color32::from_rgb(0x2e, 0x9e, 0x44),
                Stroke::new(1.5, Color32::WHITE),
            );
        }
        if let Some(last) = pts.last() {
            painter.circle(
                *last,
                5.0,
                Color32::from_rgb(0xc0, 0x39, 0x2b),
                Stroke::new(1.5, Color32::WHITE),
            );
        }
        if let Some(w) = self.current.and_then(|i| self.waypoints.get(i)) {
            let p = screen(projector, w.pos);
            painter.circle_stroke(
                p,
                8.0,
                Stroke::new(2.5, Color32::from_rgb(0xff, 0x8c, 0x00)),
            );
        }
    }
}

// --- survey polygon --------------------------------------------------------------------------

fn fill_polygon(pts: &[Pos2], color: Color32) -> Shape {
    let coords: Vec<[f64; 2]> = pts
        .iter()
        .map(|p| [f64::from(p.x), f64::from(p.y)])
        .collect();
    let mut mesh = Mesh::default();
    for p in pts {
        mesh.colored_vertex(*p, color);
    }
    for t in triangulate(&coords) {
        mesh.add_triangle(t[0], t[1], t[2]);
    }
    Shape::mesh(mesh)
}

const SURVEY_FILL: Color32 = Color32::from_rgba_premultiplied(0x20, 0x50, 0x80, 0x40);
const SURVEY_EDGE: Color32 = Color32::from_rgb(0x1a, 0x4f, 0x8a);
const NO_FLY_FILL: Color32 = Color32::from_rgba_premultiplied(0x70, 0x10, 0x10, 0x60);
const NO_FLY_EDGE: Color32 = Color32::from_rgb(0xc0, 0x20, 0x20);

/// A survey polygon, read-only.
pub struct SurveyOverlay<'a> {
    /// Vertices.
    pub vertices: &'a [LatLon],
}

impl Plugin for SurveyOverlay<'_> {
    fn run(
        self: Box<Self>,
        ui: &mut Ui,
        _response: &Response,
        projector: &Projector,
        _memory: &MapMemory,
    ) {
        if self.vertices.len() < 2 {
            return;
        }
        let pts: Vec<Pos2> = self
            .vertices
            .iter()
            .map(|p| screen(projector, *p))
            .collect();
        let painter = ui.painter();
        if pts.len() >= 3 {
            painter.add(fill_polygon(&pts, SURVEY_FILL));
        }
        let mut closed = pts;
        if let Some(f) = closed.first().copied() {
            closed.push(f);
        }
        painter.add(Shape::line(closed, Stroke::new(2.0, SURVEY_EDGE)));
    }
}

/// The Plan editor's polygon: click adds a vertex (when drawing), drag moves one, a click on
/// an edge's midpoint handle inserts one, a right click deletes one.
pub struct PlanEditOverlay<'a> {
    /// The editor.
    pub editor: &'a mut PlanEditor,
}

impl Plugin for PlanEditOverlay<'_> {
    fn run(
        self: Box<Self>,
        ui: &mut Ui,
        response: &Response,
        projector: &Projector,
        _memory: &MapMemory,
    ) {
        let ed = self.editor;
        if ed.drawing_no_fly.is_some()
            && response.clicked_by(PointerButton::Primary)
            && let Some(pos) = response.interact_pointer_pos()
        {
            ed.push_no_fly_vertex(super::from_position(projector.unproject(pos.to_vec2())));
        }
        let pts: Vec<Pos2> = ed.vertices.iter().map(|p| screen(projector, *p)).collect();
        let n = pts.len();
        let mids: Vec<Pos2> = (0..n)
            .filter(|_| n >= 3)
            .map(|i| pts[i].lerp(pts[(i + 1) % n], 0.5))
            .collect();
        let near = |list: &[Pos2], at: Pos2| {
            list.iter()
                .enumerate()
                .map(|(i, p)| (i, p.distance(at)))
                .filter(|(_, d)| *d < PICK_RADIUS)
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
        };
        if ed.drawing {
            let to_latlon = |p: Pos2| super::from_position(projector.unproject(p.to_vec2()));
            if response.drag_started_by(PointerButton::Primary)
                && let Some(origin) = ui.input(|i| i.pointer.press_origin())
                && let Some(i) = near(&pts, origin)
            {
                ed.begin_edit();
                ed.dragging = Some(i);
            }
            if let (Some(i), Some(pos)) = (ed.dragging, response.interact_pointer_pos())
                && response.dragged_by(PointerButton::Primary)
                && i < ed.vertices.len()
            {
                ed.vertices[i] = to_latlon(pos);
            }
            if response.drag_stopped() && ed.dragging.take().is_some() {
                ed.changed();
            }
            if response.clicked_by(PointerButton::Primary)
                && let Some(pos) = response.interact_pointer_pos()
            {
                if near(&pts, pos).is_some() {
                    // A click on a vertex does nothing (drag it, right-click deletes it).
                } else if let Some(i) = near(&mids, pos) {
                    let mut v = ed.vertices.clone();
                    v.insert(i + 1, to_latlon(mids[i]));
                    ed.set_vertices(v);
                } else {
                    let mut v = ed.vertices.clone();
                    v.push(to_latlon(pos));
                    ed.set_vertices(v);
                }
            }
            if response.clicked_by(PointerButton::Secondary)
                && let Some(pos) = response.interact_pointer_pos()
                && let Some(i) = near(&pts, pos)
            {
                let mut v = ed.vertices.clone();
                v.remove(i);
                ed.set_vertices(v);
            }
        }
        // Draw after editing so the frame shows the new shape.
        let pts: Vec<Pos2> = ed.vertices.iter().map(|p| screen(projector, *p)).collect();
        let painter = ui.painter();
        if pts.len() >= 3 {
            painter.add(fill_polygon(&pts, SURVEY_FILL));
        }
        if pts.len() >= 2 {
            let mut closed = pts.clone();
            if pts.len() >= 3
                && let Some(f) = closed.first().copied()
            {
                closed.push(f);
            }
            painter.add(Shape::line(closed, Stroke::new(2.0, SURVEY_EDGE)));
        }
        if ed.drawing {
            let n = pts.len();
            if n >= 3 {
                for i in 0..n {
                    let m = pts[i].lerp(pts[(i + 1) % n], 0.5);
                    painter.circle(
                        m,
                        4.0,
                        Color32::from_white_alpha(200),
                        Stroke::new(1.0, SURVEY_EDGE),
                    );
                }
            }
            for (i, p) in pts.iter().enumerate() {
                let r = if ed.dragging == Some(i) { 8.0 } else { 6.0 };
                painter.circle(*p, r, Color32::WHITE, Stroke::new(2.0, SURVEY_EDGE));
            }
            if n < 3 {
                let hint = "Click on the map to add polygon vertices";
                let at = projector.clip_rect().center_top() + Vec2::new(0.0, 40.0);
                let g = painter.layout_no_wrap(
                    hint.to_owned(),
                    FontId::proportional(15.0),
                    Color32::WHITE,
                );
                let r = Align2::CENTER_CENTER.anchor_size(at, g.size()).expand(8.0);
                painter.rect_filled(r, 6.0, Color32::from_black_alpha(170));
                painter.galley(r.min + Vec2::splat(8.0), g, Color32::WHITE);
            }
        } else {
            for p in &pts {
                painter.circle_filled(*p, 3.0, SURVEY_EDGE);
            }
        }
        paint_no_fly(painter, projector, &ed.no_fly, ed.drawing_no_fly.as_deref());
    }
}

/// No-fly zones in red, and the zone being drawn with its vertices and a hint.
fn paint_no_fly(
    painter: &egui::Painter,
    projector: &Projector,
    zones: &[Vec<LatLon>],
    drawing: Option<&[LatLon]>,
) {
    for zone in zones {
        let pts: Vec<Pos2> = zone.iter().map(|p| screen(projector, *p)).collect();
        if pts.len() < 3 {
            continue;
        }
        painter.add(fill_polygon(&pts, NO_FLY_FILL));
        let mut closed = pts.clone();
        closed.push(pts[0]);
        painter.add(Shape::line(closed, Stroke::new(2.0, NO_FLY_EDGE)));
    }
    let Some(zone) = drawing else {
        return;
    };
    let pts: Vec<Pos2> = zone.iter().map(|p| screen(projector, *p)).collect();
    if pts.len() >= 3 {
        painter.add(fill_polygon(&pts, NO_FLY_FILL));
    }
    if pts.len() >= 2 {
        painter.add(Shape::dashed_line(
            &pts,
            Stroke::new(2.0, NO_FLY_EDGE),
            8.0,
            5.0,
        ));
    }
    for p in &pts {
        painter.circle(*p, 5.0, Color32::WHITE, Stroke::new(2.0, NO_FLY_EDGE));
    }
    let hint = "Click on the map to add no-fly zone vertices, then Finish zone";
    let at = projector.clip_rect().center_top() + Vec2::new(0.0, 40.0);
    let g = painter.layout_no_wrap(hint.to_owned(), FontId::proportional(15.0), Color32::WHITE);
    let r = Align2::CENTER_CENTER.anchor_size(at, g.size()).expand(8.0);
    painter.rect_filled(
        r,
        6.0,
        Color32::from_rgba_premultiplied(0x60, 0x10, 0x10, 0xd0),
    );
    painter.galley(r.min + Vec2::splat(8.0), g, Color32::WHITE);
}

// --- replay ----------------------------------------------------------------------------------

/// A replay: the flown track up to the playhead, the rest faint, the flight modes where they
/// changed, and the drone.
pub struct ReplayOverlay<'a> {
    /// The replay.
    pub replay: &'a Replay,
}

impl Plugin for ReplayOverlay<'_> {
    fn run(
        self: Box<Self>,
        ui: &mut Ui,
        _response: &Response,
        projector: &Projector,
        _memory: &MapMemory,
    ) {
        let r = self.replay;
        if r.samples.is_empty() {
            return;
        }
        let i = r.index_at_playhead();
        let painter = ui.painter();
        let all = project_decimated(projector, r.samples.iter().map(|s| s.pos), 2.0);
        painter.add(Shape::line(
            all,
            Stroke::new(1.5, Color32::from_black_alpha(70)),
        ));
        let flown = project_decimated(projector, r.samples[..=i].iter().map(|s| s.pos), 2.0);
        painter.add(Shape::line(
            flown,
            Stroke::new(3.0, Color32::from_rgb(0xd3, 0x2f, 0x8a)),
        ));
        // Where the mode (or phase) changed along the track: a dot and its name; a name that
        // would cover one already drawn (changes at one spot) is left to the timeline.
        let labelled = r.timeline.len() <= 60;
        let mut named: Vec<Pos2> = Vec::new();
        for m in &r.timeline {
            let k = r
                .samples
                .partition_point(|s| s.time < m.time)
                .min(r.samples.len() - 1);
            let at = screen(projector, r.samples[k].pos);
            let color = mark_color(&m.label);
            painter.circle(at, 4.5, color, Stroke::new(1.5, Color32::WHITE));
            if labelled && named.iter().all(|n| n.distance(at) > 24.0) {
                named.push(at);
                painter.text(
                    at + Vec2::new(7.0, -7.0),
                    egui::Align2::LEFT_BOTTOM,
                    &m.label,
                    egui::FontId::proportional(11.0),
                    color,
                );
            }
        }
        let s = r.samples[i];
        let p = screen(projector, s.pos);
        let halves = drone_dart(p, s.heading_deg, 13.0);
        for half in halves {
            painter.add(Shape::convex_polygon(
                half.to_vec(),
                Color32::from_rgb(0xd3, 0x2f, 0x8a),
                Stroke::NONE,
            ));
        }
        let [[tip, right, notch], [_, _, left]] = halves;
        painter.add(Shape::closed_line(
            vec![tip, right, notch, left],
            Stroke::new(1.5, Color32::WHITE),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn projector_at(
        projection: &walkers::MercatorProjection,
        centre: LatLon,
        zoom: f64,
    ) -> Projector<'_> {
        let mut memory = MapMemory::default();
        assert!(memory.set_zoom(zoom).is_ok());
        Projector::new(
            egui::Rect::from_min_size(Pos2::ZERO, Vec2::new(1440.0, 900.0)),
            projection,
            &memory,
            to_position(centre),
        )
    }

    #[test]
    fn local_projection_matches_the_exact_one_within_a_tenth_of_a_point() {
        let projection = walkers::MercatorProjection;
        // High latitude (strong Mercator curvature), mid latitude, southern hemisphere.
        for centre in [
            LatLon::new(69.65, 18.96),
            LatLon::new(37.77, -122.42),
            LatLon::new(-33.87, 151.21),
        ] {
            for zoom in [6.0, 14.0, 19.0] {
                let projector = projector_at(&projection, centre, zoom);
                let mut local = LocalProjector::new(&projector);
                let mut worst_px = 0.0_f32;
                // A 3 km wavy track in 2 m steps, so anchors move several times.
                for k in 0..1500 {
                    let t = f64::from(k);
                    let p = centre.offset_ne(2.0 * t, 40.0 * (t / 25.0).sin());
                    let exact = screen(&projector, p);
                    worst_px = worst_px.max(exact.distance(local.project(p)));
                }
                assert!(
                    worst_px < 0.1,
                    "zoom {zoom} at {centre:?}: local projection off by {worst_px} px"
                );
            }
        }
    }

    #[test]
    fn trail_cache_follows_a_moving_trail_like_a_fresh_thinning() {
        let home = LatLon::new(51.92, 4.48);
        let drone = aviary_core::Drone {
            id: DroneId::new_random(),
            site_id: aviary_core::SiteId::new_random(),
            serial_number: "T".into(),
            model: "t".into(),
            status: aviary_core::DroneStatus::InMission,
            battery_pct: 90,
            last_seen: None,
            home,
            firmware_version: "t".into(),
            link: None,
            created_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
        };
        let mut d = DroneView::new(drone.clone(), "s".into());
        // One world pixel per metre north, 1.3 per metre east.
        let mut world = |p: LatLon| {
            let ne = (p.lat_deg - home.lat_deg) * 111_000.0;
            let e = (p.lon_deg - home.lon_deg) * 68_500.0;
            [e * 1.3, -ne]
        };
        let mut cached = ThinTrail::default();
        let mut k = 0_u32;
        // 1,000 positions arrive in bursts; the trail keeps the newest 600.
        while k < 1_000 {
            for _ in 0..13 {
                let t = f64::from(k);
                let mut s = d.live.unwrap_or(aviary_core::TelemetrySample {
                    time: drone.created_at,
                    mission_id: None,
                    drone_id: drone.id,
                    pos: home,
                    alt_rel_m: 0.0,
                    speed_mps: 0.0,
                    heading_deg: 0.0,
                    battery_pct: 90.0,
                    signal_pct: 90.0,
                    status: aviary_core::DroneStatus::InMission,
                });
                s.pos = home.offset_ne(t * 0.7, 20.0 * (t / 30.0).sin());
                d.push_sample(s);
                k += 1;
            }
            cached.update(&d, &mut world);
            let mut fresh = ThinTrail::default();
            fresh.update(&d, &mut world);
            let pts = |t: &ThinTrail| {
                let mut v: Vec<[f64; 2]> = t.kept.iter().map(|(_, w)| *w).collect();
                v.extend(t.pending);
                v
            };
            let (c, f) = (pts(&cached), pts(&fresh));
            // Same ends, same spacing rule after the first point, about the same count.
            let oldest = world(d.trail[0]);
            let newest = world(d.trail[d.trail.len() - 1]);
            assert_eq!(c.first(), Some(&oldest));
            assert_eq!(c.last(), Some(&newest));
            for w in c.windows(2).skip(1).take(c.len().saturating_sub(3)) {
                let gap = ((w[0][0] - w[1][0]).powi(2) + (w[0][1] - w[1][1]).powi(2)).sqrt();
                assert!(gap >= TRAIL_MIN_PX - 1e-9, "gap {gap} after {k} positions");
            }
            assert!(c.len().abs_diff(f.len()) <= 2, "{} vs {}", c.len(), f.len());
        }
        assert_eq!(d.trail.len(), crate::gui::state::TRAIL_POINTS_MAX);
    }

    #[test]
    fn decimation_keeps_ends_and_spacing() {
        let projection = walkers::MercatorProjection;
        let centre = LatLon::new(51.92, 4.48);
        let projector = projector_at(&projection, centre, 16.0);
        let track: Vec<LatLon> = (0..600)
            .map(|k| centre.offset_ne(f64::from(k) * 0.5, 0.0))
            .collect();
        let pts = project_decimated(&projector, track.iter().copied(), 2.0);
        let first = screen(&projector, track[0]);
        let last = screen(&projector, track[599]);
        assert!(pts[0].distance(first) < 0.05);
        assert!(pts[pts.len() - 1].distance(last) < 0.05);
        for w in pts.windows(2).take(pts.len() - 2) {
            assert!(w[0].distance(w[1]) >= 2.0 - 1e-3, "{w:?}");
        }
        // 300 m at zoom 16 (≈ 1.47 m per point here) is ≈ 200 points long: about 100 kept.
        assert!((80..=130).contains(&pts.len()), "{} points kept", pts.len());
    }
}
