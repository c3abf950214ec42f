//! A drone as the window sees it: its stored record, what its link reports, its trail and
//! plotted samples. Shared by the Fleet, Monitor and map views.

use super::plot::{PlotBuffer, PlotSample};
use aviary_core::{Drone, LatLon, MissionId, TelemetrySample};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;

/// Most trail points kept per drone (older ones are dropped).
pub const TRAIL_POINTS_MAX: usize = 600;
/// A drone not heard from for this long is shown as link lost, seconds.
pub const LINK_LOST_AFTER_S: i64 = 5;

/// Most `STATUSTEXT` messages kept per drone for the flight display.
pub const STATUS_MESSAGES_MAX: usize = 100;

/// What the link reports about a drone beyond the stored record (a `MAVLink` vehicle's view;
/// an MQTT drone leaves most of it unknown).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkDetail {
    /// GPS fix type (0 none, 2 2D, 3 3D, 4+ DGPS/RTK).
    pub gps_fix: u8,
    /// Satellites visible.
    pub satellites: u8,
    /// Sensors healthy (all enabled sensors report healthy).
    pub sensors_ok: bool,
    /// Armed.
    pub armed: bool,
    /// Flight mode name (`AUTO`, `GUIDED`, ...).
    pub mode: String,
    /// Mission item being flown.
    pub current_item: Option<u16>,
    /// Items in the vehicle's mission (home included), when known.
    pub mission_total: Option<u16>,
    /// Last status text.
    pub status_text: String,
    /// The vehicle's `STATUSTEXT` messages, oldest first (at most [`STATUS_MESSAGES_MAX`]).
    pub messages: VecDeque<StatusMessage>,
    /// Attitude, once reported.
    pub attitude: Option<Attitude>,
    /// Altitude above mean sea level, metres, once a position was reported.
    pub alt_amsl_m: Option<f64>,
    /// Climb rate, m/s (up positive).
    pub climb_mps: f64,
    /// Battery remaining, percent; `None`: the vehicle does not say.
    pub battery_pct: Option<f64>,
    /// Battery voltage, volts, if reported.
    pub battery_v: Option<f64>,
    /// Battery current, amperes, if reported.
    pub battery_current_a: Option<f64>,
    /// Home as the vehicle reports it.
    pub home: Option<LatLon>,
    /// Share of frames received, percent.
    pub link_quality_pct: Option<f64>,
    /// On the ground or in the air, in words (`on the ground`, `in the air`, …).
    pub landed: String,
    /// The autopilot's terrain data, when it does terrain (`TERRAIN_REPORT`).
    pub terrain: Option<TerrainStatus>,
}

/// What an autopilot with terrain enabled says about its terrain data.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TerrainStatus {
    /// Terrain height under the vehicle above mean sea level, metres; `None` while it has no
    /// data there.
    pub terrain_height_m: Option<f64>,
    /// The vehicle's height above that terrain, metres, when known.
    pub above_terrain_m: Option<f64>,
    /// 4 × 4 sub-grids still waited for.
    pub pending: u16,
    /// 4 × 4 sub-grids loaded.
    pub loaded: u16,
}

/// Orientation of a vehicle, degrees.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Attitude {
    /// Roll, right wing down positive.
    pub roll_deg: f64,
    /// Pitch, nose up positive.
    pub pitch_deg: f64,
    /// Yaw, clockwise from north, 0–360.
    pub yaw_deg: f64,
}

/// One `STATUSTEXT` of a vehicle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMessage {
    /// When it arrived.
    pub time: DateTime<Utc>,
    /// `MAV_SEVERITY` (0 emergency … 7 debug).
    pub severity: u8,
    /// The vehicle's words.
    pub text: String,
}

impl LinkDetail {
    /// Keeps a `STATUSTEXT` (the oldest drops past [`STATUS_MESSAGES_MAX`]).
    pub fn push_message(&mut self, time: DateTime<Utc>, severity: u8, text: String) {
        if self.messages.len() == STATUS_MESSAGES_MAX {
            self.messages.pop_front();
        }
        self.status_text.clone_from(&text);
        self.messages.push_back(StatusMessage {
            time,
            severity,
            text,
        });
    }
}

/// A drone as the window sees it: stored record plus live telemetry.
#[derive(Debug, Clone)]
pub struct DroneView {
    /// Stored record (status, home, firmware, ...).
    pub drone: Drone,
    /// Site name, for tables.
    pub site_name: String,
    /// Latest telemetry.
    pub live: Option<TelemetrySample>,
    /// Recent positions, oldest first.
    pub trail: VecDeque<LatLon>,
    /// Positions ever added to `trail` (the newest has number `trail_pushed - 1`), so a
    /// cache can tell which are new.
    pub trail_pushed: u64,
    /// Values for the plots: the recent ones at full rate, the whole flight at a lower one.
    pub plot: PlotBuffer,
    /// Distance flown in the mission of the latest sample, metres (counted sample to sample
    /// as telemetry arrives, so it covers the whole flight, not only the plot buffer).
    pub flown: Option<(MissionId, f64)>,
    /// Link details.
    pub link: LinkDetail,
    /// Whether the link is up (heard from within [`LINK_LOST_AFTER_S`]).
    pub link_up: bool,
    /// Whether the drone is simulated by the built-in simulator.
    pub simulated: bool,
    /// The fleet server this drone is listed by (`None`: a drone of the local store).
    pub server: Option<String>,
}

impl DroneView {
    /// A drone with no live data yet.
    pub fn new(drone: Drone, site_name: String) -> Self {
        Self {
            drone,
            site_name,
            live: None,
            trail: VecDeque::new(),
            trail_pushed: 0,
            plot: PlotBuffer::default(),
            flown: None,
            link: LinkDetail::default(),
            link_up: false,
            simulated: false,
            server: None,
        }
    }

    /// Where to draw the drone: its live position, else its home.
    pub fn position(&self) -> LatLon {
        self.live.map_or(self.drone.home, |s| s.pos)
    }

    /// Heading, degrees (0 when unknown).
    pub fn heading_deg(&self) -> f64 {
        self.live.map_or(0.0, |s| s.heading_deg)
    }

    /// Battery, percent: live if known, else the stored value.
    pub fn battery_pct(&self) -> f64 {
        self.live
            .map_or(f64::from(self.drone.battery_pct), |s| s.battery_pct)
    }

    /// Distance flown in mission `id` so far, metres (0 when its telemetry has not been seen).
    pub fn flown_m(&self, id: MissionId) -> f64 {
        self.flown.filter(|(m, _)| *m == id).map_or(0.0, |(_, m)| m)
    }

    /// Records a sample: live value, trail, plot buffer, distance flown in its mission.
    pub fn push_sample(&mut self, s: TelemetrySample) {
        if let Some(id) = s.mission_id {
            let step_m = self
                .live
                .filter(|prev| prev.mission_id == Some(id))
                .map_or(0.0, |prev| prev.pos.distance_m(s.pos));
            match &mut self.flown {
                Some((m, flown_m)) if *m == id => *flown_m += step_m,
                other => *other = Some((id, 0.0)),
            }
        }
        let moved = self
            .trail
            .back()
            .is_none_or(|last| last.distance_m(s.pos) > 0.5);
        if moved {
            // Exact capacities: a growing VecDeque doubles, which for 1,000 drones' full
            // buffers would hold 40 % more memory than the samples need.
            if self.trail.capacity() == 0 {
                self.trail.reserve_exact(TRAIL_POINTS_MAX);
            }
            if self.trail.len() == TRAIL_POINTS_MAX {
                self.trail.pop_front();
            }
            self.trail.push_back(s.pos);
            self.trail_pushed += 1;
        }
        self.plot.push(PlotSample::from(&s));
        self.live = Some(s);
        self.link_up = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::state::plot::PLOT_SAMPLES_MAX;
    use aviary_core::{DroneId, DroneStatus, SiteId};

    #[test]
    fn flown_distance_covers_the_whole_mission_not_only_the_plot_buffer() {
        let home = LatLon::new(51.92, 4.48);
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let drone = Drone {
            id: DroneId::new_random(),
            site_id: SiteId::new_random(),
            serial_number: "T-1".into(),
            model: "test".into(),
            status: DroneStatus::InMission,
            battery_pct: 90,
            last_seen: None,
            home,
            firmware_version: "t".into(),
            link: None,
            created_at: t0,
        };
        let mut d = DroneView::new(drone.clone(), "site".into());
        let (m1, m2) = (MissionId::new_random(), MissionId::new_random());
        let sample = |k: usize, mission: MissionId| TelemetrySample {
            time: t0 + chrono::Duration::milliseconds(100 * k as i64),
            mission_id: Some(mission),
            drone_id: drone.id,
            pos: home.offset_ne(k as f64 * 0.5, 0.0),
            alt_rel_m: 40.0,
            speed_mps: 5.0,
            heading_deg: 0.0,
            battery_pct: 90.0,
            signal_pct: 99.0,
            status: DroneStatus::InMission,
        };
        // 3,000 samples half a metre apart: 1,499.5 m, more than the plot buffer holds.
        for k in 0..3_000 {
            d.push_sample(sample(k, m1));
        }
        // The plots keep the recent samples at full rate and the older ones thinned.
        assert!(
            (PLOT_SAMPLES_MAX..3_000).contains(&d.plot.len()),
            "{}",
            d.plot.len()
        );
        assert!((d.flown_m(m1) - 1_499.5).abs() < 0.5, "{}", d.flown_m(m1));
        assert!(d.flown_m(m2).abs() < f64::EPSILON);
        // The next mission counts from its own first sample.
        for k in 3_000..3_010 {
            d.push_sample(sample(k, m2));
        }
        assert!((d.flown_m(m2) - 4.5).abs() < 0.01, "{}", d.flown_m(m2));
        assert!(
            d.flown_m(m1).abs() < f64::EPSILON,
            "only the latest mission is kept"
        );
    }
}
