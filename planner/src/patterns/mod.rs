//! Pattern generation in the local frame: lawnmower (automatic angle), crosshatch, perimeter
//! loops, spiral and expanding square. Output is the survey path (camera on) as local points;
//! the mission items around it are added by [`crate::plan`].
//!
//! By role: [`bearing`] (the angle search), [`cells`] (one pass of transects and its cells),
//! [`tours`] (the order the pieces are flown in and their connectors), [`lawnmower`]
//! (lawnmower and crosshatch), [`field`] (the distance to the region's boundary on a grid and
//! its contours), [`rings`] (inset rings from the field, or buffered for a few loops),
//! [`loops`] (perimeter and spiral) and [`square`] (expanding square).

use geo::Coord;

use crate::sweep::fast_len;

mod bearing;
mod cells;
mod field;
mod lawnmower;
mod loops;
mod rings;
mod square;
mod tours;

pub(crate) use bearing::{bearing_candidates_deg, best_bearing_deg};
pub(crate) use lawnmower::{FREE_START_PIECES, crosshatch, lawnmower, lawnmower_from_best_corner};
pub(crate) use loops::{LoopSpec, loops};
pub(crate) use square::expanding_square;

/// One straight-transect pass: its bearing and the index ranges of the path that fly it (a
/// crosshatch's tour may interleave the cells of its two passes).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pass {
    pub bearing_deg: f64,
    pub runs: Vec<(usize, usize)>,
}

/// A generated survey path in local metres.
#[derive(Debug, Clone, Default)]
pub(crate) struct SurveyPath {
    pub points: Vec<Coord>,
    /// Straight-transect passes (lawnmower: one, crosshatch: two).
    pub passes: Vec<Pass>,
    /// Connectors that could not be routed inside the area and fly straight.
    pub unrouted: usize,
}

impl SurveyPath {
    /// Length of the path, metres.
    pub fn length_m(&self) -> f64 {
        self.points
            .windows(2)
            .map(|w| fast_len(w[1].x - w[0].x, w[1].y - w[0].y))
            .sum()
    }
}

/// Inputs shared by the generators.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gen {
    pub spacing_m: f64,
    pub turnaround_m: f64,
    /// Metres a 180° turn costs (speed × turn time), for the angle search.
    pub turn_cost_m: f64,
    pub home: Option<Coord>,
    /// Transect grid anchor across the lines (for splitting among drones), else the area's edge.
    pub grid_anchor_v: Option<f64>,
}

#[cfg(test)]
pub(super) mod test_util {
    use super::Gen;
    use crate::area::Area;
    use aviary_core::LatLon;

    pub(crate) fn rect_area(w_deg: f64, h_deg: f64) -> Area {
        let (lat, lon) = (37.0, -122.0);
        crate::area::from_ring(vec![
            LatLon::new(lat, lon),
            LatLon::new(lat, lon + w_deg),
            LatLon::new(lat + h_deg, lon + w_deg),
            LatLon::new(lat + h_deg, lon),
        ])
    }

    pub(crate) fn params(spacing_m: f64) -> Gen {
        Gen {
            spacing_m,
            turnaround_m: 0.0,
            turn_cost_m: 0.0,
            home: None,
            grid_anchor_v: None,
        }
    }
}
