//! Tile sources: URL templates with placeholders, and their attribution.

use super::TileError;
use serde::{Deserialize, Serialize};

/// One tile of the Web Mercator pyramid (XYZ numbering: row 0 at the north).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TileId {
    /// Zoom level.
    pub z: u8,
    /// Column, 0 at 180° W.
    pub x: u32,
    /// Row, 0 at the north edge (XYZ).
    pub y: u32,
}

impl TileId {
    /// The TMS row (0 at the south edge) of this tile.
    pub fn tms_y(self) -> u32 {
        let rows = 1u64 << self.z.min(31);
        (rows - 1 - u64::from(self.y)) as u32
    }
}

/// The highest zoom a template may ask for (2^30 rows still fit a `u32`).
pub const MAX_ZOOM: u8 = 30;

/// Subdomains used for `{s}` when the source names none.
const DEFAULT_SUBDOMAINS: [&str; 3] = ["a", "b", "c"];

/// A raster tile source.
///
/// `template` placeholders: `{z}`, `{x}`, `{y}` (XYZ row), `{-y}` (TMS row, counted from the
/// south), `{s}` (one of `subdomains`, chosen by tile so a tile always comes from the same
/// host), `{key}` (the API key; a template naming it needs one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileSource {
    /// Short name shown to the operator ("OpenStreetMap").
    pub name: String,
    /// URL template.
    pub template: String,
    /// Hosts for `{s}`; empty means `a`, `b`, `c`.
    #[serde(default)]
    pub subdomains: Vec<String>,
    /// The API key for `{key}`; never written into stored manifests.
    #[serde(skip)]
    pub api_key: Option<String>,
    /// Attribution the map must show.
    pub attribution: String,
    /// Where the attribution links to.
    #[serde(default)]
    pub attribution_url: String,
    /// Highest zoom the source serves.
    pub max_zoom: u8,
}

/// OpenStreetMap's standard tile layer.
pub const OSM_TEMPLATE: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";

impl Default for TileSource {
    fn default() -> Self {
        Self::openstreetmap()
    }
}

impl TileSource {
    /// OpenStreetMap's standard layer, with its required attribution.
    pub fn openstreetmap() -> Self {
        Self {
            name: "OpenStreetMap".into(),
            template: OSM_TEMPLATE.into(),
            subdomains: Vec::new(),
            api_key: None,
            attribution: "© OpenStreetMap contributors".into(),
            attribution_url: "https://www.openstreetmap.org/copyright".into(),
            max_zoom: 19,
        }
    }

    /// A source for `template` with `attribution`; checked with [`Self::validate`].
    pub fn custom(
        name: &str,
        template: &str,
        api_key: Option<String>,
        attribution: &str,
    ) -> Result<Self, TileError> {
        let source = Self {
            name: name.trim().to_owned(),
            template: template.trim().to_owned(),
            subdomains: Vec::new(),
            api_key: api_key.filter(|k| !k.trim().is_empty()),
            attribution: attribution.trim().to_owned(),
            attribution_url: String::new(),
            max_zoom: 19,
        };
        source.validate()?;
        Ok(source)
    }

    /// Whether the template can be used: http(s), `{z}`, `{x}`, a row (`{y}` or `{-y}`), and a
    /// key when it names `{key}`.
    pub fn validate(&self) -> Result<(), TileError> {
        let bad = |reason: &str| TileError::BadTemplate {
            template: self.template.clone(),
            reason: reason.to_owned(),
        };
        let t = &self.template;
        if !(t.starts_with("http://") || t.starts_with("https://")) {
            return Err(bad("it must start with http:// or https://"));
        }
        for p in ["{z}", "{x}"] {
            if !t.contains(p) {
                return Err(bad(&format!("it must contain {p}")));
            }
        }
        if !(t.contains("{y}") || t.contains("{-y}")) {
            return Err(bad("it must contain {y} (XYZ) or {-y} (TMS)"));
        }
        if t.contains("{key}") && self.api_key.is_none() {
            return Err(bad("it contains {key} but no API key is set"));
        }
        if self.max_zoom > MAX_ZOOM {
            return Err(bad(&format!(
                "max zoom {} is above {MAX_ZOOM}",
                self.max_zoom
            )));
        }
        Ok(())
    }

    /// The URL of tile `id`.
    pub fn url(&self, id: TileId) -> String {
        self.expand(id, self.api_key.as_deref().unwrap_or(""))
    }

    /// The URL of tile `id` with the API key hidden, for messages and logs.
    pub fn redacted_url(&self, id: TileId) -> String {
        let key = if self.api_key.is_some() { "***" } else { "" };
        self.expand(id, key)
    }

    fn expand(&self, id: TileId, key: &str) -> String {
        let subdomain = if self.template.contains("{s}") {
            let n = self.subdomains.len();
            let pick = (id.x as usize).wrapping_add(id.y as usize);
            if n == 0 {
                DEFAULT_SUBDOMAINS[pick % DEFAULT_SUBDOMAINS.len()].to_owned()
            } else {
                self.subdomains[pick % n].clone()
            }
        } else {
            String::new()
        };
        // `{-y}` before `{y}`: the shorter placeholder is not inside the longer one, but keep the
        // order obvious.
        self.template
            .replace("{-y}", &id.tms_y().to_string())
            .replace("{z}", &id.z.to_string())
            .replace("{x}", &id.x.to_string())
            .replace("{y}", &id.y.to_string())
            .replace("{s}", &subdomain)
            .replace("{key}", key)
    }

    /// A stable folder name for this source's cache: readable name plus a hash of the template
    /// (the key is not part of it, so a new key keeps the cache).
    pub fn cache_key(&self) -> String {
        let mut slug = slug(&self.name);
        if slug.is_empty() {
            slug.push_str("source");
        }
        format!("{slug}-{:016x}", fnv1a64(self.template.as_bytes()))
    }
}

/// Lower-case ASCII letters, digits and `-` only (folder names from operator text).
pub(crate) fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out.truncate(64);
    out
}

/// FNV-1a, 64 bit: stable across Rust versions and runs (unlike `DefaultHasher`).
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_keeps_letters_and_digits() {
        assert_eq!(slug("  Field 7 / North!! "), "field-7-north");
        assert_eq!(slug("///"), "");
    }

    #[test]
    fn cache_key_ignores_the_api_key() {
        let a = TileSource::custom("X", "https://h/{z}/{x}/{y}?k={key}", Some("1".into()), "a")
            .expect("valid");
        let b = TileSource {
            api_key: Some("2".into()),
            ..a.clone()
        };
        assert_eq!(a.cache_key(), b.cache_key());
        assert!(a.cache_key().starts_with("x-"));
    }
}
