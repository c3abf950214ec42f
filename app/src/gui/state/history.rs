//! The History view: search filters and results, and the replay being played.

use aviary_core::{Mission, MissionStatus, SiteId, TelemetrySample, Waypoint};
use chrono::{DateTime, Utc};

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
    /// What the vehicle was doing over time, oldest first: its flight modes and arming from a
    /// log, the mission's phases from the store.
    pub timeline: Vec<ReplayMark>,
}

/// One change on a replay's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayMark {
    /// When it changed.
    pub time: DateTime<Utc>,
    /// What it changed to (`AUTO`, `RTL · disarmed`, `returning`).
    pub label: String,
    /// Why, when known (`vehicle: mode RTL (Battery Failsafe)`).
    pub detail: String,
}

impl Replay {
    /// Replay length, seconds.
    pub fn duration_s(&self) -> f64 {
        match (self.samples.first(), self.samples.last()) {
            (Some(a), Some(b)) => (b.time - a.time).num_milliseconds() as f64 / 1000.0,
            _ => 0.0,
        }
    }

    /// A replay starting at its first sample, paused, at real-time speed.
    pub fn new(
        title: String,
        samples: Vec<TelemetrySample>,
        waypoints: Vec<Waypoint>,
        timeline: Vec<ReplayMark>,
    ) -> Self {
        Self {
            title,
            samples,
            t_s: 0.0,
            playing: false,
            speed: 1.0,
            waypoints,
            timeline,
        }
    }

    /// The time of the playhead (`None` without samples).
    pub fn playhead_time(&self) -> Option<DateTime<Utc>> {
        let first = self.samples.first()?;
        Some(first.time + chrono::Duration::milliseconds((self.t_s * 1000.0) as i64))
    }

    /// Seconds from the first sample to `time`.
    pub fn offset_s(&self, time: DateTime<Utc>) -> f64 {
        self.samples
            .first()
            .map_or(0.0, |f| (time - f.time).num_milliseconds() as f64 / 1000.0)
    }

    /// The timeline entry in force at the playhead.
    pub fn mark_at_playhead(&self) -> Option<&ReplayMark> {
        let t = self.playhead_time()?;
        self.timeline[..self.timeline.partition_point(|m| m.time <= t)].last()
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
