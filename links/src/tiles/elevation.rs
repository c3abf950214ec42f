//! Elevation tiles over HTTP: Terrarium PNG tiles (the encoding of the AWS Terrain Tiles,
//! height = R·256 + G + B/256 − 32768 m above the EGM96 geoid) from a URL template, read disk
//! first — stored sets, then the cache next to the map tiles — and fetched only where no copy
//! is stored, each fetched tile written through to the cache. The decoded tiles are a planner
//! [`TerrariumTiles`] elevation source: pure lookups from then on.
//!
//! An area is downloaded for offline use like a map set ([`super::Download`] with the
//! terrain source); [`load_elevation`] then needs no network.

use super::TileError;
use super::area::{BoundingBox, TileArea};
use super::disk::{TileStore, lookup_in};
use super::http::{ClientOptions, TileClient};
use super::source::{TileId, TileSource};
use aviary_core::LatLon;
use aviary_planner::terrain::{Elevation, NoData, TerrariumTiles, VerticalDatum};
use futures_util::StreamExt as _;

/// The AWS Open Data Terrain Tiles in Terrarium encoding (no key needed).
pub const TERRARIUM_TEMPLATE: &str =
    "https://s3.amazonaws.com/elevation-tiles-prod/terrarium/{z}/{x}/{y}.png";

/// Zoom used for terrain unless the operator picks another: 12 is ~38 m between posts at the
/// equator (~27 m at 45°), as fine as the SRTM 1″ data most of the world's tiles come from.
pub const DEFAULT_TERRAIN_ZOOM: u8 = 12;

/// Most tiles one elevation load may need (an 80 km² survey at zoom 12 needs 4–9).
pub const MAX_ELEVATION_TILES: u64 = 400;

/// Requests in flight at once.
const CONCURRENCY: usize = 4;

impl TileSource {
    /// The AWS Terrain Tiles in Terrarium encoding, with their attribution.
    pub fn terrarium() -> Self {
        Self {
            name: "Terrain Tiles (Terrarium)".into(),
            template: TERRARIUM_TEMPLATE.into(),
            subdomains: Vec::new(),
            api_key: None,
            attribution: "Terrain Tiles: Mapzen, AWS Open Data (SRTM, GMTED2010, ETOPO1, …)".into(),
            attribution_url: "https://registry.opendata.aws/terrain-tiles/".into(),
            max_zoom: 15,
        }
    }

    /// A Terrarium source for `template` (with `api_key` where it names `{key}`), checked.
    pub fn terrarium_at(template: &str, api_key: Option<String>) -> Result<Self, TileError> {
        let default = Self::terrarium();
        if template.trim().is_empty() || template.trim() == default.template {
            return Ok(Self { api_key, ..default });
        }
        let source = Self {
            name: "Terrarium tiles".into(),
            template: template.trim().to_owned(),
            api_key: api_key.filter(|k| !k.trim().is_empty()),
            attribution: String::new(),
            attribution_url: String::new(),
            ..default
        };
        source.validate()?;
        Ok(source)
    }
}

/// What to load.
#[derive(Debug, Clone)]
pub struct ElevationRequest {
    /// The Terrarium source.
    pub source: TileSource,
    /// The area the lookups will fall in (the loader adds a margin of two posts so
    /// interpolation at the edge has its neighbours).
    pub bbox: BoundingBox,
    /// Tile zoom.
    pub zoom: u8,
}

/// Loaded elevation tiles and where they came from.
#[derive(Debug)]
pub struct ElevationTiles {
    /// The decoded tiles: an elevation source.
    pub tiles: TerrariumTiles,
    /// Tiles read from a stored set or the cache.
    pub from_disk: usize,
    /// Tiles fetched over HTTP (now in the cache).
    pub fetched: usize,
}

/// The box grown by `margin_deg` on every side, clamped to the world.
fn padded(b: BoundingBox, margin_deg: f64) -> BoundingBox {
    BoundingBox {
        south_deg: (b.south_deg - margin_deg).max(-90.0),
        west_deg: (b.west_deg - margin_deg).max(-180.0),
        north_deg: (b.north_deg + margin_deg).min(90.0),
        east_deg: (b.east_deg + margin_deg).min(180.0),
    }
}

/// The tiles of `request`: from disk where stored, else fetched and cached; decoded.
/// Blocking (it runs its own small runtime for the fetches): call it off the UI thread and
/// outside a tokio runtime.
///
/// # Errors
/// A bad template or zoom, an area over [`MAX_ELEVATION_TILES`], a tile that is neither
/// stored nor fetchable (the error names its URL and why: no network, HTTP status, TLS), a
/// tile that is not a Terrarium PNG, or a cache that cannot be written.
pub fn load_elevation(
    store: &TileStore,
    request: &ElevationRequest,
    client: &ClientOptions,
) -> Result<ElevationTiles, TileError> {
    let source = &request.source;
    source.validate()?;
    if request.zoom > source.max_zoom {
        return Err(TileError::BadArea(format!(
            "{} serves zooms up to {}, not {}",
            source.name, source.max_zoom, request.zoom
        )));
    }
    // Two posts of margin; a post spans at most this many degrees in either direction.
    let post_deg = 360.0 / (256.0 * f64::from(1_u32 << request.zoom));
    let area = TileArea {
        bbox: padded(request.bbox, 2.0 * post_deg),
        zoom_min: request.zoom,
        zoom_max: request.zoom,
    };
    let ids = area.tiles(MAX_ELEVATION_TILES)?;
    let mut tiles =
        TerrariumTiles::new(request.zoom).map_err(|e| TileError::BadArea(e.to_string()))?;
    let dirs = store.read_dirs(source);
    let mut missing = Vec::new();
    let mut from_disk = 0;
    for id in ids {
        match lookup_in(&dirs, id) {
            // A stored copy that does not decode (a cut-off write, another format) is fetched
            // again rather than trusted.
            Some(bytes) if tiles.insert_png(id.x, id.y, &bytes).is_ok() => from_disk += 1,
            _ => missing.push(id),
        }
    }
    let fetched = missing.len();
    if !missing.is_empty() {
        for (id, bytes) in fetch_all(source, &missing, client)? {
            tiles
                .insert_png(id.x, id.y, &bytes)
                .map_err(|e| TileError::Body {
                    url: source.redacted_url(id),
                    reason: format!("not a Terrarium elevation tile: {e}"),
                })?;
            store.put_cached(source, id, &bytes)?;
        }
    }
    Ok(ElevationTiles {
        tiles,
        from_disk,
        fetched,
    })
}

/// Fetches `ids` a few at a time; the first failure stops the rest.
fn fetch_all(
    source: &TileSource,
    ids: &[TileId],
    options: &ClientOptions,
) -> Result<Vec<(TileId, Vec<u8>)>, TileError> {
    let client = TileClient::new(options)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| TileError::Service(format!("cannot start the terrain fetch runtime: {e}")))?;
    runtime.block_on(async {
        let mut results = futures_util::stream::iter(ids.iter().copied())
            .map(|id| {
                let client = client.clone();
                async move { (id, client.fetch(source, id).await) }
            })
            .buffer_unordered(CONCURRENCY);
        let mut out = Vec::with_capacity(ids.len());
        while let Some((id, r)) = results.next().await {
            out.push((id, r?));
        }
        Ok(out)
    })
}

/// Elevation from the Terrarium tiles stored on disk (offline sets, then the cache), each
/// read the first time a lookup needs it and kept: what a link answers an autopilot's
/// terrain requests from when the operator chose elevation tiles. No network (a link's
/// thread must not wait on it): download the area's elevation tiles first (Offline maps);
/// a point whose tiles are not stored has no data.
pub struct StoredElevation {
    dirs: Vec<std::path::PathBuf>,
    source_name: String,
    zoom: u8,
    loaded: std::sync::Mutex<Loaded>,
}

/// The tiles read so far and the ones tried.
struct Loaded {
    tiles: TerrariumTiles,
    tried: std::collections::HashSet<(u32, u32)>,
}

impl StoredElevation {
    /// Reads `source`'s tiles of `zoom` from `store` as lookups need them.
    ///
    /// # Errors
    /// A zoom the source does not serve.
    pub fn new(store: &TileStore, source: &TileSource, zoom: u8) -> Result<Self, TileError> {
        if zoom > source.max_zoom {
            return Err(TileError::BadArea(format!(
                "{} serves zooms up to {}, not {zoom}",
                source.name, source.max_zoom
            )));
        }
        let tiles = TerrariumTiles::new(zoom).map_err(|e| TileError::BadArea(e.to_string()))?;
        Ok(Self {
            dirs: store.read_dirs(source),
            source_name: source.name.clone(),
            zoom,
            loaded: std::sync::Mutex::new(Loaded {
                tiles,
                tried: std::collections::HashSet::new(),
            }),
        })
    }

    /// Runs `f` on the tiles after reading, once, the tiles around `p` (its own and the
    /// eight around it, so interpolation across an edge has its neighbours).
    fn with_tiles<T>(&self, at: LatLon, read: impl FnOnce(&TerrariumTiles) -> T) -> T {
        let mut loaded = self
            .loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (col, row) = aviary_planner::terrain::tile_of(at, self.zoom);
        let side = 1_i64 << self.zoom;
        for d_col in -1..=1_i64 {
            for d_row in -1..=1_i64 {
                let (tx, ty) = (i64::from(col) + d_col, i64::from(row) + d_row);
                if tx < 0 || ty < 0 || tx >= side || ty >= side {
                    continue;
                }
                let key = (tx as u32, ty as u32);
                if !loaded.tried.insert(key) {
                    continue;
                }
                let id = TileId {
                    z: self.zoom,
                    x: key.0,
                    y: key.1,
                };
                if let Some(bytes) = lookup_in(&self.dirs, id)
                    && let Err(e) = loaded.tiles.insert_png(key.0, key.1, &bytes)
                {
                    tracing::warn!(error = %e, "stored elevation tile unreadable");
                }
            }
        }
        read(&loaded.tiles)
    }
}

impl std::fmt::Debug for StoredElevation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredElevation")
            .field("source", &self.source_name)
            .field("zoom", &self.zoom)
            .finish_non_exhaustive()
    }
}

impl Elevation for StoredElevation {
    fn elevation_m(&self, p: LatLon) -> Result<f64, NoData> {
        self.with_tiles(p, |t| t.elevation_m(p))
    }

    fn datum(&self) -> VerticalDatum {
        VerticalDatum::Egm96Geoid
    }

    fn resolution_m(&self, p: LatLon) -> f64 {
        self.with_tiles(p, |t| t.resolution_m(p))
    }

    fn describe(&self) -> String {
        format!("{} z{} (stored tiles)", self.source_name, self.zoom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_source_is_the_aws_terrarium_set_and_a_custom_one_is_checked() {
        let d = TileSource::terrarium();
        assert!(d.validate().is_ok());
        assert_eq!(TileSource::terrarium_at("  ", None).expect("default"), d);
        let e = TileSource::terrarium_at("ftp://x/{z}/{x}/{y}.png", None).unwrap_err();
        assert!(e.to_string().contains("http"), "{e}");
        let own =
            TileSource::terrarium_at("http://127.0.0.1:9/t/{z}/{x}/{y}.png", None).expect("custom");
        assert_ne!(own.cache_key(), d.cache_key());
    }

    #[test]
    fn padding_stays_inside_the_world() {
        let b = padded(
            BoundingBox {
                south_deg: -89.9,
                west_deg: 179.9,
                north_deg: 10.0,
                east_deg: 179.95,
            },
            1.0,
        );
        assert_eq!((b.south_deg, b.east_deg), (-90.0, 180.0));
        assert!((b.west_deg - 178.9).abs() < 1e-9);
    }
}
