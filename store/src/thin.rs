//! Which telemetry samples are worth a row: every one while the drone flies, and while it sits
//! on the ground unchanged one per interval (a thousand grounded drones at 10 Hz would
//! otherwise write gigabytes an hour of the same position and battery).

use aviary_core::model::{DroneId, DroneStatus, TelemetrySample};
use std::collections::HashMap;

/// A sample whose drone is in the air or moving: stored at full rate.
pub fn is_flying(s: &TelemetrySample) -> bool {
    s.status == DroneStatus::InMission || s.alt_rel_m.abs() >= 1.0 || s.speed_mps >= 0.5
}

/// Whether `b` says nothing new after `a`: same status and mission, within 2 m, battery within
/// 1 point and link quality within 5.
fn unchanged(a: &TelemetrySample, b: &TelemetrySample) -> bool {
    a.status == b.status
        && a.mission_id == b.mission_id
        && a.pos.distance_m(b.pos) < 2.0
        && (a.battery_pct - b.battery_pct).abs() < 1.0
        && (a.signal_pct - b.signal_pct).abs() < 5.0
}

/// Decides sample by sample, per drone, against the last sample it kept.
#[derive(Debug, Default)]
pub struct Thinner {
    interval: chrono::Duration,
    last_kept: HashMap<DroneId, TelemetrySample>,
}

impl Thinner {
    /// Keeps one grounded, unchanged sample per `interval` (zero: keeps every sample).
    pub fn new(interval: chrono::Duration) -> Self {
        Self {
            interval,
            last_kept: HashMap::new(),
        }
    }

    /// Whether `s` is stored; a kept sample becomes the one the next are compared with.
    pub fn keep(&mut self, s: &TelemetrySample) -> bool {
        if self.interval <= chrono::Duration::zero() {
            return true;
        }
        let keep = self.last_kept.get(&s.drone_id).is_none_or(|prev| {
            is_flying(s)
                || is_flying(prev)
                || !unchanged(prev, s)
                || s.time < prev.time
                || s.time - prev.time >= self.interval
        });
        if keep {
            self.last_kept.insert(s.drone_id, *s);
        }
        keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_core::LatLon;
    use chrono::{DateTime, Duration};

    fn sample(drone: DroneId, t_ms: i64, alt_rel_m: f64, battery_pct: f64) -> TelemetrySample {
        TelemetrySample {
            time: DateTime::from_timestamp_millis(1_800_000_000_000 + t_ms).unwrap_or_default(),
            mission_id: None,
            drone_id: drone,
            pos: LatLon::new(51.92, 4.48),
            alt_rel_m,
            speed_mps: 0.0,
            heading_deg: 0.0,
            battery_pct,
            signal_pct: 99.0,
            status: DroneStatus::Available,
        }
    }

    #[test]
    fn grounded_and_unchanged_keeps_one_per_interval_flying_keeps_all() {
        let mut t = Thinner::new(Duration::seconds(10));
        let (a, b) = (DroneId::new_random(), DroneId::new_random());
        // One minute at 10 Hz on the ground: one sample per 10 s, for each drone on its own.
        let kept_a = (0..600)
            .filter(|k| t.keep(&sample(a, k * 100, 0.0, 90.0)))
            .count();
        let kept_b = (0..600)
            .filter(|k| t.keep(&sample(b, k * 100, 0.0, 90.0)))
            .count();
        assert_eq!((kept_a, kept_b), (6, 6));
        // A change on the ground is kept at once: the battery drops a point.
        assert!(t.keep(&sample(a, 60_100, 0.0, 89.0)));
        // Flying: every sample.
        let flying = (0..100)
            .filter(|k| t.keep(&sample(a, 61_000 + k * 100, 30.0, 89.0)))
            .count();
        assert_eq!(flying, 100);
        // The first sample back on the ground is kept (the previous one flew).
        assert!(t.keep(&sample(a, 71_000, 0.0, 89.0)));
        assert!(!t.keep(&sample(a, 71_100, 0.0, 89.0)));
    }

    #[test]
    fn a_zero_interval_keeps_everything() {
        let mut t = Thinner::new(Duration::zero());
        let a = DroneId::new_random();
        assert!((0..100).all(|k| t.keep(&sample(a, k * 100, 0.0, 90.0))));
    }
}
