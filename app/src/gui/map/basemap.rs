//! The bundled offline basemap: Natural Earth country outlines from `aviary-assets`, filled
//! as land over a sea background. Painted under the tiles, so wherever a tile is missing (no
//! network, not cached yet) the basemap shows through.

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

    /// Paints sea, land and borders into `rect`.
    pub fn paint(&self, painter: &Painter, projector: &Projector, rect: Rect) {
        painter.rect_filled(rect, 0.0, SEA);
        let a = projector.unproject(rect.min.to_vec2());
        let b = projector.unproject(rect.max.to_vec2());
        let (min_lon, max_lon) = (a.x().min(b.x()), a.x().max(b.x()));
        let (min_lat, max_lat) = (a.y().min(b.y()), a.y().max(b.y()));
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
