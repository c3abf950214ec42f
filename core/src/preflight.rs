//! Pre-flight checks: what must be true before a mission starts, from the vehicle's own
//! reports ([`crate::supervisor::VehicleView`]) and the plan's figures. Hard checks block
//! Start; soft ones can be overridden by the operator with a typed reason (which the host
//! writes to the audit log). Pure: the host gathers the inputs.

use crate::supervisor::VehicleView;
use crate::weather::WeatherVerdict;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Limits of the checks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PreflightConfig {
    /// The survey must start within this distance of the drone's home, metres.
    pub max_home_distance_m: f64,
    /// Battery kept in reserve at the end of a sortie, percent.
    pub battery_reserve_pct: f64,
    /// Most mission items the autopilot stores (`ArduPilot`: 718, as `aviary plan` assumes; PX4
    /// defaults to 2000).
    pub max_items: usize,
    /// `PreArm:` messages this recent count as the autopilot's current refusal.
    pub prearm_window_s: i64,
}

impl Default for PreflightConfig {
    fn default() -> Self {
        Self {
            max_home_distance_m: 5_000.0,
            battery_reserve_pct: 20.0,
            max_items: 718,
            prearm_window_s: 30,
        }
    }
}

/// What the plan needs, from the planner's estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanNeeds {
    /// Mission items, home included.
    pub items: usize,
    /// Battery the first sortie uses, percent of a full pack.
    pub first_sortie_battery_pct: f64,
    /// Sorties (batteries) the plan needs.
    pub sorties: usize,
    /// Sorties the mission is split into (one upload each, a battery swap between): the
    /// multi-sortie flow flies them in turn. A plan needing more than this is one flight
    /// that cannot finish on one battery.
    #[serde(default = "one")]
    pub planned_sorties: usize,
    /// Distance from the drone's home to the nearest point of the survey, metres.
    pub home_distance_m: f64,
    /// The weather verdict for the mission's window, when the host fetched one: adds the
    /// [`CheckKind::Weather`] check (no check when `None`).
    #[serde(default)]
    pub weather: Option<WeatherVerdict>,
}

const fn one() -> usize {
    1
}

/// Which check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The vehicle is linked and reporting.
    Link,
    /// On the ground and disarmed.
    Landed,
    /// Not flying another mission.
    Busy,
    /// 3D GPS fix.
    Gps,
    /// The autopilot's own pre-arm checks (its `PreArm:` messages).
    PreArm,
    /// Battery for the first sortie with the reserve.
    Battery,
    /// The survey is near the drone's home.
    Distance,
    /// The autopilot can store the items.
    Items,
    /// More than one sortie: fly them in turn with battery swaps.
    Sorties,
    /// The weather verdict for the mission's window (only when the host gave one).
    Weather,
}

impl CheckKind {
    /// Short name as the desktop and `aviary fly` show it (`GPS`, `pre-arm`).
    pub const fn label(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Landed => "landed",
            Self::Busy => "busy",
            Self::Gps => "GPS",
            Self::PreArm => "pre-arm",
            Self::Battery => "battery",
            Self::Distance => "distance",
            Self::Items => "items",
            Self::Sorties => "sorties",
            Self::Weather => "weather",
        }
    }
}

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Which.
    pub kind: CheckKind,
    /// Passed.
    pub ok: bool,
    /// May be overridden with a typed reason.
    pub soft: bool,
    /// Passed with a warning the operator should read (weather caution, or no usable weather
    /// data: "unknown" is a warning, never a pass). Never set on a failed check.
    #[serde(default)]
    pub warn: bool,
    /// What was found, in words (the autopilot's own where it gave them).
    pub detail: String,
}

/// The verdicts, in a fixed order.
pub fn preflight(
    vehicle: &VehicleView,
    other_mission: Option<&str>,
    plan: &PlanNeeds,
    config: &PreflightConfig,
    now: DateTime<Utc>,
) -> Vec<Check> {
    let hard = |kind, ok, detail: String| Check {
        kind,
        ok,
        soft: false,
        warn: false,
        detail,
    };
    let soft = |kind, ok, detail: String| Check {
        kind,
        ok,
        soft: true,
        warn: false,
        detail,
    };
    let mut out = Vec::with_capacity(10);
    out.push(hard(
        CheckKind::Link,
        vehicle.link_up,
        if vehicle.link_up {
            "reporting".into()
        } else {
            "no heartbeat from the vehicle".into()
        },
    ));
    let mode = vehicle.mode.as_ref().map_or("no mode", |m| m.name.as_str());
    out.push(hard(
        CheckKind::Landed,
        vehicle.on_ground() && !vehicle.armed,
        format!(
            "{}, {}, {mode}, {:.1} m",
            if vehicle.on_ground() {
                "on the ground"
            } else {
                "in the air"
            },
            if vehicle.armed { "armed" } else { "disarmed" },
            vehicle.alt_rel_m
        ),
    ));
    out.push(hard(
        CheckKind::Busy,
        other_mission.is_none(),
        other_mission.map_or_else(
            || "no other mission".into(),
            |m| format!("flying mission '{m}'"),
        ),
    ));
    out.push(hard(
        CheckKind::Gps,
        vehicle.gps_fix >= 3,
        format!(
            "fix type {} ({} satellites){}",
            vehicle.gps_fix,
            vehicle.satellites,
            if vehicle.gps_fix >= 3 {
                ""
            } else {
                ": needs a 3D fix"
            }
        ),
    ));
    let prearm = vehicle.prearm_texts(now, Duration::seconds(config.prearm_window_s));
    out.push(hard(
        CheckKind::PreArm,
        prearm.is_empty(),
        if prearm.is_empty() {
            "no refusal reported".into()
        } else {
            prearm.join("; ")
        },
    ));
    let need = plan.first_sortie_battery_pct + config.battery_reserve_pct;
    out.push(match vehicle.battery_pct {
        Some(have) => soft(
            CheckKind::Battery,
            have >= need,
            format!(
                "{have:.0} % for {:.0} % + {:.0} % reserve",
                plan.first_sortie_battery_pct, config.battery_reserve_pct
            ),
        ),
        None => soft(
            CheckKind::Battery,
            false,
            "the vehicle reports no battery level".into(),
        ),
    });
    out.push(soft(
        CheckKind::Distance,
        plan.home_distance_m <= config.max_home_distance_m,
        format!(
            "survey {:.1} km from home (limit {:.1} km)",
            plan.home_distance_m / 1000.0,
            config.max_home_distance_m / 1000.0
        ),
    ));
    out.push(hard(
        CheckKind::Items,
        plan.items <= config.max_items,
        format!(
            "{} items (autopilot limit {})",
            plan.items, config.max_items
        ),
    ));
    let planned = plan.planned_sorties.max(1);
    out.push(soft(
        CheckKind::Sorties,
        plan.sorties <= planned,
        if plan.sorties <= 1 && planned == 1 {
            "one sortie".into()
        } else if plan.sorties <= planned {
            format!("{planned} sorties: fly each, land, swap the battery, resume")
        } else {
            format!(
                "needs {} batteries but is planned as {planned} flight(s): split it into sorties",
                plan.sorties
            )
        },
    ));
    if let Some(weather) = &plan.weather {
        let c = weather.start_check();
        out.push(Check {
            kind: CheckKind::Weather,
            ok: c.ok,
            soft: true,
            warn: c.warn,
            detail: c.detail,
        });
    }
    out
}

/// The checks that stop a start: every failed hard check, and the failed soft ones unless
/// the operator overrode them.
pub fn blocking(checks: &[Check], soft_overridden: bool) -> Vec<&Check> {
    checks
        .iter()
        .filter(|c| !c.ok && (!c.soft || !soft_overridden))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::{Supervisor, SupervisorConfig};
    use crate::vehicle::{FlightMode, LandedState, ModeClass, VehicleFact as F};

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    fn ready() -> Supervisor {
        let mut s = Supervisor::new(SupervisorConfig::default(), t(0));
        for f in [
            F::LinkUp,
            F::Heartbeat {
                mode: FlightMode {
                    name: "LOITER".into(),
                    class: ModeClass::Hold,
                },
                armed: false,
            },
            F::Landed {
                state: LandedState::OnGround,
            },
            F::Gps {
                fix_type: 3,
                satellites: 12,
            },
            F::Battery {
                remaining_pct: Some(95.0),
                voltage_v: Some(12.5),
            },
        ] {
            s.fact(f, t(1));
        }
        s
    }

    fn plan() -> PlanNeeds {
        PlanNeeds {
            items: 21,
            first_sortie_battery_pct: 60.0,
            sorties: 1,
            planned_sorties: 1,
            home_distance_m: 120.0,
            weather: None,
        }
    }

    fn failed(checks: &[Check]) -> Vec<CheckKind> {
        checks.iter().filter(|c| !c.ok).map(|c| c.kind).collect()
    }

    #[test]
    fn a_ready_vehicle_passes_every_check() {
        let c = preflight(
            ready().vehicle(),
            None,
            &plan(),
            &PreflightConfig::default(),
            t(2),
        );
        assert_eq!(c.len(), 9);
        assert!(failed(&c).is_empty(), "{c:?}");
        assert!(blocking(&c, false).is_empty());
    }

    #[test]
    fn each_check_fails_for_its_cause() {
        let cfg = PreflightConfig::default();
        let mut s = ready();
        s.fact(
            F::StatusText {
                severity: 2,
                text: "PreArm: Need 3D Fix".into(),
            },
            t(2),
        );
        s.fact(
            F::Gps {
                fix_type: 1,
                satellites: 4,
            },
            t(2),
        );
        s.fact(
            F::Battery {
                remaining_pct: Some(10.0),
                voltage_v: Some(10.9),
            },
            t(2),
        );
        let far = PlanNeeds {
            items: 900,
            first_sortie_battery_pct: 80.0,
            sorties: 3,
            planned_sorties: 1,
            home_distance_m: 8_800_000.0,
            weather: None,
        };
        let c = preflight(s.vehicle(), Some("Dock survey"), &far, &cfg, t(3));
        assert_eq!(
            failed(&c),
            vec![
                CheckKind::Busy,
                CheckKind::Gps,
                CheckKind::PreArm,
                CheckKind::Battery,
                CheckKind::Distance,
                CheckKind::Items,
                CheckKind::Sorties
            ]
        );
        let prearm = c
            .iter()
            .find(|c| c.kind == CheckKind::PreArm)
            .map(|c| c.detail.as_str());
        assert_eq!(prearm, Some("PreArm: Need 3D Fix"), "verbatim");
        let busy = c
            .iter()
            .find(|c| c.kind == CheckKind::Busy)
            .map(|c| c.detail.as_str());
        assert_eq!(busy, Some("flying mission 'Dock survey'"));
        let dist = c
            .iter()
            .find(|c| c.kind == CheckKind::Distance)
            .map(|c| c.detail.clone());
        assert_eq!(
            dist.as_deref(),
            Some("survey 8800.0 km from home (limit 5.0 km)")
        );
        // Overriding the soft ones leaves the hard ones blocking.
        let still: Vec<_> = blocking(&c, true).iter().map(|c| c.kind).collect();
        assert_eq!(
            still,
            vec![
                CheckKind::Busy,
                CheckKind::Gps,
                CheckKind::PreArm,
                CheckKind::Items
            ]
        );
        // An old refusal no longer counts.
        let later = preflight(s.vehicle(), None, &plan(), &cfg, t(40));
        assert!(later.iter().any(|c| c.kind == CheckKind::PreArm && c.ok));
    }

    #[test]
    fn lost_armed_or_flying_vehicles_are_refused() {
        let cfg = PreflightConfig::default();
        let mut s = ready();
        s.fact(
            F::Landed {
                state: LandedState::InAir,
            },
            t(2),
        );
        let c = preflight(s.vehicle(), None, &plan(), &cfg, t(3));
        assert_eq!(failed(&c), vec![CheckKind::Landed]);
        s.fact(F::LinkLost, t(4));
        let c = preflight(s.vehicle(), None, &plan(), &cfg, t(5));
        assert_eq!(failed(&c), vec![CheckKind::Link, CheckKind::Landed]);
    }

    #[test]
    fn a_plan_split_into_enough_sorties_passes_the_sortie_check() {
        let split = PlanNeeds {
            sorties: 3,
            planned_sorties: 3,
            ..plan()
        };
        let c = preflight(
            ready().vehicle(),
            None,
            &split,
            &PreflightConfig::default(),
            t(2),
        );
        let sorties = c
            .iter()
            .find(|c| c.kind == CheckKind::Sorties)
            .expect("sortie check");
        assert!(sorties.ok, "{sorties:?}");
        assert!(sorties.detail.contains("swap the battery"), "{sorties:?}");
        let short = PlanNeeds {
            sorties: 3,
            planned_sorties: 2,
            ..plan()
        };
        let c = preflight(
            ready().vehicle(),
            None,
            &short,
            &PreflightConfig::default(),
            t(2),
        );
        assert_eq!(failed(&c), vec![CheckKind::Sorties]);
    }

    fn with_weather(verdict: crate::weather::Verdict, text: &str) -> PlanNeeds {
        use crate::weather::{Reason, ReasonKind, Verdict, WeatherVerdict};
        PlanNeeds {
            weather: Some(WeatherVerdict {
                verdict,
                reasons: if verdict == Verdict::Go {
                    Vec::new()
                } else {
                    vec![Reason {
                        kind: ReasonKind::Gust,
                        verdict,
                        value: None,
                        limit: None,
                        unit: String::new(),
                        at: None,
                        text: text.into(),
                    }]
                },
                not_assessed: Vec::new(),
                model: "Aviary X4".into(),
                source: Some("open-meteo".into()),
                age_s: Some(600),
                window_start: t(0),
                window_end: t(1800),
            }),
            ..plan()
        }
    }

    fn weather_check(plan: &PlanNeeds) -> (Check, Vec<CheckKind>, Vec<CheckKind>, Vec<CheckKind>) {
        let c = preflight(
            ready().vehicle(),
            None,
            plan,
            &PreflightConfig::default(),
            t(2),
        );
        assert_eq!(c.len(), 10, "the weather check is added: {c:?}");
        let w = c
            .iter()
            .find(|c| c.kind == CheckKind::Weather)
            .cloned()
            .expect("weather check");
        let blocked = blocking(&c, false).iter().map(|c| c.kind).collect();
        let overridden = blocking(&c, true).iter().map(|c| c.kind).collect();
        (w, failed(&c), blocked, overridden)
    }

    #[test]
    fn weather_go_passes_caution_and_unknown_warn_no_go_fails_soft() {
        use crate::weather::Verdict;
        let (go, failed_go, blocked_go, _) = weather_check(&with_weather(Verdict::Go, ""));
        assert!(go.ok && !go.warn && go.soft, "{go:?}");
        assert_eq!(
            go.detail,
            "go: within every limit for Aviary X4 (data 10 min old)"
        );
        assert!(failed_go.is_empty() && blocked_go.is_empty());

        let (caution, failed_c, blocked_c, _) = weather_check(&with_weather(
            Verdict::Caution,
            "wind 9.0 m/s at 10 m near the 10.0 m/s limit for Aviary X4",
        ));
        assert!(caution.ok && caution.warn, "{caution:?}");
        assert!(caution.detail.starts_with("caution: wind 9.0 m/s"));
        assert!(
            failed_c.is_empty() && blocked_c.is_empty(),
            "caution does not block"
        );

        let (unknown, failed_u, blocked_u, _) = weather_check(&with_weather(
            Verdict::Unknown,
            "no weather data (offline or not fetched yet)",
        ));
        assert!(
            unknown.ok && unknown.warn,
            "unknown warns, never a plain pass"
        );
        assert!(unknown.detail.starts_with("unknown: no weather data"));
        assert!(failed_u.is_empty() && blocked_u.is_empty());

        let (no_go, failed_n, blocked_n, overridden) = weather_check(&with_weather(
            Verdict::NoGo,
            "gusts 14.0 m/s at 10 m > 12.0 m/s limit for Aviary X4",
        ));
        assert!(!no_go.ok && !no_go.warn && no_go.soft, "{no_go:?}");
        assert_eq!(
            no_go.detail,
            "no-go: gusts 14.0 m/s at 10 m > 12.0 m/s limit for Aviary X4 (data 10 min old)"
        );
        assert_eq!(failed_n, vec![CheckKind::Weather]);
        assert_eq!(
            blocked_n,
            vec![CheckKind::Weather],
            "blocks without a reason"
        );
        assert!(overridden.is_empty(), "a typed reason overrides a no-go");
    }

    #[test]
    fn old_plan_needs_without_weather_still_read() {
        let json =
            r#"{"items":3,"first_sortie_battery_pct":10.0,"sorties":1,"home_distance_m":5.0}"#;
        let p: PlanNeeds = serde_json::from_str(json).expect("reads");
        assert_eq!(p.weather, None);
        let c: Check =
            serde_json::from_str(r#"{"kind":"weather","ok":true,"soft":true,"detail":"go"}"#)
                .expect("reads");
        assert!(!c.warn);
    }
}
