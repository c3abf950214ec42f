//! The Settings view: map tiles, links, MQTT, fleet server (connect and status), terrain for the
//! autopilots, simulator, frame-time readout.

use super::{ERROR, OK, UiCx};
use crate::gui::command::Command;
use crate::gui::settings::{DEFAULT_SIM_BROKER, OSM_TILE_URL, Settings, SimTransport};
use crate::gui::state::{AlertSeverity, DemUse, ServerStatus};
use egui::{RichText, Ui};

/// The whole view.
pub fn settings_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let s = &mut *cx.settings;
    ui.heading("Settings");
    ui.label(
        RichText::new(
            Settings::path().map_or("(no config directory)".to_owned(), |p| {
                format!("Saved in {}", p.display())
            }),
        )
        .weak(),
    );
    ui.add_space(8.0);
    egui::Grid::new("settings_grid")
        .num_columns(2)
        .spacing([16.0, 8.0])
        .show(ui, |ui| {
            ui.label("Map tiles");
            ui.checkbox(&mut s.online_tiles, "Load tiles over HTTP (cached on disk)");
            ui.end_row();
            ui.label("Tile URL");
            ui.horizontal(|ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut s.tile_url)
                        .id_salt("tile_url")
                        .desired_width(420.0),
                );
                if ui.button("OpenStreetMap").clicked() {
                    OSM_TILE_URL.clone_into(&mut s.tile_url);
                }
            });
            ui.end_row();
            ui.label("Tile API key");
            ui.add(
                egui::TextEdit::singleline(&mut s.tile_key)
                    .id_salt("tile_key")
                    .password(true)
                    .desired_width(260.0),
            )
            .on_hover_text("Replaces {key} in the tile URL");
            ui.end_row();
            ui.label("Tile attribution");
            ui.add(
                egui::TextEdit::singleline(&mut s.tile_attribution)
                    .id_salt("tile_attribution")
                    .hint_text("as the tile provider requires")
                    .desired_width(420.0),
            );
            ui.end_row();
            ui.label("Offline basemap");
            ui.checkbox(
                &mut s.offline_basemap,
                "Draw the bundled Natural Earth basemap under the tiles",
            );
            ui.end_row();
            ui.label("Frame time");
            ui.checkbox(
                &mut s.show_frame_time,
                "Show the frame-time readout in the top bar",
            );
            ui.end_row();
            ui.label("Live refresh");
            live_refresh_ui(ui, s);
            ui.end_row();
            ui.label("Weather forecast URL");
            ui.add(
                egui::TextEdit::singleline(&mut s.weather_url)
                    .id_salt("weather_url")
                    .desired_width(420.0),
            )
            .on_hover_text("Open-Meteo compatible /v1/forecast endpoint (plain http)");
            ui.end_row();
            ui.label("Scheduled runs");
            ui.vertical(|ui| {
                ui.checkbox(
                    &mut s.unattended_starts,
                    "Start scheduled runs unattended (no confirmation; each start audited)",
                );
                ui.horizontal(|ui| {
                    ui.label("Pre-flight checks");
                    ui.add(
                        egui::DragValue::new(&mut s.schedule_lead_min)
                            .range(1..=120)
                            .suffix(" min"),
                    );
                    ui.label("before the start");
                });
            });
            ui.end_row();
            ui.label("Alert sounds");
            ui.vertical(|ui| {
                for (severity, muted) in [
                    (AlertSeverity::Critical, &mut s.mute_critical),
                    (AlertSeverity::Warning, &mut s.mute_warning),
                ] {
                    ui.horizontal(|ui| {
                        let what = match severity {
                            AlertSeverity::Critical => "Mute critical alerts (three beeps)",
                            _ => "Mute warnings (one beep)",
                        };
                        // Saved at once, like a mute button is expected to be.
                        if ui.checkbox(muted, what).changed() {
                            cx.commands.send(Command::SaveSettings);
                        }
                        if ui
                            .small_button(format!("Play {}", severity.label().to_lowercase()))
                            .clicked()
                        {
                            cx.commands.send(Command::PlayAlertSound(severity));
                        }
                    });
                }
                ui.label(
                    RichText::new("The banner shows warnings and critical alerts either way.")
                        .weak(),
                );
            });
            ui.end_row();
            ui.label("Spoken alerts");
            ui.vertical(|ui| {
                for (what, on) in [
                    ("Speak critical alerts", &mut s.speak_critical),
                    ("Speak warnings", &mut s.speak_warning),
                ] {
                    if ui.checkbox(on, what).changed() {
                        cx.commands.send(Command::SaveSettings);
                    }
                }
                match &cx.state.speech_engine {
                    Some(program) => ui.label(
                        RichText::new(format!("Spoken with {program}: \"MAV-3: GPS failsafe\""))
                            .weak(),
                    ),
                    None => ui.label(
                        RichText::new(
                            "No speech command found on this computer (spd-say or espeak-ng on \
                             Linux, say on macOS, PowerShell on Windows); alerts are not spoken.",
                        )
                        .color(super::PENDING),
                    ),
                };
            });
            ui.end_row();
        });
    ui.add_space(8.0);
    terrain_ui(ui, cx);
    ui.add_space(8.0);
    simulator_ui(ui, cx);
    ui.add_space(8.0);
    fleet_server_ui(ui, cx);
    let s = &mut *cx.settings;
    ui.add_space(8.0);
    list_editor_ui(
        ui,
        "MAVLink links",
        "udpin:0.0.0.0:14550, tcpout:10.0.0.2:5760, serial:/dev/ttyUSB0:57600",
        &mut s.links,
    );
    list_editor_ui(
        ui,
        "MQTT brokers",
        "mqtt://broker.local:1883",
        &mut s.mqtt_brokers,
    );
    ui.add_space(8.0);
    storage_ui(ui, cx);
    ui.add_space(8.0);
    if ui.button(RichText::new("Save settings").strong()).clicked() {
        cx.commands.send(Command::SaveSettings);
    }
    if !cx.state.link_states.is_empty() {
        ui.separator();
        ui.label(RichText::new("Links").strong());
        for (addr, st) in &cx.state.link_states {
            ui.label(format!("{addr}: {st}"));
        }
    }
}

/// Settings → Terrain: the DEM every `MAVLink` link answers the autopilots' terrain requests
/// from, chosen through the file chooser (a refused file's error stays in view), and the
/// elevation tile source the Plan view and Offline maps use.
fn terrain_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    ui.label(RichText::new("Terrain").strong());
    let choice = cx.state.terrain.choice(DemUse::Links);
    egui::Grid::new("terrain_grid")
        .num_columns(2)
        .spacing([16.0, 6.0])
        .show(ui, |ui| {
            ui.label("Autopilot terrain (DEM)");
            ui.vertical(|ui| {
                match &choice.dem {
                    Some(dem) => {
                        ui.label(&dem.describe);
                        ui.label(RichText::new(dem.path.display().to_string()).weak());
                    }
                    None => {
                        ui.label("none: the autopilots' terrain requests stay unanswered");
                    }
                }
                ui.horizontal(|ui| {
                    if ui.button("Choose DEM…").clicked() {
                        cx.commands.send(Command::ChooseDem(DemUse::Links));
                    }
                    if ui
                        .button("Use elevation tiles")
                        .on_hover_text(
                            "The elevation tiles of the source below stored on this computer \
                             (Offline maps, Tiles: Elevation): a link does not fetch tiles",
                        )
                        .clicked()
                    {
                        cx.commands.send(Command::TerrainFromTiles);
                    }
                    if choice.dem.is_some() && ui.button("Stop answering").clicked() {
                        cx.commands.send(Command::ClearDem(DemUse::Links));
                    }
                });
                if let Some(e) = &choice.error {
                    ui.colored_label(ERROR, e);
                }
                ui.label(
                    RichText::new(
                        "An SRTM .hgt tile or a GeoTIFF, heights above mean sea level. Every \
                         MAVLink link answers an ArduPilot's TERRAIN_REQUEST from it, as \
                         Mission Planner does.",
                    )
                    .weak(),
                );
            });
            ui.end_row();
            ui.label("Elevation tiles");
            ui.vertical(|ui| {
                let s = &mut *cx.settings;
                ui.horizontal(|ui| {
                    let label = ui.label("URL");
                    ui.add(
                        egui::TextEdit::singleline(&mut s.terrain_tile_url)
                            .hint_text(crate::gui::settings::DEFAULT_TERRAIN_TILE_URL)
                            .desired_width(420.0),
                    )
                    .labelled_by(label.id);
                    let label = ui.label("zoom");
                    ui.add(egui::DragValue::new(&mut s.terrain_tile_zoom).range(1..=15))
                        .labelled_by(label.id);
                });
                if let Err(e) = s.terrain_tile_source() {
                    ui.colored_label(ERROR, e.to_string());
                }
                ui.label(
                    RichText::new(
                        "Terrarium PNG tiles (height = R*256 + G + B/256 - 32768 m); empty: \
                         the AWS Terrain Tiles. The Plan view can plan over them (Terrain, \
                         From: Elevation tiles); Offline maps stores them for an area.",
                    )
                    .weak(),
                );
            });
            ui.end_row();
        });
}

/// Settings → Simulator: on/off, `MAVLink` or MQTT, registration on the fleet server. Applied
/// by `logic` on [`Command::ApplySimulator`].
fn simulator_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let s = &mut *cx.settings;
    ui.label(RichText::new("Simulator").strong());
    egui::Grid::new("simulator_grid")
        .num_columns(2)
        .spacing([16.0, 8.0])
        .show(ui, |ui| {
            ui.label("Simulated fleet");
            ui.checkbox(&mut s.simulated_fleet, "Run the built-in simulated fleet");
            ui.end_row();
            ui.label("Transport");
            ui.horizontal(|ui| {
                ui.radio_value(&mut s.sim_transport, SimTransport::Mavlink, "MAVLink (UDP)");
                ui.radio_value(&mut s.sim_transport, SimTransport::Mqtt, "MQTT broker");
                ui.add_enabled(
                    s.sim_transport == SimTransport::Mqtt,
                    egui::TextEdit::singleline(&mut s.sim_mqtt_broker)
                        .id_salt("sim_mqtt_broker")
                        .hint_text(DEFAULT_SIM_BROKER)
                        .desired_width(260.0),
                );
            });
            ui.end_row();
            ui.label("Terrain requests");
            ui.add_enabled(
                s.sim_transport == SimTransport::Mavlink,
                egui::Checkbox::new(
                    &mut s.sim_terrain,
                    "The simulated drones ask for terrain and wait for it before arming \
                     (ArduPilot's TERRAIN_ENABLE)",
                ),
            );
            ui.end_row();
            ui.label("Fleet server");
            ui.add_enabled(
                s.sim_transport == SimTransport::Mqtt,
                egui::Checkbox::new(
                    &mut s.sim_register,
                    "Register the simulated drones with the fleet server when connected",
                ),
            );
            ui.end_row();
        });
    let running = match (&cx.state.sim.over_mqtt, cx.state.sim.running) {
        (Some(url), _) => format!("Running as MQTT clients of {url}"),
        (None, true) => "Running over MAVLink".to_owned(),
        (None, false) => "Not running".to_owned(),
    };
    ui.horizontal(|ui| {
        if ui.button("Apply simulator").clicked() {
            cx.commands.send(Command::ApplySimulator);
        }
        ui.label(RichText::new(running).weak());
    });
}

fn list_editor_ui(ui: &mut Ui, title: &str, hint: &str, items: &mut Vec<String>) {
    ui.label(RichText::new(title).strong());
    let mut remove = None;
    for (i, item) in items.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            ui.add(
                egui::TextEdit::singleline(item)
                    .id_salt((title, i))
                    .desired_width(380.0),
            );
            if ui.small_button("Remove").clicked() {
                remove = Some(i);
            }
            if item.trim().is_empty() {
                ui.colored_label(ERROR, "empty");
            }
        });
    }
    if let Some(i) = remove {
        items.remove(i);
    }
    ui.horizontal(|ui| {
        if ui
            .small_button(format!("Add to {}", title.to_lowercase()))
            .on_hover_text(hint)
            .clicked()
        {
            items.push(String::new());
        }
        ui.label(RichText::new(hint).weak().small());
    });
}

/// Fleet-server connection: URL, account, connect/disconnect, status.
fn fleet_server_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    ui.label(RichText::new("Fleet server").strong());
    let connected = matches!(
        cx.state.server.status,
        ServerStatus::Connected { .. } | ServerStatus::Connecting
    );
    egui::Grid::new("fleet_server_grid")
        .num_columns(2)
        .spacing([16.0, 6.0])
        .show(ui, |ui| {
            ui.label("URL");
            ui.add_enabled(
                !connected,
                egui::TextEdit::singleline(&mut cx.settings.fleet_server)
                    .id_salt("fleet_server")
                    .hint_text("http://fleet.example.org:8080")
                    .desired_width(320.0),
            );
            ui.end_row();
            ui.label("E-mail");
            ui.add_enabled(
                !connected,
                egui::TextEdit::singleline(&mut cx.state.server.email)
                    .id_salt("fleet_email")
                    .desired_width(320.0),
            );
            ui.end_row();
            ui.label("Password");
            ui.add_enabled(
                !connected,
                egui::TextEdit::singleline(&mut cx.state.server.password)
                    .id_salt("fleet_password")
                    .password(true)
                    .desired_width(320.0),
            );
            ui.end_row();
        });
    ui.horizontal(|ui| {
        if connected {
            if ui.button("Disconnect").clicked() {
                cx.commands.send(Command::DisconnectServer);
            }
        } else if ui.button(RichText::new("Connect").strong()).clicked() {
            cx.commands.send(Command::ConnectServer {
                url: cx.settings.fleet_server.trim().to_owned(),
                email: cx.state.server.email.trim().to_owned(),
                password: cx.state.server.password.clone(),
            });
        }
        match &cx.state.server.status {
            ServerStatus::Disconnected => {
                ui.label(RichText::new("not connected").weak());
            }
            ServerStatus::Connecting => {
                ui.spinner();
                ui.label("logging in…");
            }
            ServerStatus::Connected { role, server } => {
                let drones = cx
                    .state
                    .drones
                    .values()
                    .filter(|d| d.server.is_some())
                    .count();
                let online = cx
                    .state
                    .drones
                    .values()
                    .filter(|d| d.server.is_some() && d.link_up)
                    .count();
                ui.colored_label(
                    OK,
                    format!(
                        "{server} as {}: {} site(s), {drones} drone(s), {online} online",
                        role.as_str(),
                        cx.state.server.sites.len()
                    ),
                );
            }
            ServerStatus::Failed(e) => {
                ui.colored_label(ERROR, e);
            }
        }
    });
}

/// How often the live views redraw at most (Settings → Live refresh).
fn live_refresh_ui(ui: &mut Ui, s: &mut Settings) {
    let hz_label = |hz: u32| match hz {
        10 => "10 Hz (smoothest)".to_owned(),
        4 => "4 Hz (the telemetry rate, default)".to_owned(),
        2 => "2 Hz (battery saver)".to_owned(),
        hz => format!("{hz} Hz"),
    };
    ui.vertical(|ui| {
        let combo = egui::ComboBox::from_id_salt("live_refresh")
            .selected_text(hz_label(s.live_refresh_hz))
            .show_ui(ui, |ui| {
                for hz in crate::gui::settings::LIVE_REFRESH_HZ {
                    ui.selectable_value(&mut s.live_refresh_hz, hz, hz_label(hz));
                }
            });
        super::name_combo(&combo.response, "Live refresh");
        ui.label(
            RichText::new(
                "Plan, Fleet, Monitor, History and Simulator redraw when telemetry arrives, at \
                 most this often; a lower rate saves battery where the window is drawn in \
                 software. Static views redraw once a second.",
            )
            .weak(),
        );
    });
}

/// Telemetry storage: how long telemetry is kept, what is stored, and the disk it takes; and
/// which file dialog the app uses.
fn storage_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    ui.label(RichText::new("Files").strong());
    ui.horizontal(|ui| {
        let s = &mut *cx.settings;
        let combo = egui::ComboBox::from_id_salt("file_dialog")
            .selected_text(s.file_dialog.label())
            .show_ui(ui, |ui| {
                for choice in crate::gui::settings::FileDialogChoice::ALL {
                    ui.selectable_value(&mut s.file_dialog, choice, choice.label());
                }
            });
        super::name_combo(&combo.response, "File dialog");
        ui.label(
            RichText::new(
                "Automatic: the system's where the desktop has one, else the built-in chooser.",
            )
            .weak(),
        );
    });
    ui.add_space(8.0);
    ui.label(RichText::new("Telemetry storage").strong());
    ui.horizontal(|ui| {
        let label = ui.label("Keep telemetry for");
        ui.add(
            egui::DragValue::new(&mut cx.settings.telemetry_retention_days)
                .range(1..=3_650)
                .suffix(" days"),
        )
        .labelled_by(label.id);
    });
    let days = cx.settings.telemetry_retention_days;
    if days < crate::gui::settings::DEFAULT_RETENTION_DAYS {
        ui.colored_label(
            super::PENDING,
            format!(
                "Shorter than the default {} days (two years of mission history for audits): \
                 older telemetry is deleted when the settings are saved.",
                crate::gui::settings::DEFAULT_RETENTION_DAYS
            ),
        );
    }
    ui.label(
        RichText::new(
            "Every sample is stored while a drone flies; a drone on the ground whose \
             telemetry does not change is stored once every 10 s.",
        )
        .weak(),
    );
    let on_disk = cx.state.store_disk_bytes.map_or_else(
        || "not measured yet".to_owned(),
        |b| format!("{:.1} MB", b as f64 / 1e6),
    );
    ui.label(format!("Store on disk: {on_disk}"));
}
