//! The flight model: a pure function of `(state, guidance, limits, environment, dt)`.
//!
//! No sockets, no clocks, no randomness: [`step`] is testable on its own and the
//! autopilot in [`crate::vehicle`] only chooses the [`Guidance`].

use aviary_core::LatLon;

/// Kinematic state of one multirotor, in a local north/east frame around `pos`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kinematics {
    /// True position (what a perfect GPS would report).
    pub pos: LatLon,
    /// Altitude above home, metres (positive up).
    pub alt_rel_m: f64,
    /// Ground velocity north, m/s.
    pub vel_n_mps: f64,
    /// Ground velocity east, m/s.
    pub vel_e_mps: f64,
    /// Climb rate, m/s (positive up).
    pub climb_mps: f64,
    /// Heading (yaw), degrees clockwise from north, 0..360.
    pub heading_deg: f64,
}

impl Kinematics {
    /// At rest on the ground at `pos`.
    pub const fn at_rest(pos: LatLon, heading_deg: f64) -> Self {
        Self {
            pos,
            alt_rel_m: 0.0,
            vel_n_mps: 0.0,
            vel_e_mps: 0.0,
            climb_mps: 0.0,
            heading_deg,
        }
    }

    /// Horizontal ground speed, m/s.
    pub fn ground_speed_mps(&self) -> f64 {
        self.vel_n_mps.hypot(self.vel_e_mps)
    }

    /// True when on (or within 5 cm of) the ground and not climbing.
    pub fn on_ground(&self) -> bool {
        self.alt_rel_m <= 0.05 && self.climb_mps <= 0.0
    }
}

/// What the autopilot asks the airframe to do this step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Guidance {
    /// Motors off or idle on the ground: nothing moves except by being set down.
    Idle,
    /// Hold the given position and altitude (BRAKE, LOITER, paused AUTO).
    Hold {
        /// Position to hold.
        pos: LatLon,
        /// Altitude to hold, metres above home.
        alt_rel_m: f64,
    },
    /// Fly towards a position and altitude at up to `speed_mps`.
    GoTo {
        /// Target position.
        pos: LatLon,
        /// Target altitude above home, metres.
        alt_rel_m: f64,
        /// Cruise speed, m/s.
        speed_mps: f64,
    },
    /// Be at `pos` moving at the given ground velocity: the waypoint navigator
    /// ([`crate::wpnav`]) flies the track itself and the position controller holds it (wind does
    /// not push the vehicle off), while the altitude moves towards `alt_rel_m` within the
    /// climb/descent limits.
    Follow {
        /// Position on the track.
        pos: LatLon,
        /// Ground velocity north, m/s.
        vel_n_mps: f64,
        /// Ground velocity east, m/s.
        vel_e_mps: f64,
        /// Target altitude above home, metres.
        alt_rel_m: f64,
    },
    /// Descend vertically at the landing speed, holding the horizontal position.
    Land {
        /// Position to land at.
        pos: LatLon,
    },
    /// Motor failure: no horizontal control, falling at `descent_mps` (drifting with the wind).
    Uncontrolled {
        /// Descent rate, m/s (positive down).
        descent_mps: f64,
    },
}

/// Performance limits of the airframe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Maximum horizontal speed, m/s.
    pub max_speed_mps: f64,
    /// Maximum horizontal acceleration, m/s².
    pub accel_mps2: f64,
    /// Maximum rate at which the velocity vector and the yaw turn, degrees/s.
    pub turn_rate_dps: f64,
    /// Maximum climb rate, m/s.
    pub climb_mps: f64,
    /// Maximum descent rate in flight, m/s.
    pub descent_mps: f64,
    /// Final landing descent rate, m/s.
    pub land_speed_mps: f64,
    /// Maximum vertical acceleration, m/s².
    pub vert_accel_mps2: f64,
}

impl Default for Limits {
    /// Roughly `ArduCopter` defaults (`WPNAV_SPEED` 10 m/s, `WPNAV_ACCEL` 2.5 m/s², `PILOT_SPEED_UP` 2.5 m/s,
    /// `LAND_SPEED` 0.5 m/s), with a faster descent so simulated missions do not drag.
    fn default() -> Self {
        Self {
            max_speed_mps: 15.0,
            accel_mps2: 2.5,
            turn_rate_dps: 90.0,
            climb_mps: 2.5,
            descent_mps: 1.5,
            land_speed_mps: 0.5,
            vert_accel_mps2: 2.0,
        }
    }
}

/// The air around the vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Environment {
    /// Wind blowing towards north, m/s.
    pub wind_n_mps: f64,
    /// Wind blowing towards east, m/s.
    pub wind_e_mps: f64,
}

/// Fraction of the wind the position controller fails to cancel: a steady drift that the
/// next steps correct, so strong wind visibly pushes the vehicle off its track.
const WIND_DRIFT_FRACTION: f64 = 0.15;

/// Below this distance the controller slows down linearly towards the target (metres).
const SLOWDOWN_DIST_M: f64 = 8.0;

fn approach(current: f64, target: f64, max_delta: f64) -> f64 {
    current + (target - current).clamp(-max_delta, max_delta)
}

fn wrap_deg(a: f64) -> f64 {
    a.rem_euclid(360.0)
}

/// Signed smallest difference `to - from`, degrees in -180..180.
fn angle_diff_deg(from: f64, to: f64) -> f64 {
    (to - from + 540.0).rem_euclid(360.0) - 180.0
}

/// Horizontal velocity the controller wants, (north, east) m/s.
fn desired_velocity(
    state: &Kinematics,
    target: LatLon,
    speed_mps: f64,
    limits: &Limits,
) -> (f64, f64) {
    let dist_m = state.pos.distance_m(target);
    if dist_m < 0.05 {
        return (0.0, 0.0);
    }
    // Speed from which we can still stop in `dist_m` (v² = 2·a·d), so we do not overshoot.
    let stop_speed = (2.0 * limits.accel_mps2 * dist_m).sqrt();
    let speed = speed_mps
        .min(limits.max_speed_mps)
        .min(stop_speed)
        .min(dist_m.max(0.5) / SLOWDOWN_DIST_M * speed_mps.max(1.0));
    let bearing = state.pos.bearing_deg(target).to_radians();
    (speed * bearing.cos(), speed * bearing.sin())
}

/// Turns and scales the current horizontal velocity towards the desired one within the
/// acceleration and turn-rate limits.
fn limit_velocity(state: &Kinematics, want: (f64, f64), limits: &Limits, dt_s: f64) -> (f64, f64) {
    let (vn, ve) = (state.vel_n_mps, state.vel_e_mps);
    let speed = vn.hypot(ve);
    let want_speed = want.0.hypot(want.1);
    if speed > 1.0 && want_speed > 1.0 {
        // Turn the vector by at most turn_rate·dt, change its length by at most accel·dt.
        let cur_dir = ve.atan2(vn).to_degrees();
        let want_dir = want.1.atan2(want.0).to_degrees();
        let diff = angle_diff_deg(cur_dir, want_dir);
        if diff.abs() < 90.0 {
            let dir = (cur_dir
                + diff.clamp(-limits.turn_rate_dps * dt_s, limits.turn_rate_dps * dt_s))
            .to_radians();
            let new_speed = approach(speed, want_speed, limits.accel_mps2 * dt_s);
            return (new_speed * dir.cos(), new_speed * dir.sin());
        }
    }
    // Slow or reversing: plain acceleration-limited change of the vector.
    let (dn, de) = (want.0 - vn, want.1 - ve);
    let d = dn.hypot(de);
    let max = limits.accel_mps2 * dt_s;
    if d <= max || d == 0.0 {
        want
    } else {
        (vn + dn / d * max, ve + de / d * max)
    }
}

/// Advances the kinematic state by `dt_s` seconds under `guidance`. Pure.
///
/// Long steps are the caller's business: the runtime sub-steps to at most 0.1 s so the
/// limits stay meaningful at high speed-ups.
pub fn step(
    state: &Kinematics,
    guidance: &Guidance,
    limits: &Limits,
    env: &Environment,
    dt_s: f64,
) -> Kinematics {
    if dt_s <= 0.0 {
        return *state;
    }
    let mut next = *state;
    if let Guidance::Follow {
        pos,
        vel_n_mps,
        vel_e_mps,
        alt_rel_m,
    } = *guidance
    {
        next.pos = pos;
        next.vel_n_mps = vel_n_mps;
        next.vel_e_mps = vel_e_mps;
        let want_climb = vertical_for(state.alt_rel_m, alt_rel_m, limits);
        next.climb_mps = approach(state.climb_mps, want_climb, limits.vert_accel_mps2 * dt_s);
        next.alt_rel_m = (state.alt_rel_m + next.climb_mps * dt_s).max(0.0);
        next.heading_deg = turn_heading(state.heading_deg, vel_n_mps, vel_e_mps, limits, dt_s);
        return next;
    }
    let (want_h, want_climb, drift) = match *guidance {
        Guidance::Idle => {
            next.vel_n_mps = 0.0;
            next.vel_e_mps = 0.0;
            next.climb_mps = 0.0;
            next.alt_rel_m = 0.0;
            return next;
        }
        Guidance::Hold { pos, alt_rel_m } => {
            let v = desired_velocity(state, pos, limits.max_speed_mps, limits);
            (
                v,
                vertical_for(state.alt_rel_m, alt_rel_m, limits),
                WIND_DRIFT_FRACTION,
            )
        }
        Guidance::GoTo {
            pos,
            alt_rel_m,
            speed_mps,
        } => {
            let v = desired_velocity(state, pos, speed_mps, limits);
            (
                v,
                vertical_for(state.alt_rel_m, alt_rel_m, limits),
                WIND_DRIFT_FRACTION,
            )
        }
        Guidance::Land { pos } => {
            let v = desired_velocity(state, pos, 2.0, limits);
            // ArduCopter descends fast until 10 m, then at LAND_SPEED.
            let rate = if state.alt_rel_m > 10.0 {
                limits.descent_mps
            } else {
                limits.land_speed_mps
            };
            (v, -rate, WIND_DRIFT_FRACTION)
        }
        Guidance::Uncontrolled { descent_mps } => ((0.0, 0.0), -descent_mps, 1.0),
        Guidance::Follow { .. } => unreachable!("handled above"),
    };
    // The stored ground velocity includes last step's wind drift; the controller works on
    // its own part only (otherwise the drift would accumulate step after step).
    let own = Kinematics {
        vel_n_mps: state.vel_n_mps - env.wind_n_mps * drift,
        vel_e_mps: state.vel_e_mps - env.wind_e_mps * drift,
        ..*state
    };
    let (vn, ve) = if matches!(guidance, Guidance::Uncontrolled { .. }) {
        (0.0, 0.0)
    } else {
        limit_velocity(&own, want_h, limits, dt_s)
    };
    next.vel_n_mps = vn + env.wind_n_mps * drift;
    next.vel_e_mps = ve + env.wind_e_mps * drift;
    next.climb_mps = approach(state.climb_mps, want_climb, limits.vert_accel_mps2 * dt_s);
    next.pos = state
        .pos
        .offset_ne(next.vel_n_mps * dt_s, next.vel_e_mps * dt_s);
    next.alt_rel_m = (state.alt_rel_m + next.climb_mps * dt_s).max(0.0);
    if next.alt_rel_m <= 0.0 {
        next.climb_mps = 0.0;
        next.vel_n_mps = 0.0;
        next.vel_e_mps = 0.0;
    }
    next.heading_deg = turn_heading(state.heading_deg, vn, ve, limits, dt_s);
    next
}

/// Yaw follows the course when moving, within the turn-rate limit.
fn turn_heading(heading_deg: f64, vn: f64, ve: f64, limits: &Limits, dt_s: f64) -> f64 {
    if vn.hypot(ve) <= 0.5 {
        return heading_deg;
    }
    let course = ve.atan2(vn).to_degrees();
    let diff = angle_diff_deg(heading_deg, course);
    wrap_deg(heading_deg + diff.clamp(-limits.turn_rate_dps * dt_s, limits.turn_rate_dps * dt_s))
}

/// Climb rate wanted to reach `target_m` from `alt_m`, slowing in the last metres.
fn vertical_for(alt_m: f64, target_m: f64, limits: &Limits) -> f64 {
    let err = target_m - alt_m;
    if err >= 0.0 {
        (err * 1.0).min(limits.climb_mps)
    } else {
        (err * 1.0).max(-limits.descent_mps)
    }
}

// --- battery ---------------------------------------------------------------------------

/// Battery model parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatteryModel {
    /// Drain while armed and hovering, percent per second.
    pub hover_pct_per_s: f64,
    /// Extra drain per m/s of ground speed, percent per second.
    pub speed_pct_per_s_per_mps: f64,
    /// Extra drain while climbing, percent per second per m/s of climb.
    pub climb_pct_per_s_per_mps: f64,
}

impl Default for BatteryModel {
    /// About 25 minutes of hover, 15 minutes at 10 m/s.
    fn default() -> Self {
        Self {
            hover_pct_per_s: 0.066,
            speed_pct_per_s_per_mps: 0.0044,
            climb_pct_per_s_per_mps: 0.02,
        }
    }
}

/// Drain rate in `state`, percent per second (0 when disarmed).
pub fn drain_rate_pct_per_s(state: &Kinematics, armed: bool, model: &BatteryModel) -> f64 {
    if !armed {
        return 0.0;
    }
    model.hover_pct_per_s
        + model.speed_pct_per_s_per_mps * state.ground_speed_mps()
        + model.climb_pct_per_s_per_mps * state.climb_mps.max(0.0)
}

/// Battery remaining after `dt_s` seconds in `state`. Pure; no drain when disarmed.
pub fn drain_battery(
    remaining_pct: f64,
    state: &Kinematics,
    armed: bool,
    model: &BatteryModel,
    dt_s: f64,
) -> f64 {
    if !armed {
        return remaining_pct;
    }
    let rate = model.hover_pct_per_s
        + model.speed_pct_per_s_per_mps * state.ground_speed_mps()
        + model.climb_pct_per_s_per_mps * state.climb_mps.max(0.0);
    (remaining_pct - rate * dt_s).max(0.0)
}

/// The pack `ArduCopter` SITL flies by default: 3S `LiPo`, 12.6 V full (`SIM_BATT_VOLTAGE`),
/// 3,300 mAh (`BATT_CAPACITY`), sagging under load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PackModel {
    /// Cells in series.
    pub cells: u8,
    /// Capacity, mAh.
    pub capacity_mah: f64,
    /// Internal resistance of the pack, ohms.
    pub resistance_ohm: f64,
}

impl Default for PackModel {
    fn default() -> Self {
        Self {
            cells: 3,
            capacity_mah: 3300.0,
            resistance_ohm: 0.03,
        }
    }
}

impl PackModel {
    /// Current drawn while draining at `pct_per_s`, amperes.
    pub fn current_a(&self, pct_per_s: f64) -> f64 {
        pct_per_s / 100.0 * self.capacity_mah * 3.6
    }

    /// Charge used so far, mAh.
    pub fn consumed_mah(&self, remaining_pct: f64) -> f64 {
        (100.0 - remaining_pct).clamp(0.0, 100.0) / 100.0 * self.capacity_mah
    }

    /// Resting voltage of one cell: 4.2 V full, 3.94 V at half charge, 3.3 V empty (flat in the
    /// middle, falling fast at the end, like a `LiPo` discharge curve).
    pub fn cell_rest_v(remaining_pct: f64) -> f64 {
        let x = (remaining_pct / 100.0).clamp(0.0, 1.0);
        0.9f64.mul_add(x.sqrt(), 3.3)
    }

    /// Pack voltage at `remaining_pct` while drawing `current_a`.
    pub fn voltage_v(&self, remaining_pct: f64, current_a: f64) -> f64 {
        f64::from(self.cells) * Self::cell_rest_v(remaining_pct) - self.resistance_ohm * current_a
    }
}

/// Pack voltage for a remaining charge (4S `LiPo`, 16.0–16.8 V over the useful range).
pub fn battery_voltage_v(remaining_pct: f64) -> f64 {
    13.6 + 3.2 * (remaining_pct / 100.0).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: LatLon = LatLon::new(47.397_742, 8.545_594);

    fn run(mut s: Kinematics, g: Guidance, env: Environment, seconds: f64) -> Kinematics {
        let limits = Limits::default();
        let dt = 0.05;
        for _ in 0..(seconds / dt) as usize {
            s = step(&s, &g, &limits, &env, dt);
        }
        s
    }

    #[test]
    fn idle_stays_put_and_zero_dt_is_identity() {
        let s = Kinematics::at_rest(HOME, 0.0);
        assert_eq!(
            step(
                &s,
                &Guidance::Idle,
                &Limits::default(),
                &Environment::default(),
                1.0
            ),
            s
        );
        let flying = Kinematics {
            alt_rel_m: 10.0,
            vel_n_mps: 3.0,
            ..s
        };
        assert_eq!(
            step(
                &flying,
                &Guidance::Land { pos: HOME },
                &Limits::default(),
                &Environment::default(),
                0.0
            ),
            flying
        );
    }

    #[test]
    fn climbs_at_the_limited_rate_then_holds_altitude() {
        let s = Kinematics::at_rest(HOME, 0.0);
        let g = Guidance::Hold {
            pos: HOME,
            alt_rel_m: 20.0,
        };
        let after_2s = run(s, g, Environment::default(), 2.0);
        assert!(
            after_2s.alt_rel_m < 2.0 * Limits::default().climb_mps + 0.01,
            "{after_2s:?}"
        );
        assert!(after_2s.alt_rel_m > 1.0);
        let after_30s = run(s, g, Environment::default(), 30.0);
        assert!((after_30s.alt_rel_m - 20.0).abs() < 0.2, "{after_30s:?}");
    }

    #[test]
    fn acceleration_is_limited_and_target_is_reached_without_overshoot() {
        let s = Kinematics {
            alt_rel_m: 20.0,
            ..Kinematics::at_rest(HOME, 0.0)
        };
        let target = HOME.offset_ne(200.0, 0.0);
        let g = Guidance::GoTo {
            pos: target,
            alt_rel_m: 20.0,
            speed_mps: 10.0,
        };
        let after_1s = run(s, g, Environment::default(), 1.0);
        assert!(after_1s.ground_speed_mps() <= 2.5 + 1e-9, "{after_1s:?}");
        let mut st = s;
        let mut min_d = f64::MAX;
        let mut max_speed = 0.0_f64;
        for _ in 0..(60.0 / 0.05) as usize {
            st = step(&st, &g, &Limits::default(), &Environment::default(), 0.05);
            min_d = min_d.min(st.pos.distance_m(target));
            max_speed = max_speed.max(st.ground_speed_mps());
        }
        assert!(
            st.pos.distance_m(target) < 1.0,
            "{}",
            st.pos.distance_m(target)
        );
        assert!(max_speed <= 10.0 + 1e-6);
        // Never passed more than a metre beyond the target.
        assert!(st.pos.lat_deg <= target.lat_deg + 1.0 / 111_000.0);
    }

    #[test]
    fn turn_rate_limits_a_reversal_of_course() {
        let s = Kinematics {
            alt_rel_m: 20.0,
            vel_n_mps: 10.0,
            ..Kinematics::at_rest(HOME, 0.0)
        };
        let east = HOME.offset_ne(0.0, 500.0);
        let next = step(
            &s,
            &Guidance::GoTo {
                pos: east,
                alt_rel_m: 20.0,
                speed_mps: 10.0,
            },
            &Limits::default(),
            &Environment::default(),
            0.1,
        );
        let course = next.vel_e_mps.atan2(next.vel_n_mps).to_degrees();
        assert!(course <= 9.0 + 1e-6 && course > 0.0, "course {course}");
        assert!(next.heading_deg <= 9.0 + 1e-6);
    }

    #[test]
    fn wind_pushes_a_hovering_vehicle_and_the_controller_pulls_it_back() {
        let s = Kinematics {
            alt_rel_m: 20.0,
            ..Kinematics::at_rest(HOME, 0.0)
        };
        let g = Guidance::Hold {
            pos: HOME,
            alt_rel_m: 20.0,
        };
        let calm = run(s, g, Environment::default(), 20.0);
        let windy = run(
            s,
            g,
            Environment {
                wind_n_mps: 0.0,
                wind_e_mps: 8.0,
            },
            20.0,
        );
        assert!(calm.pos.distance_m(HOME) < 0.01);
        let off = windy.pos.distance_m(HOME);
        assert!(off > 0.05 && off < 5.0, "offset {off}");
    }

    #[test]
    fn landing_descends_and_touches_down() {
        let s = Kinematics {
            alt_rel_m: 12.0,
            ..Kinematics::at_rest(HOME, 0.0)
        };
        let landed = run(
            s,
            Guidance::Land { pos: HOME },
            Environment::default(),
            40.0,
        );
        assert!(landed.on_ground(), "{landed:?}");
    }

    #[test]
    fn uncontrolled_descent_drifts_with_the_wind() {
        let s = Kinematics {
            alt_rel_m: 30.0,
            ..Kinematics::at_rest(HOME, 0.0)
        };
        let down = run(
            s,
            Guidance::Uncontrolled { descent_mps: 3.0 },
            Environment {
                wind_n_mps: 5.0,
                wind_e_mps: 0.0,
            },
            12.0,
        );
        assert!(down.on_ground());
        assert!(down.pos.distance_m(HOME) > 30.0);
    }

    #[test]
    fn battery_drains_faster_when_moving_and_not_when_disarmed() {
        let hover = Kinematics {
            alt_rel_m: 20.0,
            ..Kinematics::at_rest(HOME, 0.0)
        };
        let cruise = Kinematics {
            vel_n_mps: 10.0,
            ..hover
        };
        let m = BatteryModel::default();
        let a = drain_battery(100.0, &hover, true, &m, 60.0);
        let b = drain_battery(100.0, &cruise, true, &m, 60.0);
        assert!(b < a && a < 100.0);
        assert!((drain_battery(100.0, &cruise, false, &m, 60.0) - 100.0).abs() < f64::EPSILON);
        assert!(drain_battery(1.0, &cruise, true, &m, 1e6) >= 0.0);
        assert!(battery_voltage_v(100.0) > battery_voltage_v(10.0));
    }
}
