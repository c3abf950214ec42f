//! The weather verdict as the Plan and Monitor views draw it: go / caution / no-go / unknown
//! in its colour, each reason with its value, limit and unit, and the data's source and age.

use super::{ERROR, OK, PENDING};
use aviary_core::weather::{Verdict, WeatherVerdict};
use egui::{Color32, RichText, Ui};

/// Grey for unknown.
const UNKNOWN: Color32 = Color32::from_rgb(0x6b, 0x6b, 0x6b);

/// The colour of a verdict.
pub const fn verdict_color(v: Verdict) -> Color32 {
    match v {
        Verdict::Go => OK,
        Verdict::Caution => PENDING,
        Verdict::Unknown => UNKNOWN,
        Verdict::NoGo => ERROR,
    }
}

/// The verdict word as shown (upper case, e.g. `NO-GO`).
pub fn verdict_word(v: Verdict) -> String {
    v.as_str().to_uppercase()
}

/// The data's source and age in words.
pub fn age_words(v: &WeatherVerdict) -> String {
    match (&v.source, v.age_s) {
        (Some(src), Some(age)) if age < 120 => format!("{src}, {age} s old"),
        (Some(src), Some(age)) => format!("{src}, {} min old", age / 60),
        _ => "no data".to_owned(),
    }
}

/// Widest a reason's text gets in the table before it wraps, points.
const REASON_WIDTH: f32 = 220.0;

/// The whole panel: verdict, reasons table, what was not assessed, source and age.
pub fn verdict_ui(ui: &mut Ui, v: &WeatherVerdict, id: &str) {
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(verdict_word(v.verdict))
                .strong()
                .size(18.0)
                .color(verdict_color(v.verdict)),
        );
        ui.label(
            RichText::new(format!(
                "{} · {} – {}",
                v.model,
                v.window_start.format("%d %b %H:%M"),
                v.window_end.format("%H:%M UTC")
            ))
            .weak(),
        );
    });
    if v.reasons.is_empty() {
        ui.label(format!("Within every limit for {}.", v.model));
    } else {
        egui::Grid::new(id)
            .num_columns(5)
            .striped(true)
            .spacing([10.0, 2.0])
            .show(ui, |ui| {
                for h in ["", "reason", "value", "limit", "at"] {
                    ui.label(RichText::new(h).small().strong());
                }
                ui.end_row();
                for r in &v.reasons {
                    ui.label(
                        RichText::new(r.verdict.as_str())
                            .color(verdict_color(r.verdict))
                            .strong(),
                    );
                    // A long reason (an offline fetch's error chain) wraps in its column
                    // instead of widening the side panel.
                    ui.scope(|ui| {
                        ui.set_max_width(REASON_WIDTH);
                        ui.add(egui::Label::new(&r.text).wrap());
                    });
                    let num = |x: Option<f64>| {
                        x.map_or_else(|| "—".to_owned(), |x| format!("{x:.1} {}", r.unit))
                    };
                    ui.label(RichText::new(num(r.value)).monospace());
                    ui.label(RichText::new(num(r.limit)).monospace());
                    ui.label(r.at.map_or_else(String::new, |t| t.format("%H:%M UTC").to_string()));
                    ui.end_row();
                }
            });
    }
    if !v.not_assessed.is_empty() {
        ui.label(
            RichText::new(format!(
                "Not assessed (not in the data): {}",
                v.not_assessed.join(", ")
            ))
            .small()
            .weak(),
        );
    }
    ui.label(
        RichText::new(format!("Data: {}", age_words(v)))
            .small()
            .weak(),
    );
}
