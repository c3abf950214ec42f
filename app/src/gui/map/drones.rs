//! The drones on the map: a notched dart per drone pointing where it heads, in its status
//! colour; drones crowded into one spot of the screen drawn as one counted cluster (a click
//! zooms in on it); names placed only where they do not cover another name, so zooming in
//! shows more of them.

use super::{PICK_RADIUS, screen, status_color};
use crate::gui::state::DroneView;
use aviary_core::{DroneId, LatLon};
use egui::{Color32, FontId, PointerButton, Pos2, Response, Shape, Stroke, Ui, Vec2};
use std::collections::{BTreeMap, HashMap, HashSet};
use walkers::{MapMemory, Plugin, Projector};

/// Side of the screen cells drones are grouped by, points.
pub const CLUSTER_CELL_PX: f32 = 56.0;
/// A cell with at least this many drones is drawn as one cluster.
pub const CLUSTER_MIN: usize = 6;
/// Width of one character of a drone's name at 12 pt, points (an upper estimate).
const NAME_CHAR_PX: f32 = 7.5;
/// Height of a drone's name at 12 pt, points.
const NAME_HEIGHT_PX: f32 = 15.0;
/// Side of the cells that keep names apart, points.
const LABEL_CELL_PX: f32 = 12.0;

/// The dart of a drone at `p` heading `heading_deg` (clockwise from north): a long tip and a
/// notched tail, so its direction reads at a glance (a near-equilateral triangle does not).
/// Two convex halves: tip, right wing, notch; tip, notch, left wing.
pub fn drone_dart(p: Pos2, heading_deg: f64, size: f32) -> [[Pos2; 3]; 2] {
    let h = heading_deg.to_radians() as f32;
    let dir = Vec2::new(h.sin(), -h.cos());
    let side = Vec2::new(-dir.y, dir.x);
    let tip = p + dir * size;
    let notch = p - dir * size * 0.35;
    let right = p - dir * size * 0.8 + side * size * 0.6;
    let left = p - dir * size * 0.8 - side * size * 0.6;
    [[tip, right, notch], [tip, notch, left]]
}

/// Drones grouped for drawing: the crowded cells' clusters and the drones drawn alone.
#[derive(Debug, Default, PartialEq)]
pub struct Grouped {
    /// One entry per crowded cell: the indices of its drones.
    pub clusters: Vec<Vec<usize>>,
    /// Indices of drones drawn one by one.
    pub singles: Vec<usize>,
}

/// Groups screen points by [`CLUSTER_CELL_PX`] cells; a cell with [`CLUSTER_MIN`] or more
/// becomes a cluster except for `keep` (the selected drone), which is always drawn alone.
pub fn group(points: &[Pos2], keep: Option<usize>) -> Grouped {
    let mut cells: HashMap<(i32, i32), Vec<usize>> = HashMap::new();
    for (i, p) in points.iter().enumerate() {
        if Some(i) == keep {
            continue;
        }
        let cell = (
            (p.x / CLUSTER_CELL_PX).floor() as i32,
            (p.y / CLUSTER_CELL_PX).floor() as i32,
        );
        cells.entry(cell).or_default().push(i);
    }
    let mut out = Grouped::default();
    for (_, members) in cells {
        if members.len() >= CLUSTER_MIN {
            out.clusters.push(members);
        } else {
            out.singles.extend(members);
        }
    }
    out.singles.extend(keep);
    // Stable drawing order whatever the hash map's.
    out.clusters.sort_by_key(|m| m[0]);
    out.singles.sort_unstable();
    out
}

/// Every drone: a dart in its status colour, clusters where crowded; a click picks a drone or
/// zooms in on a cluster.
pub struct DronesOverlay<'a> {
    /// Drones.
    pub drones: &'a BTreeMap<DroneId, DroneView>,
    /// Highlighted drone.
    pub selected: Option<DroneId>,
    /// Set to the drone under a click.
    pub picked: &'a mut Option<DroneId>,
    /// Set to the box of a clicked cluster, for the map to zoom in on.
    pub focus: &'a mut Option<(LatLon, LatLon)>,
}

impl Plugin for DronesOverlay<'_> {
    fn run(
        self: Box<Self>,
        ui: &mut Ui,
        response: &Response,
        projector: &Projector,
        _memory: &MapMemory,
    ) {
        let clip = projector.clip_rect().expand(20.0);
        let mut shown: Vec<(Pos2, DroneId, &DroneView)> = Vec::new();
        for (id, d) in self.drones {
            let p = screen(projector, d.position());
            if clip.contains(p) {
                shown.push((p, *id, d));
            }
        }
        let points: Vec<Pos2> = shown.iter().map(|(p, _, _)| *p).collect();
        let keep = shown
            .iter()
            .position(|(_, id, _)| Some(*id) == self.selected);
        let grouped = group(&points, keep);
        let click = if response.clicked_by(PointerButton::Primary) {
            response.interact_pointer_pos()
        } else {
            None
        };
        let painter = ui.painter();
        let mut shapes = Vec::with_capacity(grouped.singles.len() * 4 + grouped.clusters.len() * 2);
        let mut texts = Vec::new();
        let count_font = FontId::proportional(12.0);
        let mut clicked_cluster: Option<&[usize]> = None;
        for members in &grouped.clusters {
            let n = members.len() as f32;
            let centre = members
                .iter()
                .fold(Vec2::ZERO, |acc, &i| acc + points[i].to_vec2())
                / n;
            let centre = centre.to_pos2();
            let radius = 11.0 + 3.0 * n.log2();
            // The cluster takes the colour of its most urgent drone: offline, else in mission.
            let color = members
                .iter()
                .map(|&i| shown[i].2)
                .find(|d| !d.link_up && d.live.is_some())
                .map_or_else(
                    || status_color(shown[members[0]].2.drone.status),
                    |_| Color32::from_rgb(0xc0, 0x39, 0x2b),
                );
            shapes.push(Shape::circle_filled(
                centre,
                radius + 3.0,
                color.gamma_multiply(0.35),
            ));
            shapes.push(Shape::circle_filled(centre, radius, color));
            shapes.push(Shape::circle_stroke(
                centre,
                radius,
                Stroke::new(2.0, Color32::WHITE),
            ));
            texts.push((centre, members.len().to_string()));
            if click.is_some_and(|c| c.distance(centre) <= radius) {
                clicked_cluster = Some(members);
            }
        }
        let mut taken: HashSet<(i32, i32)> = HashSet::new();
        let label_font = FontId::proportional(12.0);
        let mut best: Option<(f32, DroneId)> = None;
        for &i in &grouped.singles {
            let (p, id, d) = shown[i];
            let selected = Some(id) == self.selected;
            if selected {
                shapes.push(Shape::circle_filled(
                    p,
                    16.0,
                    Color32::from_rgba_unmultiplied(255, 215, 0, 110),
                ));
            }
            let fill = if d.link_up || d.live.is_none() {
                status_color(d.drone.status)
            } else {
                Color32::from_gray(150)
            };
            let outline = if d.link_up {
                Color32::WHITE
            } else {
                Color32::from_rgb(0xc0, 0x39, 0x2b)
            };
            let halves = drone_dart(p, d.heading_deg(), 12.0);
            for half in halves {
                shapes.push(Shape::convex_polygon(half.to_vec(), fill, Stroke::NONE));
            }
            let [[tip, right, notch], [_, _, left]] = halves;
            shapes.push(Shape::closed_line(
                vec![tip, right, notch, left],
                Stroke::new(1.5, outline),
            ));
            // A name where it covers no other name (the selected drone's always). The test
            // uses the name's width estimated from its length; only a name that is drawn is
            // laid out (laying out a thousand names a frame to test them was the suspected
            // cost of the 1,000-drone frame).
            let pos = p + Vec2::new(13.0, 2.0);
            let estimate = Vec2::new(
                d.drone.serial_number.chars().count() as f32 * NAME_CHAR_PX,
                NAME_HEIGHT_PX,
            );
            let cells: Vec<(i32, i32)> =
                label_cells(egui::Rect::from_min_size(pos, estimate).expand(2.0)).collect();
            if selected || cells.iter().all(|c| !taken.contains(c)) {
                taken.extend(cells);
                let galley = painter.layout_no_wrap(
                    d.drone.serial_number.clone(),
                    label_font.clone(),
                    Color32::BLACK,
                );
                let rect = egui::Rect::from_min_size(pos, galley.size()).expand(2.0);
                shapes.push(Shape::rect_filled(
                    rect,
                    2.0,
                    Color32::from_white_alpha(200),
                ));
                shapes.push(Shape::galley(pos, galley, Color32::BLACK));
            }
            if let Some(c) = click {
                let dist = c.distance(p);
                if dist < PICK_RADIUS && best.is_none_or(|(b, _)| dist < b) {
                    best = Some((dist, id));
                }
            }
        }
        painter.extend(shapes);
        for (at, text) in texts {
            painter.text(
                at,
                egui::Align2::CENTER_CENTER,
                text,
                count_font.clone(),
                Color32::WHITE,
            );
        }
        if let Some((_, id)) = best {
            *self.picked = Some(id);
        } else if let Some(members) = clicked_cluster {
            *self.focus = crate::gui::state::bounds(members.iter().map(|&i| shown[i].2.position()));
        }
    }
}

/// The [`LABEL_CELL_PX`] cells a label's rectangle covers.
fn label_cells(rect: egui::Rect) -> impl Iterator<Item = (i32, i32)> {
    let x0 = (rect.left() / LABEL_CELL_PX).floor() as i32;
    let x1 = (rect.right() / LABEL_CELL_PX).floor() as i32;
    let y0 = (rect.top() / LABEL_CELL_PX).floor() as i32;
    let y1 = (rect.bottom() / LABEL_CELL_PX).floor() as i32;
    (x0..=x1).flat_map(move |x| (y0..=y1).map(move |y| (x, y)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crowd_becomes_clusters_and_spread_drones_stay_alone() {
        // 1,000 drones within 200 × 200 points: a few clusters, nobody drawn alone.
        let crowd: Vec<Pos2> = (0..1_000)
            .map(|k| Pos2::new((k % 40) as f32 * 5.0, (k / 40) as f32 * 8.0))
            .collect();
        let g = group(&crowd, None);
        assert!(g.clusters.len() <= 25, "{} clusters", g.clusters.len());
        assert!(g.singles.is_empty(), "{:?}", g.singles);
        let members: usize = g.clusters.iter().map(Vec::len).sum();
        assert_eq!(members, 1_000);
        // The selected drone is drawn alone even in a crowd.
        let g = group(&crowd, Some(17));
        assert_eq!(g.singles, [17]);
        // Twelve drones 100 points apart: each alone.
        let spread: Vec<Pos2> = (0..12).map(|k| Pos2::new(k as f32 * 100.0, 50.0)).collect();
        let g = group(&spread, None);
        assert!(g.clusters.is_empty());
        assert_eq!(g.singles.len(), 12);
    }

    #[test]
    fn the_dart_points_where_the_drone_heads() {
        let p = Pos2::new(100.0, 100.0);
        let [[tip, right, notch], [_, _, left]] = drone_dart(p, 90.0, 10.0);
        // East: the tip is to the right of the centre, the tail to the left.
        assert!((tip.x - 110.0).abs() < 1e-3 && (tip.y - 100.0).abs() < 1e-3);
        assert!(notch.x < p.x && right.x < notch.x && left.x < notch.x);
        // Long and narrow: the tip is further from the centre than the wings are apart.
        assert!(tip.distance(p) > right.distance(left) * 0.8);
        // North: the tip is above.
        let [[tip, ..], _] = drone_dart(p, 0.0, 10.0);
        assert!(tip.y < p.y);
    }
}
