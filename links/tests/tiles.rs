//! Map tiles against a local tile server the test starts (tokio `TcpListener`, PNG bytes,
//! counting requests): URL templates, the tile-count estimate and its cap, an area download
//! with progress and its manifest, cancel, the disk-first lookup with the server stopped, and
//! the error each failure gives.

use aviary_core::LatLon;
use aviary_links::tiles::{
    BoundingBox, ClientOptions, Download, DownloadEvent, DownloadOptions, DownloadRequest,
    SetManifest, TileArea, TileClient, TileError, TileEvent, TileId, TileLayer, TileLayerConfig,
    TileOrigin, TileSource, TileStore,
};
use chrono::{TimeZone, Utc};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

const WAIT: Duration = Duration::from_secs(20);

// --- a local tile server ------------------------------------------------------------------

/// Paths: `/ok/…` answers the PNG, `/status/<code>/…` answers that status, `/hold<n>/…`
/// answers the first `n` requests and holds every later one open without an answer. A TLS
/// hello gets a plain-text HTTP 400.
struct TileServer {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    paths: Arc<Mutex<Vec<String>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TileServer {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tiles-test-http")
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let (count, seen) = (Arc::clone(&requests), Arc::clone(&paths));
        runtime.spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (count, seen) = (Arc::clone(&count), Arc::clone(&seen));
                tokio::spawn(answer(conn, count, seen));
            }
        });
        Self {
            addr,
            requests,
            paths,
            runtime: Some(runtime),
        }
    }

    fn template(&self, route: &str) -> String {
        format!("http://{}/{route}/{{z}}/{{x}}/{{y}}.png", self.addr)
    }

    fn source(&self, route: &str) -> TileSource {
        TileSource::custom("Test tiles", &self.template(route), None, "© test").expect("source")
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Stops listening: later connections are refused.
    fn stop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

async fn answer(
    mut conn: tokio::net::TcpStream,
    count: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<String>>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        let Ok(n) = conn.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf[0] == 0x16 {
            let _ = conn
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
            return;
        }
        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let nth = count.fetch_add(1, Ordering::SeqCst) + 1;
    seen.lock().expect("lock").push(path.clone());
    let route = path.split('/').nth(1).unwrap_or("");
    let (status, body): (u16, &[u8]) = if route == "ok" {
        (200, PNG)
    } else if route == "status" {
        let code = path
            .split('/')
            .nth(2)
            .and_then(|c| c.parse().ok())
            .unwrap_or(500);
        (code, b"no tile")
    } else if let Some(n) = route.strip_prefix("hold") {
        let n: usize = n.parse().unwrap_or(0);
        if nth > n {
            // Hold the connection open, never answer.
            let _ = conn.read(&mut chunk).await;
            std::future::pending::<()>().await;
        }
        (200, PNG)
    } else {
        (404, b"unknown route")
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: image/png\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes()).await;
    let _ = conn.write_all(body).await;
    let _ = conn.shutdown().await;
}

fn waker() -> aviary_links::tiles::Waker {
    Arc::new(|| {})
}

fn berlin_area(zoom_min: u8, zoom_max: u8) -> TileArea {
    TileArea {
        bbox: BoundingBox::from_corners(LatLon::new(52.50, 13.38), LatLon::new(52.53, 13.43)),
        zoom_min,
        zoom_max,
    }
}

fn request(name: &str, source: TileSource, area: TileArea) -> DownloadRequest {
    DownloadRequest {
        name: name.into(),
        source,
        area,
        created: Utc
            .with_ymd_and_hms(2026, 12, 6, 12, 0, 0)
            .single()
            .expect("time"),
    }
}

fn quick_client() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    }
}

/// Events until the final one.
fn drain(download: &Download) -> (Vec<DownloadEvent>, DownloadEvent) {
    let mut progress = Vec::new();
    loop {
        let ev = download.recv_timeout(WAIT).expect("download event in time");
        if ev.is_final() {
            return (progress, ev);
        }
        progress.push(ev);
    }
}

// --- templates, estimate and cap ----------------------------------------------------------

#[test]
fn templates_expand_xyz_tms_subdomains_and_key() {
    let id = TileId { z: 3, x: 5, y: 1 };
    let osm = TileSource::openstreetmap();
    assert_eq!(osm.url(id), "https://tile.openstreetmap.org/3/5/1.png");
    assert_eq!(osm.attribution, "© OpenStreetMap contributors");

    // TMS: row counted from the south, 2^3 - 1 - 1 = 6.
    let tms = TileSource::custom("T", "http://h/tms/{z}/{x}/{-y}.png", None, "a").expect("tms");
    assert_eq!(tms.url(id), "http://h/tms/3/5/6.png");

    // {s}: a, b, c by default, chosen by tile so one tile always hits one host.
    let sub = TileSource::custom("S", "https://{s}.h/{z}/{x}/{y}.png", None, "a").expect("s");
    assert_eq!(sub.url(id), "https://a.h/3/5/1.png"); // (5 + 1) % 3 = 0
    assert_eq!(
        sub.url(TileId { z: 3, x: 5, y: 2 }),
        "https://b.h/3/5/2.png"
    );
    let named = TileSource {
        subdomains: vec!["t0".into(), "t1".into()],
        ..sub
    };
    assert_eq!(named.url(id), "https://t0.h/3/5/1.png");

    // {key}: in the URL fetched, hidden in what is shown.
    let keyed = TileSource::custom(
        "K",
        "https://h/{z}/{x}/{y}.png?key={key}",
        Some("s3cret".into()),
        "© K",
    )
    .expect("keyed");
    assert_eq!(keyed.url(id), "https://h/3/5/1.png?key=s3cret");
    assert_eq!(keyed.redacted_url(id), "https://h/3/5/1.png?key=***");
    let manifest_json = serde_json::to_string(&keyed).expect("json");
    assert!(!manifest_json.contains("s3cret"), "{manifest_json}");

    // Refused templates say why.
    for (template, key, why) in [
        ("ftp://h/{z}/{x}/{y}", None, "http"),
        ("https://h/{z}/{y}.png", None, "{x}"),
        ("https://h/{z}/{x}.png", None, "{-y}"),
        ("https://h/{z}/{x}/{y}?k={key}", None, "API key"),
    ] {
        let e = TileSource::custom("X", template, key, "a").expect_err(template);
        assert!(matches!(e, TileError::BadTemplate { .. }), "{e:?}");
        assert!(e.to_string().contains(why), "{e}");
    }
}

#[test]
fn estimate_counts_tiles_and_refuses_above_the_cap() {
    let area = berlin_area(10, 12);
    let estimate = area.estimate(15_000, 50_000).expect("estimate");
    let tiles = area.tiles(50_000).expect("tiles");
    assert_eq!(estimate.tiles, tiles.len() as u64);
    assert_eq!(estimate.per_zoom.len(), 3);
    assert_eq!(
        estimate.per_zoom.iter().map(|(_, n)| n).sum::<u64>(),
        estimate.tiles
    );
    assert_eq!(estimate.bytes, estimate.tiles * 15_000);
    assert!(tiles.iter().all(|t| (10..=12).contains(&t.z)));
    // Berlin centre at zoom 10 is tile 550/335.
    assert!(tiles.contains(&TileId {
        z: 10,
        x: 550,
        y: 335
    }));

    // A whole country at street zoom: refused, naming the count.
    let big = TileArea {
        bbox: BoundingBox::from_corners(LatLon::new(47.3, 5.9), LatLon::new(55.1, 15.0)),
        zoom_min: 0,
        zoom_max: 16,
    };
    let e = big.estimate(15_000, 50_000).expect_err("too many");
    let TileError::TooManyTiles { count, cap } = e.clone() else {
        panic!("{e:?}")
    };
    assert_eq!(cap, 50_000);
    assert!(count > 50_000);
    assert!(e.to_string().contains(&count.to_string()), "{e}");
    assert!(matches!(
        big.tiles(50_000),
        Err(TileError::TooManyTiles { .. })
    ));

    let inverted = TileArea {
        zoom_min: 5,
        zoom_max: 4,
        ..berlin_area(0, 0)
    };
    assert!(matches!(
        inverted.estimate(1, 10),
        Err(TileError::BadArea(_))
    ));
}

// --- download -----------------------------------------------------------------------------

#[test]
fn downloads_an_area_over_two_zooms_with_progress_and_a_manifest() {
    let server = TileServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = TileStore::new(dir.path());
    let area = berlin_area(13, 14);
    let expected = area.tiles(1000).expect("tiles");
    assert!(expected.len() > 4, "{}", expected.len());
    let options = DownloadOptions {
        client: quick_client(),
        ..DownloadOptions::default()
    };
    let download = Download::start(
        &store,
        request("Berlin centre", server.source("ok"), area),
        &options,
        waker(),
    )
    .expect("start");
    assert_eq!(download.total(), expected.len() as u64);
    let (progress, last) = drain(&download);
    let DownloadEvent::Finished(manifest) = last else {
        panic!("{last:?}")
    };
    // Progress counts up to the total (some may be dropped when the channel is full).
    assert!(!progress.is_empty());
    let mut previous = 0;
    for p in &progress {
        let DownloadEvent::Progress { done, total, .. } = p else {
            panic!("{p:?}")
        };
        assert!(*done >= previous);
        assert_eq!(*total, expected.len() as u64);
        previous = *done;
    }
    assert_eq!(server.requests(), expected.len());
    assert_eq!(manifest.name, "Berlin centre");
    assert_eq!(manifest.tile_count, expected.len() as u64);
    assert_eq!(manifest.bytes, (expected.len() * PNG.len()) as u64);
    assert_eq!((manifest.zoom_min, manifest.zoom_max), (13, 14));
    assert_eq!(manifest.bbox, area.bbox);
    assert_eq!(manifest.failed_tiles, 0);
    assert_eq!(manifest.source.template, server.template("ok"));

    // The manifest on disk says the same, and no temporary file is left.
    let set_dir = store.set_dir("Berlin centre").expect("dir");
    let on_disk: SetManifest = serde_json::from_slice(
        &std::fs::read(set_dir.join("manifest.json")).expect("manifest file"),
    )
    .expect("manifest json");
    assert_eq!(on_disk, manifest);
    assert!(!set_dir.join("manifest.json.tmp").exists());

    // Listed, sized, read back offline, deleted.
    let sets = store.list().expect("list");
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].manifest, manifest);
    let size = store.size_bytes("Berlin centre").expect("size");
    assert!(size >= manifest.bytes, "{size}");
    assert_eq!(
        store.lookup(&server.source("ok"), expected[0]).as_deref(),
        Some(PNG)
    );
    let again = Download::start(
        &store,
        request("Berlin centre", server.source("ok"), area),
        &options,
        waker(),
    )
    .expect_err("same name");
    assert!(matches!(again, TileError::SetExists(_)), "{again:?}");
    store.delete("Berlin centre").expect("delete");
    assert!(store.list().expect("list").is_empty());
    assert!(store.lookup(&server.source("ok"), expected[0]).is_none());
    assert!(matches!(
        store.delete("Berlin centre"),
        Err(TileError::NoSuchSet(_))
    ));
}

#[test]
fn a_download_above_the_cap_is_refused_before_any_request() {
    let server = TileServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = TileStore::new(dir.path());
    let options = DownloadOptions {
        max_tiles: 3,
        ..DownloadOptions::default()
    };
    let e = Download::start(
        &store,
        request("big", server.source("ok"), berlin_area(13, 14)),
        &options,
        waker(),
    )
    .expect_err("refused");
    assert!(matches!(e, TileError::TooManyTiles { cap: 3, .. }), "{e:?}");
    assert_eq!(server.requests(), 0);
    assert!(store.list().expect("list").is_empty());
}

#[test]
fn cancel_stops_a_download_mid_way_and_keeps_nothing() {
    let server = TileServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = TileStore::new(dir.path());
    let options = DownloadOptions {
        concurrency: 1,
        client: quick_client(),
        ..DownloadOptions::default()
    };
    // Three tiles come, the fourth request is held open.
    let download = Download::start(
        &store,
        request("held", server.source("hold3"), berlin_area(13, 14)),
        &options,
        waker(),
    )
    .expect("start");
    let total = download.total();
    assert!(total > 4);
    loop {
        match download.recv_timeout(WAIT).expect("progress") {
            DownloadEvent::Progress { done: 3, .. } => break,
            DownloadEvent::Progress { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    download.cancel();
    let (_, last) = drain(&download);
    assert_eq!(last, DownloadEvent::Cancelled { done: 3, total });
    // The fourth request was held (or not yet sent when the cancel came); no fifth.
    assert!(
        (3..=4).contains(&server.requests()),
        "{}",
        server.requests()
    );
    assert!(store.list().expect("list").is_empty());
    assert!(!store.set_dir("held").expect("dir").exists());
}

#[test]
fn a_download_the_server_refuses_fails_with_the_status() {
    let server = TileServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = TileStore::new(dir.path());
    let download = Download::start(
        &store,
        request("missing", server.source("status/404"), berlin_area(13, 13)),
        &DownloadOptions::default(),
        waker(),
    )
    .expect("start");
    let (_, last) = drain(&download);
    assert!(
        matches!(
            last,
            DownloadEvent::Failed(TileError::Http { status: 404, .. })
        ),
        "{last:?}"
    );
    assert!(store.list().expect("list").is_empty());
}

// --- the map's layer: disk first ----------------------------------------------------------

fn layer(store: &TileStore, source: TileSource) -> TileLayer {
    let config = TileLayerConfig {
        client: quick_client(),
        ..TileLayerConfig::new(store.clone(), source)
    };
    TileLayer::spawn(config, waker()).expect("layer")
}

fn load(layer: &TileLayer, id: TileId) -> TileEvent {
    layer.request(id).expect("request");
    layer.recv_timeout(WAIT).expect("tile event in time")
}

#[test]
fn tiles_fetched_once_are_served_from_disk_when_the_server_is_gone() {
    let mut server = TileServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = TileStore::new(dir.path());
    let source = server.source("ok");
    let a = TileId {
        z: 12,
        x: 2200,
        y: 1343,
    };
    let b = TileId {
        z: 12,
        x: 2201,
        y: 1343,
    };

    let online = layer(&store, source.clone());
    let first = load(&online, a);
    assert_eq!(
        first,
        TileEvent::Loaded {
            id: a,
            bytes: PNG.to_vec(),
            origin: TileOrigin::Network
        }
    );
    assert_eq!(server.requests(), 1);
    drop(online);

    server.stop();
    let offline = layer(&store, source.clone());
    let second = load(&offline, a);
    assert_eq!(
        second,
        TileEvent::Loaded {
            id: a,
            bytes: PNG.to_vec(),
            origin: TileOrigin::Cache
        }
    );
    assert_eq!(store.lookup(&source, a).as_deref(), Some(PNG));
    // A tile never fetched: no network, and the error says so.
    let TileEvent::Failed { id, error } = load(&offline, b) else {
        panic!("tile b has no copy")
    };
    assert_eq!(id, b);
    assert!(matches!(error, TileError::NoNetwork { .. }), "{error:?}");
    assert!(error.is_network());
    assert!(error.to_string().contains("no network"), "{error}");
}

#[test]
fn stored_sets_serve_the_layer_before_the_network() {
    let server = TileServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = TileStore::new(dir.path());
    let area = berlin_area(13, 13);
    let download = Download::start(
        &store,
        request("set", server.source("ok"), area),
        &DownloadOptions::default(),
        waker(),
    )
    .expect("start");
    assert!(matches!(drain(&download).1, DownloadEvent::Finished(_)));
    let fetched = server.requests();
    let tiles = layer(&store, server.source("ok"));
    let id = area.tiles(100).expect("tiles")[0];
    assert_eq!(
        load(&tiles, id),
        TileEvent::Loaded {
            id,
            bytes: PNG.to_vec(),
            origin: TileOrigin::StoredSet
        }
    );
    assert_eq!(server.requests(), fetched);
}

// --- errors -------------------------------------------------------------------------------

fn fetch(source: &TileSource, id: TileId) -> Result<Vec<u8>, TileError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = TileClient::new(&quick_client()).expect("client");
    rt.block_on(client.fetch(source, id))
}

#[test]
fn each_failure_gives_its_own_error() {
    let server = TileServer::start();
    let id = TileId { z: 1, x: 0, y: 1 };
    assert_eq!(fetch(&server.source("ok"), id).as_deref(), Ok(PNG));
    assert_eq!(
        server.paths.lock().expect("lock").as_slice(),
        ["/ok/1/0/1.png"]
    );

    for code in [404u16, 500] {
        let e = fetch(&server.source(&format!("status/{code}")), id).expect_err("status");
        assert!(
            matches!(&e, TileError::Http { status, .. } if *status == code),
            "{e:?}"
        );
        assert!(e.to_string().contains(&code.to_string()), "{e}");
        assert!(!e.is_network());
    }

    // Nothing listens: connection refused is "no network".
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let refused = TileSource::custom(
        "R",
        &format!("http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png"),
        None,
        "a",
    )
    .expect("source");
    let e = fetch(&refused, id).expect_err("refused");
    assert!(matches!(e, TileError::NoNetwork { .. }), "{e:?}");

    // HTTPS to a server that does not speak TLS: a TLS error, not "no network".
    let tls = TileSource::custom(
        "TLS",
        &format!("https://{}/ok/{{z}}/{{x}}/{{y}}.png", server.addr),
        None,
        "a",
    )
    .expect("source");
    let e = fetch(&tls, id).expect_err("tls");
    assert!(matches!(e, TileError::Tls { .. }), "{e:?}");
}
