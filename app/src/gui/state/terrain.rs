//! The DEMs in use as the operator sees them: Settings → Terrain (the one every `MAVLink`
//! link answers the autopilots' terrain requests from) and the Plan view's (terrain
//! following and the path's profile). `logic` loads them; this is what is shown.

use std::path::PathBuf;

/// `text` (a DEM's description or error: `SRTM 3″ N47E008.hgt`) with the arc-second and
/// arc-minute primes, which the window's font lacks, written as ASCII quotes.
pub fn plain_primes(text: &str) -> String {
    text.replace('″', "\"").replace('′', "'")
}

/// What a DEM is loaded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemUse {
    /// Settings → Terrain: every `MAVLink` link answers the autopilots' terrain requests from it.
    Links,
    /// The Plan view: terrain following and the path's terrain profile.
    Plan,
}

/// A DEM loaded: its file and what the data is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemView {
    /// The file.
    pub path: PathBuf,
    /// What it is (`SRTM 3″ N47E008.hgt`).
    pub describe: String,
}

/// One use's DEM and the last failure to change it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemChoice {
    /// The DEM in use, if any.
    pub dem: Option<DemView>,
    /// Why the last file chosen could not be used (the DEM in use stays), naming the file.
    pub error: Option<String>,
}

/// Both uses' DEMs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TerrainState {
    /// Settings → Terrain.
    pub links: DemChoice,
    /// The Plan view.
    pub plan: DemChoice,
}

impl TerrainState {
    /// The DEM and error of `used_for`.
    pub fn choice(&self, used_for: DemUse) -> &DemChoice {
        match used_for {
            DemUse::Links => &self.links,
            DemUse::Plan => &self.plan,
        }
    }

    /// The same, to change.
    pub fn choice_mut(&mut self, used_for: DemUse) -> &mut DemChoice {
        match used_for {
            DemUse::Links => &mut self.links,
            DemUse::Plan => &mut self.plan,
        }
    }
}

/// How the Plan view's altitude is measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AltitudeMode {
    /// One altitude above the takeoff point for the whole mission (the autopilot's relative
    /// frame).
    #[default]
    AboveHome,
    /// The altitude above the ground under each point (AGL), from the plan's DEM: waypoints get
    /// their heights from the terrain and points are added where the ground departs from a
    /// straight leg ([`aviary_planner::terrain::follow_terrain`]).
    AboveTerrain,
    /// One altitude above mean sea level for the whole mission (uploaded as
    /// `MAV_FRAME_GLOBAL`); the camera's spacing and GSD are those of its height above the
    /// ground at the area's centre, from the plan's DEM.
    AboveSeaLevel,
}

impl AltitudeMode {
    /// Every mode.
    pub const ALL: [Self; 3] = [Self::AboveHome, Self::AboveTerrain, Self::AboveSeaLevel];

    /// Its name in the Plan view.
    pub const fn label(self) -> &'static str {
        match self {
            Self::AboveHome => "Above home",
            Self::AboveTerrain => "Above terrain (AGL)",
            Self::AboveSeaLevel => "Above sea level (AMSL)",
        }
    }
}

/// Terrain following as planned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Following {
    /// Height above the ground asked for, metres.
    pub agl_m: f64,
    /// Largest gap between the flown line and the ground + AGL profile, metres.
    pub tolerance_m: f64,
    /// Points added along the legs to follow the ground.
    pub inserted_waypoints: usize,
    /// Largest climb over one leg, metres.
    pub max_climb_m: f64,
}

/// The planned path over the plan's DEM.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanTerrain {
    /// Ground, planned altitude and clearance along the path.
    pub profile: aviary_planner::terrain::PathProfile,
    /// The terrain following, when the plan flies above the terrain.
    pub following: Option<Following>,
    /// What a mission saved from this plan keeps of its terrain (for the report's planned
    /// against flown height above the ground), when it follows the terrain.
    pub planned: Option<aviary_core::PlannedTerrain>,
}
