//! Raster tiles from any XYZ URL template (OpenStreetMap by default), fetched by walkers'
//! HTTP client with its disk cache in the OS cache directory.

use walkers::sources::{Attribution, TileSource};
use walkers::{HttpOptions, HttpTiles, TileId};

/// An XYZ tile source: `https://host/{z}/{x}/{y}.png`.
#[derive(Debug, Clone)]
pub struct XyzSource {
    template: String,
}

impl XyzSource {
    /// A source for `template` (must contain `{z}`, `{x}` and `{y}`).
    pub fn new(template: &str) -> Result<Self, String> {
        for key in ["{z}", "{x}", "{y}"] {
            if !template.contains(key) {
                return Err(format!("tile URL must contain {key}"));
            }
        }
        if !(template.starts_with("http://") || template.starts_with("https://")) {
            return Err("tile URL must start with http:// or https://".to_owned());
        }
        Ok(Self {
            template: template.to_owned(),
        })
    }
}

impl TileSource for XyzSource {
    fn tile_url(&self, tile_id: TileId) -> String {
        self.template
            .replace("{z}", &tile_id.zoom.to_string())
            .replace("{x}", &tile_id.x.to_string())
            .replace("{y}", &tile_id.y.to_string())
    }

    fn attribution(&self) -> Attribution {
        let text = if self.template.contains("openstreetmap.org") {
            "© OpenStreetMap contributors"
        } else {
            "Map tiles: configured XYZ source"
        };
        Attribution {
            text,
            url: "https://www.openstreetmap.org/copyright",
            logo_light: None,
            logo_dark: None,
        }
    }
}

/// HTTP tiles for `template` with the disk cache; `Err` for an invalid template, or when the
/// HTTPS client cannot start.
pub fn http_tiles(template: &str, ctx: egui::Context) -> Result<HttpTiles, String> {
    let source = XyzSource::new(template)?;
    let options = HttpOptions {
        cache: super::super::settings::Settings::tile_cache_dir(),
        user_agent: Some(walkers::HeaderValue::from_static(concat!(
            "aviary/",
            env!("CARGO_PKG_VERSION")
        ))),
        ..HttpOptions::default()
    };
    // walkers builds its HTTPS client with `expect`: on a machine without loadable CA roots (no
    // `ca-certificates` package) that panics at start-up. Found on a clean Debian; caught here so
    // the app opens on the bundled basemap and says why there are no tiles.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        HttpTiles::with_options(source, options, ctx)
    }))
    .map_err(|_| {
        "cannot start the HTTPS tile client (are the system's CA certificates installed? \
         Debian: ca-certificates); showing the offline basemap only"
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_filled_and_validated() {
        let s = XyzSource::new(crate::gui::settings::OSM_TILE_URL).expect("osm");
        assert_eq!(
            s.tile_url(TileId {
                x: 3,
                y: 5,
                zoom: 4
            }),
            "https://tile.openstreetmap.org/4/3/5.png"
        );
        assert!(XyzSource::new("https://example.com/{z}/{x}.png").is_err());
        assert!(XyzSource::new("ftp://example.com/{z}/{x}/{y}.png").is_err());
    }
}
