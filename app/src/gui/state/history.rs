//! The History view: search filters and results, and the replay being played.

use aviary_core::{Mission, MissionStatus, SiteId, TelemetrySample, Waypoint};

/// History search and replay.
#[derive(Debug, Clone, Default)]
pub struct HistoryState {
    /// Site filter.
    pub site: Option<SiteId>,
    /// Status filter.
    pub status: Option<MissionStatus>,
    /// Only missions created in the last this-many days (0: all).
    pub last_days: u32,
    /// Search results, newest first.
    pub results: Vec<Mission>,
    /// Replay loaded.
    pub replay: Option<Replay>,
}

/// A loaded replay: samples and a playhead.
#[derive(Debug, Clone)]
pub struct Replay {
    /// What is replayed (mission name or file).
    pub title: String,
    /// Samples, time-ordered.
    pub samples: Vec<TelemetrySample>,
    /// Playhead, seconds from the first sample.
    pub t_s: f64,
    /// Playing.
    pub playing: bool,
    /// Playback speed (1 = real time).
    pub speed: f64,
    /// Planned waypoints, if from a stored mission.
    pub waypoints: Vec<Waypoint>,
}

impl Replay {
    /// Replay length, seconds.
    pub fn duration_s(&self) -> f64 {
        match (self.samples.first(), self.samples.last()) {
            (Some(a), Some(b)) => (b.time - a.time).num_milliseconds() as f64 / 1000.0,
            _ => 0.0,
        }
    }

    /// Index of the last sample at or before the playhead.
    pub fn index_at_playhead(&self) -> usize {
        let Some(first) = self.samples.first() else {
            return 0;
        };
        let t = first.time + chrono::Duration::milliseconds((self.t_s * 1000.0) as i64);
        self.samples
            .partition_point(|s| s.time <= t)
            .saturating_sub(1)
    }
}
