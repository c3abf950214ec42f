//! Mission events as sentences a manager reads: the audit log stores `mission.start` with
//! the detail `in_progress`, the report says "Mission started; now in progress."

/// A mission phase or status word (`in_progress`) as words ("in progress"); `None` for a
/// word that is not one.
fn phase_words(s: &str) -> Option<&'static str> {
    Some(match s {
        "planned" => "planned",
        "uploading" => "uploading",
        "ready" => "ready to start",
        "launching" => "launching",
        "in_progress" => "in progress",
        "paused" => "paused",
        "returning" => "returning to launch",
        "landing" => "landing",
        "landed" => "landed",
        "completed" => "completed",
        "aborted" => "aborted",
        "failed" => "failed",
        "deleted" => "deleted",
        _ => return None,
    })
}

/// What a `mission.<what>` action says happened.
fn mission_action(what: &str) -> String {
    match what {
        "start" => "Mission started".to_owned(),
        "pause" | "paused" => "Mission paused".to_owned(),
        "resume" => "Mission resumed".to_owned(),
        "abort" | "aborted" => "Mission aborted".to_owned(),
        "finish" => "Mission finished".to_owned(),
        "fail" | "failed" => "Mission failed".to_owned(),
        "completed" => "Mission completed".to_owned(),
        "planned" => "Mission planned".to_owned(),
        "uploading" => "Mission upload started".to_owned(),
        "ready" => "Mission uploaded; ready to start".to_owned(),
        "launching" => "Drone taking off".to_owned(),
        "in_progress" => "Mission under way".to_owned(),
        "returning" => "Drone returning to launch".to_owned(),
        "landing" => "Drone landing".to_owned(),
        "landed" => "Drone landed".to_owned(),
        "deleted" => "Mission deleted".to_owned(),
        other => format!("Mission {}", words(other)),
    }
}

/// `battery_low` -> `battery low`.
fn words(s: &str) -> String {
    s.replace(['_', '-', '.'], " ").trim().to_owned()
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// A code-like detail (`connection_lost`): lower case letters, digits and underscores.
fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The sentence for an audit action and its detail.
pub fn sentence(action: &str, detail: &str) -> String {
    let action = action.trim();
    let detail = detail.trim();
    let lower = action.to_ascii_lowercase();
    let head = if let Some(what) = lower.strip_prefix("mission.") {
        mission_action(what)
    } else if let Some(what) = lower.strip_prefix("alert.") {
        format!("Alert: {}", words(what))
    } else if let Some(what) = lower.strip_prefix("command.") {
        format!("Command sent: {}", words(what))
    } else {
        capitalised(&words(action))
    };
    let mut out = head;
    if let Some(phase) = phase_words(detail) {
        out.push_str("; now ");
        out.push_str(phase);
    } else if is_code(detail) {
        out.push_str(" (");
        out.push_str(&words(detail));
        out.push(')');
    } else if !detail.is_empty() {
        out.push_str(": ");
        out.push_str(detail);
    }
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// The sentence for an event stored as `action` or `action: detail` (see
/// [`crate::mission::TimedEvent::detail`]).
pub fn sentence_from_stored(stored: &str) -> String {
    match stored.split_once(": ") {
        Some((action, detail)) if !action.contains(' ') => sentence(action, detail),
        _ if !stored.contains(' ') => sentence(stored, ""),
        _ => {
            let mut s = capitalised(stored.trim());
            if !s.ends_with(['.', '!', '?']) {
                s.push('.');
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_actions_read_as_sentences() {
        assert_eq!(
            sentence_from_stored("mission.start: in_progress"),
            "Mission started; now in progress."
        );
        assert_eq!(
            sentence_from_stored("mission.pause: paused"),
            "Mission paused; now paused."
        );
        assert_eq!(
            sentence_from_stored("mission.fail: connection_lost"),
            "Mission failed (connection lost)."
        );
        assert_eq!(
            sentence_from_stored("mission.returning: operator asked for RTL"),
            "Drone returning to launch: operator asked for RTL."
        );
        assert_eq!(
            sentence_from_stored("alert.battery_low: 19 % left"),
            "Alert: battery low: 19 % left."
        );
        assert_eq!(
            sentence_from_stored("alert.link_degraded"),
            "Alert: link degraded."
        );
        assert_eq!(sentence_from_stored("command.rtl"), "Command sent: rtl.");
        assert_eq!(sentence_from_stored("mission.finish"), "Mission finished.");
        assert_eq!(
            sentence_from_stored("geofence breach near the river"),
            "Geofence breach near the river."
        );
    }
}
