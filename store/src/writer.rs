//! The background telemetry writer: a named thread that owns its own connection
//! (`synchronous=NORMAL`), fed by a channel bounded by a count of samples, writing batched
//! transactions (larger ones under a fleet's load: see [`StoreOptions::telemetry_linger`]).

use super::thin::Thinner;
use super::{StoreError, StoreOptions};
use aviary_core::clock::Clock;
use aviary_core::model::TelemetrySample;
use rusqlite::{Connection, params};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

enum Msg {
    Sample(TelemetrySample),
    /// Samples handed over together ([`TelemetryWriter::submit_batch`]): one wake-up of the
    /// writer for a whole pass of the app.
    Samples(Vec<TelemetrySample>),
    SetRetention(chrono::Duration),
    Flush(SyncSender<Result<(), String>>),
    Retention(SyncSender<Result<usize, String>>),
    Shutdown,
}

/// Counters of what the writer did; read them to show telemetry loss to the operator.
#[derive(Debug, Default)]
struct Counters {
    /// Samples in the queue, not yet taken by the writer (the queue's bound is in samples,
    /// whether they came one by one or in batches).
    queued: AtomicUsize,
    written: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_disk_full: AtomicU64,
    dropped_error: AtomicU64,
    retention_deleted: AtomicU64,
    thinned: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A snapshot of the writer's counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TelemetryStats {
    /// Samples committed to disk.
    pub written: u64,
    /// Samples dropped because the queue was full (the writer could not keep up).
    pub dropped_queue_full: u64,
    /// Samples dropped because the disk or the size limit was full.
    pub dropped_disk_full: u64,
    /// Samples dropped because of another write error (see `last_error`).
    pub dropped_error: u64,
    /// Samples deleted by retention.
    pub retention_deleted: u64,
    /// Samples not stored on purpose: the drone was on the ground and nothing had changed
    /// since the sample kept less than the grounded interval before (not a loss).
    pub thinned: u64,
    /// The most recent write error, with the file's path.
    pub last_error: Option<String>,
}

impl TelemetryStats {
    /// All samples lost, whatever the reason.
    pub const fn lost(&self) -> u64 {
        self.dropped_queue_full + self.dropped_disk_full + self.dropped_error
    }
}

/// Handle to the telemetry writer thread. Dropping it flushes and stops the thread.
pub struct TelemetryWriter {
    tx: Sender<Msg>,
    /// Most samples queued at once.
    capacity: usize,
    counters: Arc<Counters>,
    thread: Option<std::thread::JoinHandle<()>>,
    path: PathBuf,
}

impl std::fmt::Debug for TelemetryWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryWriter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl TelemetryWriter {
    pub(super) fn spawn(
        conn: Connection,
        path: PathBuf,
        clock: Arc<dyn Clock>,
        options: &StoreOptions,
    ) -> Result<Self, StoreError> {
        // The queue's bound is in samples, kept by `Counters::queued`; the channel itself holds
        // only what is queued. A `sync_channel` of that bound allocates and initialises all
        // its slots at once: 7 MiB of resident memory in the 12-drone window at 65,536 slots,
        // about 13 at 131,072, for a queue that is nearly always empty.
        let (tx, rx) = channel();
        let counters = Arc::new(Counters::default());
        let worker = Worker {
            conn,
            path: path.clone(),
            clock,
            counters: Arc::clone(&counters),
            batch_max: options.telemetry_batch_max.max(1),
            linger: options.telemetry_linger,
            retention: options.telemetry_retention,
            retention_interval: options.retention_interval,
            last_retention: None,
            thinner: Thinner::new(options.grounded_sample_interval),
        };
        let thread = std::thread::Builder::new()
            .name("aviary-telemetry-writer".into())
            .spawn(move || worker.run(&rx))
            .map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
        Ok(Self {
            tx,
            capacity: options.telemetry_queue_capacity.max(1),
            counters,
            thread: Some(thread),
            path,
        })
    }

    /// Queues a sample. Never blocks: when the queue is full the sample is dropped, counted,
    /// and `false` is returned.
    pub fn submit(&self, sample: TelemetrySample) -> bool {
        self.enqueue(1, || Msg::Sample(sample))
    }

    /// Queues samples together: one message and at most one wake-up of the writer for all
    /// of them (the app hands over a whole pass's samples so). Never blocks: when they do
    /// not all fit in the queue, none is queued; all are dropped, counted, and `false` is
    /// returned.
    pub fn submit_batch(&self, samples: Vec<TelemetrySample>) -> bool {
        match samples.len() {
            0 => true,
            n => self.enqueue(n, || Msg::Samples(samples)),
        }
    }

    /// Reserves room for `n` samples in the queue, then sends `msg()`; drops and counts them
    /// when the queue is full or the writer stopped.
    fn enqueue(&self, n: usize, msg: impl FnOnce() -> Msg) -> bool {
        let queued = &self.counters.queued;
        let before = queued.fetch_add(n, Ordering::AcqRel);
        let sent = before + n <= self.capacity && self.tx.send(msg()).is_ok();
        if !sent {
            queued.fetch_sub(n, Ordering::AcqRel);
            self.counters
                .dropped_queue_full
                .fetch_add(n as u64, Ordering::Relaxed);
        }
        sent
    }

    /// Waits until every sample queued before this call is committed (or dropped).
    /// Returns the last write error, if the final batch failed.
    pub fn flush(&self) -> Result<(), StoreError> {
        let (ack_tx, ack_rx) = sync_channel(1);
        self.tx
            .send(Msg::Flush(ack_tx))
            .map_err(|_| self.stopped())?;
        match ack_rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(detail)) if detail.contains("full") => Err(StoreError::DiskFull {
                path: self.path.clone(),
            }),
            Ok(Err(detail)) => Err(StoreError::Decode {
                path: self.path.clone(),
                what: "telemetry batch",
                detail,
            }),
            Err(_) => Err(self.stopped()),
        }
    }

    /// Runs retention now (it also runs in the background every `retention_interval`);
    /// returns how many samples were deleted (alerts older than the cutoff go too, uncounted).
    pub fn run_retention(&self) -> Result<usize, StoreError> {
        let (ack_tx, ack_rx) = sync_channel(1);
        self.tx
            .send(Msg::Retention(ack_tx))
            .map_err(|_| self.stopped())?;
        match ack_rx.recv() {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(detail)) => Err(StoreError::Decode {
                path: self.path.clone(),
                what: "retention",
                detail,
            }),
            Err(_) => Err(self.stopped()),
        }
    }

    /// Keeps telemetry for `retention` from now on; older samples go at the writer's next
    /// retention run, which this call makes due.
    pub fn set_retention(&self, retention: chrono::Duration) -> Result<(), StoreError> {
        self.tx
            .send(Msg::SetRetention(retention))
            .map_err(|_| self.stopped())
    }

    /// Current counters.
    pub fn stats(&self) -> TelemetryStats {
        let c = &self.counters;
        TelemetryStats {
            written: c.written.load(Ordering::Relaxed),
            dropped_queue_full: c.dropped_queue_full.load(Ordering::Relaxed),
            dropped_disk_full: c.dropped_disk_full.load(Ordering::Relaxed),
            dropped_error: c.dropped_error.load(Ordering::Relaxed),
            retention_deleted: c.retention_deleted.load(Ordering::Relaxed),
            thinned: c.thinned.load(Ordering::Relaxed),
            last_error: c.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    fn stopped(&self) -> StoreError {
        StoreError::WriterStopped {
            path: self.path.clone(),
        }
    }
}

impl Drop for TelemetryWriter {
    fn drop(&mut self) {
        // The thread drains what is queued before it sees Shutdown.
        let _sent = self.tx.send(Msg::Shutdown);
        if let Some(t) = self.thread.take() {
            let _joined = t.join();
        }
    }
}

/// A batch this large, taken from the queue without waiting, means a fleet's load: the
/// writer then waits up to [`StoreOptions::telemetry_linger`] for more before it commits. A
/// few drones' batches (12 drones at 10 Hz: about a dozen samples) are written at once.
const LINGER_FROM_SAMPLES: usize = 1_024;

/// What one round of the writer took besides samples.
#[derive(Default)]
struct Round {
    /// Flushes and retention runs to answer once the batch is written.
    acks: Vec<Msg>,
    /// The writer stops after this batch.
    shutdown: bool,
}

impl Round {
    /// The batch is written now: someone waits for it, or the writer stops.
    fn ends_now(&self) -> bool {
        self.shutdown || !self.acks.is_empty()
    }
}

struct Worker {
    conn: Connection,
    path: PathBuf,
    clock: Arc<dyn Clock>,
    counters: Arc<Counters>,
    batch_max: usize,
    linger: Duration,
    retention: chrono::Duration,
    retention_interval: chrono::Duration,
    last_retention: Option<chrono::DateTime<chrono::Utc>>,
    thinner: Thinner,
}

impl Worker {
    fn run(mut self, rx: &Receiver<Msg>) {
        // Retention first runs as the writer starts, before any message is answered: run
        // after the first batch's acknowledgement, it raced a caller that flushed and then
        // moved its clock on (the first run then saw the later time).
        self.maybe_retention();
        // Grown as a fleet's load needs: a few drones' batches stay small.
        let mut batch: Vec<TelemetrySample> = Vec::with_capacity(self.batch_max.min(1_024));
        loop {
            let first = match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    self.maybe_retention();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let mut round = Round::default();
            self.accept(first, &mut batch, &mut round);
            self.gather(rx, &mut batch, &mut round);
            // Under a fleet's load, wait a little for more: each commit writes every page it
            // touched, and a batch of one sample per drone touches one page per drone.
            if batch.len() >= LINGER_FROM_SAMPLES && !round.ends_now() {
                let deadline = Instant::now() + self.linger;
                while batch.len() < self.batch_max && !round.ends_now() {
                    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                        Ok(msg) => {
                            self.accept(msg, &mut batch, &mut round);
                            self.gather(rx, &mut batch, &mut round);
                        }
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => round.shutdown = true,
                    }
                }
            }
            let Round { acks, shutdown } = round;
            let result = self.write_batch(&batch);
            batch.clear();
            for ack in acks {
                match ack {
                    Msg::Flush(tx) => {
                        let _ = tx.send(result.clone());
                    }
                    Msg::Retention(tx) => {
                        let _ = tx.send(self.retention_now());
                    }
                    Msg::Sample(_) | Msg::Samples(_) | Msg::SetRetention(_) | Msg::Shutdown => {}
                }
            }
            if shutdown {
                return;
            }
            self.maybe_retention();
        }
    }

    /// Takes one message: samples into the batch, settings applied, answers kept for after
    /// the batch is written.
    fn accept(&mut self, msg: Msg, batch: &mut Vec<TelemetrySample>, round: &mut Round) {
        match msg {
            Msg::Sample(s) => {
                self.counters.queued.fetch_sub(1, Ordering::AcqRel);
                self.take(s, batch);
            }
            Msg::Samples(samples) => {
                self.counters
                    .queued
                    .fetch_sub(samples.len(), Ordering::AcqRel);
                for s in samples {
                    self.take(s, batch);
                }
            }
            Msg::SetRetention(d) => {
                // Applied at once: the next retention run uses it.
                self.retention = d;
                self.last_retention = None;
            }
            Msg::Shutdown => round.shutdown = true,
            other => round.acks.push(other),
        }
    }

    /// Takes what is already queued, without waiting, up to a batch.
    fn gather(&mut self, rx: &Receiver<Msg>, batch: &mut Vec<TelemetrySample>, round: &mut Round) {
        while batch.len() < self.batch_max && !round.shutdown {
            match rx.try_recv() {
                Ok(msg) => self.accept(msg, batch, round),
                Err(_) => break,
            }
        }
    }

    /// A sample into the batch, unless the storage rule leaves it out (counted).
    fn take(&mut self, sample: TelemetrySample, batch: &mut Vec<TelemetrySample>) {
        if self.thinner.keep(&sample) {
            batch.push(sample);
        } else {
            self.counters.thinned.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn write_batch(&mut self, batch: &[TelemetrySample]) -> Result<(), String> {
        if batch.is_empty() {
            return Ok(());
        }
        let n = batch.len() as u64;
        match self.insert(batch) {
            Ok(()) => {
                self.counters.written.fetch_add(n, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                let e = StoreError::from_sqlite(&self.path, e);
                let counter = if e.is_disk_full() {
                    &self.counters.dropped_disk_full
                } else {
                    &self.counters.dropped_error
                };
                counter.fetch_add(n, Ordering::Relaxed);
                let msg = e.to_string();
                if let Ok(mut last) = self.counters.last_error.lock() {
                    *last = Some(msg.clone());
                }
                Err(msg)
            }
        }
    }

    fn insert(&mut self, batch: &[TelemetrySample]) -> rusqlite::Result<()> {
        // Immediate: the write lock is taken (waiting up to the busy timeout) before the
        // snapshot, so a commit by the main connection in between cannot fail the batch with
        // SQLITE_BUSY at once (WAL refuses to upgrade a stale read snapshot to a write).
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO telemetry (drone_id, time_us, mission_id, lat_deg, lon_deg, alt_rel_m,
                 speed_mps, heading_deg, battery_pct, signal_pct, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for s in batch {
                stmt.execute(params![
                    s.drone_id.0,
                    s.time.timestamp_micros(),
                    s.mission_id.map(|m| m.0),
                    s.pos.lat_deg,
                    s.pos.lon_deg,
                    s.alt_rel_m,
                    s.speed_mps,
                    s.heading_deg,
                    s.battery_pct,
                    s.signal_pct,
                    s.status.as_str(),
                ])?;
            }
        }
        tx.commit()
    }

    fn maybe_retention(&mut self) {
        let now = self.clock.now();
        let due = self
            .last_retention
            .is_none_or(|t| now - t >= self.retention_interval);
        if due {
            let _ = self.retention_now();
        }
    }

    /// Deletes samples older than `cutoff_us`, one drone at a time on the primary key: each
    /// step is a seek to the next drone id and a range delete, so no time-only index is needed.
    /// Alerts raised before the cutoff go in the same transaction.
    fn delete_older_than(&mut self, cutoff_us: i64) -> rusqlite::Result<usize> {
        // Immediate: the write lock is taken (waiting up to the busy timeout) before the
        // snapshot, so a commit by the main connection in between cannot fail the batch with
        // SQLITE_BUSY at once (WAL refuses to upgrade a stale read snapshot to a write).
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut deleted = 0;
        {
            let mut first = tx.prepare_cached("SELECT min(drone_id) FROM telemetry")?;
            let mut next =
                tx.prepare_cached("SELECT min(drone_id) FROM telemetry WHERE drone_id > ?1")?;
            let mut delete =
                tx.prepare_cached("DELETE FROM telemetry WHERE drone_id = ?1 AND time_us < ?2")?;
            let mut drone: Option<Vec<u8>> = first.query_row([], |r| r.get(0))?;
            while let Some(id) = drone {
                deleted += delete.execute(rusqlite::params![id, cutoff_us])?;
                drone = next.query_row([&id], |r| r.get(0))?;
            }
            // The operator's alerts follow the telemetry they were raised beside (schema v8);
            // they are not counted as samples.
            tx.prepare_cached("DELETE FROM alerts WHERE raised_at < ?1")?
                .execute([cutoff_us])?;
        }
        tx.commit()?;
        Ok(deleted)
    }

    fn retention_now(&mut self) -> Result<usize, String> {
        let now = self.clock.now();
        self.last_retention = Some(now);
        let cutoff = (now - self.retention).timestamp_micros();
        match self.delete_older_than(cutoff) {
            Ok(n) => {
                self.counters
                    .retention_deleted
                    .fetch_add(n as u64, Ordering::Relaxed);
                Ok(n)
            }
            Err(e) => {
                let msg = StoreError::from_sqlite(&self.path, e).to_string();
                if let Ok(mut last) = self.counters.last_error.lock() {
                    *last = Some(msg.clone());
                }
                Err(msg)
            }
        }
    }
}
