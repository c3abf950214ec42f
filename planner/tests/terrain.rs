//! Terrain sources and terrain following against DEMs the tests build: SRTM `.hgt` bytes, Terrarium
//! PNG tiles (encoded with the `png` crate) and `GeoTIFF`s (the `tiff` crate), each holding a
//! known slope or cone so every height can be asserted; then a survey over a synthetic ridge
//! whose clearance is checked every metre of the path, not only at the waypoints.

#![allow(clippy::unwrap_used)]
#![allow(
    clippy::float_cmp,
    reason = "heights built from whole metres and exact fractions compare exactly"
)]
#![allow(
    clippy::many_single_char_names,
    reason = "grid loops read best with r, c, n"
)]

use std::f64::consts::PI;

use aviary_core::{LatLon, SurveyArea, Waypoint, WaypointAction};
use aviary_planner::terrain::{
    Elevation, GeoTiffDem, SrtmSet, SrtmTile, TerrainError, TerrainParams, TerrariumTiles,
    VerticalDatum, egm96_undulation_m, follow_terrain, tile_of, to_mean_sea_level,
};
use aviary_planner::{Airframe, Area, Pattern, SurveyParams, plan_survey};

// --- builders

/// `.hgt` bytes of an `n` × `n` tile whose south-west corner is (`lat0`, `lon0`), height
/// `h(lat, lon)` at each post (`None`: a void).
fn hgt(n: usize, lat0: f64, lon0: f64, h: impl Fn(f64, f64) -> Option<f64>) -> Vec<u8> {
    let div = (n - 1) as f64;
    let mut out = Vec::with_capacity(n * n * 2);
    for r in 0..n {
        let lat = lat0 + 1.0 - r as f64 / div;
        for c in 0..n {
            let lon = lon0 + c as f64 / div;
            let v = h(lat, lon).map_or(-32768, |m| m.round() as i16);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    out
}

/// A plane in degrees: exact under bilinear interpolation anywhere.
fn slope_m(lat: f64, lon: f64) -> f64 {
    300.0 + 1000.0 * (lat - 47.0) + 500.0 * (lon - 8.0)
}

/// A cone 800 m high on a 400 m plain, apex at 47.5 N 8.5 E, flanks falling 1 m in 10 m.
fn cone_m(p: LatLon) -> f64 {
    let apex = LatLon::new(47.5, 8.5);
    400.0 + (800.0 - apex.distance_m(p) / 10.0).max(0.0)
}

/// World pixel coordinates of `p` at `zoom` (web Mercator, 256-pixel tiles).
fn world_px(p: LatLon, zoom: u8) -> (f64, f64) {
    let size = 256.0 * f64::from(1_u32 << zoom);
    let lat = p.lat_deg.to_radians();
    (
        (p.lon_deg + 180.0) / 360.0 * size,
        (1.0 - lat.tan().asinh() / PI) / 2.0 * size,
    )
}

/// A Terrarium height encoded as R, G, B.
fn terrarium_rgb(h_m: f64) -> [u8; 3] {
    let v = h_m + 32768.0;
    let r = (v / 256.0).floor();
    let g = (v - r * 256.0).floor();
    let b = ((v - r * 256.0 - g) * 256.0).round();
    [r as u8, g as u8, b as u8]
}

/// PNG bytes of Terrarium tile (`tx`, `ty`) where the pixel at world pixel centre (x, y) holds
/// `h(x, y)`; `void` pixels are transparent.
fn terrarium_png(
    tx: u32,
    ty: u32,
    h: impl Fn(f64, f64) -> f64,
    void: Option<(u32, u32)>,
) -> Vec<u8> {
    let mut data = Vec::with_capacity(256 * 256 * 4);
    for py in 0..256 {
        for px in 0..256 {
            let (x, y) = (
                f64::from(tx * 256 + px) + 0.5,
                f64::from(ty * 256 + py) + 0.5,
            );
            let [r, g, b] = terrarium_rgb(h(x, y));
            let alpha = if void == Some((px, py)) { 0 } else { 255 };
            data.extend_from_slice(&[r, g, b, alpha]);
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 256, 256);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().unwrap();
    w.write_image_data(&data).unwrap();
    w.finish().unwrap();
    out
}

// --- SRTM

#[test]
fn srtm_3_arc_second_heights_on_a_slope_are_exact_between_posts() {
    let tile = SrtmTile::from_bytes(
        "N47E008.hgt",
        &hgt(1201, 47.0, 8.0, |lat, lon| Some(slope_m(lat, lon))),
    )
    .unwrap();
    assert_eq!(tile.arc_seconds(), 3);
    assert_eq!(tile.datum(), VerticalDatum::Egm96Geoid);
    assert_eq!(tile.describe(), "SRTM 3″ N47E008.hgt");
    // Posts hold whole metres (the plane rises 5/6 m and 5/12 m per post), so compare with
    // the rounded plane at the four posts around each point, interpolated by hand.
    for p in [
        LatLon::new(47.25, 8.75),
        LatLon::new(47.123_456, 8.654_321),
        LatLon::new(47.999_9, 8.000_1),
    ] {
        let (col, row) = ((p.lon_deg - 8.0) * 1200.0, (48.0 - p.lat_deg) * 1200.0);
        let (c0, r0) = (col.floor(), row.floor());
        // The same expressions as the tile's builder, so each post rounds the same way.
        let post = |c: f64, r: f64| slope_m(47.0 + 1.0 - r / 1200.0, 8.0 + c / 1200.0).round();
        let (fc, fr) = (col - c0, row - r0);
        let want = post(c0, r0) * (1.0 - fc) * (1.0 - fr)
            + post(c0 + 1.0, r0) * fc * (1.0 - fr)
            + post(c0, r0 + 1.0) * (1.0 - fc) * fr
            + post(c0 + 1.0, r0 + 1.0) * fc * fr;
        let got = tile.elevation_m(p).unwrap();
        assert!((got - want).abs() < 1e-6, "{p}: {got} vs {want}");
        // And within rounding of the plane itself.
        assert!(
            (got - slope_m(p.lat_deg, p.lon_deg)).abs() <= 0.5,
            "{p}: {got}"
        );
    }
    // The corners: south-west 300 m, north-east 300 + 1000 + 500.
    assert_eq!(tile.elevation_m(LatLon::new(47.0, 8.0)).unwrap(), 300.0);
    assert_eq!(tile.elevation_m(LatLon::new(48.0, 9.0)).unwrap(), 1800.0);
}

#[test]
fn srtm_1_arc_second_cone_heights_at_known_points() {
    let tile = SrtmTile::from_bytes(
        "N47E008.hgt",
        &hgt(3601, 47.0, 8.0, |lat, lon| {
            Some(cone_m(LatLon::new(lat, lon)))
        }),
    )
    .unwrap();
    assert_eq!(tile.arc_seconds(), 1);
    // The apex is a post: 1200 m.
    assert_eq!(tile.elevation_m(LatLon::new(47.5, 8.5)).unwrap(), 1200.0);
    // The plain beyond the cone: 400 m; a post on a flank: the cone rounded to the metre.
    assert_eq!(tile.elevation_m(LatLon::new(47.2, 8.2)).unwrap(), 400.0);
    // 9″ north of the apex (post row 1791): about 278 m away, 1172 m high.
    let flank = LatLon::new(47.0 + 1.0 - 1791.0 / 3600.0, 8.0 + 1800.0 / 3600.0);
    let want = cone_m(flank).round();
    assert!((want - 1172.0).abs() <= 1.0, "{want}");
    assert!((tile.elevation_m(flank).unwrap() - want).abs() < 1e-6);
    // 3 km east of the apex (between posts): 800 − 300 + 400 m within a metre.
    let east = LatLon::new(47.5, 8.5).offset_ne(0.0, 3000.0);
    assert!((tile.elevation_m(east).unwrap() - 900.0).abs() < 1.0);
}

#[test]
fn a_void_and_a_point_off_the_tile_are_no_data_never_zero() {
    // A void at the post 47.5 N 8.5 E of a 3″ tile.
    let bytes = hgt(1201, 47.0, 8.0, |lat, lon| {
        if (lat - 47.5).abs() < 1e-9 && (lon - 8.5).abs() < 1e-9 {
            None
        } else {
            Some(700.0)
        }
    });
    let mut set = SrtmSet::new();
    set.insert(SrtmTile::from_bytes("N47E008.hgt", &bytes).unwrap());
    let near = LatLon::new(47.5002, 8.5003);
    let e = set.elevation_m(near).unwrap_err();
    assert_eq!(e.at, near);
    assert!(
        e.to_string()
            .contains("no terrain data at 47.500200, 8.500300"),
        "{e}"
    );
    // Two posts away the void has no weight.
    assert_eq!(set.elevation_m(LatLon::new(47.502, 8.502)).unwrap(), 700.0);
    // Off the tile.
    assert!(set.elevation_m(LatLon::new(46.9, 8.5)).is_err());
    // On the tile's north edge, read from this tile (its neighbour is not loaded).
    assert_eq!(set.elevation_m(LatLon::new(48.0, 8.2)).unwrap(), 700.0);
}

// --- Terrarium

#[test]
fn terrarium_heights_on_a_slope_across_two_tiles() {
    let zoom = 12;
    let p = LatLon::new(47.3769, 8.5417);
    let (tx, ty) = tile_of(p, zoom);
    // A plane in world pixels with a fraction in it (Terrarium keeps 1/256 m).
    let h = |x: f64, y: f64| {
        250.0 + 0.5 * (x - f64::from(tx) * 256.0) - 0.25 * (y - f64::from(ty) * 256.0) + 0.125
    };
    let mut tiles = TerrariumTiles::new(zoom).unwrap();
    tiles
        .insert_png(tx, ty, &terrarium_png(tx, ty, h, None))
        .unwrap();
    tiles
        .insert_png(tx + 1, ty, &terrarium_png(tx + 1, ty, h, None))
        .unwrap();
    assert_eq!(tiles.len(), 2);
    assert_eq!(tiles.datum(), VerticalDatum::Egm96Geoid);
    let east_edge = {
        // A point between the last pixel centre of the first tile and the first of the next.
        let size = 256.0 * f64::from(1_u32 << zoom);
        let x = f64::from(tx + 1) * 256.0;
        let lon = x / size * 360.0 - 180.0;
        LatLon::new(p.lat_deg, lon)
    };
    for q in [p, east_edge, p.offset_ne(-150.0, 420.0)] {
        let (x, y) = world_px(q, zoom);
        let want = h(x, y);
        let got = tiles.elevation_m(q).unwrap();
        assert!((got - want).abs() < 1e-6, "{q}: {got} vs {want}");
    }
    // Off the loaded tiles.
    assert!(tiles.elevation_m(p.offset_ne(20_000.0, 0.0)).is_err());
}

#[test]
fn a_transparent_terrarium_pixel_is_a_void() {
    let zoom = 13;
    let p = LatLon::new(38.2, -121.7);
    let (tx, ty) = tile_of(p, zoom);
    let (x, y) = world_px(p, zoom);
    let (px, py) = (
        (x - f64::from(tx) * 256.0) as u32,
        (y - f64::from(ty) * 256.0) as u32,
    );
    let mut tiles = TerrariumTiles::new(zoom).unwrap();
    tiles
        .insert_png(tx, ty, &terrarium_png(tx, ty, |_, _| 12.5, Some((px, py))))
        .unwrap();
    let e = tiles.elevation_m(p).unwrap_err();
    assert_eq!(e.at, p);
    // Half a tile away from the void, on a pixel centre: 12.5 m exactly (not 0).
    let far_x = f64::from(tx * 256 + (px + 128) % 256) + 0.5;
    let far = LatLon::new(p.lat_deg, far_x / (256.0 * 8192.0) * 360.0 - 180.0);
    assert_eq!(tiles.elevation_m(far).unwrap(), 12.5);
}

// --- GeoTIFF

/// A single-band float `GeoTIFF` with the given `GeoKey`s, tiepoint at pixel (0, 0).
fn geotiff(
    cols: u32,
    rows: u32,
    origin: (f64, f64),
    scale: (f64, f64),
    keys: &[u16],
    data: &[f32],
) -> Vec<u8> {
    use tiff::encoder::{TiffEncoder, colortype};
    use tiff::tags::Tag;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut enc = TiffEncoder::new(&mut buf).unwrap();
        let mut img = enc.new_image::<colortype::Gray32Float>(cols, rows).unwrap();
        let e = img.encoder();
        e.write_tag(Tag::ModelPixelScaleTag, &[scale.0, scale.1, 0.0][..])
            .unwrap();
        e.write_tag(
            Tag::ModelTiepointTag,
            &[0.0, 0.0, 0.0, origin.0, origin.1, 0.0][..],
        )
        .unwrap();
        let mut dir: Vec<u16> = vec![1, 1, 0, (keys.len() / 2) as u16];
        for k in keys.chunks(2) {
            dir.extend_from_slice(&[k[0], 0, 1, k[1]]);
        }
        e.write_tag(Tag::GeoKeyDirectoryTag, &dir[..]).unwrap();
        e.write_tag(Tag::GdalNodata, "-9999").unwrap();
        img.write_data(data).unwrap();
    }
    buf.into_inner()
}

#[test]
fn geotiff_geographic_and_utm_slopes() {
    // Geographic: 0.001° pixels (PixelIsArea) from 8.4 E 47.6 N, height = the plane at each
    // pixel centre, one nodata pixel.
    let (cols, rows) = (200, 200);
    let mut data = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            let lon = 8.4 + (f64::from(c) + 0.5) * 0.001;
            let lat = 47.6 - (f64::from(r) + 0.5) * 0.001;
            data.push(slope_m(lat, lon) as f32);
        }
    }
    data[(50 * cols + 50) as usize] = -9999.0;
    let bytes = geotiff(
        cols,
        rows,
        (8.4, 47.6),
        (0.001, 0.001),
        &[1024, 2, 1025, 1, 2048, 4326],
        &data,
    );
    let dem = GeoTiffDem::from_bytes("slope.tif", &bytes).unwrap();
    assert_eq!(dem.datum(), VerticalDatum::Egm96Geoid);
    let p = LatLon::new(47.5234, 8.4567);
    assert!((dem.elevation_m(p).unwrap() - slope_m(p.lat_deg, p.lon_deg)).abs() < 0.01);
    assert!(
        dem.elevation_m(LatLon::new(47.6 - 0.0505, 8.4505)).is_err(),
        "nodata pixel"
    );
    assert!(
        dem.elevation_m(LatLon::new(47.7, 8.45)).is_err(),
        "off the raster"
    );

    // UTM 32N, 30 m pixels: height = 200 + 0.01·(E − 460000) + 0.02·(N − 5259000). Eastings
    // and northings of the test points from PROJ (pyproj 3.7, EPSG:4326 → EPSG:32632).
    let (e0, n0) = (460_000.0, 5_263_000.0);
    let (cols, rows) = (150, 150);
    let mut data = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            let e = e0 + (f64::from(c) + 0.5) * 30.0;
            let n = n0 - (f64::from(r) + 0.5) * 30.0;
            data.push((200.0 + 0.01 * (e - 460_000.0) + 0.02 * (n - 5_259_000.0)) as f32);
        }
    }
    let bytes = geotiff(
        cols,
        rows,
        (e0, n0),
        (30.0, 30.0),
        &[1024, 1, 3072, 32632],
        &data,
    );
    let dem = GeoTiffDem::from_bytes("utm.tif", &bytes).unwrap();
    assert!(dem.describe().contains("UTM 32N"), "{}", dem.describe());
    for (lat, lon, e, n) in [
        (47.5, 8.5, 462_343.326_04, 5_260_850.875_29),
        (47.51, 8.52, 463_856.455_05, 5_261_952.736_43),
        (47.49, 8.47, 460_076.351_92, 5_259_754.492_54),
    ] {
        let want = 200.0 + 0.01 * (e - 460_000.0) + 0.02 * (n - 5_259_000.0);
        let got = dem.elevation_m(LatLon::new(lat, lon)).unwrap();
        assert!((got - want).abs() < 0.01, "{lat},{lon}: {got} vs {want}");
    }
    // A CRS it does not read is named.
    let bytes = geotiff(
        4,
        4,
        (0.0, 0.0),
        (1.0, 1.0),
        &[1024, 1, 3072, 2056],
        &[0.0; 16],
    );
    let e = GeoTiffDem::from_bytes("lv95.tif", &bytes).unwrap_err();
    assert!(e.to_string().contains("2056"), "{e}");
}

// --- terrain following

/// A 1″ tile with a ridge running north–south through 8.5 E: 300 m plain, the ridge 250 m
/// higher with 35 % flanks and a sharp crest, and a smaller round hill to the south-east.
fn ridge_tile() -> SrtmSet {
    let crest = |lat: f64, lon: f64| {
        let p = LatLon::new(lat, lon);
        let east_m = LatLon::new(lat, 8.5).distance_m(p) * (lon - 8.5).signum();
        let ridge = (250.0 - 0.35 * east_m.abs()).max(0.0);
        let hill_c = LatLon::new(47.495, 8.51);
        let hill = 60.0 * (-(hill_c.distance_m(p) / 150.0).powi(2)).exp();
        300.0 + ridge + hill
    };
    let mut set = SrtmSet::new();
    set.insert(
        SrtmTile::from_bytes(
            "N47E008.hgt",
            &hgt(3601, 47.0, 8.0, |a, b| Some(crest(a, b))),
        )
        .unwrap(),
    );
    set
}

fn square(sw: LatLon, side_m: f64) -> SurveyArea {
    SurveyArea {
        exterior: vec![
            sw,
            sw.offset_ne(0.0, side_m),
            sw.offset_ne(side_m, side_m),
            sw.offset_ne(side_m, 0.0),
        ],
        holes: vec![],
    }
}

/// The positions flown in order with their altitudes above the datum.
fn flown(items: &[Waypoint], home: LatLon, home_amsl_m: f64) -> Vec<(LatLon, f64)> {
    items
        .iter()
        .filter_map(|w| match w.action {
            WaypointAction::FlyThrough | WaypointAction::Takeoff | WaypointAction::Land => {
                Some((w.pos, w.alt_rel_m + home_amsl_m))
            }
            WaypointAction::ReturnToLaunch => Some((home, w.alt_rel_m + home_amsl_m)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_survey_over_a_ridge_keeps_its_clearance_every_metre() {
    let dem = ridge_tile();
    let sw = LatLon::new(47.49, 8.49);
    let area = Area::new(&[square(sw, 1500.0)], &[], 500e6).unwrap();
    let home = sw.offset_ne(-50.0, -50.0);
    let params = SurveyParams {
        pattern: Pattern::Lawnmower,
        alt_rel_m: 60.0,
        sweep_angle_deg: Some(90.0), // transects across the ridge
        home: Some(home),
        ..SurveyParams::default()
    };
    let plan = plan_survey(&area, &params).unwrap();
    let airframe = Airframe::default();
    let tp = TerrainParams::new(60.0, params.speed_mps, &airframe);
    let t = follow_terrain(&plan.items, home, &dem, &tp).unwrap();
    assert_eq!(t.tolerance_m, 5.0);
    assert!(
        t.inserted_waypoints > 20,
        "{} points added",
        t.inserted_waypoints
    );
    assert!(
        t.terrain_source.contains("SRTM 1″ N47E008.hgt"),
        "{}",
        t.terrain_source
    );
    assert!((t.home_amsl_m - dem.elevation_m(home).unwrap()).abs() < 1e-9);

    // Every metre of every leg (straight lines between the positions flown), from the
    // takeoff point's altitude on.
    let path = flown(&t.items, home, t.home_amsl_m);
    let mut min_clear = f64::INFINITY;
    let mut metres = 0.0;
    let speed = params.speed_mps;
    for w in path.windows(2) {
        let ((a, za), (b, zb)) = (w[0], w[1]);
        let len = a.distance_m(b);
        let n = (len.ceil() as usize).max(1);
        for k in 0..=n {
            let f = k as f64 / n as f64;
            let p = LatLon::new(
                a.lat_deg + f * (b.lat_deg - a.lat_deg),
                a.lon_deg + f * (b.lon_deg - a.lon_deg),
            );
            let clear = za + f * (zb - za) - dem.elevation_m(p).unwrap();
            min_clear = min_clear.min(clear);
        }
        metres += len;
        if len > 1.0 {
            // Climb and descent within the airframe's rates at cruise speed.
            let rate = (zb - za) / len * speed;
            assert!(rate <= airframe.climb_rate_mps + 1e-6, "climb {rate} m/s");
            assert!(
                -rate <= airframe.descent_rate_mps + 1e-6,
                "descent {rate} m/s"
            );
        }
    }
    assert!(metres > 40_000.0, "{metres} m checked");
    assert!(min_clear >= 60.0 - 5.0, "clearance {min_clear} m");
    assert!(
        (t.min_clearance_m - min_clear).abs() < 3.0,
        "reported {} vs {min_clear}",
        t.min_clearance_m
    );
    // The ridge rises 250 m: the path climbs it.
    assert!(t.max_climb_m > 10.0, "{}", t.max_climb_m);
    // Every survey waypoint of the plan is still there, at least AGL − tolerance above ground.
    for w in plan
        .items
        .iter()
        .filter(|w| w.action == WaypointAction::FlyThrough)
    {
        let got = t
            .items
            .iter()
            .find(|x| x.action == WaypointAction::FlyThrough && x.pos == w.pos)
            .unwrap();
        let clear = got.alt_rel_m + t.home_amsl_m - dem.elevation_m(w.pos).unwrap();
        assert!(clear >= 55.0, "{clear}");
    }
}

#[test]
fn a_path_over_missing_data_is_refused_with_the_place() {
    let mut set = SrtmSet::new();
    set.insert(
        SrtmTile::from_bytes("N47E008.hgt", &hgt(1201, 47.0, 8.0, |_, _| Some(500.0))).unwrap(),
    );
    // The area runs 600 m past the tile's east edge (9 E).
    let sw = LatLon::new(47.5, 8.99);
    let area = Area::new(&[square(sw, 1200.0)], &[], 500e6).unwrap();
    let home = sw.offset_ne(-20.0, 0.0);
    let params = SurveyParams {
        alt_rel_m: 60.0,
        home: Some(home),
        ..SurveyParams::default()
    };
    let plan = plan_survey(&area, &params).unwrap();
    let tp = TerrainParams::new(60.0, 5.0, &Airframe::default());
    let e = follow_terrain(&plan.items, home, &set, &tp).unwrap_err();
    match &e {
        TerrainError::NoDataOnPath { source } => assert!(source.at.lon_deg > 9.0, "{e}"),
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("missing terrain data"), "{e}");
    // A flat tile: no point added, every waypoint at 60 m above it.
    let inside = LatLon::new(47.5, 8.5);
    let area = Area::new(&[square(inside, 800.0)], &[], 500e6).unwrap();
    let home = inside.offset_ne(-20.0, 0.0);
    let plan = plan_survey(
        &area,
        &SurveyParams {
            alt_rel_m: 60.0,
            home: Some(home),
            ..SurveyParams::default()
        },
    )
    .unwrap();
    let t = follow_terrain(&plan.items, home, &set, &tp).unwrap();
    assert_eq!(t.inserted_waypoints, 0);
    assert_eq!(t.items.len(), plan.items.len());
    assert!(t.items.iter().all(|w| (w.alt_rel_m - 60.0).abs() < 1e-9));
    assert!((t.min_clearance_m - 60.0).abs() < 1e-9 && t.max_climb_m.abs() < 1e-9);
}

#[test]
fn a_geotiff_above_the_ellipsoid_is_read_above_mean_sea_level() {
    // The same slope, stored as heights above the WGS84 ellipsoid (vertical EPSG:4979): the
    // geoid lies 47-48 m above the ellipsoid here, so the file holds slope + N.
    let (cols, rows) = (100, 100);
    let mut data = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            let lon = 8.4 + (f64::from(c) + 0.5) * 0.001;
            let lat = 47.6 - (f64::from(r) + 0.5) * 0.001;
            let n = egm96_undulation_m(LatLon::new(lat, lon)).unwrap();
            data.push((slope_m(lat, lon) + n) as f32);
        }
    }
    let bytes = geotiff(
        cols,
        rows,
        (8.4, 47.6),
        (0.001, 0.001),
        &[1024, 2, 1025, 1, 2048, 4326, 4096, 4979],
        &data,
    );
    let raw = GeoTiffDem::from_bytes("ellipsoid.tif", &bytes).unwrap();
    assert_eq!(raw.datum(), VerticalDatum::Wgs84Ellipsoid);
    let p = LatLon::new(47.5534, 8.4467);
    let n = egm96_undulation_m(p).unwrap();
    assert!((47.0..48.5).contains(&n), "{n}");
    let dem = to_mean_sea_level(Box::new(raw));
    assert_eq!(dem.datum(), VerticalDatum::Egm96Geoid);
    assert!(
        dem.describe().contains("converted to EGM96"),
        "{}",
        dem.describe()
    );
    // The geoid changes by centimetres between pixels: the conversion at the point against
    // the slope itself, well inside a decimetre.
    let got = dem.elevation_m(p).unwrap();
    assert!((got - slope_m(p.lat_deg, p.lon_deg)).abs() < 0.05, "{got}");
    // A DEM already above mean sea level is left as it is.
    let msl = to_mean_sea_level(Box::new(
        GeoTiffDem::from_bytes(
            "msl.tif",
            &geotiff(
                cols,
                rows,
                (8.4, 47.6),
                (0.001, 0.001),
                &[1024, 2, 1025, 1, 2048, 4326],
                &data,
            ),
        )
        .unwrap(),
    ));
    assert!(!msl.describe().contains("converted"));
}
