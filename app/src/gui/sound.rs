//! Alert sounds: short beeps generated in code (no sound files), played on their own named
//! thread (`aviary-alert-sound`) so the UI never waits on an audio device. On Linux they go to
//! ALSA's default device through `libasound.so.2`, loaded when the first sound plays; without
//! that library or a device the sound fails quietly: one log line, nothing in the window. Other
//! platforms have no output yet and say so once in the log.

use super::state::AlertSeverity;
use std::sync::mpsc::{SyncSender, TrySendError};

/// Samples per second of the generated tones.
pub const SAMPLE_RATE_HZ: u32 = 22_050;

/// One beep of a pattern: pitch, length, silence after it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Beep {
    freq_hz: f32,
    on_ms: u32,
    off_ms: u32,
}

/// The pattern for a severity: three high beeps for critical, one lower beep for a warning,
/// none for information.
fn pattern(severity: AlertSeverity) -> &'static [Beep] {
    const CRITICAL: [Beep; 3] = [Beep {
        freq_hz: 988.0,
        on_ms: 140,
        off_ms: 70,
    }; 3];
    const WARNING: [Beep; 1] = [Beep {
        freq_hz: 659.0,
        on_ms: 180,
        off_ms: 0,
    }];
    match severity {
        AlertSeverity::Critical => &CRITICAL,
        AlertSeverity::Warning => &WARNING,
        AlertSeverity::Info => &[],
    }
}

/// The samples (16-bit mono at [`SAMPLE_RATE_HZ`]) of a severity's beeps, each with a 5 ms
/// fade in and out so it does not click.
pub fn tone_samples(severity: AlertSeverity) -> Vec<i16> {
    let rate = SAMPLE_RATE_HZ as f32;
    let fade = (rate * 0.005) as usize;
    let mut out = Vec::new();
    for b in pattern(severity) {
        let on = (rate * b.on_ms as f32 / 1000.0) as usize;
        for k in 0..on {
            let edge = k.min(on - 1 - k);
            let gain = if edge < fade {
                edge as f32 / fade as f32
            } else {
                1.0
            };
            let phase = std::f32::consts::TAU * b.freq_hz * k as f32 / rate;
            out.push((phase.sin() * gain * 0.4 * f32::from(i16::MAX)) as i16);
        }
        out.extend(std::iter::repeat_n(
            0,
            (rate * b.off_ms as f32 / 1000.0) as usize,
        ));
    }
    out
}

/// Plays alert sounds on a thread of its own, started with the first sound.
#[derive(Debug, Default)]
pub struct AlertSound {
    tx: Option<SyncSender<AlertSeverity>>,
    /// Sounds asked for, newest last (the last 32), so a test or a log can tell what was heard.
    pub requested: Vec<AlertSeverity>,
}

impl AlertSound {
    /// Plays the sound of `severity` (none for information). Never blocks: while a sound is
    /// still playing, at most one more waits; further ones are dropped.
    pub fn play(&mut self, severity: AlertSeverity) {
        if pattern(severity).is_empty() {
            return;
        }
        if self.requested.len() == 32 {
            self.requested.remove(0);
        }
        self.requested.push(severity);
        if self.tx.is_none() {
            let (tx, rx) = std::sync::mpsc::sync_channel::<AlertSeverity>(1);
            let spawned = std::thread::Builder::new()
                .name("aviary-alert-sound".to_owned())
                .spawn(move || {
                    let mut out = output::Output::default();
                    while let Ok(severity) = rx.recv() {
                        out.play(&tone_samples(severity));
                    }
                });
            match spawned {
                Ok(_) => self.tx = Some(tx),
                Err(e) => {
                    tracing::warn!(error = %e, "alert sounds off: cannot start their thread");
                    return;
                }
            }
        }
        if let Some(tx) = &self.tx
            && let Err(TrySendError::Disconnected(_)) = tx.try_send(severity)
        {
            self.tx = None;
        }
    }
}

#[cfg(target_os = "linux")]
#[expect(
    unsafe_code,
    reason = "ALSA's C API, loaded at run time so the app neither links nor needs libasound"
)]
mod output {
    //! ALSA playback through `libasound.so.2` loaded with `libloading`.

    use super::SAMPLE_RATE_HZ;
    use std::ffi::{CStr, c_char, c_int, c_long, c_uint, c_ulong, c_void};

    type Open = unsafe extern "C" fn(*mut *mut c_void, *const c_char, c_int, c_int) -> c_int;
    type SetParams =
        unsafe extern "C" fn(*mut c_void, c_int, c_int, c_uint, c_uint, c_int, c_uint) -> c_int;
    type WriteI = unsafe extern "C" fn(*mut c_void, *const c_void, c_ulong) -> c_long;
    type Handle = unsafe extern "C" fn(*mut c_void) -> c_int;
    type StrError = unsafe extern "C" fn(c_int) -> *const c_char;

    const SND_PCM_STREAM_PLAYBACK: c_int = 0;
    const SND_PCM_FORMAT_S16_LE: c_int = 2;
    const SND_PCM_ACCESS_RW_INTERLEAVED: c_int = 3;

    /// The sound output: the library once loaded, or why there is none (logged once).
    #[derive(Default)]
    pub struct Output {
        lib: Option<libloading::Library>,
        failed: bool,
    }

    impl Output {
        /// Plays `samples` on the default device, or logs once why it cannot.
        pub fn play(&mut self, samples: &[i16]) {
            if self.failed {
                return;
            }
            if let Err(why) = self.try_play(samples) {
                tracing::warn!(reason = %why, "alert sound not played; alert sounds are off until restart");
                self.failed = true;
            }
        }

        fn try_play(&mut self, samples: &[i16]) -> Result<(), String> {
            if self.lib.is_none() {
                // SAFETY: loading ALSA's library runs only its (side-effect free) initialisers.
                let lib = unsafe { libloading::Library::new("libasound.so.2") }
                    .map_err(|e| format!("no ALSA library: {e}"))?;
                self.lib = Some(lib);
            }
            let Some(lib) = &self.lib else {
                return Err("no ALSA library".to_owned());
            };
            // SAFETY: each symbol is looked up with the type of its C prototype in
            // <alsa/pcm.h> / <alsa/error.h>.
            let (open, set_params, writei, drain, close, strerror) = unsafe {
                (
                    lib.get::<Open>(b"snd_pcm_open\0"),
                    lib.get::<SetParams>(b"snd_pcm_set_params\0"),
                    lib.get::<WriteI>(b"snd_pcm_writei\0"),
                    lib.get::<Handle>(b"snd_pcm_drain\0"),
                    lib.get::<Handle>(b"snd_pcm_close\0"),
                    lib.get::<StrError>(b"snd_strerror\0"),
                )
            };
            let missing = |e: libloading::Error| format!("ALSA library incomplete: {e}");
            let (open, set_params, writei, drain, close, strerror): (
                Open,
                SetParams,
                WriteI,
                Handle,
                Handle,
                StrError,
            ) = (
                *open.map_err(missing)?,
                *set_params.map_err(missing)?,
                *writei.map_err(missing)?,
                *drain.map_err(missing)?,
                *close.map_err(missing)?,
                *strerror.map_err(missing)?,
            );
            let words = |code: c_int| {
                // SAFETY: snd_strerror returns a static NUL-terminated string.
                unsafe { CStr::from_ptr(strerror(code)) }
                    .to_string_lossy()
                    .into_owned()
            };
            let mut pcm: *mut c_void = std::ptr::null_mut();
            // SAFETY: `pcm` is a valid out-pointer; the name is NUL-terminated.
            let rc = unsafe {
                open(
                    &raw mut pcm,
                    c"default".as_ptr(),
                    SND_PCM_STREAM_PLAYBACK,
                    0,
                )
            };
            if rc < 0 || pcm.is_null() {
                return Err(format!("no audio device: {}", words(rc)));
            }
            // SAFETY: `pcm` was opened above and is closed below on every path.
            let result = unsafe {
                let rc = set_params(
                    pcm,
                    SND_PCM_FORMAT_S16_LE,
                    SND_PCM_ACCESS_RW_INTERLEAVED,
                    1,
                    SAMPLE_RATE_HZ,
                    1,
                    200_000,
                );
                if rc < 0 {
                    Err(format!("audio device refused the format: {}", words(rc)))
                } else {
                    let frames = c_ulong::try_from(samples.len()).unwrap_or(0);
                    let n = writei(pcm, samples.as_ptr().cast(), frames);
                    if n < 0 {
                        Err(format!(
                            "audio write failed: {}",
                            words(c_int::try_from(n).unwrap_or(-1))
                        ))
                    } else {
                        drain(pcm);
                        Ok(())
                    }
                }
            };
            // SAFETY: closes the handle opened above, once.
            unsafe { close(pcm) };
            result
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod output {
    //! No sound output on this platform yet.

    /// Logs once that alert sounds are not played here.
    #[derive(Default)]
    pub struct Output {
        told: bool,
    }

    impl Output {
        /// Logs once.
        pub fn play(&mut self, _samples: &[i16]) {
            if !self.told {
                tracing::warn!("alert sounds are played through ALSA on Linux only");
                self.told = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_beeps_three_times_warning_once_info_never() {
        let critical = tone_samples(AlertSeverity::Critical);
        let warning = tone_samples(AlertSeverity::Warning);
        assert!(tone_samples(AlertSeverity::Info).is_empty());
        // 3 × (140 + 70) ms and 180 ms at 22,050 Hz.
        assert_eq!(critical.len(), 3 * (3087 + 1543));
        assert_eq!(warning.len(), 3969);
        // Loud in the middle, silent at the edges (faded), silent in the gaps.
        let peak = critical[..3087].iter().map(|s| s.unsigned_abs()).max();
        assert!(peak.is_some_and(|p| p > 12_000), "{peak:?}");
        assert!(critical[0].unsigned_abs() < 100 && critical[3086].unsigned_abs() < 1_000);
        assert!(critical[3087..3087 + 1543].iter().all(|&s| s == 0));
    }

    #[test]
    fn play_never_blocks_and_skips_information() {
        let mut sound = AlertSound::default();
        sound.play(AlertSeverity::Info);
        assert!(sound.requested.is_empty());
        for _ in 0..40 {
            sound.play(AlertSeverity::Critical);
        }
        assert_eq!(sound.requested.len(), 32);
    }
}
