//! The History view's replay controls, as a ground station's log review shows them: play,
//! pause, speed and a scrubber; the vehicle's flight modes (or the mission's phases) in a
//! timeline; altitude, speed and battery plots whose cursor follows the playhead and which
//! move it when clicked; and what the vehicle reported at the playhead.

use super::fmt_duration;
use crate::gui::map::mark_color;
use crate::gui::state::{Replay, ReplayMark};
use egui::{Color32, RichText, Ui};

/// Seconds since the start as people read them: `0:00`, `2:30`, `1:05:00`.
pub fn elapsed(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3_600 {
        format!("{}:{:02}:{:02}", s / 3_600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The replay controls (nothing loaded: how to load one).
pub fn replay_controls_ui(ui: &mut Ui, replay: Option<&mut Replay>) {
    let Some(r) = replay else {
        ui.label(RichText::new("Choose a mission to replay, or open a .tlog.").weak());
        return;
    };
    ui.label(RichText::new(format!("Replay: {}", r.title)).strong());
    let dur = r.duration_s();
    if r.playing {
        let dt = f64::from(ui.input(|i| i.stable_dt).min(0.1));
        r.t_s = (r.t_s + dt * r.speed).min(dur);
        if r.t_s >= dur {
            r.playing = false;
        }
        ui.ctx().request_repaint();
    }
    ui.horizontal(|ui| {
        if ui
            .button(if r.playing { "Pause replay" } else { "Play" })
            .clicked()
        {
            if r.t_s >= dur {
                r.t_s = 0.0;
            }
            r.playing = !r.playing;
        }
        ui.label("Speed");
        for s in [1.0, 5.0, 20.0, 60.0] {
            ui.selectable_value(&mut r.speed, s, format!("{s:.0}×"));
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Replay position");
        ui.add(
            egui::Slider::new(&mut r.t_s, 0.0..=dur.max(0.001))
                .text("s")
                .show_value(true),
        )
        .labelled_by(label.id);
    });
    timeline_ui(ui, r, dur);
    if let Some(s) = r.samples.get(r.index_at_playhead()) {
        let battery = if s.battery_pct < 0.0 {
            "battery unknown".to_owned()
        } else {
            format!("battery {:.0} %", s.battery_pct)
        };
        ui.label(format!(
            "{} · {} of {} · alt {:.1} m · {:.1} m/s · {battery}",
            s.time.format("%H:%M:%S UTC"),
            fmt_duration(r.t_s),
            fmt_duration(dur),
            s.alt_rel_m,
            s.speed_mps,
        ));
    }
    replay_plots_ui(ui, r, dur);
}

/// The modes (or phases) as coloured spans over the replay's length; a click moves the
/// playhead, the mode at the playhead is named below.
fn timeline_ui(ui: &mut Ui, r: &mut Replay, dur: f64) {
    if r.timeline.is_empty() {
        ui.label(
            RichText::new("No flight modes in this replay.")
                .small()
                .weak(),
        );
        return;
    }
    let width = ui.available_width().max(100.0);
    let (rect, response) =
        ui.allocate_exact_size(egui::vec2(width, 18.0), egui::Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, Color32::from_gray(225));
    let x_of =
        |t_s: f64| rect.left() + (t_s / dur.max(0.001)).clamp(0.0, 1.0) as f32 * rect.width();
    let mut hovered: Option<&ReplayMark> = None;
    for (k, m) in r.timeline.iter().enumerate() {
        let start = x_of(r.offset_s(m.time));
        let end = r
            .timeline
            .get(k + 1)
            .map_or(rect.right(), |n| x_of(r.offset_s(n.time)));
        if end <= start {
            continue;
        }
        let span = egui::Rect::from_x_y_ranges(start..=end, rect.y_range());
        painter.rect_filled(span, 0.0, mark_color(&m.label));
        if end - start > 40.0 {
            painter.text(
                span.left_center() + egui::vec2(3.0, 0.0),
                egui::Align2::LEFT_CENTER,
                &m.label,
                egui::FontId::proportional(10.0),
                Color32::WHITE,
            );
        }
        if response
            .hover_pos()
            .is_some_and(|p| (start..=end).contains(&p.x))
        {
            hovered = Some(m);
        }
    }
    let cursor = x_of(r.t_s);
    painter.vline(
        cursor,
        rect.y_range(),
        egui::Stroke::new(2.0, Color32::BLACK),
    );
    if let Some(m) = hovered {
        let text = if m.detail.is_empty() {
            format!("{} from {}", m.label, elapsed(r.offset_s(m.time)))
        } else {
            format!(
                "{} from {}: {}",
                m.label,
                elapsed(r.offset_s(m.time)),
                m.detail
            )
        };
        response.clone().on_hover_text(text);
    }
    if (response.clicked() || response.dragged())
        && let Some(p) = response.interact_pointer_pos()
    {
        r.t_s = f64::from((p.x - rect.left()) / rect.width()).clamp(0.0, 1.0) * dur;
    }
    let now = r.mark_at_playhead().map_or_else(
        || "Mode: not reported yet".to_owned(),
        |m| format!("Mode: {} (since {})", m.label, elapsed(r.offset_s(m.time))),
    );
    ui.label(RichText::new(now).small());
}

/// One quantity plotted over a replay.
struct ReplayPlot {
    name: &'static str,
    unit: &'static str,
    color: Color32,
    /// The value of a sample, `None` when unknown.
    value: fn(&aviary_core::TelemetrySample) -> Option<f64>,
    /// The smallest y span shown.
    min_span: f64,
    /// The range the quantity cannot leave.
    limits: Option<(f64, f64)>,
}

const REPLAY_PLOTS: [ReplayPlot; 3] = [
    ReplayPlot {
        name: "Replay altitude",
        unit: "m",
        color: Color32::from_rgb(0x1f, 0x6f, 0xd1),
        value: |s| Some(s.alt_rel_m),
        min_span: 5.0,
        limits: None,
    },
    ReplayPlot {
        name: "Replay speed",
        unit: "m/s",
        color: Color32::from_rgb(0x2e, 0x9e, 0x44),
        value: |s| Some(s.speed_mps),
        min_span: 2.0,
        limits: Some((0.0, f64::MAX)),
    },
    ReplayPlot {
        name: "Replay battery",
        unit: "%",
        color: Color32::from_rgb(0xe6, 0x7e, 0x22),
        value: |s| (s.battery_pct >= 0.0).then_some(s.battery_pct),
        min_span: 10.0,
        limits: Some((0.0, 100.0)),
    },
];

/// Altitude, speed and battery over the replay, a cursor at the playhead; a click or drag on a
/// plot moves the playhead there.
fn replay_plots_ui(ui: &mut Ui, r: &mut Replay, dur: f64) {
    let Some(first) = r.samples.first().map(|s| s.time) else {
        return;
    };
    let x_of =
        |s: &aviary_core::TelemetrySample| (s.time - first).num_milliseconds() as f64 / 1000.0;
    let width = ui.available_width().max(120.0);
    let mut seek: Option<f64> = None;
    for ReplayPlot {
        name,
        unit,
        color,
        value,
        min_span,
        limits,
    } in REPLAY_PLOTS
    {
        // Lines broken where a value is unknown or the log is silent for more than 5 s.
        let mut lines: Vec<Vec<[f64; 2]>> = Vec::new();
        let mut last_x: Option<f64> = None;
        for s in &r.samples {
            let x = x_of(s);
            match value(s) {
                Some(v) => {
                    let gap = last_x.is_none_or(|lx| x - lx > 5.0);
                    match lines.last_mut() {
                        Some(line) if !gap => line.push([x, v]),
                        _ => lines.push(vec![[x, v]]),
                    }
                    last_x = Some(x);
                }
                None => last_x = None,
            }
        }
        let title = name.trim_start_matches("Replay ");
        let mut title = title.to_owned();
        if let Some(first) = title.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        ui.label(RichText::new(format!("{title} ({unit})")).small());
        let Some((lo, hi)) = crate::gui::state::y_range(&lines, min_span, limits) else {
            ui.label(RichText::new("unknown in this log").small().weak());
            continue;
        };
        let t_s = r.t_s;
        egui_plot::Plot::new(name)
            .width(width)
            .height(70.0)
            .allow_scroll(false)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_boxed_zoom(false)
            .allow_double_click_reset(false)
            .y_axis_min_width(28.0)
            .x_axis_formatter(|mark, _| elapsed(mark.value))
            .show(ui, |p| {
                p.set_plot_bounds(egui_plot::PlotBounds::from_min_max(
                    [0.0, lo],
                    [dur.max(1.0), hi],
                ));
                for points in lines {
                    p.line(egui_plot::Line::new(name, points).color(color).width(1.5));
                }
                p.vline(
                    egui_plot::VLine::new("playhead", t_s)
                        .color(Color32::BLACK)
                        .width(1.5),
                );
                let r = p.response();
                if (r.clicked() || r.dragged())
                    && let Some(c) = p.pointer_coordinate()
                {
                    seek = Some(c.x.clamp(0.0, dur));
                }
            });
    }
    if let Some(t) = seek {
        r.t_s = t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_reads_as_a_clock() {
        assert_eq!(elapsed(0.0), "0:00");
        assert_eq!(elapsed(150.4), "2:30");
        assert_eq!(elapsed(3_900.0), "1:05:00");
    }

    #[test]
    fn a_mode_keeps_its_colour_and_disarmed_is_grey() {
        assert_eq!(mark_color("AUTO"), mark_color("AUTO"));
        assert_ne!(mark_color("AUTO"), mark_color("RTL"));
        assert_ne!(mark_color("GUIDED"), mark_color("RTL"));
        assert_eq!(mark_color("AUTO"), mark_color("in mission"));
        assert_eq!(mark_color("LOITER · disarmed"), Color32::from_gray(150));
    }
}
