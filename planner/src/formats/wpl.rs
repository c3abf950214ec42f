//! `QGC WPL 110`: the tab-separated mission text of MAVProxy, Mission Planner and
//! QGroundControl. Line 0 is home; then seq, current, frame, command, p1–p4, lat, lon, alt,
//! autocontinue.

use std::fmt::Write as _;

use aviary_core::LatLon;

use super::MissionDoc;
use super::qgc::{from_mavlink, mavlink_item};
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

/// Renders a mission as `QGC WPL 110` text.
pub fn to_wpl(doc: &MissionDoc) -> String {
    let mut s = String::from("QGC WPL 110\n");
    let _ = writeln!(
        s,
        "0\t1\t0\t16\t0\t0\t0\t0\t{}\t{}\t0\t1",
        p(doc.home.lat_deg),
        p(doc.home.lon_deg)
    );
    for (i, w) in doc.items.iter().enumerate() {
        let (command, frame, params) = mavlink_item(w);
        let _ = writeln!(
            s,
            "{}\t0\t{frame}\t{command}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t1",
            i + 1,
            p(params[0]),
            p(params[1]),
            p(params[2]),
            p(params[3]),
            p(params[4]),
            p(params[5]),
            p(params[6])
        );
    }
    s
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
    let mut items = Vec::new();
    let mut prev_alt = 0.0;
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
        match home {
            None => {
                home = Some(
                    LatLon::checked(params[4], params[5])
                        .map_err(|e| err(format!("{ctx} (home): {e}")))?,
                );
            }
            Some(h) => {
                let prev = items.last().map_or(h, |w: &aviary_core::Waypoint| w.pos);
                let w = from_mavlink(command, params, prev, h, prev_alt, &ctx)?;
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
        speed_mps: 0.0,
    })
}
