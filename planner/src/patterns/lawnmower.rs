//! Lawnmower (one pass, from the best corner when there is no home) and crosshatch (two
//! passes, in turn or interleaved).

use geo::Coord;

use super::cells::{Sweep, cell_tour};
use super::tours::{
    NEAREST_MAX_PIECES, cell_pieces, fly_sweeps, fly_tours, pass_tours, piece_ends, piece_search,
    plan_tours, tour_reference,
};
use super::{Gen, SurveyPath};
use crate::area::Area;

/// Lawnmower: one pass at the given or best bearing.
pub(crate) fn lawnmower(area: &Area, g: &Gen, bearing_deg: f64) -> SurveyPath {
    let mut path = SurveyPath::default();
    let sweep = Sweep::new(area, g, bearing_deg);
    fly_sweeps(std::slice::from_ref(&sweep), g, g.home, &mut path);
    into_corners(&sweep, path)
}

/// The lawnmower's transect ends reach into the corners (see [`crate::corners`]).
fn into_corners(sweep: &Sweep, path: SurveyPath) -> SurveyPath {
    let lines_v: Vec<f64> = sweep.lines.iter().map(|&(v, ..)| v).collect();
    crate::corners::reach_into_corners(path, &sweep.fs, sweep.rot, &lines_v, sweep.spacing_m)
}

/// Lawnmower at the chosen bearing flown from the best corner (see [`fly_from_best_corner`]).
pub(crate) fn lawnmower_from_best_corner(area: &Area, g: &Gen, bearing_deg: f64) -> SurveyPath {
    let mut path = SurveyPath::default();
    let sweep = Sweep::new(area, g, bearing_deg);
    fly_from_best_corner(&sweep, g, &mut path);
    into_corners(&sweep, path)
}

/// Passes with at most this many pieces and no home try every corner to start from.
pub(crate) const FREE_START_PIECES: usize = 200;

/// Flies one sweep from home, or without a home (the crew may take off anywhere) from the
/// corner of the first or last line that gives the shortest path: where a small area's path
/// starts changes how its pieces join (the first corner on equal lengths; the same transects,
/// so the same coverage). Larger passes start at the first line's first end, where the
/// difference is a small share.
fn fly_from_best_corner(sweep: &Sweep, g: &Gen, path: &mut SurveyPath) {
    let sweeps = std::slice::from_ref(sweep);
    let lines = &sweep.lines;
    let (Some(&(_, _, f1)), Some(&(_, l0, l1))) = (lines.first(), lines.last()) else {
        fly_sweeps(sweeps, g, g.home, path);
        return;
    };
    if g.home.is_some() || sweep.segs.len() > FREE_START_PIECES {
        fly_sweeps(sweeps, g, g.home, path);
        return;
    }
    let corner = |i: usize, at_u0: bool| {
        let p = sweep.end_local(i, at_u0);
        Some(Coord { x: p.u, y: p.v })
    };
    let starts = [
        None,
        corner(f1 - 1, false),
        corner(l0, true),
        corner(l1 - 1, false),
    ];
    let tries = crate::par::map(&starts, |&start| {
        let mut p = path.clone();
        fly_sweeps(sweeps, g, start, &mut p);
        (p.length_m(), p)
    });
    let mut best: Option<(f64, SurveyPath)> = None;
    for (len, p) in tries {
        if best.as_ref().is_none_or(|(l, _)| len < l - 1e-6) {
            best = Some((len, p));
        }
    }
    if let Some((_, p)) = best {
        *path = p;
    }
}

/// Crosshatch passes with at most this many pieces in all are also flown as one tour.
const INTERLEAVE_MAX_PIECES: usize = 400;

/// Crosshatch: transects at the bearing, then at +90° starting nearest to where the first
/// pass ended; for a small area (up to [`INTERLEAVE_MAX_PIECES`] pieces) also the design's
/// order, one tour over the cells of both passes, as a second variant. That tour's survey
/// path is shorter, but its sorties end farther from where they start (up to +14 % flight on
/// the reference areas): the caller keeps the variant with the shorter mission.
pub(crate) fn crosshatch(area: &Area, g: &Gen, bearing_deg: f64) -> Vec<SurveyPath> {
    let (first, second) = crate::par::join(
        || Sweep::new(area, g, bearing_deg),
        || Sweep::new(area, g, (bearing_deg + 90.0).rem_euclid(180.0)),
    );
    if first.segs.len() + second.segs.len() > INTERLEAVE_MAX_PIECES {
        return vec![passes_in_turn(&first, &second, g)];
    }
    let (in_turn, interleaved) = crate::par::join(
        || passes_in_turn(&first, &second, g),
        || {
            let mut path = SurveyPath::default();
            fly_sweeps(&[first.clone(), second.clone()], g, g.home, &mut path);
            path
        },
    );
    vec![in_turn, interleaved]
}

/// The first pass, then the second from where the first ended, joined inside the region
/// (two large passes: planned side by side, see [`passes_side_by_side`]).
fn passes_in_turn(first: &Sweep, second: &Sweep, g: &Gen) -> SurveyPath {
    if first.segs.len() > NEAREST_MAX_PIECES
        && second.segs.len() > NEAREST_MAX_PIECES
        && let Some(path) = passes_side_by_side(first, second, g)
    {
        return path;
    }
    let mut path = SurveyPath::default();
    let firsts = std::slice::from_ref(first);
    let second_from = |start: Option<Coord>| {
        let mut rest = SurveyPath::default();
        fly_sweeps(std::slice::from_ref(second), g, start.or(g.home), &mut rest);
        rest
    };
    let Some(tours) = plan_tours(firsts, g.home) else {
        return second_from(None);
    };
    // The second pass starts where the first ends, which is known once the first's tours are
    // flown; it is planned meanwhile from where the first most likely ends, and again in the
    // rare case the first ends elsewhere (the same path either way).
    let guess = tours.likely_end(firsts);
    let ((), guessed) = crate::par::join(
        || fly_tours(firsts, g, &tours, &mut path),
        || second_from(guess),
    );
    let end = path.points.last().copied();
    let same = |a: Option<Coord>, b: Option<Coord>| {
        a.map(|c| (c.x.to_bits(), c.y.to_bits())) == b.map(|c| (c.x.to_bits(), c.y.to_bits()))
    };
    let rest = if same(end, guess) {
        guessed
    } else {
        second_from(end)
    };
    append_pass(&mut path, rest, second);
    path
}

/// Appends the second pass's path `rest` to `path`, joined inside the region from the first's
/// end to the second's start.
fn append_pass(path: &mut SurveyPath, rest: SurveyPath, second: &Sweep) {
    if let (Some(p), Some(q)) = (path.points.last().copied(), rest.points.first().copied()) {
        let (pu, qu) = (second.rot.fwd(p), second.rot.fwd(q));
        let fs = &second.fs;
        match fs.route(pu, fs.nearest_edge(pu), qu, fs.nearest_edge(qu)) {
            Some(via) => path
                .points
                .extend(via.into_iter().map(|x| second.rot.inv(x))),
            None => path.unrouted += 1,
        }
    }
    let offset = path.points.len();
    path.points.extend(rest.points);
    path.unrouted += rest.unrouted;
    for mut pass in rest.passes {
        for r in &mut pass.runs {
            r.0 += offset;
            r.1 += offset;
        }
        path.passes.push(pass);
    }
}

/// Two large passes flown in turn, planned side by side: the first pass's greedy tour over
/// its cells gives where it ends; the first pass's piece-level search (held to end there)
/// and the second pass's whole planning from there run on two cores. `None` without pieces.
fn passes_side_by_side(first: &Sweep, second: &Sweep, g: &Gen) -> Option<SurveyPath> {
    let (firsts, seconds) = (std::slice::from_ref(first), std::slice::from_ref(second));
    let reference = tour_reference(firsts, g.home)?;
    let greedy = cell_pieces(firsts, &cell_tour(firsts, reference, false));
    let junction = piece_ends(firsts, *greedy.last()?).1;
    let (tours, rest) = crate::par::join(
        || {
            pass_tours(
                firsts,
                vec![piece_search(firsts, reference, Some(junction), &greedy)],
            )
        },
        || {
            let mut rest = SurveyPath::default();
            let start = Coord {
                x: junction.u,
                y: junction.v,
            };
            fly_sweeps(seconds, g, Some(start), &mut rest);
            rest
        },
    );
    let mut path = SurveyPath::default();
    fly_tours(firsts, g, &tours, &mut path);
    append_pass(&mut path, rest, second);
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::test_util::{params, rect_area};

    #[test]
    fn lawnmower_alternates_and_stays_inside() {
        let a = rect_area(0.01, 0.005);
        let p = lawnmower(&a, &params(50.0), 90.0);
        // ~555 m tall / 50 m = 11 lines, two points each.
        assert_eq!(p.points.len(), 22);
        let dx0 = p.points[1].x - p.points[0].x;
        let dx1 = p.points[3].x - p.points[2].x;
        assert!(dx0 * dx1 < 0.0, "directions must alternate");
    }
}
