//! The tile folder on disk: stored sets (one folder each, with a manifest) and the cache of
//! tiles the map fetched.
//!
//! ```text
//! <root>/sets/<set>/manifest.json     written last, through a temporary file and a rename
//! <root>/sets/<set>/<z>/<x>/<y>.tile
//! <root>/cache/<source>/<z>/<x>/<y>.tile
//! ```
//!
//! A set folder without a manifest is a download that did not finish: it is not listed and
//! not read.

use super::TileError;
use super::area::BoundingBox;
use super::source::{TileId, TileSource, slug};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The manifest of a stored set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetManifest {
    /// The operator's name for the set.
    pub name: String,
    /// The source it came from (the API key is never written).
    pub source: TileSource,
    /// The area.
    pub bbox: BoundingBox,
    /// Lowest zoom.
    pub zoom_min: u8,
    /// Highest zoom.
    pub zoom_max: u8,
    /// Tiles stored.
    pub tile_count: u64,
    /// Bytes of tiles stored.
    pub bytes: u64,
    /// Tiles the server did not give (HTTP errors), not stored.
    #[serde(default)]
    pub failed_tiles: u64,
    /// When the download finished.
    pub created: DateTime<Utc>,
}

/// A stored set as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSet {
    /// Its manifest.
    pub manifest: SetManifest,
    /// Its folder.
    pub dir: PathBuf,
}

/// The tile folder. Cheap to clone; all methods do blocking file I/O (call them off the UI
/// thread, as [`super::TileLayer`] and [`super::Download`] do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileStore {
    root: PathBuf,
}

const MANIFEST: &str = "manifest.json";

impl TileStore {
    /// The store under `root` (created when first written).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn sets_dir(&self) -> PathBuf {
        self.root.join("sets")
    }

    /// The folder a set named `name` lives in.
    pub fn set_dir(&self, name: &str) -> Result<PathBuf, TileError> {
        let s = slug(name);
        if s.is_empty() {
            return Err(TileError::BadArea(
                "a stored set needs a name with letters or digits".into(),
            ));
        }
        Ok(self.sets_dir().join(s))
    }

    /// The cache folder of `source`.
    pub fn cache_dir(&self, source: &TileSource) -> PathBuf {
        self.root.join("cache").join(source.cache_key())
    }

    /// The file of tile `id` below a set or cache folder.
    pub fn tile_path(dir: &Path, id: TileId) -> PathBuf {
        dir.join(id.z.to_string())
            .join(id.x.to_string())
            .join(format!("{}.tile", id.y))
    }

    /// Every finished set, by name. Sets whose manifest cannot be read are skipped with a log
    /// line (a half-written folder from a crash must not hide the others).
    pub fn list(&self) -> Result<Vec<StoredSet>, TileError> {
        let dir = self.sets_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(TileError::disk(&dir, &e)),
        };
        let mut sets = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() || !path.join(MANIFEST).exists() {
                continue;
            }
            match read_manifest(&path) {
                Ok(manifest) => sets.push(StoredSet {
                    manifest,
                    dir: path,
                }),
                Err(e) => tracing::warn!(error = %e, "stored tile set skipped"),
            }
        }
        sets.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
        Ok(sets)
    }

    /// Bytes on disk under a set's folder (tiles and manifest).
    pub fn size_bytes(&self, name: &str) -> Result<u64, TileError> {
        let dir = self.existing_set(name)?;
        dir_size_bytes(&dir)
    }

    /// Deletes a set and its tiles.
    pub fn delete(&self, name: &str) -> Result<(), TileError> {
        let dir = self.existing_set(name)?;
        std::fs::remove_dir_all(&dir).map_err(|e| TileError::disk(&dir, &e))
    }

    fn existing_set(&self, name: &str) -> Result<PathBuf, TileError> {
        let dir = self.set_dir(name)?;
        if dir.join(MANIFEST).exists() {
            Ok(dir)
        } else {
            Err(TileError::NoSuchSet(name.to_owned()))
        }
    }

    /// The folders to read tiles of `source` from, stored sets first, then the cache.
    pub fn read_dirs(&self, source: &TileSource) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .list()
            .unwrap_or_default()
            .into_iter()
            .filter(|s| s.manifest.source.template == source.template)
            .map(|s| s.dir)
            .collect();
        dirs.push(self.cache_dir(source));
        dirs
    }

    /// Tile `id` of `source` from disk (stored sets, then the cache); `None` when no copy is
    /// stored. Works with no network.
    pub fn lookup(&self, source: &TileSource, id: TileId) -> Option<Vec<u8>> {
        lookup_in(&self.read_dirs(source), id)
    }

    /// Writes a tile into the cache of `source`.
    pub fn put_cached(
        &self,
        source: &TileSource,
        id: TileId,
        bytes: &[u8],
    ) -> Result<(), TileError> {
        write_atomic(&Self::tile_path(&self.cache_dir(source), id), bytes)
    }

    /// Writes a set's manifest (temporary file, then rename: a reader sees the old one or the
    /// whole new one).
    pub fn write_manifest(dir: &Path, manifest: &SetManifest) -> Result<(), TileError> {
        let json = serde_json::to_vec_pretty(manifest).map_err(|e| TileError::Manifest {
            path: dir.join(MANIFEST).display().to_string(),
            reason: e.to_string(),
        })?;
        write_atomic(&dir.join(MANIFEST), &json)
    }
}

/// The first copy of `id` in `dirs`.
pub(crate) fn lookup_in(dirs: &[PathBuf], id: TileId) -> Option<Vec<u8>> {
    dirs.iter()
        .find_map(|d| std::fs::read(TileStore::tile_path(d, id)).ok())
        .filter(|b| !b.is_empty())
}

fn read_manifest(dir: &Path) -> Result<SetManifest, TileError> {
    let path = dir.join(MANIFEST);
    let bytes = std::fs::read(&path).map_err(|e| TileError::disk(&path, &e))?;
    serde_json::from_slice(&bytes).map_err(|e| TileError::Manifest {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Writes `bytes` to `path` through `<path>.tmp` and a rename, creating folders.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TileError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| TileError::disk(parent, &e))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| TileError::disk(&tmp, &e))?;
    std::fs::rename(&tmp, path).map_err(|e| TileError::disk(path, &e))
}

fn dir_size_bytes(dir: &Path) -> Result<u64, TileError> {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| TileError::disk(&d, &e))?;
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.len();
            }
        }
    }
    Ok(total)
}
