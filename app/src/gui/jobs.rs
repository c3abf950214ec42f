//! Long work off the UI thread: planning big areas, file dialogs, imports, exports, replays.
//! Each job runs on its own named thread (`aviary-job-<id>`), reports progress through an
//! atomic, and sends its [`JobOutput`] on a bounded channel; the wake-up closure asks the UI
//! for a frame so `logic` picks the result up.

use super::state::{JobView, PlanPreview};
use aviary_core::SurveyArea;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};

/// Capacity of the job result channel.
const RESULTS_CAPACITY: usize = 64;

/// What a finished job hands back.
#[derive(Debug)]
pub enum JobOutput {
    /// A plan preview for an editor revision.
    Planned {
        /// Revision planned.
        revision: u64,
        /// The preview or why planning failed.
        result: Result<PlanPreview, String>,
    },
    /// An area file was read.
    AreaImported(Result<(String, SurveyArea), String>),
    /// A file of no-fly zones was read: its name and every polygon in it.
    NoFlyImported(Result<(String, Vec<SurveyArea>), String>),
    /// A mission file (QGroundControl `.plan`, `QGC WPL 110`) was read for the Plan view.
    MissionImported(Result<crate::gui::planning::MissionImport, String>),
    /// A plan file was written.
    Exported(Result<PathBuf, String>),
    /// A telemetry log was read for replay.
    TlogLoaded(Result<(String, aviary_links::mav::ReplayLog), String>),
    /// A report was written.
    ReportWritten(Result<PathBuf, String>),
    /// The organisation report was written: its files.
    OrgReportWritten(Result<Vec<PathBuf>, String>),
    /// A DEM file was read for a use (Settings → Terrain, the Plan view), or why not.
    DemLoaded {
        /// What it was loaded for.
        used_for: super::state::DemUse,
        /// The file.
        path: PathBuf,
        /// The elevation source, or why the file cannot be used (naming it).
        result: Result<aviary_links::mav::TerrainSource, String>,
    },
    /// The user closed a file dialog without choosing.
    Cancelled,
}

/// Progress of a running job, 0..=1, shared with its thread.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<AtomicU32>);

impl Progress {
    /// Sets the fraction done.
    pub fn set(&self, fraction: f32) {
        self.0
            .store(fraction.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
    }

    /// Fraction done (`None` while nothing was reported).
    pub fn get(&self) -> Option<f32> {
        let bits = self.0.load(Ordering::Relaxed);
        (bits != 0).then(|| f32::from_bits(bits))
    }
}

/// How jobs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobMode {
    /// On their own named threads (the app).
    Threads,
    /// On the caller's thread, before `spawn` returns (tests: deterministic, no waiting).
    Inline,
}

struct Running {
    id: u64,
    title: String,
    progress: Progress,
}

/// The job runner.
pub struct Jobs {
    mode: JobMode,
    tx: SyncSender<(u64, JobOutput)>,
    rx: Receiver<(u64, JobOutput)>,
    next_id: u64,
    running: Vec<Running>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("mode", &self.mode)
            .field("running", &self.running.len())
            .finish_non_exhaustive()
    }
}

impl Jobs {
    /// A runner that calls `wake` whenever a job finishes.
    pub fn new(mode: JobMode, wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        let (tx, rx) = sync_channel(RESULTS_CAPACITY);
        Self {
            mode,
            tx,
            rx,
            next_id: 1,
            running: Vec::new(),
            wake,
        }
    }

    /// Starts `work`; returns the job id.
    pub fn spawn(
        &mut self,
        title: impl Into<String>,
        work: impl FnOnce(&Progress) -> JobOutput + Send + 'static,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let progress = Progress::default();
        let title = title.into();
        self.running.push(Running {
            id,
            title: title.clone(),
            progress: progress.clone(),
        });
        let tx = self.tx.clone();
        let wake = Arc::clone(&self.wake);
        let run = move || {
            let out = work(&progress);
            // The receiver lives as long as the app; a send error means the app is closing.
            let _ = tx.send((id, out));
            wake();
        };
        match self.mode {
            JobMode::Inline => run(),
            JobMode::Threads => {
                let spawned = std::thread::Builder::new()
                    .name(format!("aviary-job-{id}"))
                    .spawn(run);
                if let Err(e) = spawned {
                    tracing::error!(job = %title, error = %e, "cannot start job thread");
                    self.running.retain(|r| r.id != id);
                }
            }
        }
        id
    }

    /// Takes one finished job's output, if any.
    pub fn try_recv(&mut self) -> Option<(u64, JobOutput)> {
        match self.rx.try_recv() {
            Ok((id, out)) => {
                self.running.retain(|r| r.id != id);
                Some((id, out))
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
        }
    }

    /// Running jobs with their progress, for the status bar.
    pub fn views(&self) -> Vec<JobView> {
        self.running
            .iter()
            .map(|r| JobView {
                id: r.id,
                title: r.title.clone(),
                progress: r.progress.get(),
            })
            .collect()
    }

    /// Whether a job with this title is running.
    pub fn is_running(&self, title: &str) -> bool {
        self.running.iter().any(|r| r.title == title)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threaded_job_reports_result_and_wakes() {
        let woken = Arc::new(AtomicU32::new(0));
        let w = Arc::clone(&woken);
        let mut jobs = Jobs::new(
            JobMode::Threads,
            Arc::new(move || {
                w.fetch_add(1, Ordering::SeqCst);
            }),
        );
        let id = jobs.spawn("export", |p| {
            p.set(0.5);
            JobOutput::Exported(Ok(PathBuf::from("x.plan")))
        });
        assert_eq!(jobs.views().len(), 1);
        // Blocking receive on the real channel: the job thread always sends.
        let (got, out) = jobs.rx.recv().expect("job result");
        assert_eq!(got, id);
        assert!(matches!(out, JobOutput::Exported(Ok(_))));
        let t = std::time::Instant::now();
        while woken.load(Ordering::SeqCst) == 0 && t.elapsed() < std::time::Duration::from_secs(5) {
            std::thread::yield_now();
        }
        assert_eq!(woken.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn inline_job_is_done_before_spawn_returns() {
        let mut jobs = Jobs::new(JobMode::Inline, Arc::new(|| {}));
        jobs.spawn("plan", |_| JobOutput::Cancelled);
        assert!(matches!(jobs.try_recv(), Some((1, JobOutput::Cancelled))));
        assert!(jobs.views().is_empty());
    }
}
