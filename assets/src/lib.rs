//! `aviary-assets`: Fonts, icons and the offline basemap, embedded in the binary.
//!
//! Everything here is a `&'static [u8]` baked in with `include_bytes!`, so the app works with
//! no network and no files beside the binary. This crate depends on nothing.

/// The offline basemap: Natural Earth 1:110m country outlines (public domain) as a GeoJSON
/// `FeatureCollection` of `MultiLineString` rings, `[lon, lat]` degrees rounded to 0.01°,
/// each feature with a `name` property. Built by `assets/basemap/make_world.py`.
pub const WORLD_110M_GEOJSON: &[u8] = include_bytes!("../basemap/world-110m.geojson");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basemap_is_a_feature_collection() {
        let head = std::str::from_utf8(&WORLD_110M_GEOJSON[..64]).unwrap_or_default();
        assert!(head.starts_with(r#"{"type":"FeatureCollection""#), "{head}");
        assert!(
            WORLD_110M_GEOJSON.len() < 256 * 1024,
            "keep the basemap small"
        );
    }
}
