//! The map's tile loader on the `aviary-tiles` thread: stored sets and the cache first, then
//! the network (written through to the cache).

use super::disk::{TileStore, lookup_in};
use super::http::{ClientOptions, TileClient};
use super::source::{TileId, TileSource};
use super::{TileError, Waker};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use tokio::sync::mpsc;

/// Where a loaded tile came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileOrigin {
    /// A stored set (offline map).
    StoredSet,
    /// The cache of tiles fetched before.
    Cache,
    /// The tile server, just now.
    Network,
}

/// What the layer reports.
#[derive(Debug, Clone, PartialEq)]
pub enum TileEvent {
    /// A tile's image bytes (PNG or JPEG, as the server sent them).
    Loaded {
        /// The tile.
        id: TileId,
        /// Encoded image.
        bytes: Vec<u8>,
        /// Where from.
        origin: TileOrigin,
    },
    /// No copy on disk and the server did not give it.
    Failed {
        /// The tile.
        id: TileId,
        /// Why.
        error: TileError,
    },
}

/// Layer settings.
#[derive(Debug, Clone)]
pub struct TileLayerConfig {
    /// The tile folder.
    pub store: TileStore,
    /// Where tiles come from.
    pub source: TileSource,
    /// HTTP settings.
    pub client: ClientOptions,
    /// Tiles loading at once.
    pub max_in_flight: usize,
    /// Capacity of the request channel.
    pub request_capacity: usize,
    /// Capacity of the event channel (the loader waits for room).
    pub event_capacity: usize,
}

impl TileLayerConfig {
    /// Defaults for `source` over `store`.
    pub fn new(store: TileStore, source: TileSource) -> Self {
        Self {
            store,
            source,
            client: ClientOptions::default(),
            max_in_flight: 6,
            request_capacity: 256,
            event_capacity: 64,
        }
    }
}

enum Request {
    Tile(TileId),
    Refresh,
}

/// The running loader. Dropping it stops the thread.
#[derive(Debug)]
pub struct TileLayer {
    requests: mpsc::Sender<Request>,
    events: std_mpsc::Receiver<TileEvent>,
    source: TileSource,
}

impl TileLayer {
    /// Starts the loader on the `aviary-tiles` thread.
    pub fn spawn(config: TileLayerConfig, waker: Waker) -> Result<Self, TileError> {
        config.source.validate()?;
        let client = TileClient::new(&config.client)?;
        let (requests, rx) = mpsc::channel(config.request_capacity.max(1));
        let (tx, events) = std_mpsc::sync_channel(config.event_capacity.max(1));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("aviary-tiles-worker")
            .enable_all()
            .build()
            .map_err(|e| TileError::Service(format!("cannot start the tile runtime: {e}")))?;
        let source = config.source.clone();
        let worker = Worker {
            store: config.store,
            source: config.source,
            client,
            max_in_flight: config.max_in_flight.max(1),
            tx,
            waker,
        };
        std::thread::Builder::new()
            .name("aviary-tiles".into())
            .spawn(move || {
                let main = runtime.spawn(worker.run(rx));
                let _ = runtime.block_on(main);
                runtime.shutdown_background();
            })
            .map_err(|e| TileError::Service(format!("cannot start the tile thread: {e}")))?;
        Ok(Self {
            requests,
            events,
            source,
        })
    }

    /// The source this layer loads.
    pub fn source(&self) -> &TileSource {
        &self.source
    }

    /// Asks for a tile; its [`TileEvent`] follows. `Err(Busy)` when the queue is full.
    pub fn request(&self, id: TileId) -> Result<(), TileError> {
        self.requests
            .try_send(Request::Tile(id))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => TileError::Busy,
                mpsc::error::TrySendError::Closed(_) => {
                    TileError::Service("the tile loader has stopped".into())
                }
            })
    }

    /// Re-reads the list of stored sets (after a download or a delete).
    pub fn refresh(&self) -> Result<(), TileError> {
        self.requests
            .try_send(Request::Refresh)
            .map_err(|_| TileError::Busy)
    }

    /// The next event, if one is waiting.
    pub fn try_recv(&self) -> Option<TileEvent> {
        self.events.try_recv().ok()
    }

    /// The next event, waiting up to `timeout`.
    pub fn recv_timeout(&self, timeout: std::time::Duration) -> Option<TileEvent> {
        self.events.recv_timeout(timeout).ok()
    }
}

struct Worker {
    store: TileStore,
    source: TileSource,
    client: TileClient,
    max_in_flight: usize,
    tx: std_mpsc::SyncSender<TileEvent>,
    waker: Waker,
}

impl Worker {
    async fn run(self, mut rx: mpsc::Receiver<Request>) {
        let mut dirs = self.read_dirs().await;
        let mut tasks = tokio::task::JoinSet::new();
        let mut in_flight: HashSet<TileId> = HashSet::new();
        loop {
            tokio::select! {
                req = rx.recv(), if tasks.len() < self.max_in_flight => match req {
                    None => break,
                    Some(Request::Refresh) => dirs = self.read_dirs().await,
                    Some(Request::Tile(id)) => {
                        if in_flight.insert(id) {
                            tasks.spawn(load(
                                id,
                                dirs.clone(),
                                self.store.clone(),
                                self.source.clone(),
                                self.client.clone(),
                            ));
                        }
                    }
                },
                Some(done) = tasks.join_next() => {
                    let Ok(event) = done else { continue };
                    let id = match &event {
                        TileEvent::Loaded { id, .. } | TileEvent::Failed { id, .. } => *id,
                    };
                    in_flight.remove(&id);
                    // Wait for room rather than lose a tile the map is waiting for.
                    let tx = &self.tx;
                    if tokio::task::block_in_place(|| tx.send(event)).is_err() {
                        break;
                    }
                    (self.waker)();
                }
            }
        }
    }

    async fn read_dirs(&self) -> Vec<PathBuf> {
        let store = self.store.clone();
        let source = self.source.clone();
        tokio::task::spawn_blocking(move || store.read_dirs(&source))
            .await
            .unwrap_or_default()
    }
}

async fn load(
    id: TileId,
    dirs: Vec<PathBuf>,
    store: TileStore,
    source: TileSource,
    client: TileClient,
) -> TileEvent {
    let cache = store.cache_dir(&source);
    let found = tokio::task::spawn_blocking(move || {
        dirs.iter()
            .find_map(|d| lookup_in(std::slice::from_ref(d), id).map(|bytes| (bytes, *d == cache)))
    })
    .await
    .ok()
    .flatten();
    if let Some((bytes, from_cache)) = found {
        let origin = if from_cache {
            TileOrigin::Cache
        } else {
            TileOrigin::StoredSet
        };
        return TileEvent::Loaded { id, bytes, origin };
    }
    match client.fetch(&source, id).await {
        Ok(bytes) => {
            let copy = bytes.clone();
            let written =
                tokio::task::spawn_blocking(move || store.put_cached(&source, id, &copy)).await;
            if let Ok(Err(e)) = written {
                tracing::warn!(error = %e, "tile not cached");
            }
            TileEvent::Loaded {
                id,
                bytes,
                origin: TileOrigin::Network,
            }
        }
        Err(error) => TileEvent::Failed { id, error },
    }
}
