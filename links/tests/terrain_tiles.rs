//! Terrarium elevation tiles over HTTP from a local tile server the test starts: every pixel
//! holds a known plane, so each height the loader gives can be asserted. Tiles come from the
//! server once, then from the cache with the server gone; a stored set serves with no
//! network at all; a missing tile, a server error and a tile that is not Terrarium each give
//! an error that names the tile.

use aviary_core::LatLon;
use aviary_links::tiles::{
    BoundingBox, ClientOptions, Download, DownloadEvent, DownloadOptions, DownloadRequest,
    ElevationRequest, StoredElevation, TileArea, TileError, TileSource, TileStore, load_elevation,
};
use aviary_planner::terrain::{Elevation, VerticalDatum};
use std::f64::consts::PI;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const ZOOM: u8 = 12;
const CENTRE: LatLon = LatLon {
    lat_deg: 47.3769,
    lon_deg: 8.5417,
};

/// World pixel (centres at half-integers) of `p` at `zoom`.
fn world_px(p: LatLon, zoom: u8) -> (f64, f64) {
    let size = 256.0 * f64::from(1_u32 << zoom);
    let lat = p.lat_deg.to_radians();
    (
        (p.lon_deg + 180.0) / 360.0 * size,
        (1.0 - lat.tan().asinh() / PI) / 2.0 * size,
    )
}

/// The ground the server serves: a plane in world pixels, 1/8 m steps Terrarium keeps.
fn plane_m(x: f64, y: f64) -> f64 {
    let (x0, y0) = world_px(CENTRE, ZOOM);
    (420.0 + 0.5 * (x - x0.floor()) - 0.25 * (y - y0.floor()) + 0.125).max(0.0)
}

/// PNG bytes of Terrarium tile (`tx`, `ty`) of [`plane_m`].
fn terrarium_png(tx: u32, ty: u32) -> Vec<u8> {
    let mut data = Vec::with_capacity(256 * 256 * 3);
    for py in 0..256 {
        for px in 0..256 {
            let value = plane_m(
                f64::from(tx * 256 + px) + 0.5,
                f64::from(ty * 256 + py) + 0.5,
            ) + 32768.0;
            let red = (value / 256.0).floor();
            let green = (value - red * 256.0).floor();
            let blue = ((value - red * 256.0 - green) * 256.0).round();
            data.extend_from_slice(&[red as u8, green as u8, blue as u8]);
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 256, 256);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().expect("png header");
    w.write_image_data(&data).expect("png data");
    w.finish().expect("png end");
    out
}

/// `/t/{z}/{x}/{y}.png` answers the plane's tile, `/missing/…` 404, `/broken/…` bytes that
/// are not a PNG. `stop` makes it refuse every later request (answer 503).
struct Server {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    stopped: Arc<AtomicBool>,
}

impl Server {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicBool::new(false));
        let (count, stop) = (Arc::clone(&requests), Arc::clone(&stopped));
        std::thread::Builder::new()
            .name("terrarium-test-http".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { break };
                    count.fetch_add(1, Ordering::SeqCst);
                    answer(conn, stop.load(Ordering::SeqCst));
                }
            })
            .expect("server thread");
        Self {
            addr,
            requests,
            stopped,
        }
    }

    fn source(&self, route: &str) -> TileSource {
        TileSource::terrarium_at(
            &format!("http://{}/{route}/{{z}}/{{x}}/{{y}}.png", self.addr),
            None,
        )
        .expect("source")
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn answer(mut conn: TcpStream, stopped: bool) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let xy = (parts.len() == 4)
        .then(|| {
            let x = parts[2].parse::<u32>().ok()?;
            let y = parts[3].trim_end_matches(".png").parse::<u32>().ok()?;
            Some((x, y))
        })
        .flatten();
    let (status, body) = match (stopped, parts[0], xy) {
        (true, _, _) => (503, b"stopped".to_vec()),
        (false, "t", Some((x, y))) => (200, terrarium_png(x, y)),
        (false, "broken", Some(_)) => (200, b"<html>not a tile</html>".to_vec()),
        _ => (404, b"no such tile".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: image/png\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&body);
}

fn quick() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    }
}

/// A 3 km box around [`CENTRE`].
fn bbox() -> BoundingBox {
    BoundingBox::from_corners(
        CENTRE.offset_ne(-1500.0, -1500.0),
        CENTRE.offset_ne(1500.0, 1500.0),
    )
}

fn request(source: TileSource) -> ElevationRequest {
    ElevationRequest {
        source,
        bbox: bbox(),
        zoom: ZOOM,
    }
}

fn assert_plane(dem: &dyn Elevation) {
    for (n, e) in [
        (0.0, 0.0),
        (1450.0, 1450.0),
        (-1450.0, -1450.0),
        (1450.0, -1450.0),
        (-700.0, 330.0),
    ] {
        let p = CENTRE.offset_ne(n, e);
        let (x, y) = world_px(p, ZOOM);
        let want = plane_m(x, y);
        let got = dem.elevation_m(p).expect("height inside the box");
        assert!((got - want).abs() < 0.01, "{p}: {got} m, want {want} m");
    }
    assert_eq!(dem.datum(), VerticalDatum::Egm96Geoid);
}

#[test]
fn heights_come_from_the_server_once_then_from_the_cache() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = TileStore::new(dir.path());
    let server = Server::start();
    let first = load_elevation(&store, &request(server.source("t")), &quick()).expect("load");
    assert!(first.fetched >= 1, "fetched {}", first.fetched);
    assert_eq!(first.from_disk, 0);
    assert_eq!(server.requests(), first.fetched);
    assert_plane(&first.tiles);
    assert!(first.tiles.describe().contains("Terrarium z12"));

    // The server now refuses everything: the cache answers, no request is made.
    server.stopped.store(true, Ordering::SeqCst);
    let before = server.requests();
    let again = load_elevation(&store, &request(server.source("t")), &quick()).expect("cached");
    assert_eq!((again.fetched, again.from_disk), (0, first.fetched));
    assert_eq!(server.requests(), before);
    assert_plane(&again.tiles);
}

#[test]
fn a_stored_terrain_set_serves_with_no_network() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = TileStore::new(dir.path());
    let server = Server::start();
    let source = server.source("t");
    let download = Download::start(
        &store,
        DownloadRequest {
            name: "zurich terrain".into(),
            source: source.clone(),
            area: TileArea {
                bbox: BoundingBox::from_corners(
                    CENTRE.offset_ne(-3000.0, -3000.0),
                    CENTRE.offset_ne(3000.0, 3000.0),
                ),
                zoom_min: ZOOM,
                zoom_max: ZOOM,
            },
            created: chrono::Utc::now(),
        },
        &DownloadOptions {
            client: quick(),
            ..DownloadOptions::default()
        },
        Arc::new(|| {}),
    )
    .expect("download starts");
    let end = loop {
        let e = download
            .recv_timeout(Duration::from_secs(30))
            .expect("download event");
        if e.is_final() {
            break e;
        }
    };
    assert!(matches!(end, DownloadEvent::Finished(_)), "{end:?}");
    server.stopped.store(true, Ordering::SeqCst);
    let loaded = load_elevation(&store, &request(source.clone()), &quick()).expect("from the set");
    assert_eq!(loaded.fetched, 0);
    assert!(loaded.from_disk >= 1);
    assert_plane(&loaded.tiles);

    // What a link answers an autopilot from: the stored tiles, read as lookups need them.
    let stored = StoredElevation::new(&store, &source, ZOOM).expect("stored elevation");
    assert_plane(&stored);
    assert!(
        stored.describe().contains("stored tiles"),
        "{}",
        stored.describe()
    );
    // Outside the stored set: no data, not 0 m.
    assert!(stored.elevation_m(CENTRE.offset_ne(40_000.0, 0.0)).is_err());
    assert!(StoredElevation::new(&store, &source, 16).is_err());
}

#[test]
fn each_failure_names_the_tile_and_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = TileStore::new(dir.path());
    let server = Server::start();

    let e = load_elevation(&store, &request(server.source("missing")), &quick()).unwrap_err();
    assert!(matches!(e, TileError::Http { status: 404, .. }), "{e}");
    assert!(e.to_string().contains("/missing/12/"), "{e}");

    let e = load_elevation(&store, &request(server.source("broken")), &quick()).unwrap_err();
    assert!(
        e.to_string().contains("not a Terrarium elevation tile"),
        "{e}"
    );
    assert!(e.to_string().contains("/broken/12/"), "{e}");
    // Nothing unusable was cached.
    let cached = std::fs::read_dir(store.root().join("cache")).map_or(0, Iterator::count);
    assert_eq!(cached, 0, "nothing cached");

    // No server at all: "no network", naming the URL.
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let gone = TileSource::terrarium_at(
        &format!("http://127.0.0.1:{port}/t/{{z}}/{{x}}/{{y}}.png"),
        None,
    )
    .expect("source");
    let e = load_elevation(&store, &request(gone), &quick()).unwrap_err();
    assert!(e.is_network(), "{e}");
    assert!(
        e.to_string().contains(&format!("127.0.0.1:{port}/t/12/")),
        "{e}"
    );

    // A zoom the source does not serve, and an area too large for one load.
    let e = load_elevation(
        &store,
        &ElevationRequest {
            zoom: 16,
            ..request(server.source("t"))
        },
        &quick(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("up to 15"), "{e}");
    let e = load_elevation(
        &store,
        &ElevationRequest {
            bbox: BoundingBox::from_corners(LatLon::new(40.0, 0.0), LatLon::new(50.0, 20.0)),
            ..request(server.source("t"))
        },
        &quick(),
    )
    .unwrap_err();
    assert!(matches!(e, TileError::TooManyTiles { .. }), "{e}");
}
