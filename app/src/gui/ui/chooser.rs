//! The built-in file chooser's window: the folder with Up and Home, its folders and matching
//! files, a name field for saving, the reason when a folder or a choice is refused, and
//! Open / Save / Choose this folder beside Cancel.

use super::{ERROR, UiCx};
use crate::gui::command::Command;
use crate::gui::state::ChooserMode;
use egui::{RichText, Ui};

/// `12 KB`, `3.4 MB`.
fn fmt_size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.0} KB", bytes as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", bytes as f64 / 1e6),
        _ => format!("{:.1} GB", bytes as f64 / 1e9),
    }
}

/// Draws the chooser while it is open.
pub fn chooser_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let Some(c) = cx.state.chooser.as_mut() else {
        return;
    };
    let mut go: Option<std::path::PathBuf> = None;
    let mut home = false;
    let mut choose = false;
    let mut cancel = false;
    let modal = egui::Modal::new(egui::Id::unique("file_chooser")).show(ui.ctx(), |ui| {
        ui.set_width(560.0);
        ui.heading(&c.title);
        ui.horizontal(|ui| {
            if ui.button("Up").clicked()
                && let Some(parent) = c.dir.parent()
            {
                go = Some(parent.to_path_buf());
            }
            if ui.button("Home").clicked() {
                home = true;
            }
            ui.label(RichText::new(c.dir.display().to_string()).monospace());
        });
        let extensions = if c.extensions.is_empty() {
            "every file".to_owned()
        } else {
            c.extensions
                .iter()
                .map(|e| format!(".{e}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        ui.horizontal(|ui| {
            ui.label(
                RichText::new(format!("Shown: folders and {extensions}"))
                    .small()
                    .weak(),
            );
            if ui.checkbox(&mut c.show_hidden, "Hidden files").changed() {
                go = Some(c.dir.clone());
            }
        });
        ui.separator();
        egui::ScrollArea::vertical()
            .max_height(320.0)
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if c.entries.is_empty() {
                    ui.label(RichText::new("Nothing to choose in this folder.").weak());
                }
                for e in &c.entries {
                    if e.is_dir {
                        if ui.selectable_label(false, format!("{}/", e.name)).clicked() {
                            go = Some(c.dir.join(&e.name));
                        }
                    } else {
                        let picked = c.file_name == e.name;
                        let r = ui.selectable_label(
                            picked,
                            format!("{}   {}", e.name, fmt_size(e.size_bytes)),
                        );
                        if r.clicked() {
                            c.file_name.clone_from(&e.name);
                        }
                        if r.double_clicked() {
                            c.file_name.clone_from(&e.name);
                            choose = true;
                        }
                    }
                }
            });
        ui.separator();
        if c.mode != ChooserMode::Folder {
            ui.horizontal(|ui| {
                let label = ui.label("File name");
                ui.add(egui::TextEdit::singleline(&mut c.file_name).desired_width(380.0))
                    .labelled_by(label.id);
            });
        }
        if let Some(e) = &c.error {
            ui.label(RichText::new(e).color(ERROR));
        }
        ui.horizontal(|ui| {
            if ui.button("Cancel").clicked() {
                cancel = true;
            }
            let verb = match c.mode {
                ChooserMode::Open => "Open",
                ChooserMode::Save => "Save",
                ChooserMode::Folder => "Choose this folder",
            };
            if ui.button(RichText::new(verb).strong()).clicked() {
                choose = true;
            }
        });
    });
    if let Some(dir) = go {
        cx.commands.send(Command::ChooserList(dir));
    }
    if home {
        cx.commands.send(Command::ChooserHome);
    }
    if choose {
        match c.choice() {
            Ok(path) => cx.commands.send(Command::ChooserChoose(path)),
            Err(e) => c.error = Some(e),
        }
    }
    if cancel || modal.should_close() {
        cx.commands.send(Command::ChooserCancel);
    }
}
