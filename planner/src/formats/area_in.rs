//! Survey-area readers on the field's crates: `geojson`, `kml` (+ `zip` for KMZ), `shapefile`.

use std::io::{Read, Seek};

use aviary_core::{LatLon, SurveyArea};

use crate::error::{PlanError, Result};

fn point(lon: f64, lat: f64, location: &str, index: usize) -> Result<LatLon> {
    LatLon::checked(lat, lon).map_err(|e| PlanError::CoordOutOfRange {
        location: location.to_owned(),
        index,
        detail: e.to_string(),
    })
}

fn ring_label(src: &str, poly: usize, hole: Option<usize>) -> String {
    match hole {
        None => format!("{src} polygon {} exterior ring", poly + 1),
        Some(h) => format!("{src} polygon {} hole {}", poly + 1, h + 1),
    }
}

// --- GeoJSON ------------------------------------------------------------------------------

/// Polygons of a GeoJSON document: a Geometry, Feature or FeatureCollection holding
/// Polygon, MultiPolygon or GeometryCollection geometries (other geometry types are skipped).
pub fn parse_geojson(text: &str) -> Result<Vec<SurveyArea>> {
    let gj: geojson::GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| PlanError::format("GeoJSON", e.to_string()))?;
    let mut out = Vec::new();
    match gj {
        geojson::GeoJson::Geometry(g) => geometry(&g.value, "geometry", &mut out)?,
        geojson::GeoJson::Feature(f) => {
            if let Some(g) = f.geometry {
                geometry(&g.value, "feature 1", &mut out)?;
            }
        }
        geojson::GeoJson::FeatureCollection(fc) => {
            for (i, f) in fc.features.iter().enumerate() {
                if let Some(g) = &f.geometry {
                    geometry(&g.value, &format!("feature {}", i + 1), &mut out)?;
                }
            }
        }
    }
    if out.is_empty() {
        return Err(PlanError::NoPolygon("GeoJSON".into()));
    }
    Ok(out)
}

fn geometry(v: &geojson::Value, src: &str, out: &mut Vec<SurveyArea>) -> Result<()> {
    match v {
        geojson::Value::Polygon(rings) => out.push(gj_polygon(rings, src, out.len())?),
        geojson::Value::MultiPolygon(polys) => {
            for rings in polys {
                out.push(gj_polygon(rings, src, out.len())?);
            }
        }
        geojson::Value::GeometryCollection(gs) => {
            for g in gs {
                geometry(&g.value, src, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn gj_polygon(rings: &[Vec<Vec<f64>>], src: &str, index: usize) -> Result<SurveyArea> {
    let mut area = SurveyArea::default();
    if rings.is_empty() {
        return Err(PlanError::TooFewPoints {
            location: ring_label(src, index, None),
            distinct: 0,
        });
    }
    for (k, ring) in rings.iter().enumerate() {
        let label = ring_label(src, index, k.checked_sub(1));
        let pts = ring
            .iter()
            .enumerate()
            .map(|(i, pos)| match pos.as_slice() {
                [lon, lat, ..] => point(*lon, *lat, &label, i),
                _ => Err(PlanError::CoordOutOfRange {
                    location: label.clone(),
                    index: i,
                    detail: "a position needs longitude and latitude".into(),
                }),
            })
            .collect::<Result<Vec<_>>>()?;
        if k == 0 {
            area.exterior = pts;
        } else {
            area.holes.push(pts);
        }
    }
    Ok(area)
}

// --- KML / KMZ ----------------------------------------------------------------------------

/// Polygons of a KML document (in Placemarks, MultiGeometry, Documents and Folders), with
/// their inner boundaries as holes.
pub fn parse_kml(text: &str) -> Result<Vec<SurveyArea>> {
    let k: kml::Kml<f64> = text
        .parse()
        .map_err(|e: kml::Error| PlanError::format("KML", e.to_string()))?;
    let mut out = Vec::new();
    kml_walk(&k, &mut out)?;
    if out.is_empty() {
        return Err(PlanError::NoPolygon("KML".into()));
    }
    Ok(out)
}

fn kml_walk(k: &kml::Kml<f64>, out: &mut Vec<SurveyArea>) -> Result<()> {
    match k {
        kml::Kml::KmlDocument(d) => d.elements.iter().try_for_each(|e| kml_walk(e, out)),
        kml::Kml::Document { elements, .. } | kml::Kml::Folder { elements, .. } => {
            elements.iter().try_for_each(|e| kml_walk(e, out))
        }
        kml::Kml::Placemark(p) => p.geometry.as_ref().map_or(Ok(()), |g| kml_geometry(g, out)),
        kml::Kml::Polygon(p) => kml_polygon(p, out),
        kml::Kml::MultiGeometry(m) => m.geometries.iter().try_for_each(|g| kml_geometry(g, out)),
        _ => Ok(()),
    }
}

fn kml_geometry(g: &kml::types::Geometry<f64>, out: &mut Vec<SurveyArea>) -> Result<()> {
    match g {
        kml::types::Geometry::Polygon(p) => kml_polygon(p, out),
        kml::types::Geometry::MultiGeometry(m) => {
            m.geometries.iter().try_for_each(|g| kml_geometry(g, out))
        }
        _ => Ok(()),
    }
}

fn kml_polygon(p: &kml::types::Polygon<f64>, out: &mut Vec<SurveyArea>) -> Result<()> {
    let index = out.len();
    let ring = |r: &kml::types::LinearRing<f64>, hole: Option<usize>| -> Result<Vec<LatLon>> {
        let label = ring_label("KML", index, hole);
        r.coords
            .iter()
            .enumerate()
            .map(|(i, c)| point(c.x, c.y, &label, i))
            .collect()
    };
    let exterior = ring(&p.outer, None)?;
    let holes = p
        .inner
        .iter()
        .enumerate()
        .map(|(h, r)| ring(r, Some(h)))
        .collect::<Result<_>>()?;
    out.push(SurveyArea { exterior, holes });
    Ok(())
}

/// Polygons of a KMZ archive: its `doc.kml`, or else its first `.kml` entry.
pub fn parse_kmz(bytes: &[u8]) -> Result<Vec<SurveyArea>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| PlanError::format("KMZ", e.to_string()))?;
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    let mut kmls: Vec<&String> = names
        .iter()
        .filter(|n| n.to_ascii_lowercase().ends_with(".kml"))
        .collect();
    kmls.sort_by_key(|n| (!n.eq_ignore_ascii_case("doc.kml"), (*n).clone()));
    let name = kmls
        .first()
        .ok_or_else(|| PlanError::format("KMZ", "the archive holds no .kml file"))?;
    let mut f = zip
        .by_name(name)
        .map_err(|e| PlanError::format("KMZ", e.to_string()))?;
    if f.size() > 256 * 1024 * 1024 {
        return Err(PlanError::format(
            "KMZ",
            format!("{name} is larger than 256 MiB"),
        ));
    }
    let mut text = String::new();
    f.read_to_string(&mut text)
        .map_err(|e| PlanError::format("KMZ", format!("{name}: {e}")))?;
    parse_kml(&text)
}

// --- Shapefile ----------------------------------------------------------------------------

/// Polygons of an ESRI Shapefile's `.shp` stream. `prj` is the `.prj` text; it must describe
/// geographic coordinates (a `GEOGCS`), projected ones are refused. Inner rings are attached
/// to the outer ring that contains them.
pub fn parse_shapefile<R: Read + Seek>(shp: R, prj: Option<&str>) -> Result<Vec<SurveyArea>> {
    if let Some(p) = prj {
        let t = p.trim_start().to_ascii_uppercase();
        if t.starts_with("PROJCS") || t.starts_with("PROJCRS") {
            return Err(PlanError::format(
                "Shapefile",
                "the .prj names a projected coordinate system; reproject the area to WGS84 (EPSG:4326)",
            ));
        }
        if !t.contains("WGS") && !t.contains("4326") {
            return Err(PlanError::format(
                "Shapefile",
                "the .prj is not WGS84; reproject the area to WGS84 (EPSG:4326)",
            ));
        }
    }
    let reader = shapefile::ShapeReader::new(shp)
        .map_err(|e| PlanError::format("Shapefile", e.to_string()))?;
    let shapes = reader
        .read()
        .map_err(|e| PlanError::format("Shapefile", e.to_string()))?;
    let mut out: Vec<SurveyArea> = Vec::new();
    for (si, shape) in shapes.into_iter().enumerate() {
        let rings: Vec<(bool, Vec<(f64, f64)>)> = match shape {
            shapefile::Shape::Polygon(p) => p
                .into_inner()
                .into_iter()
                .map(|r| ring_xy(r, |q| (q.x, q.y)))
                .collect(),
            shapefile::Shape::PolygonM(p) => p
                .into_inner()
                .into_iter()
                .map(|r| ring_xy(r, |q| (q.x, q.y)))
                .collect(),
            shapefile::Shape::PolygonZ(p) => p
                .into_inner()
                .into_iter()
                .map(|r| ring_xy(r, |q| (q.x, q.y)))
                .collect(),
            _ => continue,
        };
        let first = out.len();
        for (outer, pts) in rings {
            let n = out.len();
            let label = if outer {
                format!("Shapefile shape {} ring {}", si + 1, n - first + 1)
            } else {
                format!("Shapefile shape {} inner ring", si + 1)
            };
            let ring = pts
                .iter()
                .enumerate()
                .map(|(i, &(x, y))| point(x, y, &label, i))
                .collect::<Result<Vec<_>>>()?;
            if outer || out.len() == first {
                out.push(SurveyArea {
                    exterior: ring,
                    holes: vec![],
                });
            } else {
                let probe = ring[0];
                let host = (first..out.len())
                    .find(|&k| contains(&out[k].exterior, probe))
                    .unwrap_or(out.len() - 1);
                out[host].holes.push(ring);
            }
        }
    }
    if out.is_empty() {
        return Err(PlanError::NoPolygon("Shapefile".into()));
    }
    Ok(out)
}

fn ring_xy<P>(
    r: shapefile::PolygonRing<P>,
    xy: impl Fn(&P) -> (f64, f64),
) -> (bool, Vec<(f64, f64)>) {
    let outer = matches!(r, shapefile::PolygonRing::Outer(_));
    (outer, r.into_inner().iter().map(xy).collect())
}

fn contains(ring: &[LatLon], p: LatLon) -> bool {
    let mut inside = false;
    let n = ring.len();
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        if (a.lat_deg <= p.lat_deg) != (b.lat_deg <= p.lat_deg) {
            let x = a.lon_deg
                + (p.lat_deg - a.lat_deg) * (b.lon_deg - a.lon_deg) / (b.lat_deg - a.lat_deg);
            if x > p.lon_deg {
                inside = !inside;
            }
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geojson_variants() {
        let poly = r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]],[[0.5,0.2],[0.6,0.2],[0.6,0.3],[0.5,0.2]]]}"#;
        let a = parse_geojson(poly).unwrap_or_default();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].holes.len(), 1);
        assert_eq!(
            a[0].exterior[1],
            LatLon::new(0.0, 1.0),
            "GeoJSON is [lon, lat]"
        );
        let multi = r#"{"type":"Feature","properties":{},"geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[2,0],[3,0],[3,1],[2,0]]]]}}"#;
        assert_eq!(parse_geojson(multi).unwrap_or_default().len(), 2);
        let bad = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[200,0],[1,1],[0,0]]]}}]}"#;
        let e = parse_geojson(bad)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("feature 1 polygon 1 exterior ring, point 1: longitude 200"),
            "{e}"
        );
        let none = r#"{"type":"Point","coordinates":[1,2]}"#;
        assert!(
            parse_geojson(none)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
                .contains("no polygon")
        );
        assert!(parse_geojson("{").is_err());
    }

    #[test]
    fn kml_with_hole() {
        let k = r#"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder><Placemark><name>a</name><Polygon>
<outerBoundaryIs><LinearRing><coordinates>-122.0,37.0,0 -121.99,37.0,0 -121.99,37.01,0 -122.0,37.01,0 -122.0,37.0,0</coordinates></LinearRing></outerBoundaryIs>
<innerBoundaryIs><LinearRing><coordinates>-121.996,37.004 -121.995,37.004 -121.995,37.005 -121.996,37.004</coordinates></LinearRing></innerBoundaryIs>
</Polygon></Placemark></Folder></Document></kml>"#;
        let a = parse_kml(k).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].holes.len(), 1);
        assert_eq!(a[0].exterior[1], LatLon::new(37.0, -121.99));
    }
}
