//! The bundled offline basemap: Natural Earth country outlines from `aviary-assets`, filled
//! as land over a sea background. Painted under the tiles, so wherever a tile is missing (no
//! network, not cached yet) the basemap shows through.

use super::fill::{FillMode, fill};
use super::triangulate::triangulate;
use egui::{Color32, Mesh, Painter, Pos2, Rect, Shape, Stroke};
use walkers::Projector;

/// OSM-like sea colour.
pub const SEA: Color32 = Color32::from_rgb(0xaa, 0xd3, 0xdf);
/// OSM-like land colour.
pub const LAND: Color32 = Color32::from_rgb(0xf2, 0xef, 0xe9);
/// Border colour.
pub const BORDER: Color32 = Color32::from_rgb(0xa0, 0x98, 0xa8);

/// One ring of a country outline with its triangulation.
#[derive(Debug, Clone)]
struct Ring {
    /// `[lon, lat]` degrees.
    points: Vec<[f64; 2]>,
    /// Fill triangles.
    triangles: Vec<[u32; 3]>,
    /// `[min_lon, min_lat, max_lon, max_lat]`.
    bbox: [f64; 4],
}

impl Ring {
    /// Whether the ring covers the whole box `[min_lon, min_lat, max_lon, max_lat]`: no edge
    /// of it meets the box, and the box's centre is inside it.
    fn covers(&self, b: [f64; 4]) -> bool {
        let [x0, y0, x1, y1] = self.bbox;
        if x0 > b[0] || y0 > b[1] || x1 < b[2] || y1 < b[3] {
            return false;
        }
        let n = self.points.len();
        if n < 3 {
            return false;
        }
        let edges = (0..n).map(|i| (self.points[i], self.points[(i + 1) % n]));
        let mut inside = false;
        let c = [f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3])];
        for (p, q) in edges {
            if segment_meets_box(p, q, b) {
                return false;
            }
            // Crossing number of a ray from the centre towards +longitude.
            if (p[1] > c[1]) != (q[1] > c[1]) {
                let x = p[0] + (c[1] - p[1]) / (q[1] - p[1]) * (q[0] - p[0]);
                if x > c[0] {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

/// Whether the segment `from`–`to` has a point in the box `[min_x, min_y, max_x, max_y]`
/// (Liang–Barsky clipping).
fn segment_meets_box(from: [f64; 2], to: [f64; 2], bounds: [f64; 4]) -> bool {
    let delta = [to[0] - from[0], to[1] - from[1]];
    let (mut enter, mut leave) = (0.0_f64, 1.0_f64);
    for axis in 0..2 {
        let (lo, hi) = (bounds[axis], bounds[axis + 2]);
        // from + t·delta stays within [lo, hi] on this axis.
        for (num, den) in [
            (from[axis] - lo, -delta[axis]),
            (hi - from[axis], delta[axis]),
        ] {
            if den == 0.0 {
                if num < 0.0 {
                    return false;
                }
            } else {
                let cut = num / den;
                if den < 0.0 {
                    enter = enter.max(cut);
                } else {
                    leave = leave.min(cut);
                }
            }
        }
    }
    enter <= leave
}

/// Why the basemap could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BasemapError {
    /// Not JSON.
    #[error("basemap is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON but not the expected shape.
    #[error("basemap JSON has no `features` array")]
    Shape,
}

/// Country outlines ready to paint.
#[derive(Debug, Clone, Default)]
pub struct Basemap {
    rings: Vec<Ring>,
}

impl Basemap {
    /// The bundled Natural Earth 1:110m basemap.
    pub fn bundled() -> Result<Self, BasemapError> {
        Self::from_geojson(aviary_assets::WORLD_110M_GEOJSON)
    }

    /// Reads a `FeatureCollection` of `(Multi)LineString` or `(Multi)Polygon` rings.
    pub fn from_geojson(bytes: &[u8]) -> Result<Self, BasemapError> {
        let doc: serde_json::Value = serde_json::from_slice(bytes)?;
        let features = doc
            .get("features")
            .and_then(|f| f.as_array())
            .ok_or(BasemapError::Shape)?;
        let mut rings = Vec::new();
        for f in features {
            let Some(geom) = f.get("geometry") else {
                continue;
            };
            let coords = geom.get("coordinates");
            let kind = geom
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or_default();
            let ring_lists: Vec<&serde_json::Value> = match (kind, coords) {
                ("LineString", Some(c)) => vec![c],
                ("MultiLineString" | "Polygon", Some(c)) => {
                    c.as_array().map(|a| a.iter().collect()).unwrap_or_default()
                }
                ("MultiPolygon", Some(c)) => c
                    .as_array()
                    .map(|polys| {
                        polys
                            .iter()
                            .filter_map(|p| p.as_array())
                            .flatten()
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            for ring in ring_lists {
                let mut points: Vec<[f64; 2]> = ring
                    .as_array()
                    .map(|pts| {
                        pts.iter()
                            .filter_map(|p| Some([p.get(0)?.as_f64()?, p.get(1)?.as_f64()?]))
                            .collect()
                    })
                    .unwrap_or_default();
                if points.len() > 1 && points.first() == points.last() {
                    points.pop();
                }
                if points.len() < 3 {
                    continue;
                }
                let bbox = points
                    .iter()
                    .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, p| {
                        [
                            b[0].min(p[0]),
                            b[1].min(p[1]),
                            b[2].max(p[0]),
                            b[3].max(p[1]),
                        ]
                    });
                let triangles = triangulate(&points);
                rings.push(Ring {
                    points,
                    triangles,
                    bbox,
                });
            }
        }
        Ok(Self { rings })
    }

    /// Number of rings.
    pub fn ring_count(&self) -> usize {
        self.rings.len()
    }

    /// Paints sea, land and borders into `rect`. Where one outline covers the whole view (a
    /// site's map zoomed in on land, the usual case), the view is one land rectangle: no sea
    /// under it, no triangles, so software GL shades its pixels once, not twice. `mode`: how
    /// the rectangle under the outlines is filled ([`fill`]).
    pub fn paint(&self, painter: &Painter, projector: &Projector, rect: Rect, mode: FillMode) {
        let a = projector.unproject(rect.min.to_vec2());
        let b = projector.unproject(rect.max.to_vec2());
        let (min_lon, max_lon) = (a.x().min(b.x()), a.x().max(b.x()));
        let (min_lat, max_lat) = (a.y().min(b.y()), a.y().max(b.y()));
        let view = [min_lon, min_lat, max_lon, max_lat];
        if self.rings.iter().any(|r| r.covers(view)) {
            fill(painter, rect, LAND, mode);
            return;
        }
        fill(painter, rect, SEA, mode);
        let zoom = projector.zoom();
        let border = Stroke::new(if zoom < 4.0 { 0.6 } else { 1.0 }, BORDER);
        let mut mesh = Mesh::default();
        let mut outlines = Vec::new();
        for ring in &self.rings {
            let [x0, y0, x1, y1] = ring.bbox;
            if x1 < min_lon || x0 > max_lon || y1 < min_lat || y0 > max_lat {
                continue;
            }
            let screen: Vec<Pos2> = ring
                .points
                .iter()
                .map(|p| projector.project(walkers::lon_lat(p[0], p[1])).to_pos2())
                .collect();
            let base = mesh.vertices.len() as u32;
            for p in &screen {
                mesh.colored_vertex(*p, LAND);
            }
            for t in &ring.triangles {
                mesh.add_triangle(base + t[0], base + t[1], base + t[2]);
            }
            let mut closed = screen;
            if let Some(first) = closed.first().copied() {
                closed.push(first);
            }
            outlines.push(Shape::line(closed, border));
        }
        painter.add(Shape::mesh(mesh));
        painter.extend(outlines);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_basemap_loads_and_triangulates() {
        let t = std::time::Instant::now();
        let map = Basemap::bundled().expect("bundled basemap");
        assert!(map.ring_count() > 200, "{} rings", map.ring_count());
        for r in &map.rings {
            assert!(!r.triangles.is_empty(), "every ring has a fill");
            assert!(r.triangles.len() <= r.points.len() - 2);
        }
        eprintln!("basemap: {} rings in {:?}", map.ring_count(), t.elapsed());
    }

    #[test]
    fn a_view_inside_one_outline_is_covered_and_a_coast_is_not() {
        let square = Ring {
            points: vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]],
            triangles: vec![[0, 1, 2], [0, 2, 3]],
            bbox: [0.0, 0.0, 10.0, 10.0],
        };
        assert!(square.covers([2.0, 2.0, 3.0, 3.0]));
        // The coast (an edge) runs through the view: sea shows.
        assert!(!square.covers([9.0, 2.0, 11.0, 3.0]));
        // Wholly outside.
        assert!(!square.covers([20.0, 20.0, 21.0, 21.0]));
        // Larger than the outline.
        assert!(!square.covers([-1.0, -1.0, 11.0, 11.0]));
        // A notch (concave outline) reaching into the view.
        let notched = Ring {
            points: vec![
                [0.0, 0.0],
                [10.0, 0.0],
                [10.0, 10.0],
                [5.5, 10.0],
                [5.5, 2.5],
                [4.5, 2.5],
                [4.5, 10.0],
                [0.0, 10.0],
            ],
            triangles: Vec::new(),
            bbox: [0.0, 0.0, 10.0, 10.0],
        };
        assert!(!notched.covers([4.0, 4.0, 6.0, 6.0]));
        assert!(notched.covers([1.0, 4.0, 3.0, 6.0]));
        // The bundled map: a view in the Netherlands is land; one over the North Sea coast is not.
        let map = Basemap::bundled().expect("bundled basemap");
        assert!(map.rings.iter().any(|r| r.covers([5.0, 52.0, 5.1, 52.05])));
        assert!(!map.rings.iter().any(|r| r.covers([3.5, 52.0, 5.0, 53.0])));
    }

    #[test]
    fn bad_basemap_is_an_error() {
        assert!(matches!(
            Basemap::from_geojson(b"[1,2]"),
            Err(BasemapError::Shape)
        ));
        assert!(matches!(
            Basemap::from_geojson(b"{"),
            Err(BasemapError::Json(_))
        ));
    }
}
