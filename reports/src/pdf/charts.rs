//! Bitmaps drawn with plotters for the PDF: time-series charts, the mission map, bar charts
//! and the battery trend. Each returns an RGB buffer of the requested size.

use crate::error::ReportError;
use crate::mission::MissionReport;
use geo::{Coord, MultiPolygon};
use plotters::coord::Shift;
use plotters::prelude::*;

/// An RGB8 bitmap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    /// Width, pixels.
    pub width_px: u32,
    /// Height, pixels.
    pub height_px: u32,
    /// `width_px * height_px * 3` bytes, rows top to bottom.
    pub rgb: Vec<u8>,
}

/// Pixels per PDF point of the embedded bitmaps (144 dpi).
pub const PX_PER_PT: f32 = 2.0;

const FONT: &str = "sans-serif";
const TRACK: RGBColor = RGBColor(214, 39, 40);
const PLAN: RGBColor = RGBColor(31, 119, 180);
const AREA_FILL: RGBColor = RGBColor(222, 240, 216);
const AREA_EDGE: RGBColor = RGBColor(90, 150, 80);
const COVER_FILL: RGBColor = RGBColor(255, 224, 178);
const GRID: RGBColor = RGBColor(225, 225, 225);
/// A palette for several series (drones).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn chart_err<E: std::fmt::Debug>(what: &'static str) -> impl Fn(E) -> ReportError {
    move |e| ReportError::Chart {
        what,
        detail: format!("{e:?}"),
    }
}

fn draw<F>(what: &'static str, width_px: u32, height_px: u32, f: F) -> Result<Bitmap, ReportError>
where
    F: FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), ReportError>,
{
    let mut rgb = vec![255_u8; width_px as usize * height_px as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width_px, height_px)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err(what))?;
        f(&root)?;
        root.present().map_err(chart_err(what))?;
    }
    Ok(Bitmap {
        width_px,
        height_px,
        rgb,
    })
}

/// Keeps the minimum and maximum of every `columns`-th slice of `points` (sorted by x), so a
/// 72,000-sample series draws as ~2 × `columns` points with every peak preserved.
pub fn decimate(points: &[(f64, f64)], columns: usize) -> Vec<(f64, f64)> {
    if points.len() <= columns * 2 || columns == 0 {
        return points.to_vec();
    }
    let per = points.len().div_ceil(columns);
    let mut out = Vec::with_capacity(columns * 2 + 1);
    for chunk in points.chunks(per) {
        let (mut lo, mut hi) = (chunk[0], chunk[0]);
        for p in chunk {
            if p.1 < lo.1 {
                lo = *p;
            }
            if p.1 > hi.1 {
                hi = *p;
            }
        }
        if lo.0 <= hi.0 {
            out.extend([lo, hi]);
        } else {
            out.extend([hi, lo]);
        }
    }
    out
}

/// A line chart of one quantity over time. `segments` are runs of `(minutes, value)` with
/// no gap inside; gaps are left blank.
pub fn time_series(
    what: &'static str,
    caption: &str,
    y_label: &str,
    segments: &[Vec<(f64, f64)>],
    color: RGBColor,
    width_px: u32,
    height_px: u32,
) -> Result<Bitmap, ReportError> {
    let all = segments.iter().flatten();
    let x_max = all.clone().map(|p| p.0).fold(0.0_f64, f64::max).max(1.0);
    let (mut y_min, mut y_max) =
        all.fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    if y_min > y_max {
        (y_min, y_max) = (0.0, 1.0);
    }
    let pad = ((y_max - y_min) * 0.1).max(1.0);
    let (y_lo, y_hi) = (
        (y_min - pad).max(if y_min >= 0.0 { 0.0 } else { f64::MIN }),
        y_max + pad,
    );
    draw(what, width_px, height_px, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption, (FONT, 26))
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(86)
            .build_cartesian_2d(0.0..x_max, y_lo..y_hi)
            .map_err(chart_err(what))?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_desc("minutes since first sample")
            .y_desc(y_label)
            .label_style((FONT, 20))
            .axis_desc_style((FONT, 20))
            .draw()
            .map_err(chart_err(what))?;
        for seg in segments {
            let pts = decimate(seg, (width_px as usize).max(2));
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(3)))
                .map_err(chart_err(what))?;
        }
        Ok(())
    })
}

/// The mission map: survey area (green), area covered (orange), planned path (blue) and
/// flown track (red), north up, equal scale on both axes, in metres from the area's corner.
pub fn mission_map(
    report: &MissionReport,
    width_px: u32,
    height_px: u32,
) -> Result<Bitmap, ReportError> {
    const WHAT: &str = "mission map";
    let f = &report.frame;
    let area: Vec<Coord<f64>> = report
        .survey_area
        .exterior
        .iter()
        .map(|p| f.to_local(*p))
        .collect();
    let plan: Vec<Coord<f64>> = report.planned_path.iter().map(|p| f.to_local(*p)).collect();
    let step = (report.samples.len() / 6000).max(1);
    let mut track_runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    let gap_starts: std::collections::HashSet<_> = report
        .issues
        .iter()
        .filter_map(|i| match i {
            crate::mission::DataIssue::Gap { to, .. } => Some(*to),
            _ => None,
        })
        .collect();
    for (i, s) in report.samples.iter().enumerate() {
        let gap = gap_starts.contains(&s.time);
        if gap {
            track_runs.push(Vec::new());
        }
        if gap || i % step == 0 || i + 1 == report.samples.len() {
            let c = f.to_local(s.pos);
            if let Some(run) = track_runs.last_mut() {
                run.push((c.x, c.y));
            }
        }
    }
    let everything = area
        .iter()
        .chain(&plan)
        .map(|c| (c.x, c.y))
        .chain(track_runs.iter().flatten().copied());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in everything {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (-50.0, 50.0, -50.0, 50.0);
    }
    draw(WHAT, width_px, height_px, |root| {
        let (label_x, label_y, margin) = (48_u32, 80_u32, 12_u32);
        let plot_w = f64::from(width_px - label_y - 2 * margin);
        let plot_h = f64::from(height_px - label_x - 2 * margin - 40);
        // Equal metres per pixel on both axes: widen the narrower extent.
        let (cx, cy) = (f64::midpoint(x0, x1), f64::midpoint(y0, y1));
        let m_per_px = ((x1 - x0) / plot_w).max((y1 - y0) / plot_h).max(1e-3) * 1.08;
        let (hx, hy) = (m_per_px * plot_w / 2.0, m_per_px * plot_h / 2.0);
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Planned path vs flown track (metres east / north)",
                (FONT, 26),
            )
            .margin(margin)
            .x_label_area_size(label_x)
            .y_label_area_size(label_y)
            .build_cartesian_2d((cx - hx)..(cx + hx), (cy - hy)..(cy + hy))
            .map_err(chart_err(WHAT))?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FONT, 20))
            .draw()
            .map_err(chart_err(WHAT))?;
        if area.len() >= 3 {
            let ring: Vec<(f64, f64)> = area.iter().map(|c| (c.x, c.y)).collect();
            chart
                .draw_series(std::iter::once(Polygon::new(
                    ring.clone(),
                    AREA_FILL.filled(),
                )))
                .map_err(chart_err(WHAT))?
                .label("survey area")
                .legend(|(x, y)| Rectangle::new([(x, y - 8), (x + 24, y + 8)], AREA_FILL.filled()));
            draw_polygons(&mut chart, report.covered.as_ref())?;
            let mut closed = ring;
            closed.push(closed[0]);
            chart
                .draw_series(LineSeries::new(closed, AREA_EDGE.stroke_width(2)))
                .map_err(chart_err(WHAT))?;
        }
        if plan.len() >= 2 {
            chart
                .draw_series(LineSeries::new(
                    plan.iter().map(|c| (c.x, c.y)),
                    PLAN.mix(0.55).stroke_width(7),
                ))
                .map_err(chart_err(WHAT))?
                .label("planned path")
                .legend(|(x, y)| {
                    PathElement::new([(x, y), (x + 24, y)], PLAN.mix(0.55).stroke_width(7))
                });
        }
        let mut first = true;
        for run in track_runs.iter().filter(|r| !r.is_empty()) {
            let series = chart
                .draw_series(LineSeries::new(run.iter().copied(), TRACK.stroke_width(2)))
                .map_err(chart_err(WHAT))?;
            if first {
                series.label("flown track").legend(|(x, y)| {
                    PathElement::new([(x, y), (x + 24, y)], TRACK.stroke_width(3))
                });
                first = false;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, 20))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(chart_err(WHAT))?;
        Ok(())
    })
}

type MapChart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn draw_polygons(
    chart: &mut MapChart<'_, '_>,
    covered: Option<&MultiPolygon<f64>>,
) -> Result<(), ReportError> {
    const WHAT: &str = "mission map";
    let Some(mp) = covered else { return Ok(()) };
    if mp.0.is_empty() {
        return Ok(());
    }
    // Exteriors in the cover colour, then holes back in the area colour.
    let exteriors = mp.0.iter().map(|p| {
        Polygon::new(
            p.exterior()
                .coords()
                .map(|c| (c.x, c.y))
                .collect::<Vec<_>>(),
            COVER_FILL.filled(),
        )
    });
    chart
        .draw_series(exteriors)
        .map_err(chart_err(WHAT))?
        .label("area covered")
        .legend(|(x, y)| Rectangle::new([(x, y - 8), (x + 24, y + 8)], COVER_FILL.filled()));
    let holes = mp.0.iter().flat_map(|p| p.interiors().iter()).map(|r| {
        Polygon::new(
            r.coords().map(|c| (c.x, c.y)).collect::<Vec<_>>(),
            AREA_FILL.filled(),
        )
    });
    chart.draw_series(holes).map_err(chart_err(WHAT))?;
    Ok(())
}

/// A bar chart: one bar per label.
pub fn bars(
    what: &'static str,
    caption: &str,
    y_label: &str,
    bars: &[(String, f64)],
    color: RGBColor,
    width_px: u32,
    height_px: u32,
) -> Result<Bitmap, ReportError> {
    let n = bars.len().max(1);
    let y_max = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max).max(1e-9) * 1.15;
    let label_every = n.div_ceil(labelled_bars(width_px));
    draw(what, width_px, height_px, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption, (FONT, 26))
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(86)
            .build_cartesian_2d((0..n).into_segmented(), 0.0..y_max)
            .map_err(chart_err(what))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_labels(n.min(12))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if i % label_every == 0 => {
                    bars.get(*i).map(|b| b.0.clone()).unwrap_or_default()
                }
                _ => String::new(),
            })
            .y_desc(y_label)
            .label_style((FONT, 20))
            .axis_desc_style((FONT, 20))
            .draw()
            .map_err(chart_err(what))?;
        let bar_margin = (width_px / (n as u32 * 8)).clamp(2, 120);
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(color.filled())
                    .margin(bar_margin)
                    .data(bars.iter().enumerate().map(|(i, b)| (i, b.1))),
            )
            .map_err(chart_err(what))?;
        Ok(())
    })
}

/// The top of a count axis: the largest count plus headroom, at least 1.
pub fn count_axis_max(max_count: u32) -> i32 {
    let max = i32::try_from(max_count).unwrap_or(i32::MAX / 2);
    (max + (max / 8).max(1)).max(1)
}

/// The ticks a count axis up to `y_max` shows (at most `max_labels`): whole numbers only,
/// as plotters' integer axis draws them.
pub fn count_ticks(y_max: i32, max_labels: usize) -> Vec<i32> {
    use plotters::coord::ranged1d::Ranged as _;
    let axis: plotters::coord::types::RangedCoordi32 = (0..y_max).into();
    axis.key_points(max_labels)
}

/// How many bars of a chart `width_px` wide get a label: a date label is about 120 px wide.
fn labelled_bars(width_px: u32) -> usize {
    usize::try_from(width_px / 150).unwrap_or(1).clamp(1, 12)
}

/// Labels every few bars so the labels never overlap.
fn bar_label(bars: &[(String, u32)], width_px: u32, v: &SegmentValue<usize>) -> String {
    let label_every = bars.len().max(1).div_ceil(labelled_bars(width_px));
    match v {
        SegmentValue::CenterOf(i) if i % label_every == 0 => {
            bars.get(*i).map(|b| b.0.clone()).unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// A bar chart of counts (missions per period): an integer axis, so its ticks are whole
/// numbers ([`count_ticks`]), never 0.2 of a mission.
pub fn count_bars(
    what: &'static str,
    caption: &str,
    y_label: &str,
    bars: &[(String, u32)],
    color: RGBColor,
    width_px: u32,
    height_px: u32,
) -> Result<Bitmap, ReportError> {
    let n = bars.len().max(1);
    let y_max = count_axis_max(bars.iter().map(|b| b.1).max().unwrap_or(0));
    draw(what, width_px, height_px, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption, (FONT, 26))
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(86)
            .build_cartesian_2d((0..n).into_segmented(), 0..y_max)
            .map_err(chart_err(what))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_labels(n.min(12))
            .y_labels(COUNT_LABELS)
            .x_label_formatter(&|v| bar_label(bars, width_px, v))
            .y_desc(y_label)
            .label_style((FONT, 20))
            .axis_desc_style((FONT, 20))
            .draw()
            .map_err(chart_err(what))?;
        let bar_margin = (width_px / (n as u32 * 8)).clamp(2, 120);
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(color.filled())
                    .margin(bar_margin)
                    .data(
                        bars.iter()
                            .enumerate()
                            .map(|(i, b)| (i, i32::try_from(b.1).unwrap_or(i32::MAX))),
                    ),
            )
            .map_err(chart_err(what))?;
        Ok(())
    })
}

/// How many labels a count axis asks plotters for.
pub const COUNT_LABELS: usize = 6;

/// Several labelled series on one chart (battery endurance per drone), x in days since
/// `x_origin_label`.
pub fn multi_series(
    what: &'static str,
    caption: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
    width_px: u32,
    height_px: u32,
) -> Result<Bitmap, ReportError> {
    let pts = series.iter().flat_map(|s| s.1.iter());
    let x_max = pts.clone().map(|p| p.0).fold(0.0_f64, f64::max).max(1.0);
    let y_max = pts.map(|p| p.1).fold(0.0_f64, f64::max).max(1.0) * 1.15;
    draw(what, width_px, height_px, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption, (FONT, 26))
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(86)
            .build_cartesian_2d(0.0..x_max * 1.02, 0.0..y_max)
            .map_err(chart_err(what))?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style((FONT, 20))
            .axis_desc_style((FONT, 20))
            .draw()
            .map_err(chart_err(what))?;
        for (i, (name, points)) in series.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(3)))
                .map_err(chart_err(what))?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], c.stroke_width(3)));
            chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 4, c.filled())))
                .map_err(chart_err(what))?;
        }
        if !series.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font((FONT, 20))
                .position(SeriesLabelPosition::LowerRight)
                .draw()
                .map_err(chart_err(what))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_axes_tick_whole_numbers() {
        assert_eq!(count_axis_max(0), 1);
        assert_eq!(count_axis_max(1), 2);
        assert_eq!(count_ticks(count_axis_max(1), COUNT_LABELS), vec![0, 1, 2]);
        for max in [0, 1, 2, 3, 7, 12, 45, 1000] {
            let top = count_axis_max(max);
            assert!(top > i32::try_from(max).unwrap());
            let ticks = count_ticks(top, COUNT_LABELS);
            assert!(ticks.len() >= 2 && ticks[0] == 0, "{max}: {ticks:?}");
            assert!(ticks.windows(2).all(|w| w[1] > w[0]), "{max}: {ticks:?}");
        }
        let bars = vec![("2026-10".to_owned(), 1), ("2026-11".to_owned(), 0)];
        let bmp = count_bars(
            "missions chart",
            "Missions",
            "missions",
            &bars,
            PALETTE[1],
            600,
            200,
        )
        .unwrap();
        assert_eq!(bmp.rgb.len(), 600 * 200 * 3);
    }

    #[test]
    fn decimation_keeps_extremes() {
        let pts: Vec<(f64, f64)> = (0..10_000)
            .map(|i| {
                (
                    f64::from(i),
                    if i == 4321 { 99.0 } else { f64::from(i % 7) },
                )
            })
            .collect();
        let d = decimate(&pts, 100);
        assert!(d.len() <= 202, "{}", d.len());
        assert!(d.iter().any(|p| (p.1 - 99.0).abs() < 1e-9));
        assert!(d.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn a_chart_draws_something() {
        let seg = vec![(0.0, 10.0), (1.0, 50.0), (2.0, 30.0)];
        let b = time_series("altitude chart", "Altitude", "m", &[seg], PLAN, 400, 200)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.rgb.len(), 400 * 200 * 3);
        let blue = b
            .rgb
            .chunks(3)
            .filter(|p| p == &[PLAN.0, PLAN.1, PLAN.2])
            .count();
        assert!(blue > 50, "{blue} line pixels");
    }
}
