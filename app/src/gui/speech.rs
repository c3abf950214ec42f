//! Spoken alerts, as QGroundControl speaks its own: a short phrase ("MAV-3: GPS failsafe")
//! through the platform's speech command, found at run time — `spd-say` or `espeak-ng` /
//! `espeak` on Linux, `say` on macOS, PowerShell's `System.Speech` on Windows. The phrases are
//! spoken one after another on a named thread (`aviary-alert-speech`) fed by a bounded channel,
//! so the UI never waits on a synthesiser; when it is busy, further phrases are dropped (the
//! banner still shows them). Without a speech command: one log line and a hint in Settings,
//! never an error.

use std::path::Path;
use std::sync::mpsc::{SyncSender, TrySendError};

/// Phrases waiting while one is spoken; more are dropped.
pub const SPEECH_QUEUE: usize = 2;

/// Longest phrase spoken, characters (a longer message is cut: the banner has the rest).
pub const PHRASE_MAX_CHARS: usize = 120;

/// The platform a speech command is chosen for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Linux and other free Unixes (speech-dispatcher, eSpeak).
    Linux,
    /// macOS (`say`).
    MacOs,
    /// Windows (PowerShell with `System.Speech`).
    Windows,
    /// Anything else: no speech.
    Other,
}

impl Platform {
    /// The platform this build runs on.
    pub const fn current() -> Self {
        if cfg!(target_os = "macos") {
            Self::MacOs
        } else if cfg!(target_os = "windows") {
            Self::Windows
        } else if cfg!(unix) {
            Self::Linux
        } else {
            Self::Other
        }
    }
}

/// The speech programs tried on `platform`, preferred first.
pub const fn candidates(platform: Platform) -> &'static [&'static str] {
    match platform {
        Platform::Linux => &["spd-say", "espeak-ng", "espeak"],
        Platform::MacOs => &["say"],
        Platform::Windows => &["powershell", "pwsh"],
        Platform::Other => &[],
    }
}

/// The first speech program of `platform` that `available` says is installed.
pub fn choose_program(
    platform: Platform,
    available: impl Fn(&str) -> bool,
) -> Option<&'static str> {
    candidates(platform).iter().copied().find(|p| available(p))
}

/// Keeps letters, digits, spaces and plain punctuation (no quotes, no shell or PowerShell
/// syntax), collapses white space and cuts to [`PHRASE_MAX_CHARS`].
pub fn clean_phrase(phrase: &str) -> String {
    let kept: String = phrase
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || " .,:;-+%/()".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    kept.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(PHRASE_MAX_CHARS)
        .collect()
}

/// The command line that speaks `phrase` with `program` (one of [`candidates`]), waiting until
/// it has been said. The phrase is cleaned first ([`clean_phrase`]); `None` when nothing is
/// left to say or the program is unknown.
pub fn speech_argv(program: &str, phrase: &str) -> Option<Vec<String>> {
    let phrase = clean_phrase(phrase);
    if phrase.is_empty() {
        return None;
    }
    let argv: Vec<String> = match program {
        // `--wait`: return once spoken, so a busy queue drops rather than piles up.
        "spd-say" => vec!["spd-say".into(), "--wait".into(), phrase],
        "espeak-ng" | "espeak" => vec![program.into(), phrase],
        "say" => vec!["say".into(), phrase],
        "powershell" | "pwsh" => vec![
            program.into(),
            "-NoProfile".into(),
            "-NonInteractive".into(),
            "-Command".into(),
            // The cleaned phrase holds no quote, so it cannot leave the string.
            format!(
                "Add-Type -AssemblyName System.Speech; \
                 (New-Object System.Speech.Synthesis.SpeechSynthesizer).Speak('{phrase}')"
            ),
        ],
        _ => return None,
    };
    Some(argv)
}

/// Whether `program` is an executable file in one of the `PATH` directories.
pub fn on_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        let candidate = dir.join(program);
        is_file(&candidate) || (cfg!(windows) && is_file(&candidate.with_extension("exe")))
    })
}

fn is_file(p: &Path) -> bool {
    p.is_file()
}

/// Speaks alert phrases on a thread of its own, started with the first phrase.
#[derive(Debug, Default)]
pub struct AlertSpeech {
    tx: Option<SyncSender<Vec<String>>>,
    /// Whether the program was looked up yet.
    looked_up: bool,
    /// The program found, if any.
    program: Option<&'static str>,
    /// Records phrases without speaking them (tests, benchmarks).
    silent: bool,
    /// Phrases asked for, newest last (the last 32), so a test or a log can tell what was said.
    pub requested: Vec<String>,
}

impl AlertSpeech {
    /// Speech that records what it would say and never runs a program.
    pub fn silent() -> Self {
        Self {
            silent: true,
            looked_up: true,
            ..Self::default()
        }
    }

    /// The speech program of this computer, looked up once (`None`: none installed; logged
    /// once).
    pub fn program(&mut self) -> Option<&'static str> {
        if self.looked_up {
            return self.program;
        }
        let found = choose_program(Platform::current(), on_path);
        if found.is_none() && !self.silent {
            tracing::info!(
                tried = ?candidates(Platform::current()),
                "no speech command found; alerts are not spoken"
            );
        }
        self.looked_up = true;
        self.program = found;
        found
    }

    /// Speaks `phrase`. Never blocks: while one phrase is spoken at most [`SPEECH_QUEUE`] wait;
    /// further ones are dropped.
    pub fn say(&mut self, phrase: &str) {
        if self.requested.len() == 32 {
            self.requested.remove(0);
        }
        self.requested.push(phrase.to_owned());
        let Some(program) = self.program() else {
            return;
        };
        let Some(argv) = speech_argv(program, phrase) else {
            return;
        };
        if self.tx.is_none() {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<String>>(SPEECH_QUEUE);
            let spawned = std::thread::Builder::new()
                .name("aviary-alert-speech".to_owned())
                .spawn(move || {
                    let mut failed = false;
                    while let Ok(argv) = rx.recv() {
                        if failed {
                            continue;
                        }
                        if let Err(why) = speak(&argv) {
                            tracing::warn!(program = %argv[0], reason = %why, "alert not spoken; speech is off until restart");
                            failed = true;
                        }
                    }
                });
            match spawned {
                Ok(_) => self.tx = Some(tx),
                Err(e) => {
                    tracing::warn!(error = %e, "spoken alerts off: cannot start their thread");
                    self.program = None;
                    return;
                }
            }
        }
        if let Some(tx) = &self.tx
            && let Err(TrySendError::Disconnected(_)) = tx.try_send(argv)
        {
            self.tx = None;
        }
    }
}

/// Runs one speech command to its end.
fn speak(argv: &[String]) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("empty command")?;
    let status = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("exited with {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_platform_prefers_its_own_speech_command() {
        let all = |_: &str| true;
        let none = |_: &str| false;
        assert_eq!(choose_program(Platform::Linux, all), Some("spd-say"));
        assert_eq!(
            choose_program(Platform::Linux, |p| p == "espeak" || p == "espeak-ng"),
            Some("espeak-ng")
        );
        assert_eq!(
            choose_program(Platform::Linux, |p| p == "espeak"),
            Some("espeak")
        );
        assert_eq!(choose_program(Platform::Linux, |p| p == "say"), None);
        assert_eq!(choose_program(Platform::MacOs, all), Some("say"));
        assert_eq!(choose_program(Platform::Windows, all), Some("powershell"));
        assert_eq!(
            choose_program(Platform::Windows, |p| p == "pwsh"),
            Some("pwsh")
        );
        for p in [
            Platform::Linux,
            Platform::MacOs,
            Platform::Windows,
            Platform::Other,
        ] {
            assert_eq!(choose_program(p, none), None);
        }
        assert_eq!(choose_program(Platform::Other, all), None);
    }

    #[test]
    fn argv_speaks_the_phrase_and_nothing_else() {
        assert_eq!(
            speech_argv("spd-say", "MAV-3: GPS failsafe"),
            Some(vec![
                "spd-say".to_owned(),
                "--wait".to_owned(),
                "MAV-3: GPS failsafe".to_owned()
            ])
        );
        assert_eq!(
            speech_argv("espeak-ng", "MAV-3: GPS failsafe"),
            Some(vec![
                "espeak-ng".to_owned(),
                "MAV-3: GPS failsafe".to_owned()
            ])
        );
        assert_eq!(
            speech_argv("say", "MAV-3: battery 18 %"),
            Some(vec!["say".to_owned(), "MAV-3: battery 18 %".to_owned()])
        );
        let ps = speech_argv("powershell", "MAV-3: it's 'quoted'; $(rm -rf)").expect("argv");
        assert_eq!(ps[0], "powershell");
        assert_eq!(ps[3], "-Command");
        assert!(
            ps[4].ends_with(".Speak('MAV-3: it s quoted ; (rm -rf)')"),
            "{}",
            ps[4]
        );
        assert_eq!(speech_argv("spd-say", " \"' "), None);
        assert_eq!(speech_argv("festival", "hello"), None);
        let long = "x".repeat(500);
        assert_eq!(
            speech_argv("say", &long).expect("argv")[1].len(),
            PHRASE_MAX_CHARS
        );
    }

    #[test]
    fn silent_speech_records_and_never_speaks() {
        let mut speech = AlertSpeech::silent();
        assert_eq!(speech.program(), None);
        for k in 0..40 {
            speech.say(&format!("MAV-{k}: GPS failsafe"));
        }
        assert_eq!(speech.requested.len(), 32);
        assert_eq!(speech.requested[31], "MAV-39: GPS failsafe");
        assert!(speech.tx.is_none(), "no thread");
    }
}
