//! The map's tiles and the Offline maps window, driven by label through `egui_kittest`
//! against a local tile server the test starts: the visible map area is chosen, its tile
//! count shown, downloaded with progress into a stored set, listed with its size and deleted;
//! a download is cancelled; and a tile source that cannot be reached shows why on the map.

use aviary_app::gui::app::AviaryApp;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// `/ok/…` answers the PNG; `/hold/…` answers nothing and keeps the connection open.
struct TileServer {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

fn serve() -> TileServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let requests = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&requests);
    std::thread::Builder::new()
        .name("offline-maps-test-http".into())
        .spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { break };
                let target = read_target(&mut conn);
                count.fetch_add(1, Ordering::SeqCst);
                if target.starts_with("/hold/") {
                    held.push(conn);
                    continue;
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    PNG.len()
                );
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(PNG);
            }
        })
        .expect("server thread");
    TileServer { addr, requests }
}

fn read_target(conn: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&buf)
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned()
}

fn app(dir: &std::path::Path, tile_url: String) -> AviaryApp {
    let start = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let mut app = AviaryApp::headless(&dir.join("aviary.db"), start, false).expect("store");
    app.settings.tile_url = tile_url;
    app.settings.tile_dir = dir.join("tiles").display().to_string();
    app.enable_tiles();
    app
}

fn harness(app: AviaryApp) -> Harness<'static, AviaryApp> {
    Harness::builder()
        .with_size([1500.0, 950.0])
        .build_ui_state(|ui, app: &mut AviaryApp| app.frame_ui(ui), app)
}

/// Steps until `done` holds; the tile server is a real peer on a socket, so this waits for it
/// (bounded), it does not sleep a fixed time.
fn step_until(h: &mut Harness<'_, AviaryApp>, what: &str, done: impl Fn(&AviaryApp) -> bool) {
    let deadline = Instant::now() + Duration::from_mins(1);
    while !done(h.state()) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; offline: {:?}; notices: {:?}",
            h.state().state.offline,
            h.state().state.notices
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}

fn open_window_on_visible_area(h: &mut Harness<'_, AviaryApp>) -> (u64, u64) {
    h.run_steps(3);
    h.get_by_label("Offline maps…").click();
    h.run_steps(2);
    assert!(h.state().state.offline.open);
    h.get_by_label("Use visible map area").click();
    h.run_steps(3);
    let offline = &h.state().state.offline;
    assert!(offline.area.is_some());
    let Some(Ok((tiles, bytes))) = offline.estimate.clone() else {
        panic!("no estimate: {:?}", offline.estimate)
    };
    assert!(tiles > 0 && bytes > 0);
    assert!(
        h.query_by_label_contains(&format!("{tiles} tiles, about"))
            .is_some(),
        "the estimate is shown"
    );
    (tiles, bytes)
}

#[test]
fn download_the_visible_area_list_it_and_delete_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve();
    let url = format!("http://{}/ok/{{z}}/{{x}}/{{y}}.png", server.addr);
    let mut h = harness(app(dir.path(), url));
    // The map loads its tiles from the server (and caches them).
    step_until(&mut h, "map tiles", |_| {
        server.requests.load(Ordering::SeqCst) > 0
    });

    let (tiles, _) = open_window_on_visible_area(&mut h);
    let before = server.requests.load(Ordering::SeqCst);
    h.get_by_label("Download").click();
    h.run_steps(1);
    step_until(&mut h, "the download", |a| {
        !a.state.offline.downloading && !a.state.offline.sets.is_empty()
    });
    let offline = &h.state().state.offline;
    assert_eq!(offline.sets.len(), 1, "{:?}", offline.message);
    let set = &offline.sets[0];
    assert_eq!(set.name, "Offline map 1");
    assert_eq!(set.tiles, tiles);
    assert!(set.size_bytes >= tiles * PNG.len() as u64);
    assert_eq!(
        offline.message.as_ref().map(|(t, e)| (t.as_str(), *e)),
        Some((
            format!("stored 'Offline map 1': {tiles} tiles").as_str(),
            false
        ))
    );
    assert!(server.requests.load(Ordering::SeqCst) >= before + tiles as usize);
    assert!(h.query_by_label("Offline map 1").is_some());
    assert!(h.query_by_label_contains("No area chosen").is_none());

    // The same name again is refused, saying why.
    h.get_by_label("Download").click();
    h.run_steps(2);
    let message = h.state().state.offline.message.clone().expect("message");
    assert!(
        message.1 && message.0.contains("already exists"),
        "{message:?}"
    );

    h.get_by_label("Delete").click();
    h.run_steps(2);
    assert!(h.state().state.offline.sets.is_empty());
    assert!(h.query_by_label("None yet").is_some());
}

#[test]
fn a_download_can_be_cancelled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve();
    // Every tile request is held: the download cannot finish by itself.
    let url = format!("http://{}/hold/{{z}}/{{x}}/{{y}}.png", server.addr);
    let mut h = harness(app(dir.path(), url));
    open_window_on_visible_area(&mut h);
    h.get_by_label("Download").click();
    h.run_steps(2);
    assert!(h.state().state.offline.downloading);
    assert!(h.state().state.offline.progress.total > 0);
    assert!(h.query_by_label("Cancel download").is_some());
    h.get_by_label("Cancel download").click();
    step_until(&mut h, "the cancel", |a| !a.state.offline.downloading);
    let message = h.state().state.offline.message.clone().expect("message");
    assert!(message.0.contains("cancelled"), "{message:?}");
    assert!(h.state().state.offline.sets.is_empty());
}

#[test]
fn the_map_says_why_tiles_do_not_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let url = format!("http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png");
    let mut h = harness(app(dir.path(), url));
    step_until(&mut h, "the tiles notice", |a| {
        a.map.tiles.as_ref().and_then(|t| t.problem()).is_some()
    });
    // The notice on the map names the cause: the server cannot be reached.
    h.get_by_label_contains("Map tiles cannot load: no network: cannot connect to");
}
