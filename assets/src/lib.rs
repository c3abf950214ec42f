//! `aviary-assets`: Fonts, icons and the offline basemap, embedded in the binary.
//!
//! Everything here is a `&'static [u8]` baked in with `include_bytes!`, so the app works with
//! no network and no files beside the binary. This crate depends on nothing.

/// The offline basemap: Natural Earth 1:110m country outlines (public domain) as a GeoJSON
/// `FeatureCollection` of `MultiLineString` rings, `[lon, lat]` degrees rounded to 0.01°,
/// each feature with a `name` property. Built by `assets/basemap/make_world.py`.
pub const WORLD_110M_GEOJSON: &[u8] = include_bytes!("../basemap/world-110m.geojson");

/// `DejaVu Sans` 2.37 (Bitstream Vera licence, `assets/fonts/LICENSE-DejaVu.txt`): the PDF
/// reports' text face. Latin, Greek, Cyrillic, Arabic, Hebrew, Armenian, Georgian and the
/// monochrome emoticons; no CJK.
pub const DEJAVU_SANS_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// `DejaVu Sans Bold` 2.37, same licence and coverage as [`DEJAVU_SANS_TTF`].
pub const DEJAVU_SANS_BOLD_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// Droid Sans Fallback (Apache-2.0, `assets/fonts/LICENSE-DroidSansFallback.txt`): the
/// fallback for what `DejaVu Sans` lacks, chiefly Chinese, Japanese and Korean. The smallest
/// CJK face Debian packages (`fonts-droid-fallback`, 4 MB); reports embed only the glyphs
/// they use.
pub const DROID_SANS_FALLBACK_TTF: &[u8] = include_bytes!("../fonts/DroidSansFallbackFull.ttf");

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

    #[test]
    fn fonts_are_truetype() {
        for (name, bytes) in [
            ("DejaVu Sans", DEJAVU_SANS_TTF),
            ("DejaVu Sans Bold", DEJAVU_SANS_BOLD_TTF),
            ("Droid Sans Fallback", DROID_SANS_FALLBACK_TTF),
        ] {
            assert_eq!(&bytes[..4], &[0, 1, 0, 0], "{name} is not a TrueType font");
        }
    }
}
