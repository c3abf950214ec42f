//! Waypoint navigation like `ArduCopter`'s `AC_WPNav`: straight legs flown along the track with a
//! speed profile, slowing for the corner at each waypoint. Pure: no clock, no randomness.
//!
//! `ArduCopter` 4.7 plans each leg as a jerk-limited S-curve (`WPNAV_ACCEL` 2.5 m/s²,
//! `WPNAV_JERK` 1 m/s³): a speed change of 4–10 m/s takes 5–6.5 s, about 1.1 m/s² on average,
//! and it blends legs by slowing for the turn instead of stopping. Flown in SITL (speed-up 1)
//! at 10 m/s, a 150 m survey leg between two right-angle turns takes 18.4 s and a 20 m
//! cross-leg 4.0 s; the two constants of [`NavLimits::default`] reproduce both (the
//! `legs_match_arducopter_sitl` test checks it).

use aviary_core::LatLon;

/// How the navigator accelerates along the track and how fast it takes corners.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NavLimits {
    /// Mean acceleration (and deceleration) along the track, m/s².
    pub path_accel_mps2: f64,
    /// Speed through a right-angle turn, m/s; sharper turns slow more, straight ones not at all.
    pub corner_speed_90_mps: f64,
}

impl Default for NavLimits {
    /// Fitted to `ArduCopter` 4.7 SITL legs (18.4 s for 150 m, 4.0 s for 20 m at 10 m/s).
    fn default() -> Self {
        Self {
            path_accel_mps2: 1.09,
            corner_speed_90_mps: 3.9,
        }
    }
}

/// Slowest speed the navigator creeps at while any distance is left (so a leg always ends).
const MIN_SPEED_MPS: f64 = 0.2;

/// One straight leg being flown: the position is always on the track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Track {
    /// Where the leg starts.
    pub from: LatLon,
    /// Where the leg ends.
    pub to: LatLon,
    /// Length of the leg, metres.
    pub length_m: f64,
    /// Distance flown along the leg, metres.
    pub along_m: f64,
    /// Speed along the track, m/s.
    pub speed_mps: f64,
    /// Course of the leg, degrees clockwise from north.
    pub bearing_deg: f64,
}

impl Track {
    /// A leg from `from` to `to`, entered at `speed_mps`.
    pub fn new(from: LatLon, to: LatLon, speed_mps: f64) -> Self {
        Self {
            from,
            to,
            length_m: from.distance_m(to),
            along_m: 0.0,
            speed_mps: speed_mps.max(0.0),
            bearing_deg: from.bearing_deg(to),
        }
    }

    /// Distance left to the end of the leg, metres.
    pub fn remaining_m(&self) -> f64 {
        (self.length_m - self.along_m).max(0.0)
    }

    /// Position on the track now.
    pub fn pos(&self) -> LatLon {
        let b = self.bearing_deg.to_radians();
        let d = self.along_m.min(self.length_m);
        self.from.offset_ne(d * b.cos(), d * b.sin())
    }

    /// Ground velocity now, (north, east) m/s.
    pub fn velocity_ne(&self) -> (f64, f64) {
        let b = self.bearing_deg.to_radians();
        (self.speed_mps * b.cos(), self.speed_mps * b.sin())
    }

    /// Flies `dt_s` seconds towards the end at up to `cruise_mps`, arriving at `exit_mps`.
    /// Returns the distance flown past the end when the leg is complete (to carry into the
    /// next leg), `None` while it is not.
    pub fn advance(
        &mut self,
        dt_s: f64,
        cruise_mps: f64,
        exit_mps: f64,
        limits: &NavLimits,
    ) -> Option<f64> {
        if self.remaining_m() <= 1e-6 {
            return Some(self.along_m - self.length_m);
        }
        let a = limits.path_accel_mps2.max(0.05);
        let exit = exit_mps.clamp(0.0, cruise_mps.max(0.0));
        let remaining = self.remaining_m();
        // Fastest speed from which the exit speed is still reached by the end (v² = v₀² + 2ad).
        let brake = exit.mul_add(exit, 2.0 * a * remaining).sqrt();
        let target = cruise_mps.max(0.0).min(brake);
        let next = target
            .clamp(self.speed_mps - a * dt_s, self.speed_mps + a * dt_s)
            .min(brake)
            .max(MIN_SPEED_MPS);
        self.along_m += 0.5 * (self.speed_mps + next) * dt_s;
        self.speed_mps = next;
        (self.along_m >= self.length_m).then_some(self.along_m - self.length_m)
    }
}

/// Speed at which to pass a waypoint where the course turns from `in_deg` to `out_deg`.
pub fn corner_speed_mps(in_deg: f64, out_deg: f64, cruise_mps: f64, limits: &NavLimits) -> f64 {
    let turn_deg = ((out_deg - in_deg + 540.0).rem_euclid(360.0) - 180.0).abs();
    if turn_deg < 1.0 {
        return cruise_mps;
    }
    // tan(half the angle kept): 1 at a right angle, 0 for a reversal, large for a slight bend.
    let keep = ((180.0 - turn_deg) / 2.0).to_radians().tan();
    (limits.corner_speed_90_mps * keep).clamp(0.0, cruise_mps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: LatLon = LatLon::new(47.397_742, 8.545_594);
    const DT: f64 = 0.05;

    /// Flies a boustrophedon survey (150 m legs, 20 m cross-legs) at 10 m/s and returns the time
    /// of each leg, waypoint passing to waypoint passing, like `MISSION_ITEM_REACHED` times.
    fn survey_leg_times() -> Vec<f64> {
        let limits = NavLimits::default();
        let mut wps = vec![HOME];
        for i in 0..6 {
            let north = 20.0 * f64::from(i);
            let (a, b) = if i % 2 == 0 {
                (0.0, 150.0)
            } else {
                (150.0, 0.0)
            };
            wps.push(HOME.offset_ne(north, a));
            wps.push(HOME.offset_ne(north, b));
        }
        wps.dedup_by(|a, b| a.distance_m(*b) < 0.01);
        let mut times = Vec::new();
        let mut track = Track::new(wps[0], wps[1], 0.0);
        let mut t = 0.0;
        let mut last = 0.0;
        let mut leg = 1;
        while leg < wps.len() {
            let exit = wps.get(leg + 1).map_or(0.0, |next| {
                corner_speed_mps(
                    track.bearing_deg,
                    wps[leg].bearing_deg(*next),
                    10.0,
                    &limits,
                )
            });
            t += DT;
            if let Some(over) = track.advance(DT, 10.0, exit, &limits) {
                times.push(t - last);
                last = t;
                leg += 1;
                if leg < wps.len() {
                    let speed = track.speed_mps;
                    track = Track::new(wps[leg - 1], wps[leg], speed);
                    track.along_m = over;
                }
            }
        }
        times
    }

    #[test]
    fn legs_match_arducopter_sitl() {
        let times = survey_leg_times();
        // Leg 0 starts from a hover; legs 1.. run corner to corner: 20 m, 150 m, 20 m, ...
        let cross = times[1];
        let long = times[2];
        eprintln!("150 m leg {long:.2} s, 20 m leg {cross:.2} s");
        assert!(
            (long - 18.4).abs() <= 18.4 * 0.05,
            "150 m leg took {long:.2} s"
        );
        assert!(
            (cross - 4.0).abs() <= 4.0 * 0.05,
            "20 m leg took {cross:.2} s"
        );
        // Every inner leg of a kind takes the same time.
        for (i, t) in times.iter().enumerate().skip(1).take(times.len() - 2) {
            let want = if i % 2 == 0 { long } else { cross };
            assert!(
                (t - want).abs() < 0.1,
                "leg {i}: {t:.2} s against {want:.2} s"
            );
        }
    }

    #[test]
    fn cruise_speed_is_flown_on_a_long_leg_and_the_leg_ends_at_rest() {
        let limits = NavLimits::default();
        let mut track = Track::new(HOME, HOME.offset_ne(400.0, 0.0), 0.0);
        let mut max_speed = 0.0_f64;
        let mut t = 0.0;
        while track.advance(DT, 6.0, 0.0, &limits).is_none() {
            max_speed = max_speed.max(track.speed_mps);
            t += DT;
            assert!(t < 200.0, "never arrived");
        }
        assert!((max_speed - 6.0).abs() < 1e-9, "{max_speed}");
        assert!(track.speed_mps < 0.5, "{}", track.speed_mps);
        assert!(track.pos().distance_m(HOME.offset_ne(400.0, 0.0)) < 0.1);
        // 400 m at 6 m/s is 66.7 s plus what accelerating and braking cost.
        assert!(
            t > 66.7 && t < 66.7 + 2.0 * 6.0 / limits.path_accel_mps2,
            "{t}"
        );
    }

    #[test]
    fn corner_speed_depends_on_the_turn() {
        let l = NavLimits::default();
        assert!((corner_speed_mps(0.0, 0.5, 10.0, &l) - 10.0).abs() < 1e-9);
        assert!((corner_speed_mps(90.0, 180.0, 10.0, &l) - 3.9).abs() < 1e-9);
        assert!(corner_speed_mps(90.0, 270.0, 10.0, &l) < 0.01);
        assert!((corner_speed_mps(350.0, 10.0, 2.0, &l) - 2.0).abs() < 1e-9);
        let slight = corner_speed_mps(0.0, 30.0, 10.0, &l);
        assert!(slight > 3.9 && slight <= 10.0, "{slight}");
    }
}
