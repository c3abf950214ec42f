//! Persisted settings, kept apart from runtime state: a small JSON file in the OS config
//! directory (`~/.config/aviary/settings.json` on Linux), written when the user changes a
//! setting and when the window closes.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The OpenStreetMap standard tile layer.
pub const OSM_TILE_URL: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";

/// The broker the simulated drones use unless Settings say otherwise.
pub const DEFAULT_SIM_BROKER: &str = "mqtt://127.0.0.1:1883";

/// How the built-in simulator's drones reach the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SimTransport {
    /// Each drone a `MAVLink` 2 vehicle on its own UDP socket, sending to the app's link.
    #[default]
    Mavlink,
    /// Each drone an MQTT client of [`Settings::sim_mqtt_broker`] (`drones/{id}/…` topics),
    /// heard by the app through its MQTT link — and by a fleet server on the same broker.
    Mqtt,
}

/// What the user chose in the Settings view.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent on/off settings, each a checkbox"
)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// XYZ/TMS tile URL template: `{z}`, `{x}`, `{y}` (or `{-y}` for TMS rows), optionally
    /// `{s}` (subdomain) and `{key}` (the API key below).
    pub tile_url: String,
    /// API key for `{key}` in the tile URL; empty: none.
    pub tile_key: String,
    /// Attribution the tile provider requires; empty: OpenStreetMap's for its tiles, else the
    /// provider's host.
    pub tile_attribution: String,
    /// Folder of stored offline maps and the tile cache; empty: `<local data dir>/aviary/tiles`.
    pub tile_dir: String,
    /// Fetch map tiles over HTTP (with a disk cache); off: only the bundled basemap.
    pub online_tiles: bool,
    /// Draw the bundled Natural Earth basemap under (or instead of) the tiles.
    pub offline_basemap: bool,
    /// Extra MAVLink links, as address strings (`udpin:0.0.0.0:14550`, `tcpout:10.0.0.2:5760`,
    /// `serial:/dev/ttyUSB0:57600`).
    pub links: Vec<String>,
    /// MQTT brokers drones publish to (`mqtt://host:1883`).
    pub mqtt_brokers: Vec<String>,
    /// Fleet server base URL; empty: none.
    pub fleet_server: String,
    /// Account e-mail on the fleet server (the password is never saved).
    pub fleet_email: String,
    /// Start the built-in simulated fleet on launch.
    pub simulated_fleet: bool,
    /// How the built-in simulated drones talk to the app.
    pub sim_transport: SimTransport,
    /// Broker the simulated drones are clients of when [`SimTransport::Mqtt`].
    pub sim_mqtt_broker: String,
    /// Register the MQTT-simulated drones on the fleet server (the Fleet server settings' URL
    /// and account) once connected, so every desktop connected to it sees them.
    pub sim_register: bool,
    /// Show the frame-time readout in the top bar.
    pub show_frame_time: bool,
    /// The Open-Meteo compatible forecast endpoint the weather comes from (plain http; an
    /// organisation may point it at its own mirror).
    pub weather_url: String,
    /// Scheduled runs start without an operator's confirmation (each start audited).
    pub unattended_starts: bool,
    /// Minutes before a scheduled run its pre-flight checks run.
    pub schedule_lead_min: u32,
    /// No sound for critical alerts (the banner still shows them).
    pub mute_critical: bool,
    /// No sound for warnings (the banner still shows them).
    pub mute_warning: bool,
    /// Speak critical alerts ("MAV-3: GPS failsafe") through the system's speech command.
    pub speak_critical: bool,
    /// Speak warnings too (off unless chosen: warnings are frequent).
    pub speak_warning: bool,
    /// Telemetry older than this many days is deleted (default: the design's two years).
    pub telemetry_retention_days: u32,
    /// Which file dialog Import, Open, Save and Export use.
    pub file_dialog: FileDialogChoice,
    /// The DEM every `MAVLink` link answers the autopilots' `TERRAIN_REQUEST`s from (an SRTM
    /// `.hgt` tile or a `GeoTIFF`); empty: none, the requests stay unanswered.
    pub terrain_dem: String,
    /// The DEM the Plan view last imported (terrain following, the path's profile); empty:
    /// none.
    pub plan_dem: String,
    /// The links answer the autopilots' terrain requests from the stored elevation tiles
    /// ([`Settings::terrain_tile_url`]'s, downloaded under Offline maps) instead of
    /// [`Settings::terrain_dem`].
    pub autopilot_terrain_tiles: bool,
    /// Where the Plan view's terrain comes from: a DEM file, or elevation tiles for the area.
    pub plan_terrain: PlanTerrainSource,
    /// Terrarium elevation tile URL template (`{z}` `{x}` `{y}`); empty: the AWS Terrain
    /// Tiles.
    pub terrain_tile_url: String,
    /// Zoom of the elevation tiles (12: ~38 m between posts at the equator).
    pub terrain_tile_zoom: u8,
    /// The built-in simulated drones do terrain as an `ArduPilot` with `TERRAIN_ENABLE` does:
    /// they ask the ground station for terrain and refuse to arm until it has arrived.
    pub sim_terrain: bool,
    /// How often the live views (Plan, Fleet, Monitor, History, Simulator) redraw at most
    /// while telemetry arrives, per second: one of [`LIVE_REFRESH_HZ`],
    /// [`DEFAULT_LIVE_REFRESH_HZ`] unless chosen. Lower rates save battery on a laptop
    /// drawing in software.
    pub live_refresh_hz: u32,
}

/// The rates Settings offers for [`Settings::live_refresh_hz`], per second.
pub const LIVE_REFRESH_HZ: [u32; 4] = [10, 4, 2, 1];

/// The live views' rate unless chosen: 4 Hz, the rate the app asks every vehicle to stream its
/// position at, so no position goes undrawn. Measured in the real window under software GL
/// (BENCHMARKS.md, "App — the real window"), 12 drones on the Monitor cost 8.9 % of a core at
/// 4 Hz against 14.9 % at 10 Hz (the issue's goal: at most 10 %).
pub const DEFAULT_LIVE_REFRESH_HZ: u32 = 4;

/// The elevation tiles used when [`Settings::terrain_tile_url`] is empty: the AWS Terrain
/// Tiles in Terrarium encoding.
pub const DEFAULT_TERRAIN_TILE_URL: &str = aviary_links::tiles::TERRARIUM_TEMPLATE;

/// Where the Plan view's terrain comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanTerrainSource {
    /// The DEM file imported in the Plan view ([`Settings::plan_dem`]).
    #[default]
    DemFile,
    /// Terrarium elevation tiles ([`Settings::terrain_tile_url`]) under each planned path,
    /// read from the tile folder first and fetched where missing.
    Tiles,
}

impl PlanTerrainSource {
    /// Every choice.
    pub const ALL: [Self; 2] = [Self::DemFile, Self::Tiles];

    /// Its name in the Plan view.
    pub const fn label(self) -> &'static str {
        match self {
            Self::DemFile => "DEM file",
            Self::Tiles => "Elevation tiles",
        }
    }
}

/// Telemetry kept by default, days (the store's default: two years of mission history).
pub const DEFAULT_RETENTION_DAYS: u32 = aviary_store::DEFAULT_RETENTION_DAYS;

/// Which file dialog the app uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileDialogChoice {
    /// The system's where the desktop offers one (a portal or zenity on Linux), else the
    /// built-in chooser.
    #[default]
    Auto,
    /// Always the system's.
    System,
    /// Always the built-in chooser.
    BuiltIn,
}

impl FileDialogChoice {
    /// Every choice.
    pub const ALL: [Self; 3] = [Self::Auto, Self::System, Self::BuiltIn];

    /// Its name in Settings.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Auto => "Automatic",
            Self::System => "System dialog",
            Self::BuiltIn => "Built-in chooser",
        }
    }
}

impl Settings {
    /// Whether alerts of `severity` sound (information never does).
    pub const fn sounds(&self, severity: crate::gui::state::AlertSeverity) -> bool {
        match severity {
            crate::gui::state::AlertSeverity::Critical => !self.mute_critical,
            crate::gui::state::AlertSeverity::Warning => !self.mute_warning,
            crate::gui::state::AlertSeverity::Info => false,
        }
    }

    /// Whether alerts of `severity` are spoken (information never is).
    pub const fn speaks(&self, severity: crate::gui::state::AlertSeverity) -> bool {
        match severity {
            crate::gui::state::AlertSeverity::Critical => self.speak_critical,
            crate::gui::state::AlertSeverity::Warning => self.speak_warning,
            crate::gui::state::AlertSeverity::Info => false,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tile_url: OSM_TILE_URL.to_owned(),
            tile_key: String::new(),
            tile_attribution: String::new(),
            tile_dir: String::new(),
            online_tiles: true,
            offline_basemap: true,
            links: Vec::new(),
            mqtt_brokers: Vec::new(),
            fleet_server: String::new(),
            fleet_email: String::new(),
            simulated_fleet: true,
            sim_transport: SimTransport::Mavlink,
            sim_mqtt_broker: DEFAULT_SIM_BROKER.to_owned(),
            sim_register: false,
            show_frame_time: false,
            weather_url: aviary_links::weather::DEFAULT_OPEN_METEO_URL.to_owned(),
            unattended_starts: false,
            schedule_lead_min: 10,
            mute_critical: false,
            mute_warning: false,
            speak_critical: true,
            speak_warning: false,
            telemetry_retention_days: aviary_store::DEFAULT_RETENTION_DAYS,
            file_dialog: FileDialogChoice::Auto,
            terrain_dem: String::new(),
            plan_dem: String::new(),
            autopilot_terrain_tiles: false,
            plan_terrain: PlanTerrainSource::DemFile,
            terrain_tile_url: String::new(),
            terrain_tile_zoom: aviary_links::tiles::DEFAULT_TERRAIN_ZOOM,
            sim_terrain: false,
            live_refresh_hz: DEFAULT_LIVE_REFRESH_HZ,
        }
    }
}

/// Why settings could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The OS gave no config directory.
    #[error("cannot find the user's config directory to save settings in")]
    NoConfigDir,
    /// Writing failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Serialising failed.
    #[error("cannot encode settings: {0}")]
    Encode(#[from] serde_json::Error),
}

impl Settings {
    /// `<config dir>/aviary/settings.json`.
    pub fn path() -> Option<PathBuf> {
        dirs::config_dir().map(|d| d.join("aviary").join("settings.json"))
    }

    /// The folder of stored offline maps and cached tiles: [`Self::tile_dir`], else
    /// `<local data dir>/aviary/tiles` (data, not cache: an offline map must survive cache
    /// cleaners; local, not roaming: sets are large).
    pub fn tile_store(&self) -> Option<aviary_links::tiles::TileStore> {
        let dir = if self.tile_dir.trim().is_empty() {
            dirs::data_local_dir()?.join("aviary").join("tiles")
        } else {
            PathBuf::from(self.tile_dir.trim())
        };
        Some(aviary_links::tiles::TileStore::new(dir))
    }

    /// The tile source the settings describe (OpenStreetMap's own, with its attribution and
    /// zoom limit, for its URL).
    pub fn tile_source(
        &self,
    ) -> Result<aviary_links::tiles::TileSource, aviary_links::tiles::TileError> {
        let url = self.tile_url.trim();
        let key = Some(self.tile_key.trim().to_owned()).filter(|k| !k.is_empty());
        let osm = aviary_links::tiles::TileSource::openstreetmap();
        if url == osm.template {
            return Ok(aviary_links::tiles::TileSource {
                api_key: key,
                ..osm
            });
        }
        let host = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("custom")
            .replace("{s}.", "");
        let attribution = if self.tile_attribution.trim().is_empty() {
            format!("Map tiles: {host}")
        } else {
            self.tile_attribution.trim().to_owned()
        };
        aviary_links::tiles::TileSource::custom(&host, url, key, &attribution)
    }

    /// The Terrarium elevation tile source the settings describe.
    pub fn terrain_tile_source(
        &self,
    ) -> Result<aviary_links::tiles::TileSource, aviary_links::tiles::TileError> {
        aviary_links::tiles::TileSource::terrarium_at(self.terrain_tile_url.trim(), None)
    }

    /// Loads the saved settings; defaults when there are none or the file is unreadable
    /// (logged, never fatal: a broken settings file must not keep the app from starting).
    pub fn load() -> Self {
        let Some(path) = Self::path() else {
            return Self::default();
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "settings file unreadable; using defaults");
                Self::default()
            }),
            Err(_) => Self::default(),
        }
    }

    /// Writes the settings file (atomically: temp file then rename).
    pub fn save(&self) -> Result<PathBuf, SettingsError> {
        let path = Self::path().ok_or(SettingsError::NoConfigDir)?;
        self.save_to(&path)?;
        Ok(path)
    }

    /// Writes the settings to `path`.
    pub fn save_to(&self, path: &std::path::Path) -> Result<(), SettingsError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| SettingsError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let text = serde_json::to_string_pretty(self)?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|source| SettingsError::Io {
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, path).map_err(|source| SettingsError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_source_is_osm_by_default_and_takes_key_and_attribution() {
        let osm = Settings::default().tile_source().expect("osm");
        assert_eq!(osm.name, "OpenStreetMap");
        assert_eq!(osm.attribution, "© OpenStreetMap contributors");
        let keyed = Settings {
            tile_url: "https://{s}.maps.example/{z}/{x}/{-y}.jpg?key={key}".into(),
            tile_key: " k1 ".into(),
            ..Settings::default()
        };
        let source = keyed.tile_source().expect("custom");
        assert_eq!(source.attribution, "Map tiles: maps.example");
        assert_eq!(
            source.url(aviary_links::tiles::TileId { z: 1, x: 0, y: 0 }),
            "https://a.maps.example/1/0/1.jpg?key=k1"
        );
        let named = Settings {
            tile_attribution: "© Example Maps".into(),
            ..keyed.clone()
        };
        assert_eq!(
            named.tile_source().expect("named").attribution,
            "© Example Maps"
        );
        let no_key = Settings {
            tile_key: String::new(),
            ..keyed
        };
        let e = no_key.tile_source().expect_err("needs a key");
        assert!(e.to_string().contains("API key"), "{e}");
    }

    #[test]
    fn settings_round_trip_and_tolerate_missing_fields() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nested").join("settings.json");
        let s = Settings {
            show_frame_time: true,
            links: vec!["udpin:0.0.0.0:14550".into()],
            ..Settings::default()
        };
        s.save_to(&path).expect("save");
        let back: Settings =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("parse");
        assert_eq!(back, s);
        let muted = Settings {
            mute_warning: true,
            ..Settings::default()
        };
        muted.save_to(&path).expect("save muted");
        let back: Settings =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("parse");
        assert!(back.mute_warning && !back.mute_critical);
        assert!(back.sounds(crate::gui::state::AlertSeverity::Critical));
        assert!(!back.sounds(crate::gui::state::AlertSeverity::Warning));
        let partial: Settings =
            serde_json::from_str(r#"{"show_frame_time": true}"#).expect("partial");
        assert!(
            !partial.mute_critical,
            "an old settings file sounds critical alerts"
        );
        assert!(
            partial.speak_critical && !partial.speak_warning,
            "an old settings file speaks critical alerts, not warnings"
        );
        assert!(partial.speaks(crate::gui::state::AlertSeverity::Critical));
        assert!(!partial.speaks(crate::gui::state::AlertSeverity::Warning));
        assert_eq!(partial.tile_url, OSM_TILE_URL);
        assert!(partial.show_frame_time);
        assert_eq!(partial.sim_transport, SimTransport::Mavlink);
        assert!(
            partial.terrain_dem.is_empty() && partial.plan_dem.is_empty() && !partial.sim_terrain,
            "an old settings file has no DEM and no simulated terrain"
        );
        assert_eq!(partial.plan_terrain, PlanTerrainSource::DemFile);
        assert_eq!(
            partial.terrain_tile_source().expect("default source"),
            aviary_links::tiles::TileSource::terrarium()
        );
        assert_eq!(partial.terrain_tile_zoom, 12);
        let mqtt: Settings = serde_json::from_str(
            r#"{"sim_transport": "mqtt", "sim_mqtt_broker": "mqtt://b:1884", "sim_register": true}"#,
        )
        .expect("simulator settings");
        assert_eq!(
            (
                mqtt.sim_transport,
                mqtt.sim_mqtt_broker.as_str(),
                mqtt.sim_register
            ),
            (SimTransport::Mqtt, "mqtt://b:1884", true)
        );
    }
}
