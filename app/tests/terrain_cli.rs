//! `aviary plan --terrain-follow --agl-m 60 --dem N47E008.hgt --json` on a `.hgt` tile the test
//! writes (a slope rising to the east and a ridge): the JSON gains `min_clearance_m`,
//! `max_climb_m` and `terrain_source`, the `.plan` and WPL files hold absolute (AMSL)
//! altitudes 60 m above the tile's ground at every waypoint, and a DEM that misses part of
//! the path is a clear error. The same from Terrarium tiles served by a local HTTP server
//! (`--terrain-tiles URL`): fetched once into the tile folder, then read from it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

mod common;
use common::terrarium::TerrariumServer;

use aviary_core::LatLon;
use aviary_planner::terrain::{Elevation, SrtmTile};

const AVIARY: &str = env!("CARGO_BIN_EXE_aviary");
const SW: LatLon = LatLon {
    lat_deg: 47.5,
    lon_deg: 8.5,
};

/// Ground of the synthetic tile: 400 m rising 10 % to the east of 8.5 E, plus a 120 m ridge
/// along 8.505 E with 40 % flanks.
fn ground_m(lat: f64, lon: f64) -> f64 {
    let east_m = (lon - 8.5) * 111_194.93 * lat.to_radians().cos();
    let ridge_m = (120.0 - 0.4 * (east_m - 380.0).abs()).max(0.0);
    400.0 + 0.1 * east_m.max(0.0) + ridge_m
}

/// A 3″ `N47E008.hgt` of [`ground_m`].
fn write_hgt(dir: &Path) -> PathBuf {
    let n = 1201;
    let mut bytes = Vec::with_capacity(n * n * 2);
    for r in 0..n {
        let lat = 48.0 - r as f64 / 1200.0;
        for c in 0..n {
            let lon = 8.0 + c as f64 / 1200.0;
            bytes.extend_from_slice(&(ground_m(lat, lon).round() as i16).to_be_bytes());
        }
    }
    let path = dir.join("N47E008.hgt");
    std::fs::write(&path, bytes).expect("write hgt");
    path
}

fn area_file(dir: &Path, sw: LatLon, side_m: f64) -> PathBuf {
    let ring: Vec<[f64; 2]> = [
        sw,
        sw.offset_ne(0.0, side_m),
        sw.offset_ne(side_m, side_m),
        sw.offset_ne(side_m, 0.0),
        sw,
    ]
    .iter()
    .map(|p| [p.lon_deg, p.lat_deg])
    .collect();
    let path = dir.join("area.geojson");
    let gj = serde_json::json!({"type": "Polygon", "coordinates": [ring]});
    std::fs::write(&path, gj.to_string()).expect("write area");
    path
}

fn plan(area: &Path, dem: &Path, out: &Path, home: LatLon) -> std::process::Output {
    Command::new(AVIARY)
        .args([
            "plan",
            "--terrain-follow",
            "--agl-m",
            "60",
            "--angle-deg",
            "90",
            "--json",
        ])
        .arg("--home")
        .arg(format!("{},{}", home.lat_deg, home.lon_deg))
        .arg("--dem")
        .arg(dem)
        .arg("--area")
        .arg(area)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run aviary plan")
}

#[test]
fn terrain_following_json_and_absolute_altitudes_in_the_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hgt = write_hgt(dir.path());
    let tile = SrtmTile::read(&hgt).expect("tile reads back");
    let area = area_file(dir.path(), SW, 800.0);
    let home = SW.offset_ne(-30.0, -30.0);
    let out = dir.path().join("mission.plan");
    let o = plan(&area, &hgt, &out, home);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    let min_clearance = j["min_clearance_m"].as_f64().expect("min_clearance_m");
    assert!((55.0..=61.0).contains(&min_clearance), "{j}");
    let max_climb = j["max_climb_m"].as_f64().expect("max_climb_m");
    assert!(max_climb > 5.0, "the ridge is climbed: {j}");
    assert_eq!(j["terrain_source"], "SRTM 3″ N47E008.hgt");
    assert_eq!(j["vertical_datum"], "EGM96");
    assert!(j["inserted_waypoints"].as_u64().unwrap_or(0) > 0, "{j}");
    let home_amsl = j["home_amsl_m"].as_f64().expect("home_amsl_m");
    assert!((home_amsl - tile.elevation_m(home).expect("home")).abs() < 1e-6);

    // The .plan: home at its ground height, waypoints in MAV_FRAME_GLOBAL (0), QGroundControl's
    // absolute altitude mode, 60 m above the ground under each waypoint (within the tolerance;
    // the climb rate may hold the drone higher, never lower).
    let text = std::fs::read_to_string(&out).expect("plan written");
    let v: serde_json::Value = serde_json::from_str(&text).expect("plan is JSON");
    assert_eq!(v["mission"]["globalPlanAltitudeMode"], 2);
    assert_eq!(
        v["mission"]["plannedHomePosition"][2].as_f64(),
        Some(home_amsl)
    );
    let items = v["mission"]["items"].as_array().expect("items");
    let mut waypoints = 0;
    for it in items.iter().filter(|it| it["command"] == 16) {
        assert_eq!(it["frame"], 0, "{it}");
        assert_eq!(it["AltitudeMode"], 2, "{it}");
        let p = &it["params"];
        let pos = LatLon::new(p[4].as_f64().expect("lat"), p[5].as_f64().expect("lon"));
        let agl = p[6].as_f64().expect("alt") - tile.elevation_m(pos).expect("ground");
        assert!(
            (55.0..=120.0).contains(&agl),
            "{agl} m above the ground at {pos}"
        );
        waypoints += 1;
    }
    assert!(waypoints > 10, "{waypoints}");

    // The same mission as QGC WPL: frame 0 on every positioned item after home.
    let wpl = dir.path().join("mission.waypoints");
    let o = plan(&area, &hgt, &wpl, home);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&wpl).expect("wpl written");
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if matches!(f[3], "16" | "22") {
            assert_eq!(f[2], "0", "{line}");
        }
    }
    // Read back, the mission's altitudes are above home again.
    let doc = aviary_planner::formats::read_mission_file(&wpl).expect("reads back");
    let aviary_planner::formats::AltitudeFrame::Amsl { home_amsl_m } = doc.alt_frame else {
        panic!("read back as {:?}", doc.alt_frame);
    };
    assert!((home_amsl_m - home_amsl).abs() < 1e-6, "{home_amsl_m}");
}

#[test]
fn a_dem_that_misses_the_path_is_an_error_naming_the_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hgt = write_hgt(dir.path());
    // An area across the tile's northern edge (48 N): part of it has no data.
    let sw = LatLon::new(47.995, 8.5);
    let area = area_file(dir.path(), sw, 1500.0);
    let out = dir.path().join("mission.plan");
    let o = plan(&area, &hgt, &out, sw.offset_ne(-30.0, -30.0));
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("missing terrain data") && stderr.contains("no terrain data at 48.0"),
        "{stderr}"
    );
    assert!(!out.exists(), "no file is written for a refused plan");
}

#[test]
fn terrain_tiles_from_a_url_are_fetched_once_then_read_from_the_tile_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TerrariumServer::start(Arc::new(|p: LatLon| ground_m(p.lat_deg, p.lon_deg)));
    let area = area_file(dir.path(), SW, 800.0);
    let home = SW.offset_ne(-30.0, -30.0);
    let tiles = dir.path().join("tiles");
    let run = |out: &Path| {
        Command::new(AVIARY)
            .args(["plan", "--terrain-follow", "--agl-m", "60", "--json"])
            .args(["--angle-deg", "90"])
            .arg("--home")
            .arg(format!("{},{}", home.lat_deg, home.lon_deg))
            .arg("--terrain-tiles")
            .arg(server.template())
            .arg("--tile-dir")
            .arg(&tiles)
            .arg("--area")
            .arg(&area)
            .arg("--out")
            .arg(out)
            .output()
            .expect("run aviary plan")
    };
    let out = dir.path().join("mission.plan");
    let o = run(&out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let fetched = server.requests();
    assert!(fetched >= 1, "{stderr}");
    assert!(stderr.contains(&format!("{fetched} fetched")), "{stderr}");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    assert!(
        j["terrain_source"]
            .as_str()
            .is_some_and(|s| s.starts_with("Terrarium z12")),
        "{j}"
    );
    assert_eq!(j["vertical_datum"], "EGM96");
    let min_clearance = j["min_clearance_m"].as_f64().expect("min_clearance_m");
    assert!((55.0..=61.0).contains(&min_clearance), "{j}");
    assert!(j["max_climb_m"].as_f64().unwrap_or(0.0) > 5.0, "{j}");
    let home_amsl = j["home_amsl_m"].as_f64().expect("home_amsl_m");
    assert!(
        (home_amsl - ground_m(home.lat_deg, home.lon_deg)).abs() < 0.5,
        "{home_amsl}"
    );
    // Every waypoint 60 m (within the tolerance, or higher where the climb rate holds it)
    // above the ground of the tiles, read back from the tile folder.
    let dem = aviary_links::tiles::load_elevation(
        &aviary_links::tiles::TileStore::new(&tiles),
        &aviary_links::tiles::ElevationRequest {
            source: aviary_links::tiles::TileSource::terrarium_at(&server.template(), None)
                .expect("source"),
            bbox: aviary_links::tiles::BoundingBox::from_corners(home, SW.offset_ne(800.0, 800.0)),
            zoom: 12,
        },
        &aviary_links::tiles::ClientOptions::default(),
    )
    .expect("the tiles are in the folder");
    assert_eq!(dem.fetched, 0);
    assert_eq!(server.requests(), fetched);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("plan")).expect("JSON");
    for it in v["mission"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|it| it["command"] == 16)
    {
        let p = &it["params"];
        let (lat, lon) = (p[4].as_f64().expect("lat"), p[5].as_f64().expect("lon"));
        let ground = dem
            .tiles
            .elevation_m(LatLon::new(lat, lon))
            .expect("ground");
        let agl = p[6].as_f64().expect("alt") - ground;
        assert!((55.0..=120.0).contains(&agl), "{agl} m at {lat},{lon}");
    }

    // Again: every tile from the folder, nothing fetched.
    let o = run(&dir.path().join("again.plan"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(server.requests(), fetched, "{stderr}");
    assert!(stderr.contains("0 fetched"), "{stderr}");

    // No elevation source at all: named.
    let o = Command::new(AVIARY)
        .args(["plan", "--terrain-follow", "--area"])
        .arg(&area)
        .arg("--out")
        .arg(dir.path().join("x.plan"))
        .output()
        .expect("run");
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("--dem FILE") && stderr.contains("--terrain-tiles"),
        "{stderr}"
    );
}
