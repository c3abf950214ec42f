//! The one mission item list: what a vehicle flies for a list of waypoints, item by item, in
//! `MAVLink` numbering. The `QGC WPL 110` and `.plan` exports (planner) and the upload (links)
//! are all built from [`mission_items`], so item `n` in the file is item `n` on the vehicle and
//! item `n` read back from it.
//!
//! Conventions, as `QGroundControl` writes them:
//! - item 0 is home (`MAV_FRAME_GLOBAL`, altitude 0; `ArduPilot` replaces it with its own);
//! - navigation items with a position are in `MAV_FRAME_GLOBAL_RELATIVE_ALT`;
//! - items without a position (camera, speed, return to launch) are in `MAV_FRAME_MISSION`
//!   with latitude, longitude and altitude 0;
//! - `DO_CHANGE_SPEED` (ground speed) follows the takeoff, so the vehicle flies the planned
//!   speed instead of its own default (`WPNAV_SPEED`, 10 m/s on `ArduCopter`);
//! - nothing is inserted: a camera start or stop follows the waypoint the planner put before it.
//!
//! Plain data only: no wire types, no I/O.

use crate::geo::LatLon;
use crate::model::{Waypoint, WaypointAction};

/// `MAV_CMD` numbers used in mission items.
pub mod cmd {
    /// `MAV_CMD_NAV_WAYPOINT`.
    pub const NAV_WAYPOINT: u16 = 16;
    /// `MAV_CMD_NAV_RETURN_TO_LAUNCH`.
    pub const NAV_RETURN_TO_LAUNCH: u16 = 20;
    /// `MAV_CMD_NAV_LAND`.
    pub const NAV_LAND: u16 = 21;
    /// `MAV_CMD_NAV_TAKEOFF`.
    pub const NAV_TAKEOFF: u16 = 22;
    /// `MAV_CMD_DO_CHANGE_SPEED`.
    pub const DO_CHANGE_SPEED: u16 = 178;
    /// `MAV_CMD_DO_SET_CAM_TRIGG_DIST`.
    pub const DO_SET_CAM_TRIGG_DIST: u16 = 206;
}

/// `MAV_FRAME` numbers used in mission items.
pub mod frame {
    /// `MAV_FRAME_GLOBAL`: altitude above mean sea level (home item).
    pub const GLOBAL: u8 = 0;
    /// `MAV_FRAME_MISSION`: the item has no position.
    pub const MISSION: u8 = 2;
    /// `MAV_FRAME_GLOBAL_RELATIVE_ALT`: altitude above home.
    pub const GLOBAL_RELATIVE_ALT: u8 = 3;
    /// `MAV_FRAME_GLOBAL_TERRAIN_ALT`: altitude above the terrain under the item (the
    /// autopilot's own terrain data).
    pub const GLOBAL_TERRAIN_ALT: u8 = 10;
}

/// How the positioned items of a mission give their altitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AltitudeRef<'a> {
    /// Above home (`MAV_FRAME_GLOBAL_RELATIVE_ALT`): a waypoint's `alt_rel_m` as it is.
    AboveHome,
    /// Above mean sea level (`MAV_FRAME_GLOBAL`): `alt_rel_m + home_amsl_m`, for a
    /// terrain-following mission on any autopilot.
    Amsl {
        /// Ground height at home above mean sea level, metres.
        home_amsl_m: f64,
    },
    /// Above the terrain (`MAV_FRAME_GLOBAL_TERRAIN_ALT`): the waypoint's planned height
    /// over the ground under it, for an autopilot that has terrain data (`ArduPilot` with
    /// `TERRAIN_ENABLE`) and holds the height over its own terrain between waypoints.
    Terrain {
        /// Ground height at home above mean sea level, metres.
        home_amsl_m: f64,
        /// Ground under each waypoint (`None` where it has no position), metres.
        ground_amsl_m: &'a [Option<f64>],
    },
}

impl AltitudeRef<'_> {
    /// The frame and altitude of waypoint `index` at `alt_rel_m` above home.
    fn place(&self, index: usize, alt_rel_m: f64) -> (u8, f64) {
        match *self {
            Self::AboveHome => (frame::GLOBAL_RELATIVE_ALT, alt_rel_m),
            Self::Amsl { home_amsl_m } => (frame::GLOBAL, alt_rel_m + home_amsl_m),
            Self::Terrain {
                home_amsl_m,
                ground_amsl_m,
            } => match ground_amsl_m.get(index).copied().flatten() {
                Some(g) => (frame::GLOBAL_TERRAIN_ALT, alt_rel_m + home_amsl_m - g),
                // No ground known for it: absolute, which every autopilot flies.
                None => (frame::GLOBAL, alt_rel_m + home_amsl_m),
            },
        }
    }
}

/// Resolution of a mission item's latitude and longitude on the wire (`MISSION_ITEM_INT`:
/// 1e-7 degrees); [`mission_items`] rounds to it so the file and the vehicle hold the same
/// numbers.
pub const POSITION_RESOLUTION_DEG: f64 = 1e-7;

/// One mission item, numbered as the vehicle numbers it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanItem {
    /// Sequence number (0 = home).
    pub seq: u16,
    /// `MAV_CMD` number (see [`cmd`]).
    pub command: u16,
    /// `MAV_FRAME` number (see [`frame`]).
    pub frame: u8,
    /// `param1`..`param4`. `NaN` means "unset" (e.g. a waypoint's yaw: keep the current one).
    pub params: [f32; 4],
    /// Latitude, degrees (0 when the item has no position).
    pub lat_deg: f64,
    /// Longitude, degrees (0 when the item has no position).
    pub lon_deg: f64,
    /// Altitude, metres in `frame` (0 when the item has no position).
    pub alt_m: f64,
    /// Continue to the next item automatically.
    pub autocontinue: bool,
}

fn quantize(deg: f64) -> f64 {
    (deg / POSITION_RESOLUTION_DEG).round() * POSITION_RESOLUTION_DEG
}

/// A parameter compares equal when both are unset (`NaN`) or one is unset and the other 0
/// (files and vehicles store an unset parameter as 0), or when they agree to 1e-4 relative.
fn same_param(a: f32, b: f32) -> bool {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => true,
        (true, false) => b == 0.0,
        (false, true) => a == 0.0,
        (false, false) => (a - b).abs() <= 1e-4 * a.abs().max(b.abs()).max(1.0),
    }
}

impl PlanItem {
    /// An item at `pos`, `alt_m` above home.
    fn at(seq: u16, command: u16, pos: LatLon, alt_m: f64, params: [f32; 4]) -> Self {
        Self {
            seq,
            command,
            frame: frame::GLOBAL_RELATIVE_ALT,
            params,
            lat_deg: quantize(pos.lat_deg),
            lon_deg: quantize(pos.lon_deg),
            alt_m,
            autocontinue: true,
        }
    }

    /// An item without a position (`MAV_FRAME_MISSION`).
    fn without_position(seq: u16, command: u16, params: [f32; 4]) -> Self {
        Self {
            seq,
            command,
            frame: frame::MISSION,
            params,
            lat_deg: 0.0,
            lon_deg: 0.0,
            alt_m: 0.0,
            autocontinue: true,
        }
    }

    /// Whether the vehicle uses this item's latitude, longitude and altitude (navigation
    /// commands other than return to launch). For the others position and frame mean nothing.
    pub fn uses_position(&self) -> bool {
        self.seq == 0 || (self.command < 100 && self.command != cmd::NAV_RETURN_TO_LAUNCH)
    }

    /// The item's position (meaningful when [`PlanItem::uses_position`]).
    pub fn pos(&self) -> LatLon {
        LatLon::new(self.lat_deg, self.lon_deg)
    }

    /// Whether two lists' item is the same mission item: same sequence number, command,
    /// parameters and `autocontinue`; frame and position only where the position is used
    /// (a vehicle may report a camera item's unused frame differently), positions to the
    /// wire's 1e-7 degrees and altitudes to 1 mm.
    pub fn same_as(&self, other: &Self) -> bool {
        let base = self.seq == other.seq
            && self.command == other.command
            && self.autocontinue == other.autocontinue
            && self
                .params
                .iter()
                .zip(&other.params)
                .all(|(a, b)| same_param(*a, *b));
        if !base {
            return false;
        }
        if !(self.uses_position() || other.uses_position()) {
            return true;
        }
        self.frame == other.frame
            && (self.lat_deg - other.lat_deg).abs() < 1.5 * POSITION_RESOLUTION_DEG
            && (self.lon_deg - other.lon_deg).abs() < 1.5 * POSITION_RESOLUTION_DEG
            && (self.alt_m - other.alt_m).abs() < 1e-3
    }
}

/// The first difference between two item lists, described for a person (`None`: the same list
/// item for item by [`PlanItem::same_as`]). `skip_home`: ignore item 0's position, which
/// `ArduPilot` replaces with its own home.
pub fn first_difference(a: &[PlanItem], b: &[PlanItem], skip_home: bool) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{} items against {}", a.len(), b.len()));
    }
    a.iter().zip(b).find_map(|(x, y)| {
        let same = if skip_home && x.seq == 0 && y.seq == 0 {
            x.command == y.command
        } else {
            x.same_as(y)
        };
        (!same).then(|| format!("item {}: {x:?} against {y:?}", x.seq))
    })
}

/// The mission that continues `items` from item `from_seq` on a vehicle that is on the ground
/// again (after a failsafe landing or a battery swap), as ground stations build a "resume
/// mission": home, the takeoff and the speed change before the first waypoint, the camera
/// trigger in force at `from_seq` (so photos go on), then the items from `from_seq`,
/// renumbered. `ArduCopter` refuses to fly `AUTO` from the ground unless the current item is a
/// takeoff ("Auto: Missing Takeoff Cmd"), so a resume from the ground cannot just set the
/// current item. `None` when `from_seq` is past the last item.
pub fn resume_items(items: &[PlanItem], from_seq: u16) -> Option<Vec<PlanItem>> {
    let from = usize::from(from_seq);
    if from >= items.len() {
        return None;
    }
    let first_nav = items
        .iter()
        .position(|i| i.seq > 0 && i.command == cmd::NAV_WAYPOINT)
        .unwrap_or(items.len());
    let mut out: Vec<PlanItem> = items.iter().take(first_nav.min(from)).copied().collect();
    if out.len() < from {
        // The trigger distance in force where the flight resumes (the last one set before).
        if let Some(trigger) = items[..from]
            .iter()
            .rev()
            .find(|i| i.command == cmd::DO_SET_CAM_TRIGG_DIST)
        {
            out.push(*trigger);
        }
        out.extend_from_slice(&items[from..]);
    } else {
        out.extend_from_slice(&items[out.len()..]);
    }
    for (seq, item) in out.iter_mut().enumerate() {
        item.seq = u16::try_from(seq).unwrap_or(u16::MAX);
    }
    Some(out)
}

/// The mission a vehicle flies for `waypoints` from `home`, item 0 being home. A
/// `DO_CHANGE_SPEED` to `speed_mps` (ground speed) follows the first takeoff (or home, when
/// there is no takeoff); a speed that is not a positive number adds no item.
pub fn mission_items(home: LatLon, waypoints: &[Waypoint], speed_mps: f64) -> Vec<PlanItem> {
    mission_items_at(home, waypoints, speed_mps, AltitudeRef::AboveHome)
}

/// [`mission_items`] with the takeoff and waypoints' altitudes given as `alt` says (the
/// home item stays `MAV_FRAME_GLOBAL`, a landing 0 m above home).
pub fn mission_items_at(
    home: LatLon,
    waypoints: &[Waypoint],
    speed_mps: f64,
    alt: AltitudeRef<'_>,
) -> Vec<PlanItem> {
    let mut items = vec![PlanItem {
        frame: frame::GLOBAL,
        alt_m: 0.0,
        ..PlanItem::at(0, cmd::NAV_WAYPOINT, home, 0.0, [0.0; 4])
    }];
    let speed = (speed_mps.is_finite() && speed_mps > 0.0).then_some(speed_mps as f32);
    let speed_item = |seq| {
        PlanItem::without_position(
            seq,
            cmd::DO_CHANGE_SPEED,
            [1.0, speed.unwrap_or(0.0), -1.0, 0.0],
        )
    };
    let has_takeoff = waypoints
        .iter()
        .any(|w| w.action == WaypointAction::Takeoff);
    let mut speed_pending = speed.is_some();
    if speed_pending && !has_takeoff {
        items.push(speed_item(1));
        speed_pending = false;
    }
    for (index, w) in waypoints.iter().enumerate() {
        let seq = items.len() as u16;
        let nav = [0.0, 0.0, 0.0, f32::NAN];
        let placed = |command| {
            let (frame, alt_m) = alt.place(index, w.alt_rel_m);
            PlanItem {
                frame,
                ..PlanItem::at(seq, command, w.pos, alt_m, nav)
            }
        };
        let item = match w.action {
            WaypointAction::FlyThrough => placed(cmd::NAV_WAYPOINT),
            WaypointAction::Takeoff => placed(cmd::NAV_TAKEOFF),
            WaypointAction::Land => PlanItem::at(seq, cmd::NAV_LAND, w.pos, 0.0, nav),
            WaypointAction::ReturnToLaunch => {
                PlanItem::without_position(seq, cmd::NAV_RETURN_TO_LAUNCH, [0.0; 4])
            }
            WaypointAction::CameraTriggerStart { distance_m } => PlanItem::without_position(
                seq,
                cmd::DO_SET_CAM_TRIGG_DIST,
                [distance_m as f32, 0.0, 1.0, 0.0],
            ),
            WaypointAction::CameraTriggerStop => {
                PlanItem::without_position(seq, cmd::DO_SET_CAM_TRIGG_DIST, [0.0, 0.0, 1.0, 0.0])
            }
        };
        items.push(item);
        if speed_pending && w.action == WaypointAction::Takeoff {
            items.push(speed_item(seq + 1));
            speed_pending = false;
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wp(pos: LatLon, action: WaypointAction) -> Waypoint {
        Waypoint {
            pos,
            alt_rel_m: 30.0,
            action,
        }
    }

    fn survey(home: LatLon) -> Vec<Waypoint> {
        let a = home.offset_ne(50.0, 0.0);
        let b = home.offset_ne(50.0, 80.0);
        vec![
            wp(home, WaypointAction::Takeoff),
            wp(a, WaypointAction::FlyThrough),
            wp(a, WaypointAction::CameraTriggerStart { distance_m: 12.5 }),
            wp(b, WaypointAction::FlyThrough),
            wp(b, WaypointAction::CameraTriggerStop),
            wp(home, WaypointAction::ReturnToLaunch),
        ]
    }

    #[test]
    fn terrain_missions_go_up_above_sea_level_or_above_the_terrain() {
        let home = LatLon::new(47.397_742, 8.545_594);
        let wps = survey(home);
        // Ground under the waypoints: home 400 m, a 420 m, b 450 m; camera items have none.
        let ground = [Some(400.0), Some(420.0), None, Some(450.0), None, None];
        let flat = mission_items(home, &wps, 6.0);
        let amsl = mission_items_at(home, &wps, 6.0, AltitudeRef::Amsl { home_amsl_m: 400.0 });
        let terrain = mission_items_at(
            home,
            &wps,
            6.0,
            AltitudeRef::Terrain {
                home_amsl_m: 400.0,
                ground_amsl_m: &ground,
            },
        );
        assert_eq!(flat.len(), amsl.len());
        assert_eq!(flat.len(), terrain.len());
        let frames = |items: &[PlanItem]| items.iter().map(|i| i.frame).collect::<Vec<_>>();
        assert_eq!(frames(&amsl), vec![0, 0, 2, 0, 2, 0, 2, 2]);
        assert_eq!(frames(&terrain), vec![0, 10, 2, 10, 2, 10, 2, 2]);
        // 30 m above home: 430 m above sea level; above the terrain 30, 10 and -20 m.
        let alts = |items: &[PlanItem]| items.iter().map(|i| i.alt_m).collect::<Vec<_>>();
        assert_eq!(alts(&amsl)[1..6], [430.0, 0.0, 430.0, 0.0, 430.0]);
        assert_eq!(alts(&terrain)[1..6], [30.0, 0.0, 10.0, 0.0, -20.0]);
        // Everything but the altitudes is the same list.
        for (a, b) in flat.iter().zip(&terrain) {
            assert_eq!(
                (a.seq, a.command, a.lat_deg, a.lon_deg),
                (b.seq, b.command, b.lat_deg, b.lon_deg)
            );
        }
    }

    #[test]
    fn speed_follows_takeoff_and_nothing_is_inserted_before_camera_items() {
        let home = LatLon::new(47.397_742, 8.545_594);
        let items = mission_items(home, &survey(home), 6.0);
        let cmds: Vec<u16> = items.iter().map(|i| i.command).collect();
        assert_eq!(cmds, vec![16, 22, 178, 16, 206, 16, 206, 20]);
        let seqs: Vec<u16> = items.iter().map(|i| i.seq).collect();
        assert_eq!(seqs, (0..8).collect::<Vec<u16>>());
        let expected = [1.0, 6.0, -1.0, 0.0];
        assert!(
            items[2]
                .params
                .iter()
                .zip(expected)
                .all(|(got, want)| (got - want).abs() < f32::EPSILON),
            "{:?}",
            items[2].params
        );
        assert!((items[4].params[0] - 12.5).abs() < f32::EPSILON);
        assert!(items[6].params[0].abs() < f32::EPSILON);
        // One frame convention: home GLOBAL, positions relative, the rest MISSION.
        let frames: Vec<u8> = items.iter().map(|i| i.frame).collect();
        assert_eq!(frames, vec![0, 3, 2, 3, 2, 3, 2, 2]);
        for i in items.iter().filter(|i| i.frame == frame::MISSION) {
            assert!(!i.uses_position());
            assert!(i.lat_deg == 0.0 && i.lon_deg == 0.0 && i.alt_m == 0.0);
        }
    }

    #[test]
    fn no_speed_item_without_a_speed_and_first_when_there_is_no_takeoff() {
        let home = LatLon::new(47.0, 8.0);
        let w = survey(home);
        assert!(
            mission_items(home, &w, 0.0)
                .iter()
                .chain(&mission_items(home, &w, f64::NAN))
                .all(|i| i.command != cmd::DO_CHANGE_SPEED)
        );
        let items = mission_items(home, &w[1..], 5.0);
        assert_eq!(items[1].command, cmd::DO_CHANGE_SPEED);
        assert_eq!(items.len(), w.len() + 1);
    }

    #[test]
    fn comparison_ignores_the_frame_of_items_without_position_but_not_of_waypoints() {
        let home = LatLon::new(47.0, 8.0);
        let items = mission_items(home, &survey(home), 6.0);
        let mut camera = items[4];
        camera.frame = frame::GLOBAL;
        assert!(camera.same_as(&items[4]));
        let mut waypoint = items[3];
        waypoint.frame = frame::GLOBAL;
        assert!(!waypoint.same_as(&items[3]));
        let mut moved = items[3];
        moved.lat_deg += 1e-6;
        assert!(!moved.same_as(&items[3]));
        // An unset yaw reads back as 0 from a file or a vehicle.
        let mut yaw0 = items[3];
        yaw0.params[3] = 0.0;
        assert!(yaw0.same_as(&items[3]));
        let mut other = items.clone();
        other[0].lat_deg += 0.1;
        assert!(first_difference(&items, &other, true).is_none());
        assert!(first_difference(&items, &other, false).is_some());
        assert!(first_difference(&items, &items[1..], true).is_some());
    }

    #[test]
    fn a_resume_from_the_ground_takes_off_again_with_the_camera_in_force() {
        let home = LatLon::new(47.397_742, 8.545_594);
        let items = mission_items(home, &survey(home), 6.0);
        // 0 home, 1 takeoff, 2 speed, 3 wp, 4 cam on, 5 wp, 6 cam off, 7 rtl
        let resumed = resume_items(&items, 5).expect("resumable");
        let cmds: Vec<u16> = resumed.iter().map(|i| i.command).collect();
        assert_eq!(cmds, vec![16, 22, 178, 206, 16, 206, 20]);
        let seqs: Vec<u16> = resumed.iter().map(|i| i.seq).collect();
        assert_eq!(seqs, (0..7).collect::<Vec<u16>>());
        assert!(resumed[4].same_as(&PlanItem { seq: 4, ..items[5] }));
        // From the very start it is the mission itself; past the end there is nothing to fly.
        let whole = resume_items(&items, 1).expect("from the takeoff");
        assert!(first_difference(&whole, &items, false).is_none());
        assert!(resume_items(&items, 8).is_none());
    }
}
