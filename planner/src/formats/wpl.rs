//! `QGC WPL 110`: the tab-separated mission text of MAVProxy, Mission Planner and
//! QGroundControl. Line 0 is home; then seq, current, frame, command, p1–p4, lat, lon, alt,
//! autocontinue. The lines are [`aviary_core::mission_items::mission_items`], the list the
//! link uploads, so a line's sequence number is the vehicle's.

use std::fmt::Write as _;

use aviary_core::LatLon;
use aviary_core::mission_items::{PlanItem, cmd, frame};

use super::qgc::from_mavlink;
use super::{AltitudeFrame, MissionDoc, file_items};
use crate::error::{PlanError, Result};

fn p(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.8}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    } else {
        "0".into()
    }
}

/// A wire (`f32`) parameter in its shortest form that reads back as the same `f32`.
fn p32(v: f32) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "0".into()
    }
}

/// Renders a mission as `QGC WPL 110` text: [`mission_items`] of the mission, home first
/// (marked current, as Mission Planner and `MAVProxy` write it). An unset parameter is written 0.
pub fn to_wpl(doc: &MissionDoc) -> String {
    let mut s = String::from("QGC WPL 110\n");
    for i in file_items(doc) {
        let _ = writeln!(
            s,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            i.seq,
            u8::from(i.seq == 0),
            i.frame,
            i.command,
            p32(i.params[0]),
            p32(i.params[1]),
            p32(i.params[2]),
            p32(i.params[3]),
            p(i.lat_deg),
            p(i.lon_deg),
            p(i.alt_m),
            u8::from(i.autocontinue)
        );
    }
    s
}

/// Reads the items of `QGC WPL 110` text as they are, line by line (for comparing a file with
/// what a vehicle holds); [`read_wpl`] reads them into a mission.
pub fn read_wpl_items(text: &str) -> Result<Vec<PlanItem>> {
    let err = |d: String| PlanError::format("QGC WPL", d);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap_or_default().trim();
    if header != "QGC WPL 110" {
        return Err(err(format!(
            "first line is {header:?}, expected \"QGC WPL 110\""
        )));
    }
    lines
        .enumerate()
        .map(|(n, line)| {
            let ctx = format!("line {}", n + 2);
            let f: Vec<&str> = line.split('\t').map(str::trim).collect();
            if f.len() != 12 {
                return Err(err(format!("{ctx}: {} fields, expected 12", f.len())));
            }
            let num = |i: usize| {
                f[i].parse::<f64>().map_err(|_| {
                    err(format!(
                        "{ctx}: field {} ({:?}) is not a number",
                        i + 1,
                        f[i]
                    ))
                })
            };
            let int = |i: usize| {
                f[i].parse::<u16>().map_err(|_| {
                    err(format!(
                        "{ctx}: field {} ({:?}) is not a whole number",
                        i + 1,
                        f[i]
                    ))
                })
            };
            Ok(PlanItem {
                seq: int(0)?,
                command: int(3)?,
                frame: u8::try_from(int(2)?)
                    .map_err(|_| err(format!("{ctx}: frame {:?} is out of range", f[2])))?,
                params: [
                    num(4)? as f32,
                    num(5)? as f32,
                    num(6)? as f32,
                    num(7)? as f32,
                ],
                lat_deg: num(8)?,
                lon_deg: num(9)?,
                alt_m: num(10)?,
                autocontinue: int(11)? != 0,
            })
        })
        .collect()
}

/// Reads `QGC WPL 110` text. Item 0 is taken as home.
pub fn read_wpl(text: &str) -> Result<MissionDoc> {
    let err = |d: String| PlanError::format("QGC WPL", d);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap_or_default().trim();
    if header != "QGC WPL 110" {
        return Err(err(format!(
            "first line is {header:?}, expected \"QGC WPL 110\""
        )));
    }
    let mut home: Option<LatLon> = None;
    // Home's altitude: the ground height at home in a file of absolute altitudes.
    let mut home_alt_m = 0.0;
    let mut absolute = false;
    let mut items = Vec::new();
    let mut prev_alt = 0.0;
    let mut speed: Option<f64> = None;
    for (n, line) in lines.enumerate() {
        let ctx = format!("line {}", n + 2);
        let f: Vec<&str> = line.split('\t').map(str::trim).collect();
        if f.len() != 12 {
            return Err(err(format!("{ctx}: {} fields, expected 12", f.len())));
        }
        let num = |i: usize| {
            f[i].parse::<f64>().map_err(|_| {
                err(format!(
                    "{ctx}: field {} ({:?}) is not a number",
                    i + 1,
                    f[i]
                ))
            })
        };
        let command = f[3]
            .parse::<u64>()
            .map_err(|_| err(format!("{ctx}: command {:?} is not a number", f[3])))?;
        let mut params = [0.0; 7];
        for (k, slot) in params.iter_mut().enumerate() {
            *slot = num(4 + k)?;
        }
        if home.is_some() && command == u64::from(cmd::DO_CHANGE_SPEED) {
            // The mission's speed, not a waypoint (the first one counts).
            if speed.is_none() && params[1] > 0.0 {
                speed = Some(params[1]);
            }
            continue;
        }
        match home {
            None => {
                home = Some(
                    LatLon::checked(params[4], params[5])
                        .map_err(|e| err(format!("{ctx} (home): {e}")))?,
                );
                home_alt_m = params[6];
            }
            Some(h) => {
                let prev = items.last().map_or(h, |w: &aviary_core::Waypoint| w.pos);
                let mut w = from_mavlink(command, params, prev, h, prev_alt, &ctx)?;
                if f[2] == frame::GLOBAL.to_string() && command < 100 && command != 20 {
                    // An absolute altitude: above home is above the ground at home.
                    w.alt_rel_m -= home_alt_m;
                    absolute = true;
                }
                prev_alt = w.alt_rel_m;
                items.push(w);
            }
        }
    }
    let home = home.ok_or_else(|| err("no home line".into()))?;
    Ok(MissionDoc {
        home,
        items,
        areas: vec![],
        no_fly: vec![],
        speed_mps: speed.unwrap_or(0.0),
        surveys: vec![],
        rally_points: vec![],
        alt_frame: if absolute {
            AltitudeFrame::Amsl {
                home_amsl_m: home_alt_m,
            }
        } else {
            AltitudeFrame::AboveHome
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_core::mission_items::{first_difference, mission_items};
    use aviary_core::{Waypoint, WaypointAction};

    fn doc() -> MissionDoc {
        let home = LatLon::new(47.397_742, 8.545_594);
        let a = home.offset_ne(40.0, 10.0);
        let b = home.offset_ne(40.0, 90.0);
        let w = |pos, action| Waypoint {
            pos,
            alt_rel_m: 35.0,
            action,
        };
        MissionDoc {
            home,
            items: vec![
                w(home, WaypointAction::Takeoff),
                w(a, WaypointAction::FlyThrough),
                w(a, WaypointAction::CameraTriggerStart { distance_m: 11.3 }),
                w(b, WaypointAction::FlyThrough),
                w(b, WaypointAction::CameraTriggerStop),
                w(home, WaypointAction::ReturnToLaunch),
            ],
            areas: vec![],
            no_fly: vec![],
            speed_mps: 6.0,
            surveys: vec![],
            rally_points: vec![],
            alt_frame: AltitudeFrame::AboveHome,
        }
    }

    #[test]
    fn the_file_holds_the_one_item_list_and_reads_back_with_its_speed() {
        let d = doc();
        let text = to_wpl(&d);
        let from_file = read_wpl_items(&text).expect("own output parses");
        let list = mission_items(d.home, &d.items, d.speed_mps);
        assert_eq!(first_difference(&list, &from_file, false), None);
        // Home, takeoff, speed, waypoint, camera, waypoint, camera, RTL: no inserted items.
        assert_eq!(from_file.len(), 8);
        assert_eq!(from_file[2].command, cmd::DO_CHANGE_SPEED);
        let back = read_wpl(&text).expect("reads");
        assert_eq!(back.items.len(), d.items.len());
        for (x, y) in back.items.iter().zip(&d.items) {
            assert!(x.pos.distance_m(y.pos) < 0.02, "{x:?} vs {y:?}");
            match (x.action, y.action) {
                (
                    WaypointAction::CameraTriggerStart { distance_m: a },
                    WaypointAction::CameraTriggerStart { distance_m: b },
                ) => assert!((a - b).abs() < 1e-6),
                (a, b) => assert_eq!(a, b),
            }
        }
        assert!((back.speed_mps - 6.0).abs() < 1e-9);
    }
}

#[cfg(test)]
mod absolute_tests {
    use super::*;
    use aviary_core::{Waypoint, WaypointAction};

    #[test]
    fn absolute_altitudes_are_written_in_the_global_frame_and_read_back_above_home() {
        let home = LatLon::new(47.397_742, 8.545_594);
        let a = home.offset_ne(40.0, 10.0);
        let w = |pos, alt_rel_m, action| Waypoint {
            pos,
            alt_rel_m,
            action,
        };
        let doc = MissionDoc {
            home,
            items: vec![
                w(home, 60.0, WaypointAction::Takeoff),
                w(a, 72.5, WaypointAction::FlyThrough),
                w(home, 72.5, WaypointAction::ReturnToLaunch),
            ],
            areas: vec![],
            no_fly: vec![],
            speed_mps: 5.0,
            surveys: vec![],
            rally_points: vec![],
            alt_frame: AltitudeFrame::Amsl { home_amsl_m: 480.0 },
        };
        let text = to_wpl(&doc);
        let lines = read_wpl_items(&text).unwrap();
        // Home at its ground height; takeoff and waypoint absolute (frame 0).
        assert_eq!((lines[0].frame, lines[0].alt_m), (0, 480.0));
        assert_eq!((lines[1].frame, lines[1].alt_m), (0, 540.0));
        assert_eq!((lines[3].frame, lines[3].alt_m), (0, 552.5));
        let back = read_wpl(&text).unwrap();
        assert_eq!(back.alt_frame, doc.alt_frame);
        assert!((back.items[1].alt_rel_m - 72.5).abs() < 1e-9);
    }
}
