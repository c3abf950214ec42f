#!/usr/bin/env python3
"""Builds assets/basemap/world-110m.geojson, the offline basemap.

Source: Natural Earth 1:110m admin-0 countries (public domain), as shipped in the
`naturalearth_lowres` shapefile of the geopandas 0.14 wheel on PyPI:

    pip download geopandas==0.14.4 --no-deps -d /tmp/ne && unzip /tmp/ne/geopandas-*.whl \
        'geopandas/datasets/naturalearth_lowres/*' -d /tmp/ne
    python3 assets/basemap/make_world.py /tmp/ne/geopandas/datasets/naturalearth_lowres/naturalearth_lowres

Only the standard library is used: the .shp polygons and the `name` column of the .dbf are
read directly; coordinates are rounded to 0.01 degrees (about 1 km), which is plenty at the
zoom levels where the basemap shows through.
"""
import json
import struct
import sys


def read_dbf_names(path):
    with open(path, "rb") as f:
        data = f.read()
    n_records, header_len, record_len = struct.unpack("<IHH", data[4:12])
    fields = []
    pos = 32
    while data[pos] != 0x0D:
        name = data[pos:pos + 11].split(b"\0")[0].decode()
        flen = data[pos + 16]
        fields.append((name, flen))
        pos += 32
    names = []
    for i in range(n_records):
        rec = data[header_len + i * record_len + 1: header_len + (i + 1) * record_len]
        off = 0
        row = {}
        for fname, flen in fields:
            row[fname] = rec[off:off + flen].decode("utf-8", "replace").strip()
            off += flen
        names.append(row.get("name", ""))
    return names


def read_shp_polygons(path):
    with open(path, "rb") as f:
        data = f.read()
    pos = 100
    shapes = []
    while pos < len(data):
        _num, content_len = struct.unpack(">ii", data[pos:pos + 8])
        rec = data[pos + 8: pos + 8 + content_len * 2]
        pos += 8 + content_len * 2
        (shape_type,) = struct.unpack("<i", rec[0:4])
        if shape_type != 5:
            shapes.append([])
            continue
        num_parts, num_points = struct.unpack("<ii", rec[36:44])
        parts = list(struct.unpack(f"<{num_parts}i", rec[44:44 + 4 * num_parts]))
        pts_off = 44 + 4 * num_parts
        pts = [struct.unpack("<dd", rec[pts_off + 16 * i: pts_off + 16 * (i + 1)]) for i in range(num_points)]
        rings = []
        for k, start in enumerate(parts):
            end = parts[k + 1] if k + 1 < num_parts else num_points
            ring = []
            for x, y in pts[start:end]:
                p = [round(x, 2), round(y, 2)]
                if not ring or ring[-1] != p:
                    ring.append(p)
            if len(ring) >= 4:
                rings.append(ring)
        shapes.append(rings)
    return shapes


def main():
    base = sys.argv[1]
    names = read_dbf_names(base + ".dbf")
    shapes = read_shp_polygons(base + ".shp")
    features = []
    for name, rings in zip(names, shapes):
        if not rings:
            continue
        features.append({
            "type": "Feature",
            "properties": {"name": name},
            # Every ring as its own polygon outline: the basemap draws outlines and fills.
            "geometry": {"type": "MultiLineString", "coordinates": rings},
        })
    out = {"type": "FeatureCollection", "features": features}
    with open("assets/basemap/world-110m.geojson", "w") as f:
        json.dump(out, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
