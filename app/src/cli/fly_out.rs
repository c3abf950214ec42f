//! What `aviary fly` prints: one line per check, transition, alert, progress step, refusal and
//! the end, as text or as one JSON object per line (`--json`). Every line carries the time
//! (`t`, RFC 3339 UTC) and the mission's state at that moment.

use aviary_core::preflight::Check;
use aviary_core::supervisor::{SupervisorAlert, Transition};
use chrono::{SecondsFormat, Utc};
use serde_json::json;
use std::io::Write as _;

/// One line of output.
pub enum Out<'a> {
    /// A pre-flight check's verdict.
    Check(&'a Check),
    /// The mission changed phase.
    Transition(&'a Transition),
    /// An alert from the supervisor.
    Alert {
        /// Phase when it was raised.
        state: &'static str,
        /// The alert.
        alert: &'a SupervisorAlert,
    },
    /// The vehicle flies to another item.
    Progress {
        /// Phase.
        state: &'static str,
        /// Item flown to.
        item: u16,
        /// Last item.
        of: u16,
    },
    /// A request was refused (by the supervisor, the link or the vehicle).
    Refused {
        /// Phase.
        state: &'static str,
        /// Why.
        text: &'a str,
    },
    /// The run ended.
    End {
        /// Final phase (`completed`, `aborted`, `failed`, `refused`, `error`).
        state: &'a str,
        /// Why it did not complete.
        reason: Option<&'a str>,
    },
}

/// Writes lines to stdout, flushed one by one (a script reads them as they come).
pub struct Printer {
    json: bool,
}

impl Printer {
    /// Text, or JSON lines.
    pub const fn new(json: bool) -> Self {
        Self { json }
    }

    /// Prints one line.
    pub fn line(&mut self, out: &Out<'_>) {
        let now = Utc::now();
        let text = if self.json {
            let t = now.to_rfc3339_opts(SecondsFormat::Millis, true);
            json_line(&t, out).to_string()
        } else {
            format!("{} {}", now.format("%H:%M:%S"), text_line(out))
        };
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
        let _ = stdout.flush();
    }
}

fn json_line(t: &str, out: &Out<'_>) -> serde_json::Value {
    match out {
        Out::Check(c) => json!({
            "t": t, "event": "check", "state": "planned", "check": c.kind, "ok": c.ok,
            "soft": c.soft, "warn": c.warn, "detail": c.detail,
        }),
        Out::Transition(tr) => json!({
            "t": t, "event": "transition", "state": tr.to.as_str(), "from": tr.from.as_str(),
            "cause": tr.cause, "reason": tr.reason.map(aviary_core::mission::FailureReason::as_str),
        }),
        Out::Alert { state, alert } => json!({
            "t": t, "event": "alert", "state": state, "level": alert.level,
            "text": alert.text, "reason": alert.reason.map(aviary_core::mission::FailureReason::as_str),
        }),
        Out::Progress { state, item, of } => json!({
            "t": t, "event": "progress", "state": state, "item": item, "of": of,
        }),
        Out::Refused { state, text } => json!({
            "t": t, "event": "refused", "state": state, "text": text,
        }),
        Out::End { state, reason } => json!({
            "t": t, "event": "end", "state": state, "reason": reason,
        }),
    }
}

fn text_line(out: &Out<'_>) -> String {
    match out {
        Out::Check(c) => format!(
            "check {:<9} {}{}: {}",
            format!("{:?}", c.kind).to_lowercase(),
            match (c.ok, c.warn) {
                (true, false) => "ok",
                (true, true) => "WARN",
                (false, _) => "FAILED",
            },
            if c.soft && !c.ok { " (soft)" } else { "" },
            c.detail
        ),
        Out::Transition(tr) => format!("{} -> {}: {}", tr.from, tr.to, tr.cause),
        Out::Alert { state, alert } => {
            format!("[{state}] {:?}: {}", alert.level, alert.text).to_string()
        }
        Out::Progress { state, item, of } => format!("[{state}] item {item} of {of}"),
        Out::Refused { state, text } => format!("[{state}] refused: {text}"),
        Out::End { state, reason } => match reason {
            Some(r) => format!("end: {state} ({r})"),
            None => format!("end: {state}"),
        },
    }
}
