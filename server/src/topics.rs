//! The MQTT topic names of the design (`drones/{id}/telemetry|commands|ack|status`,
//! `aviary/missions/{id}/events`) under a deployment's optional prefix
//! ([`crate::ServerConfig::mqtt_topic_prefix`]).
//!
//! With the empty prefix (the default) the names are exactly the design's, which the desktop
//! app (`links::mqtt::topics`) and the simulated drones (`sim::mqtt_drone`) use. A prefix
//! (`acme`, `site-7/fleet`) puts every name under it (`acme/drones/{id}/telemetry`): two
//! deployments on one broker then see only their own drones, and the broker's ACL confines
//! each deployment's users to its own prefix ([`Topics::scope_acl`]).

use aviary_core::{DroneId, MissionId};

use crate::error::ServerError;

/// Longest accepted prefix, bytes (MQTT allows 65,535 for the whole topic; this keeps room).
const MAX_PREFIX_BYTES: usize = 200;

/// Checks a topic prefix: empty, or `/`-separated non-empty levels without MQTT wildcards
/// (`+`, `#`), NUL or a leading `$` (reserved for the broker), at most 200 bytes.
pub fn check_prefix(prefix: &str) -> Result<(), ServerError> {
    let bad = |why: &str| ServerError::Config(format!("MQTT topic prefix {prefix:?}: {why}"));
    if prefix.is_empty() {
        return Ok(());
    }
    if prefix.len() > MAX_PREFIX_BYTES {
        return Err(bad("longer than 200 bytes"));
    }
    if prefix.starts_with('$') {
        return Err(bad("must not start with $ (reserved for the broker)"));
    }
    if prefix.contains(['+', '#', '\0']) {
        return Err(bad("must not contain the wildcards + or #, or NUL"));
    }
    if prefix.split('/').any(str::is_empty) {
        return Err(bad(
            "levels must not be empty (no leading, trailing or double /)",
        ));
    }
    Ok(())
}

/// Checks a shared-subscription group name: one non-empty topic level without `/`, `+`, `#`
/// or NUL (`$share/a/b/...` would make `b` part of the filter, and the group silently `a`).
pub fn check_share_group(group: &str) -> Result<(), ServerError> {
    if group.is_empty() || group.len() > MAX_PREFIX_BYTES || group.contains(['/', '+', '#', '\0']) {
        return Err(ServerError::Config(format!(
            "MQTT share group {group:?}: must be 1 to 200 bytes without /, +, # or NUL"
        )));
    }
    Ok(())
}

/// The topic names under one prefix (checked by [`check_prefix`] when the server starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topics<'a> {
    prefix: &'a str,
}

impl<'a> Topics<'a> {
    /// The names under `prefix` (empty: the design's names at the root).
    pub fn new(prefix: &'a str) -> Self {
        Self { prefix }
    }

    /// `name` under the prefix.
    fn under(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    /// `drones/{id}/{kind}` (`telemetry`, `commands`, `ack`, `status`).
    pub fn drone(&self, id: DroneId, kind: &str) -> String {
        self.under(&format!("drones/{id}/{kind}"))
    }

    /// `drones/+/{kind}`: every drone's topic of that kind.
    pub fn all_drones(&self, kind: &str) -> String {
        self.under(&format!("drones/+/{kind}"))
    }

    /// `$share/{group}/drones/+/telemetry`: the ingest's shared subscription.
    pub fn shared_telemetry(&self, group: &str) -> String {
        format!("$share/{group}/{}", self.all_drones("telemetry"))
    }

    /// `aviary/missions/{id}/events`: a mission's events between the server's instances.
    pub fn mission_events(&self, mission: MissionId) -> String {
        self.under(&format!("aviary/missions/{mission}/events"))
    }

    /// `aviary/missions/+/events`.
    pub fn all_mission_events(&self) -> String {
        self.under("aviary/missions/+/events")
    }

    /// The topic without the prefix; `None` when it is not under the prefix.
    fn strip<'t>(&self, topic: &'t str) -> Option<&'t str> {
        if self.prefix.is_empty() {
            Some(topic)
        } else {
            topic.strip_prefix(self.prefix)?.strip_prefix('/')
        }
    }

    /// Splits `drones/{uuid}/{kind}` under the prefix; `None` for anything else.
    pub fn parse_drone<'t>(&self, topic: &'t str) -> Option<(DroneId, &'t str)> {
        let mut p = self.strip(topic)?.split('/');
        (p.next()? == "drones").then_some(())?;
        let id = p.next()?.parse().ok()?;
        let kind = p.next()?;
        p.next().is_none().then_some((id, kind))
    }

    /// The mission of `aviary/missions/{uuid}/events` under the prefix.
    pub fn parse_mission_event(&self, topic: &str) -> Option<MissionId> {
        self.strip(topic)?
            .strip_prefix("aviary/missions/")?
            .strip_suffix("/events")?
            .parse()
            .ok()
    }

    /// A Mosquitto ACL with every `topic` and `pattern` rule's topic put under the prefix
    /// (comments and `user` lines unchanged): the shipped ACL's rules, scoped to this
    /// deployment.
    pub fn scope_acl(&self, acl: &str) -> String {
        use std::fmt::Write as _;
        if self.prefix.is_empty() {
            return acl.to_owned();
        }
        let mut out = String::with_capacity(acl.len() + acl.len() / 4);
        for line in acl.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [
                    rule @ ("topic" | "pattern"),
                    access @ ("read" | "write" | "readwrite" | "deny"),
                    topic,
                ] => {
                    let _ = write!(out, "{rule} {access} {}", self.under(topic));
                }
                [rule @ ("topic" | "pattern"), topic] => {
                    let _ = write!(out, "{rule} {}", self.under(topic));
                }
                _ => out.push_str(line),
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_prefix_gives_the_designs_names() {
        let t = Topics::new("");
        let d = DroneId::new_random();
        assert_eq!(t.drone(d, "telemetry"), format!("drones/{d}/telemetry"));
        assert_eq!(
            t.shared_telemetry("aviary"),
            "$share/aviary/drones/+/telemetry"
        );
        assert_eq!(t.all_mission_events(), "aviary/missions/+/events");
        assert_eq!(t.parse_drone(&format!("drones/{d}/ack")), Some((d, "ack")));
        let acl = "# c\nuser x\ntopic read drones/+/telemetry\n";
        assert_eq!(t.scope_acl(acl), acl);
    }

    #[test]
    fn a_prefix_puts_every_name_under_it_and_parses_only_its_own() {
        let t = Topics::new("acme/eu");
        let d = DroneId::new_random();
        let m = MissionId::new_random();
        assert_eq!(
            t.drone(d, "commands"),
            format!("acme/eu/drones/{d}/commands")
        );
        assert_eq!(
            t.shared_telemetry("acme"),
            "$share/acme/acme/eu/drones/+/telemetry"
        );
        assert_eq!(
            t.mission_events(m),
            format!("acme/eu/aviary/missions/{m}/events")
        );
        assert_eq!(
            t.parse_drone(&format!("acme/eu/drones/{d}/telemetry")),
            Some((d, "telemetry"))
        );
        assert_eq!(t.parse_drone(&format!("drones/{d}/telemetry")), None);
        assert_eq!(t.parse_drone(&format!("acme/eudrones/{d}/telemetry")), None);
        assert_eq!(
            t.parse_mission_event(&format!("acme/eu/aviary/missions/{m}/events")),
            Some(m)
        );
        assert_eq!(
            t.parse_mission_event(&format!("aviary/missions/{m}/events")),
            None
        );
        assert_eq!(
            t.scope_acl("# drones/x\nuser s\ntopic read drones/+/telemetry\npattern readwrite drones/%u/#\ntopic aviary/x\n"),
            "# drones/x\nuser s\ntopic read acme/eu/drones/+/telemetry\npattern readwrite acme/eu/drones/%u/#\ntopic acme/eu/aviary/x\n"
        );
    }

    #[test]
    fn a_bad_prefix_is_refused_with_its_reason() {
        for (p, why) in [
            ("a/+", "wildcards"),
            ("a/#", "wildcards"),
            ("$SYS", "reserved"),
            ("/a", "levels"),
            ("a/", "levels"),
            ("a//b", "levels"),
            ("a\0b", "NUL"),
        ] {
            let e = check_prefix(p).expect_err(p).to_string();
            assert!(e.contains(why), "{p:?}: {e}");
        }
        assert!(check_prefix(&"x".repeat(201)).is_err());
        for g in ["", "a/b", "a+", "a#"] {
            let e = check_share_group(g).expect_err(g).to_string();
            assert!(e.contains("share group"), "{g:?}: {e}");
        }
        check_share_group("acme-eu").expect("a plain group");
        for p in ["", "acme", "site-7/fleet"] {
            check_prefix(p).expect(p);
        }
    }
}
