//! The Fleet view: per-site counts and a sortable, filterable table of every drone.

use super::{ERROR, OK, UiCx, fmt_duration};
use crate::gui::command::Command;
use crate::gui::map::status_color;
use crate::gui::natural::natural_cmp;
use crate::gui::state::{DroneView, FleetSort, FleetTable, ServerPanel, drones_by_name};
use aviary_core::{DroneId, DroneStatus, Site};
use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder, TableRow};

/// The whole view.
pub fn fleet_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let state = &mut *cx.state;
    ui.heading("Fleet");
    // --- per-site counts ---
    ui.horizontal_wrapped(|ui| {
        for site in &state.sites {
            let c = state
                .fleet_counts
                .get(&site.id)
                .copied()
                .unwrap_or_default();
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.vertical(|ui| {
                    ui.label(RichText::new(&site.name).strong());
                    ui.label(
                        RichText::new(format!(
                            "{} · {}",
                            site.local_time(state.now).format("%H:%M %Z"),
                            site.timezone.name()
                        ))
                        .weak(),
                    );
                    ui.label(format!(
                        "{} available · {} flying · {} charging · {} maintenance · {} offline",
                        c.available, c.in_mission, c.charging, c.maintenance, c.offline
                    ));
                });
            });
        }
    });
    super::limits::limits_ui(ui, cx);
    let state = &mut *cx.state;
    server_missions_ui(ui, state);
    ui.add_space(6.0);
    // --- filters ---
    let t = &mut state.fleet;
    ui.horizontal(|ui| {
        ui.label("Filter");
        ui.add(
            egui::TextEdit::singleline(&mut t.filter)
                .id_salt("fleet_filter")
                .hint_text("serial, model, site")
                .desired_width(180.0),
        );
        let site_label = t
            .site
            .and_then(|id| state.sites.iter().find(|s| s.id == id))
            .map_or("All sites", |s| s.name.as_str());
        let combo = egui::ComboBox::from_id_salt("fleet_site")
            .selected_text(site_label)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut t.site, None, "All sites");
                for s in &state.sites {
                    ui.selectable_value(&mut t.site, Some(s.id), &s.name);
                }
            });
        super::name_combo(&combo.response, "Site filter");
        let status_label = t.status.map_or("Any status".to_owned(), |s| s.to_string());
        let combo = egui::ComboBox::from_id_salt("fleet_status")
            .selected_text(status_label)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut t.status, None, "Any status");
                for s in DroneStatus::ALL {
                    ui.selectable_value(&mut t.status, Some(s), s.label());
                }
            });
        super::name_combo(&combo.response, "Status filter");
    });
    // --- rows ---
    let needle = t.filter.to_lowercase();
    let mut rows: Vec<&DroneView> = drones_by_name(&state.drones)
        .into_iter()
        .filter(|d| t.site.is_none_or(|s| d.drone.site_id == s))
        .filter(|d| t.status.is_none_or(|s| d.drone.status == s))
        .filter(|d| {
            needle.is_empty()
                || d.drone.serial_number.to_lowercase().contains(&needle)
                || d.drone.model.to_lowercase().contains(&needle)
                || d.site_name.to_lowercase().contains(&needle)
        })
        .collect();
    // `drones_by_name` gave the serial order; a stable sort by another key keeps it within
    // equal keys.
    match t.sort {
        FleetSort::Serial => {}
        FleetSort::Site => rows.sort_by(|a, b| natural_cmp(&a.site_name, &b.site_name)),
        FleetSort::Status => rows.sort_by_key(|d| d.drone.status),
        FleetSort::Battery => rows.sort_by(|a, b| a.battery_pct().total_cmp(&b.battery_pct())),
        FleetSort::LastSeen => rows.sort_by_key(|d| last_seen(d)),
    }
    if !t.ascending {
        rows.reverse();
    }
    ui.label(RichText::new(format!("{} of {} drones", rows.len(), state.drones.len())).weak());
    let mut set_status = None;
    let sites = &state.sites;
    let server = &state.server;
    // Only the rows in view are laid out (a thousand drones would cost tens of ms a frame
    // in a grid that lays out every row); every row has the same height.
    let row_h = ui.text_style_height(&egui::TextStyle::Button) + 6.0;
    egui::ScrollArea::horizontal()
        .id_salt("fleet_table_h")
        .show(ui, |ui| {
            let mut table = TableBuilder::new(ui)
                .id_salt("fleet_table")
                .striped(true)
                .resizable(true)
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                .auto_shrink([false, false]);
            for (width, min) in COLUMNS {
                table = table.column(Column::initial(width).at_least(min).clip(true));
            }
            table
                .column(Column::remainder().at_least(110.0))
                .header(row_h, |mut header| {
                    for (label, key) in HEADERS {
                        header.col(|ui| header_cell(ui, t, label, key));
                    }
                })
                .body(|body| {
                    body.rows(row_h, rows.len(), |mut row| {
                        let d = rows[row.index()];
                        drone_row(&mut row, d, sites, server, &mut set_status);
                    });
                });
        });
    if let Some((drone, status)) = set_status {
        cx.commands.send(Command::SetDroneStatus { drone, status });
    }
}

/// Initial and least widths of the table's columns but the last (points).
const COLUMNS: [(f32, f32); 10] = [
    // A simulated drone's serial is 20 monospace characters.
    (185.0, 60.0),
    (120.0, 60.0),
    (100.0, 60.0),
    (70.0, 50.0),
    (110.0, 50.0),
    (110.0, 50.0),
    (70.0, 40.0),
    (80.0, 40.0),
    (190.0, 80.0),
    (110.0, 60.0),
];

/// The header row: its labels and the sort each one sets.
const HEADERS: [(&str, Option<FleetSort>); 11] = [
    ("Serial", Some(FleetSort::Serial)),
    ("Site", Some(FleetSort::Site)),
    ("Status", Some(FleetSort::Status)),
    ("Battery", Some(FleetSort::Battery)),
    ("GPS", None),
    ("Link", None),
    ("Sensors", None),
    ("Firmware", None),
    ("Last seen (site)", Some(FleetSort::LastSeen)),
    ("Last seen (UTC)", None),
    ("", None),
];

/// One header cell: a sort button for a sortable column, else its label.
fn header_cell(ui: &mut Ui, t: &mut FleetTable, label: &str, key: Option<FleetSort>) {
    let Some(k) = key else {
        ui.label(RichText::new(label).strong());
        return;
    };
    let arrow = match (t.sort == k, t.ascending) {
        (false, _) => "",
        (true, true) => " ^",
        (true, false) => " v",
    };
    if ui
        .button(RichText::new(format!("{label}{arrow}")).strong())
        .clicked()
    {
        if t.sort == k {
            t.ascending = !t.ascending;
        } else {
            t.sort = k;
            t.ascending = true;
        }
    }
}

/// One drone's row; a status change clicked here goes to `set_status`.
fn drone_row(
    row: &mut TableRow<'_, '_>,
    d: &DroneView,
    sites: &[Site],
    server: &ServerPanel,
    set_status: &mut Option<(DroneId, DroneStatus)>,
) {
    let site = sites.iter().find(|s| s.id == d.drone.site_id);
    row.col(|ui| {
        ui.label(RichText::new(&d.drone.serial_number).monospace());
    });
    row.col(|ui| {
        ui.label(&d.site_name);
    });
    row.col(|ui| {
        ui.label(RichText::new(d.drone.status.label()).color(status_color(d.drone.status)));
    });
    row.col(|ui| {
        let b = d.battery_pct();
        let color = if b < 20.0 {
            ERROR
        } else {
            ui.visuals().text_color()
        };
        ui.label(RichText::new(format!("{b:.0} %")).color(color));
    });
    let (gps, link, sensors) = if d.server.is_some() {
        (
            RichText::new("via server").weak(),
            if d.link_up {
                RichText::new("online (server)").color(OK)
            } else {
                RichText::new("offline (server)").color(ERROR)
            },
            RichText::new("—"),
        )
    } else if d.live.is_some() {
        let sig = d.live.map_or(0.0, |s| s.signal_pct);
        (
            RichText::new(format!(
                "{} · {} sats",
                fix_name(d.link.gps_fix),
                d.link.satellites
            )),
            RichText::new(if d.link_up {
                format!("{sig:.0} %")
            } else {
                "lost".to_owned()
            }),
            if d.link.sensors_ok {
                RichText::new("ok").color(OK)
            } else {
                RichText::new("check").color(ERROR)
            },
        )
    } else {
        (
            RichText::new("—"),
            RichText::new("no link").weak(),
            RichText::new("—"),
        )
    };
    for text in [gps, link, sensors] {
        row.col(|ui| {
            ui.label(text);
        });
    }
    row.col(|ui| {
        ui.label(&d.drone.firmware_version);
    });
    let server_tz = d
        .server
        .as_ref()
        .and_then(|_| server.site_tz(d.drone.site_id));
    let (local, utc) = match (last_seen(d), site, server_tz) {
        (Some(t), Some(site), _) => (
            site.local_time(t)
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string(),
            t.format("%H:%M:%S").to_string(),
        ),
        (Some(t), None, Some(tz)) => (
            t.with_timezone(&tz)
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string(),
            t.format("%H:%M:%S").to_string(),
        ),
        _ => ("never".to_owned(), "—".to_owned()),
    };
    row.col(|ui| {
        ui.label(local);
    });
    row.col(|ui| {
        ui.label(utc);
    });
    row.col(|ui| match d.drone.status {
        // The server's drones are managed on the server.
        _ if d.server.is_some() => {
            ui.label(RichText::new("server").weak());
        }
        DroneStatus::Maintenance => {
            if ui.small_button("Set available").clicked() {
                *set_status = Some((d.drone.id, DroneStatus::Available));
            }
        }
        DroneStatus::InMission => {}
        _ => {
            if ui.small_button("Set maintenance").clicked() {
                *set_status = Some((d.drone.id, DroneStatus::Maintenance));
            }
        }
    });
}

fn last_seen(d: &DroneView) -> Option<chrono::DateTime<chrono::Utc>> {
    d.live.map(|s| s.time).or(d.drone.last_seen)
}

fn fix_name(fix: u8) -> &'static str {
    match fix {
        0 | 1 => "no fix",
        2 => "2D",
        3 => "3D",
        4 => "DGPS",
        5 => "RTK float",
        _ => "RTK fixed",
    }
}

/// The organisation's missions as the fleet server lists them (with a server connected).
fn server_missions_ui(ui: &mut Ui, state: &crate::gui::state::AppState) {
    let missions = &state.server.missions;
    if missions.is_empty() {
        return;
    }
    egui::CollapsingHeader::new(format!("Missions on the fleet server ({})", missions.len()))
        .id_salt("server_missions")
        .default_open(true)
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("server_missions_scroll")
                .max_height(150.0)
                .show(ui, |ui| {
                    egui::Grid::new("server_missions_table")
                        .striped(true)
                        .num_columns(6)
                        .spacing([14.0, 3.0])
                        .show(ui, |ui| {
                            for h in [
                                "Mission",
                                "Site",
                                "Drone",
                                "Status",
                                "Start (site)",
                                "Planned",
                            ] {
                                ui.label(RichText::new(h).strong());
                            }
                            ui.end_row();
                            for m in missions {
                                ui.label(&m.name);
                                let site =
                                    state.server.sites.iter().find(|s| s.site_id == m.site_id);
                                ui.label(site.map_or("—", |s| s.name.as_str()));
                                let drone = m
                                    .drone_id
                                    .and_then(|id| state.drones.get(&id))
                                    .map_or("—", |d| d.drone.serial_number.as_str());
                                ui.label(drone);
                                ui.label(m.status.label());
                                let start = m.actual_start.or(m.scheduled_start);
                                let tz = state.server.site_tz(m.site_id).unwrap_or(chrono_tz::UTC);
                                ui.label(start.map_or_else(
                                    || "—".to_owned(),
                                    |t| {
                                        t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
                                    },
                                ));
                                ui.label(format!(
                                    "{} · {:.1} km",
                                    fmt_duration(m.estimated_duration),
                                    m.estimated_distance / 1000.0
                                ));
                                ui.end_row();
                            }
                        });
                });
        });
}
