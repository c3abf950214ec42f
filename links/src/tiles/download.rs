//! Downloading an area into a stored set, on the `aviary-tile-download` thread.

use super::area::{DEFAULT_MAX_TILES, TileArea};
use super::disk::{SetManifest, TileStore, write_atomic};
use super::http::{ClientOptions, TileClient};
use super::source::{TileId, TileSource};
use super::{TileError, Waker};
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use tokio::sync::watch;

/// What to download.
#[derive(Debug, Clone)]
pub struct DownloadRequest {
    /// The set's name (its folder is made from it).
    pub name: String,
    /// Where from.
    pub source: TileSource,
    /// The area and zooms.
    pub area: TileArea,
    /// The time written into the manifest (injected: the caller's clock).
    pub created: DateTime<Utc>,
}

/// How to download.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Refuse areas with more tiles than this.
    pub max_tiles: u64,
    /// Requests in flight at once (tile servers ask for few: OSM allows 2).
    pub concurrency: usize,
    /// Capacity of the event channel; progress events are dropped when it is full (the next
    /// one carries the totals), the final event is not.
    pub event_capacity: usize,
    /// HTTP settings.
    pub client: ClientOptions,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            max_tiles: DEFAULT_MAX_TILES,
            concurrency: 2,
            event_capacity: 64,
            client: ClientOptions::default(),
        }
    }
}

/// What a download reports.
#[derive(Debug, Clone, PartialEq)]
pub enum DownloadEvent {
    /// Tiles so far.
    Progress {
        /// Tiles stored.
        done: u64,
        /// Tiles the server refused (HTTP errors), skipped.
        failed: u64,
        /// Tiles in the area.
        total: u64,
        /// Bytes stored.
        bytes: u64,
    },
    /// The set is stored; its manifest.
    Finished(SetManifest),
    /// Cancelled; nothing is kept.
    Cancelled {
        /// Tiles stored before the cancel (now deleted).
        done: u64,
        /// Tiles in the area.
        total: u64,
    },
    /// Stopped by an error (no network, TLS, disk); nothing is kept.
    Failed(TileError),
}

impl DownloadEvent {
    /// Whether this is the last event of the download.
    pub fn is_final(&self) -> bool {
        !matches!(self, Self::Progress { .. })
    }
}

/// A running download. Dropping it cancels the download.
#[derive(Debug)]
pub struct Download {
    cancel: watch::Sender<bool>,
    events: std_mpsc::Receiver<DownloadEvent>,
    total: u64,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Download {
    /// Checks the request (valid source, zooms the source serves, at most `max_tiles` tiles, a
    /// new set name) and starts fetching on the `aviary-tile-download` thread.
    pub fn start(
        store: &TileStore,
        request: DownloadRequest,
        options: &DownloadOptions,
        waker: Waker,
    ) -> Result<Self, TileError> {
        request.source.validate()?;
        if request.area.zoom_max > request.source.max_zoom {
            return Err(TileError::BadArea(format!(
                "{} serves zooms up to {}, not {}",
                request.source.name, request.source.max_zoom, request.area.zoom_max
            )));
        }
        let tiles = request.area.tiles(options.max_tiles)?;
        let dir = store.set_dir(&request.name)?;
        if dir.exists() {
            return Err(TileError::SetExists(request.name));
        }
        std::fs::create_dir_all(&dir).map_err(|e| TileError::disk(&dir, &e))?;
        let client = TileClient::new(&options.client)?;
        let total = tiles.len() as u64;
        let (cancel, cancel_rx) = watch::channel(false);
        let (tx, events) = std_mpsc::sync_channel(options.event_capacity.max(2));
        let job = Job {
            request,
            tiles,
            dir: dir.clone(),
            client,
            concurrency: options.concurrency.max(1),
            tx,
            waker,
        };
        let thread = std::thread::Builder::new()
            .name("aviary-tile-download".into())
            .spawn(move || job.run(cancel_rx))
            .map_err(|e| {
                let _ = std::fs::remove_dir_all(&dir);
                TileError::Service(format!("cannot start the download thread: {e}"))
            })?;
        Ok(Self {
            cancel,
            events,
            total,
            thread: Some(thread),
        })
    }

    /// Tiles in the area.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Asks the download to stop; a [`DownloadEvent::Cancelled`] follows.
    pub fn cancel(&self) {
        let _ = self.cancel.send(true);
    }

    /// The next event, if one is waiting.
    pub fn try_recv(&self) -> Option<DownloadEvent> {
        self.events.try_recv().ok()
    }

    /// The next event, waiting up to `timeout`.
    pub fn recv_timeout(&self, timeout: std::time::Duration) -> Option<DownloadEvent> {
        self.events.recv_timeout(timeout).ok()
    }
}

impl Drop for Download {
    fn drop(&mut self) {
        let _ = self.cancel.send(true);
        // Drain so a blocked final send returns, then let the thread finish on its own.
        while self.events.try_recv().is_ok() {}
        drop(self.thread.take());
    }
}

struct Job {
    request: DownloadRequest,
    tiles: Vec<TileId>,
    dir: PathBuf,
    client: TileClient,
    concurrency: usize,
    tx: std_mpsc::SyncSender<DownloadEvent>,
    waker: Waker,
}

impl Job {
    fn run(self, cancel_rx: watch::Receiver<bool>) {
        let last = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(self.fetch_all(cancel_rx)),
            Err(e) => DownloadEvent::Failed(TileError::Service(format!(
                "cannot start the download runtime: {e}"
            ))),
        };
        if !matches!(last, DownloadEvent::Finished(_)) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        // The final event waits for room: the app must see how it ended.
        let _ = self.tx.send(last);
        (self.waker)();
    }

    async fn fetch_all(&self, mut cancel_rx: watch::Receiver<bool>) -> DownloadEvent {
        let total = self.tiles.len() as u64;
        let (mut done, mut failed, mut bytes) = (0u64, 0u64, 0u64);
        let mut last_http_error = None;
        let source = &self.request.source;
        let mut results = futures_util::stream::iter(self.tiles.iter().copied())
            .map(|id| {
                let client = self.client.clone();
                async move { (id, client.fetch(source, id).await) }
            })
            .buffer_unordered(self.concurrency);
        loop {
            let next = tokio::select! {
                biased;
                _ = cancel_rx.wait_for(|c| *c) => return DownloadEvent::Cancelled { done, total },
                next = results.next() => next,
            };
            match next {
                None => break,
                Some((id, Ok(tile))) => {
                    let path = TileStore::tile_path(&self.dir, id);
                    if let Err(e) = write_atomic(&path, &tile) {
                        return DownloadEvent::Failed(e);
                    }
                    done += 1;
                    bytes += tile.len() as u64;
                }
                Some((_, Err(e @ TileError::Http { .. }))) => {
                    failed += 1;
                    last_http_error = Some(e);
                }
                Some((_, Err(e))) => return DownloadEvent::Failed(e),
            }
            // Progress may be dropped when the app lags: the next one carries the totals.
            if self
                .tx
                .try_send(DownloadEvent::Progress {
                    done,
                    failed,
                    total,
                    bytes,
                })
                .is_ok()
            {
                (self.waker)();
            }
        }
        if done == 0
            && let Some(e) = last_http_error
        {
            return DownloadEvent::Failed(e);
        }
        let manifest = SetManifest {
            name: self.request.name.clone(),
            source: source.clone(),
            bbox: self.request.area.bbox,
            zoom_min: self.request.area.zoom_min,
            zoom_max: self.request.area.zoom_max,
            tile_count: done,
            bytes,
            failed_tiles: failed,
            created: self.request.created,
        };
        match TileStore::write_manifest(&self.dir, &manifest) {
            Ok(()) => DownloadEvent::Finished(manifest),
            Err(e) => DownloadEvent::Failed(e),
        }
    }
}
