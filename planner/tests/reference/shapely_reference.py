#!/usr/bin/env python3
"""The design's crosshatch algorithm (system design, section 6.1) written with shapely, as the
yardstick the planner's paths are compared against (`tests/shapely_reference.rs`).

What it does, step by step as in the design:
  1. line spacing (given here in metres, the planner derives it from the camera);
  2. minimum rotated rectangle of the area, rotate so its longest edge lies along x;
  3. horizontal lines from miny (or, with --centred, half a spacing above it: the design's
     first line runs along the edge and so wastes half a strip) every spacing up to maxy, each intersected with the area,
     alternating direction (0° pass);
  4. vertical lines from minx every spacing (90° pass, crosshatch only);
  5. rotate back;
  6. "traveling_salesman_nearest_neighbor": a greedy nearest-neighbour tour. It runs over the
     transect pieces (a piece is flown whole, entered at its nearer end): over bare points it
     would hop between the ends of neighbouring lines and never fly a transect.

Work is in a transverse Mercator frame centred on the area (pyproj), as the planner does.
Prints one JSON object: path length in metres, waypoint count, compute time, and, for the
planner's path when `--ours FILE` is given (a JSON list of [lat, lon] survey waypoints), the
share of the area within half a line spacing of that path (shapely buffer), an independent
check of the coverage the planner reports.
"""

import argparse
import json
import math
import sys
import time

import numpy as np
import pyproj
import shapely
from shapely.affinity import rotate
from shapely.geometry import LineString, MultiPolygon, Polygon, shape
from shapely.ops import unary_union


def read_area(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    feats = doc["features"] if doc.get("type") == "FeatureCollection" else [doc]
    geoms = [shape(f["geometry"] if "geometry" in f else f) for f in feats]
    return unary_union(geoms)


def local_frame(area_ll):
    minx, miny, maxx, maxy = area_ll.bounds
    crs = pyproj.CRS.from_proj4(
        f"+proj=tmerc +lat_0={(miny + maxy) / 2} +lon_0={(minx + maxx) / 2} +k=1 "
        "+x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    )
    fwd = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return fwd


def rotation_angle_deg(polygon):
    """Angle of the minimum rotated rectangle's longest edge, degrees from the x axis."""
    rect = polygon.minimum_rotated_rectangle
    c = list(rect.exterior.coords)
    best = max(
        ((c[i], c[i + 1]) for i in range(4)),
        key=lambda e: math.dist(e[0], e[1]),
    )
    (x0, y0), (x1, y1) = best
    return math.degrees(math.atan2(y1 - y0, x1 - x0))


def pieces_of(geom):
    """Line pieces of an intersection result (points and empty results carry no transect)."""
    if geom.is_empty:
        return []
    if geom.geom_type == "LineString":
        return [list(geom.coords)] if geom.length > 1e-9 else []
    if hasattr(geom, "geoms"):
        out = []
        for g in geom.geoms:
            out.extend(pieces_of(g))
        return out
    return []


def design_pieces(polygon, spacing_m, crosshatch, first_offset_m):
    angle = rotation_angle_deg(polygon)
    origin = polygon.centroid
    rotated = rotate(polygon, -angle, origin=origin)
    minx, miny, maxx, maxy = rotated.bounds
    pieces = []
    y = miny + first_offset_m
    direction = 1
    while y <= maxy:
        line = LineString([(minx, y), (maxx, y)])
        inter = pieces_of(line.intersection(rotated))
        if inter:
            if direction == -1:
                inter = [list(reversed(p)) for p in reversed(inter)]
            pieces.extend(inter)
            direction *= -1
        y += spacing_m
    if crosshatch:
        x = minx + first_offset_m
        while x <= maxx:
            line = LineString([(x, miny), (x, maxy)])
            pieces.extend(pieces_of(line.intersection(rotated)))
            x += spacing_m
    back = []
    for p in pieces:
        ls = rotate(LineString(p), angle, origin=origin)
        back.append(list(ls.coords))
    return back


def nearest_neighbour_tour(pieces):
    """Greedy tour over the pieces: from the current point, the nearest unvisited piece end."""
    if not pieces:
        return []
    remaining = list(range(1, len(pieces)))
    tour = list(pieces[0])
    while remaining:
        here = tour[-1]
        best = None
        for k, idx in enumerate(remaining):
            p = pieces[idx]
            for flip in (False, True):
                end = p[-1] if flip else p[0]
                d = (end[0] - here[0]) ** 2 + (end[1] - here[1]) ** 2
                if best is None or d < best[0]:
                    best = (d, k, flip)
        _, k, flip = best
        p = pieces[remaining.pop(k)]
        tour.extend(reversed(p) if flip else p)
    return tour


def path_length(points):
    return sum(math.dist(points[i], points[i + 1]) for i in range(len(points) - 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--area", required=True, help="GeoJSON survey area")
    ap.add_argument("--spacing-m", type=float, required=True, help="line spacing, metres")
    ap.add_argument("--pattern", choices=["lawnmower", "crosshatch"], default="crosshatch")
    ap.add_argument(
        "--centred",
        action="store_true",
        help="first line half a spacing in from the edge (the design starts on the edge itself)",
    )
    ap.add_argument("--ours", help="JSON list of [lat, lon] survey waypoints to measure")
    ap.add_argument(
        "--tour-out",
        help="write the reference's tour here as a JSON list of [lat, lon] points",
    )
    args = ap.parse_args()

    area_ll = read_area(args.area)
    fwd = local_frame(area_ll)
    area = shapely.transform(area_ll, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
    if isinstance(area, MultiPolygon) and len(area.geoms) == 1:
        area = area.geoms[0]

    t0 = time.perf_counter()
    offset = args.spacing_m / 2.0 if args.centred else 0.0
    pieces = design_pieces(area, args.spacing_m, args.pattern == "crosshatch", offset)
    tour = nearest_neighbour_tour(pieces)
    compute_ms = (time.perf_counter() - t0) * 1000.0

    out = {
        "shapely_version": shapely.__version__,
        "pattern": args.pattern,
        "centred": args.centred,
        "area_m2": area.area,
        "pieces": len(pieces),
        "waypoints": len(tour),
        "path_m": path_length(tour),
        "compute_ms": compute_ms,
    }
    # How much of the tour runs outside the area: its straight connectors cut across bays and
    # holes, which the planner's paths may not.
    out["outside_m"] = LineString(tour).difference(area).length if len(tour) > 1 else 0.0
    if args.tour_out:
        lons, lats = fwd.transform(
            [p[0] for p in tour], [p[1] for p in tour], direction="INVERSE"
        )
        with open(args.tour_out, "w", encoding="utf-8") as f:
            json.dump([[lat, lon] for lat, lon in zip(lats, lons)], f)
    half = args.spacing_m / 2.0
    covered = LineString(tour).buffer(half).intersection(area).area if len(tour) > 1 else 0.0
    out["reference_within_half_spacing_pct"] = covered / area.area * 100.0
    if args.ours:
        with open(args.ours, encoding="utf-8") as f:
            ll = json.load(f)
        xs, ys = fwd.transform([p[1] for p in ll], [p[0] for p in ll])
        ours = list(zip(xs, ys))
        out["ours_path_m"] = path_length(ours)
        if len(ours) > 1:
            # A hair over half a spacing (as the planner measures): points midway between
            # transects are at exactly half a spacing.
            buf = LineString(ours).buffer(half * (1 + 1e-6), quad_segs=16)
            out["ours_within_half_spacing_pct"] = buf.intersection(area).area / area.area * 100.0
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
