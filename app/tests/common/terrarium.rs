//! A local Terrarium elevation tile server for the tests: `GET /t/{z}/{x}/{y}.png` answers a
//! 256 × 256 Terrarium PNG whose every pixel holds `ground(pixel centre)`, so each height the
//! app reads can be asserted; the requests are counted.

use aviary_core::LatLon;
use std::f64::consts::PI;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The ground the server serves.
pub type Ground = Arc<dyn Fn(LatLon) -> f64 + Send + Sync>;

/// A running server (its thread lives as long as the test process).
pub struct TerrariumServer {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl TerrariumServer {
    /// Serves `ground` on a free port of 127.0.0.1.
    pub fn start(ground: Ground) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&requests);
        std::thread::Builder::new()
            .name("terrarium-test-http".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { break };
                    count.fetch_add(1, Ordering::SeqCst);
                    answer(conn, &ground);
                }
            })
            .expect("server thread");
        Self { addr, requests }
    }

    /// The URL template of its tiles.
    pub fn template(&self) -> String {
        format!("http://{}/t/{{z}}/{{x}}/{{y}}.png", self.addr)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// The point at world pixel (`x`, `y`) of `zoom`.
fn latlon_of(x: f64, y: f64, zoom: u32) -> LatLon {
    let size = 256.0 * f64::from(1_u32 << zoom);
    let lon = x / size * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * y / size)).sinh().atan().to_degrees();
    LatLon::new(lat, lon)
}

/// A height as Terrarium's red, green and blue (1/256 m steps).
fn terrarium_rgb(height_m: f64) -> [u8; 3] {
    let value = height_m + 32768.0;
    let red = (value / 256.0).floor();
    let green = (value - red * 256.0).floor();
    let blue = ((value - red * 256.0 - green) * 256.0).round().min(255.0);
    [red as u8, green as u8, blue as u8]
}

fn tile_png(zoom: u32, tx: u32, ty: u32, ground: &Ground) -> Vec<u8> {
    let mut data = Vec::with_capacity(256 * 256 * 3);
    for py in 0..256 {
        for px in 0..256 {
            let centre = latlon_of(
                f64::from(tx * 256 + px) + 0.5,
                f64::from(ty * 256 + py) + 0.5,
                zoom,
            );
            let [red, green, blue] = terrarium_rgb(ground(centre));
            data.extend_from_slice(&[red, green, blue]);
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

fn answer(mut conn: TcpStream, ground: &Ground) {
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
    let zxy = match parts.as_slice() {
        ["t", z, x, y] => (|| {
            Some((
                z.parse::<u32>().ok()?,
                x.parse::<u32>().ok()?,
                y.trim_end_matches(".png").parse::<u32>().ok()?,
            ))
        })(),
        _ => None,
    };
    let (status, body) = match zxy {
        Some((z, x, y)) if z <= 15 => (200, tile_png(z, x, y, ground)),
        _ => (404, b"no such tile".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: image/png\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&body);
}
