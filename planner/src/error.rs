//! The one error type of the planner. Every variant names the problem and where it is, in
//! words an operator can act on.

use aviary_core::LatLon;

/// Why an area could not be read or a survey could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid in its format (GeoJSON, KML, KMZ, Shapefile, `.plan`, WPL).
    #[error("{format}: {detail}")]
    Format {
        /// The format that was expected.
        format: &'static str,
        /// What is wrong and where.
        detail: String,
    },
    /// The file extension does not name a format the planner reads or writes.
    #[error(
        "unsupported file type {0:?} (expected .geojson/.json, .kml, .kmz, .shp, .plan, .waypoints, .csv)"
    )]
    UnsupportedFormat(String),
    /// The input holds no polygon at all.
    #[error("{0}: no polygon found")]
    NoPolygon(String),
    /// A coordinate is not a valid WGS84 position.
    #[error("{location}, point {index}: {detail}")]
    CoordOutOfRange {
        /// Which ring.
        location: String,
        /// Index of the point within the ring (0-based).
        index: usize,
        /// The range problem.
        detail: String,
    },
    /// A ring has fewer than three distinct points.
    #[error("{location}: only {distinct} distinct point(s), a ring needs at least 3")]
    TooFewPoints {
        /// Which ring.
        location: String,
        /// Number of distinct points found.
        distinct: usize,
    },
    /// A ring encloses no area (all points on a line).
    #[error("{location}: the ring has zero area (its points are collinear)")]
    ZeroArea {
        /// Which ring.
        location: String,
    },
    /// Two edges of the area cross each other.
    #[error("{location}: edge {edge_a} crosses edge {edge_b} at {at} (self-intersecting ring)")]
    SelfIntersection {
        /// Which ring(s).
        location: String,
        /// Index of the first edge (edge i runs from point i to point i+1).
        edge_a: usize,
        /// Index of the second edge.
        edge_b: usize,
        /// Approximate crossing position.
        at: LatLon,
    },
    /// A hole lies (partly) outside its exterior ring.
    #[error("{location}: the hole is not inside the exterior ring")]
    HoleOutside {
        /// Which hole.
        location: String,
    },
    /// The area is larger than the stated maximum.
    #[error("survey area is {area_km2:.1} km², larger than the maximum of {max_km2:.1} km²")]
    AreaTooLarge {
        /// Area found.
        area_km2: f64,
        /// Maximum allowed.
        max_km2: f64,
    },
    /// A parameter is out of its valid range.
    #[error("{name} = {value} is invalid: {expected}")]
    InvalidParam {
        /// Parameter name with its unit (`alt_rel_m`, `side_overlap_pct`).
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// The valid range, in words.
        expected: &'static str,
    },
    /// The pattern name is not known.
    #[error(
        "unknown pattern {0:?} (expected lawnmower, crosshatch, perimeter, spiral or expanding_square)"
    )]
    UnknownPattern(String),
    /// The camera name is not in the built-in list.
    #[error("unknown camera {name:?} (built-in: {known})")]
    UnknownCamera {
        /// Name asked for.
        name: String,
        /// Built-in names, comma separated.
        known: String,
    },
    /// The autopilot name is not known.
    #[error("unknown autopilot {0:?} (expected ardupilot or px4)")]
    UnknownAutopilot(String),
    /// The mission would need more sorties than the caller allows.
    #[error(
        "this survey needs at least {needed} sorties on one battery each, more than the limit of {max}: fly higher, split the area, or raise the limit (aviary plan --max-sorties)"
    )]
    TooManySorties {
        /// Sorties needed (a lower bound when known before planning).
        needed: usize,
        /// The limit.
        max: usize,
    },
    /// The area is smaller than what one photo covers.
    #[error(
        "the survey area ({area_m2:.1} m²) is smaller than one camera footprint ({footprint_m:.1} m across): one photo from above covers it"
    )]
    AreaSmallerThanFootprint {
        /// Survey area, m².
        area_m2: f64,
        /// Footprint across the track, metres.
        footprint_m: f64,
    },
    /// The area is thinner than the distance between transects.
    #[error(
        "the survey area is {width_m:.1} m wide at most, thinner than the line spacing of {spacing_m:.1} m: no transect fits (draw a wider area or lower the spacing)"
    )]
    AreaThinnerThanSpacing {
        /// Widest extent of the area across its narrowest direction, metres.
        width_m: f64,
        /// Line spacing, metres.
        spacing_m: f64,
    },
    /// The no-fly zones leave nothing of the survey area to fly.
    #[error("the no-fly zones cover the whole survey area ({area_m2:.0} m²)")]
    NoFlyCoversArea {
        /// Survey area before the no-fly zones were removed.
        area_m2: f64,
    },
    /// One leg of the mission cannot be flown on one battery, even alone.
    #[error(
        "the battery cannot fly from home to {at} and back ({needed_wh:.1} Wh needed, {usable_wh:.1} Wh usable)"
    )]
    BatteryTooSmall {
        /// The unreachable point.
        at: LatLon,
        /// Energy that leg needs.
        needed_wh: f64,
        /// Usable battery energy.
        usable_wh: f64,
    },
    /// Home (the takeoff point) lies inside a no-fly zone.
    #[error("home is inside no-fly zone {zone}: move home out of the zone")]
    HomeInNoFlyZone {
        /// 1-based number of the zone.
        zone: usize,
    },
    /// A transit between home (or a sortie's launch point) and the survey has no route around
    /// the no-fly zones.
    #[error(
        "no route from {from} to {to} around the no-fly zones (a zone closes off home or the \
         survey): move home or change the zones"
    )]
    NoTransitRoute {
        /// Where the transit starts.
        from: LatLon,
        /// Where it should end.
        to: LatLon,
    },
}

/// Result alias of the planner.
pub type Result<T, E = PlanError> = std::result::Result<T, E>;

impl PlanError {
    pub(crate) fn format(format: &'static str, detail: impl Into<String>) -> Self {
        Self::Format {
            format,
            detail: detail.into(),
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
