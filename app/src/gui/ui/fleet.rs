//! The Fleet view: per-site counts and a sortable, filterable table of every drone.

use super::{ERROR, OK, UiCx, fmt_duration};
use crate::gui::command::Command;
use crate::gui::map::status_color;
use crate::gui::natural::natural_cmp;
use crate::gui::state::{DroneView, FleetSort, drones_by_name};
use aviary_core::DroneStatus;
use egui::{RichText, Ui};

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
    rows.sort_by(|a, b| {
        let o = match t.sort {
            FleetSort::Serial => natural_cmp(&a.drone.serial_number, &b.drone.serial_number),
            FleetSort::Site => natural_cmp(&a.site_name, &b.site_name)
                .then_with(|| natural_cmp(&a.drone.serial_number, &b.drone.serial_number)),
            FleetSort::Status => a.drone.status.cmp(&b.drone.status),
            FleetSort::Battery => a.battery_pct().total_cmp(&b.battery_pct()),
            FleetSort::LastSeen => last_seen(a).cmp(&last_seen(b)),
        };
        if t.ascending { o } else { o.reverse() }
    });
    ui.label(RichText::new(format!("{} of {} drones", rows.len(), state.drones.len())).weak());
    let mut set_status = None;
    egui::ScrollArea::both()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("fleet_table")
                .striped(true)
                .num_columns(11)
                .spacing([14.0, 4.0])
                .show(ui, |ui| {
                    for (label, key) in [
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
                    ] {
                        match key {
                            Some(k) => {
                                let arrow = if t.sort == k {
                                    if t.ascending { " ^" } else { " v" }
                                } else {
                                    ""
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
                            None => {
                                ui.label(RichText::new(label).strong());
                            }
                        }
                    }
                    ui.end_row();
                    for d in &rows {
                        let site = state.sites.iter().find(|s| s.id == d.drone.site_id);
                        ui.label(RichText::new(&d.drone.serial_number).monospace());
                        ui.label(&d.site_name);
                        ui.label(
                            RichText::new(d.drone.status.label())
                                .color(status_color(d.drone.status)),
                        );
                        let b = d.battery_pct();
                        ui.label(RichText::new(format!("{b:.0} %")).color(if b < 20.0 {
                            ERROR
                        } else {
                            ui.visuals().text_color()
                        }));
                        if d.server.is_some() {
                            ui.label(RichText::new("via server").weak());
                            ui.label(if d.link_up {
                                RichText::new("online (server)").color(OK)
                            } else {
                                RichText::new("offline (server)").color(ERROR)
                            });
                            ui.label("—");
                        } else if d.live.is_some() {
                            ui.label(format!(
                                "{} · {} sats",
                                fix_name(d.link.gps_fix),
                                d.link.satellites
                            ));
                            let sig = d.live.map_or(0.0, |s| s.signal_pct);
                            ui.label(if d.link_up {
                                format!("{sig:.0} %")
                            } else {
                                "lost".to_owned()
                            });
                            ui.label(if d.link.sensors_ok {
                                RichText::new("ok").color(OK)
                            } else {
                                RichText::new("check").color(ERROR)
                            });
                        } else {
                            ui.label("—");
                            ui.label(RichText::new("no link").weak());
                            ui.label("—");
                        }
                        ui.label(&d.drone.firmware_version);
                        let server_tz = d
                            .server
                            .as_ref()
                            .and_then(|_| state.server.site_tz(d.drone.site_id));
                        if let (Some(t), Some(site)) = (last_seen(d), site) {
                            ui.label(
                                site.local_time(t)
                                    .format("%Y-%m-%d %H:%M:%S %Z")
                                    .to_string(),
                            );
                            ui.label(t.format("%H:%M:%S").to_string());
                        } else if let (Some(t), Some(tz)) = (last_seen(d), server_tz) {
                            ui.label(
                                t.with_timezone(&tz)
                                    .format("%Y-%m-%d %H:%M:%S %Z")
                                    .to_string(),
                            );
                            ui.label(t.format("%H:%M:%S").to_string());
                        } else {
                            ui.label("never");
                            ui.label("—");
                        }
                        match d.drone.status {
                            // The server's drones are managed on the server.
                            _ if d.server.is_some() => {
                                ui.label(RichText::new("server").weak());
                            }
                            DroneStatus::Maintenance => {
                                if ui.small_button("Set available").clicked() {
                                    set_status = Some((d.drone.id, DroneStatus::Available));
                                }
                            }
                            DroneStatus::InMission => {
                                ui.label("");
                            }
                            _ => {
                                if ui.small_button("Set maintenance").clicked() {
                                    set_status = Some((d.drone.id, DroneStatus::Maintenance));
                                }
                            }
                        }
                        ui.end_row();
                    }
                });
        });
    if let Some((drone, status)) = set_status {
        cx.commands.send(Command::SetDroneStatus { drone, status });
    }
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
