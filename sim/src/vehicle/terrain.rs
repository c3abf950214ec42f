//! `ArduPilot`'s terrain (`AP_Terrain`) as a ground station sees it, without the SD card: a
//! cache of up to 12 blocks filled by the ground station's `TERRAIN_DATA`, `TERRAIN_REQUEST`s
//! for the missing 4 × 4 sub-grids of the block under the vehicle and of its neighbours (one
//! request per interval), `TERRAIN_REPORT`s (streamed and in reply to `TERRAIN_CHECK`), and
//! the pre-arm check that waits until nothing is pending.

use super::{MavMessage, Vehicle, mav};
use aviary_core::terrain_grid::{self, PointE7, TerrainBlock};

/// Blocks in the memory cache (`TERRAIN_GRID_BLOCK_CACHE_SIZE`).
const CACHE_BLOCKS: usize = 12;

/// `ArduPilot`'s terrain parameters (`TERRAIN_ENABLE` = 1 when a drone has them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TerrainOptions {
    /// Grid spacing, metres (`TERRAIN_SPACING`, 100 by default).
    pub spacing_m: u16,
    /// Report and request at most this often, wall seconds (`ArduPilot` asks again after
    /// 2 s; tests shorten it).
    pub request_every_s: f64,
}

impl Default for TerrainOptions {
    fn default() -> Self {
        Self {
            spacing_m: terrain_grid::DEFAULT_SPACING_M,
            request_every_s: 2.0,
        }
    }
}

/// One cached block and when it was last used (for the least-recently-used eviction).
#[derive(Debug, Clone)]
struct Cached {
    block: TerrainBlock,
    last_access: u64,
}

/// The terrain state of one vehicle.
#[derive(Debug, Clone)]
pub(super) struct TerrainState {
    opts: TerrainOptions,
    cache: Vec<Cached>,
    access: u64,
    last_request_wall_s: f64,
    last_report_wall_s: f64,
    /// The last terrain height found under the vehicle, for extrapolated reports.
    current_loc_height_m: Option<f64>,
}

impl TerrainState {
    pub(super) fn new(opts: TerrainOptions) -> Self {
        Self {
            opts,
            cache: Vec::new(),
            access: 0,
            last_request_wall_s: f64::NEG_INFINITY,
            last_report_wall_s: f64::NEG_INFINITY,
            current_loc_height_m: None,
        }
    }

    /// `find_grid_cache`: the cached block with this corner, or a new empty one in place of
    /// the least recently used.
    fn block_index(&mut self, corner: PointE7) -> usize {
        self.access += 1;
        let spacing_m = self.opts.spacing_m;
        if let Some(i) = self
            .cache
            .iter()
            .position(|c| c.block.corner == corner && c.block.spacing_m == spacing_m)
        {
            self.cache[i].last_access = self.access;
            return i;
        }
        let fresh = Cached {
            block: TerrainBlock::new(corner, spacing_m),
            last_access: self.access,
        };
        if self.cache.len() < CACHE_BLOCKS {
            self.cache.push(fresh);
            return self.cache.len() - 1;
        }
        let oldest = self
            .cache
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| c.last_access)
            .map_or(0, |(i, _)| i);
        self.cache[oldest] = fresh;
        oldest
    }

    /// `height_amsl`: the terrain height at `p` from the cache, metres; asking about a point
    /// puts its block in the cache (so it gets requested).
    pub(super) fn height_m(&mut self, p: PointE7) -> Option<f64> {
        let info = terrain_grid::grid_info(p, self.opts.spacing_m);
        let i = self.block_index(info.block);
        self.cache[i].block.height_m(&info)
    }

    /// The terrain height at `p` if its block is already held, metres (nothing requested).
    pub(super) fn peek_height_m(&self, p: PointE7) -> Option<f64> {
        let info = terrain_grid::grid_info(p, self.opts.spacing_m);
        self.cache
            .iter()
            .find(|c| c.block.corner == info.block && c.block.spacing_m == self.opts.spacing_m)
            .and_then(|c| c.block.height_m(&info))
    }

    /// `get_statistics`: sub-grids waiting and sub-grids held, over the cache.
    pub(super) fn statistics(&self) -> (u16, u16) {
        let mut pending = 0;
        let mut loaded = 0;
        for c in &self.cache {
            let have = c.block.loaded();
            loaded += have;
            pending += u16::from(terrain_grid::SUBGRIDS) - have;
        }
        (pending, loaded)
    }

    /// `handle_terrain_data`: stores a sub-grid for a block in the cache (others are ignored).
    pub(super) fn store(&mut self, d: &mav::TERRAIN_DATA_DATA) {
        let corner = PointE7 {
            lat_e7: d.lat,
            lon_e7: d.lon,
        };
        let spacing_m = self.opts.spacing_m;
        if let Some(c) = self.cache.iter_mut().find(|c| {
            c.block.corner == corner
                && c.block.spacing_m == spacing_m
                && d.grid_spacing == spacing_m
        }) {
            c.block.store(d.gridbit, &d.data);
        }
    }

    /// `request_missing`: a request for the missing sub-grids of the block at `corner`, if any.
    fn request_for(&mut self, corner: PointE7) -> Option<MavMessage> {
        let i = self.block_index(corner);
        let block = &self.cache[i].block;
        let mask = block.missing();
        (mask != 0).then_some(MavMessage::TERRAIN_REQUEST(mav::TERRAIN_REQUEST_DATA {
            mask,
            lat: block.corner.lat_e7,
            lon: block.corner.lon_e7,
            grid_spacing: block.spacing_m,
        }))
    }

    /// `send_request`: at most one request per interval, for the vehicle's own block first,
    /// then its neighbours, then any other cached block (e.g. one a `TERRAIN_CHECK` asked
    /// about).
    fn next_request(&mut self, pos: PointE7, wall_s: f64) -> Option<MavMessage> {
        if wall_s - self.last_request_wall_s < self.opts.request_every_s {
            return None;
        }
        let mut wanted = terrain_grid::blocks_around(pos, self.opts.spacing_m);
        wanted.extend(self.cache.iter().map(|c| c.block.corner));
        let msg = wanted.into_iter().find_map(|b| self.request_for(b))?;
        self.last_request_wall_s = wall_s;
        Some(msg)
    }
}

impl Vehicle {
    /// Terrain work of one tick: note the height under the vehicle and at home (`update`),
    /// then, once per interval, a `TERRAIN_REPORT` for the vehicle's position and a request
    /// for missing data (`send_request`).
    pub(super) fn terrain_tick(&mut self, out: &mut Vec<MavMessage>) {
        let pos = PointE7::from_latlon(self.kin.pos);
        let home = PointE7::from_latlon(self.cfg.home);
        let wall_s = self.wall_time_s;
        let Some(t) = self.terrain.as_mut() else {
            return;
        };
        if let Some(h) = t.height_m(pos) {
            t.current_loc_height_m = Some(h);
        }
        let _ = t.height_m(home);
        if wall_s - t.last_report_wall_s < t.opts.request_every_s {
            return;
        }
        t.last_report_wall_s = wall_s;
        out.push(self.terrain_report(pos, true));
        if let Some(t) = self.terrain.as_mut()
            && let Some(req) = t.next_request(pos, wall_s)
        {
            out.push(req);
        }
    }

    /// `send_terrain_report`: the terrain height at `at`, the vehicle's height above it and
    /// the cache statistics. Spacing 0 says there is no height at `at` or at home.
    pub(super) fn terrain_report(&mut self, at: PointE7, extrapolate: bool) -> MavMessage {
        let home = PointE7::from_latlon(self.cfg.home);
        let alt_rel_m = self.kin.alt_rel_m;
        let Some(t) = self.terrain.as_mut() else {
            return MavMessage::TERRAIN_REPORT(mav::TERRAIN_REPORT_DATA::default());
        };
        let home_h = t.height_m(home);
        let here_h = t.height_m(at);
        let (spacing, home_m, terrain_m, known) = match (home_h, here_h) {
            (Some(hh), Some(h)) => (t.opts.spacing_m, hh, h, true),
            _ => match t.current_loc_height_m.filter(|_| extrapolate) {
                Some(h) => (0, 0.0, h, true),
                None => (0, 0.0, 0.0, false),
            },
        };
        let current_m = if known { alt_rel_m } else { 0.0 } + home_m - terrain_m;
        let (pending, loaded) = t.statistics();
        MavMessage::TERRAIN_REPORT(mav::TERRAIN_REPORT_DATA {
            lat: at.lat_e7,
            lon: at.lon_e7,
            terrain_height: terrain_m as f32,
            current_height: current_m as f32,
            spacing,
            pending,
            loaded,
        })
    }

    /// `AP_Terrain::pre_arm_checks`: no arming while terrain data is pending.
    pub(super) fn terrain_pre_arm(&self) -> Result<(), String> {
        match &self.terrain {
            Some(t) if t.statistics().0 > 0 => Err("PreArm: Waiting for Terrain data".into()),
            _ => Ok(()),
        }
    }
}
