#!/usr/bin/env bash
# The Plan view's terrain profile for the README: runs the Aviary desktop app under Xvfb with a
# fresh store and settings that name a synthetic DEM (a 3" SRTM tile N51E004 with a 75 m
# hill beside the Rotterdam demo site, written by this script: the real ground there is
# flat), opens a survey area over it at start, and saves a screenshot of the screen to
# docs/screenshot-terrain-profile.png (or $1). The plan flies 50 m above home, so the legs over
# the hill come closer to the ground than the 30 m marked: red in the profile.
# Usage: scripts/screenshot-terrain.sh [out.png]   (AVIARY_PROFILE=debug for a debug build,
#        AVIARY_NO_BUILD=1 to use the binary already built, CARGO_TARGET_DIR honoured)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshot-terrain-profile.png}"
display=":${AVIARY_DISPLAY_NUM:-96}"
# shellcheck source=lib/xvfb-app.sh
. scripts/lib/xvfb-app.sh
xvfb_app_prepare python3

# The DEM and the area: the Rotterdam site is at 51.9050 N, 4.4660 E (the plan's home).
mkdir -p "$work/config/aviary"
python3 - "$work" <<'PY'
import json, math, struct, sys
work = sys.argv[1]
site_lat, site_lon = 51.9050, 4.4660
m_lat = 111_195.0
m_lon = m_lat * math.cos(math.radians(site_lat))
def ground(lat, lon):
    n = (lat - site_lat) * m_lat
    e = (lon - site_lon) * m_lon
    hill = 75.0 * math.exp(-((n - 850.0) ** 2 + (e - 450.0) ** 2) / (2 * 130.0 ** 2))
    return 2.0 + hill
rows = []
for r in range(1201):
    lat = 52.0 - r / 1200.0
    rows.append(struct.pack(">1201h", *(round(ground(lat, 4.0 + c / 1200.0)) for c in range(1201))))
open(f"{work}/N51E004.hgt", "wb").write(b"".join(rows))
def at(n, e):
    return [round(site_lon + e / m_lon, 6), round(site_lat + n / m_lat, 6)]
ring = [at(400, 0), at(400, 750), at(850, 750), at(950, 350), at(800, 0), at(400, 0)]
area = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "Ridge survey"},
        "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
json.dump(area, open(f"{work}/ridge-survey.geojson", "w"))
# No weather fetches: the screenshot is about the terrain.
json.dump({"plan_dem": f"{work}/N51E004.hgt", "online_tiles": False, "weather_url": ""},
          open(f"{work}/config/aviary/settings.json", "w"))
PY

xvfb_app_start "$display" 60 "$work/ridge-survey.geojson"
# The area, the DEM and the plan are read in the background; let them and a few frames land.
sleep "${AVIARY_SETTLE_S:-8}"
mkdir -p "$(dirname "$out")"
DISPLAY="$display" import -window root "$out"
echo "wrote $out"
grep -iE "window created|terrain|dem" "$work/app.log" || true
