//! What a vehicle reports about itself, as plain facts: the vocabulary between the links (which
//! decode `MAVLink` or MQTT) and the mission supervisor ([`crate::supervisor`]), which turns
//! them into drone and mission state. Nothing here talks to a wire; the links map their
//! autopilot's numbers (`custom_mode`, `MAV_LANDED_STATE`, …) into these types.

use serde::{Deserialize, Serialize};

/// What a flight mode does, whatever the autopilot calls it. The links map `ArduPilot` and
/// `PX4` `custom_mode` numbers into these classes; the supervisor reasons only on the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModeClass {
    /// Flying the stored mission (`AUTO`, `MISSION`).
    Auto,
    /// Commanded by a ground station (`GUIDED`, `OFFBOARD`).
    Guided,
    /// Holding position (`LOITER`, `BRAKE`, `POSHOLD`, `HOLD`).
    Hold,
    /// Returning home (`RTL`, `SMART_RTL`, `AUTO.RTL`).
    Return,
    /// Landing where it is (`LAND`, `AUTO.LAND`).
    Land,
    /// Taking off (`TAKEOFF`, `AUTO.TAKEOFF`).
    Takeoff,
    /// Flown by a pilot with sticks (`STABILIZE`, `ALT_HOLD`, `ACRO`, `MANUAL`, `POSCTL`, …).
    Manual,
    /// Anything else (`CIRCLE`, `FOLLOW`, an unknown number).
    Other,
}

impl ModeClass {
    /// True for modes an `ArduCopter` refuses to arm in when armed from a ground station
    /// (`AUTO`, `RTL`, `LAND`, …): a start must first switch to an armable mode.
    pub const fn blocks_arming(self) -> bool {
        matches!(self, Self::Auto | Self::Return | Self::Land | Self::Other)
    }
}

/// Whether the vehicle is on the ground, from `EXTENDED_SYS_STATE.landed_state` (or, where
/// the autopilot does not send it, inferred by the link from armed, altitude and speed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LandedState {
    /// Not reported yet.
    Unknown,
    /// On the ground.
    OnGround,
    /// Flying.
    InAir,
    /// Climbing away from the ground.
    Takeoff,
    /// Descending to land.
    Landing,
}

impl LandedState {
    /// True when the vehicle is airborne in any way (in air, taking off or landing).
    pub const fn airborne(self) -> bool {
        matches!(self, Self::InAir | Self::Takeoff | Self::Landing)
    }
}

/// The flight mode a vehicle reports: its own name and what it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlightMode {
    /// The autopilot's name (`AUTO`, `RTL`, `POSCTL`, …).
    pub name: String,
    /// What it does.
    pub class: ModeClass,
}

/// One thing the vehicle said about itself. Every fact is timestamped by the caller when it
/// hands it to the supervisor (time is injected, never read here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum VehicleFact {
    /// A heartbeat: mode and armed state.
    Heartbeat {
        /// Current flight mode.
        mode: FlightMode,
        /// Motors armed.
        armed: bool,
    },
    /// Landed state (`EXTENDED_SYS_STATE`).
    Landed {
        /// On the ground, in the air, taking off or landing.
        state: LandedState,
    },
    /// Position and motion.
    Motion {
        /// Altitude above home, metres.
        alt_rel_m: f64,
        /// Ground speed, m/s.
        ground_speed_mps: f64,
    },
    /// The mission item the vehicle is flying to (`MISSION_CURRENT`).
    MissionCurrent {
        /// Sequence number (0 = home).
        seq: u16,
    },
    /// The vehicle reached a mission item (`MISSION_ITEM_REACHED`).
    ItemReached {
        /// Sequence number.
        seq: u16,
    },
    /// Battery state.
    Battery {
        /// Remaining, percent, if the autopilot estimates it.
        remaining_pct: Option<f64>,
        /// Voltage, volts, if reported.
        voltage_v: Option<f64>,
    },
    /// GPS state.
    Gps {
        /// `GPS_FIX_TYPE` (0–1 none, 2 = 2D, 3 = 3D, 4+ = DGPS/RTK).
        fix_type: u8,
        /// Satellites visible.
        satellites: u8,
    },
    /// A `STATUSTEXT` message, verbatim.
    StatusText {
        /// `MAV_SEVERITY` (0 = emergency … 7 = debug).
        severity: u8,
        /// The text.
        text: String,
    },
    /// Heartbeats resumed (or the first one arrived).
    LinkUp,
    /// No heartbeat for the link's timeout.
    LinkLost,
}
