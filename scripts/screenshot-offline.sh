#!/usr/bin/env bash
# An offline map set for the README: runs the Aviary desktop app under Xvfb (1440x900) with a
# fresh home and a tile source pointing at a local test tile server started here (plain test
# tiles, each labelled with its z/x/y and drawn by ImageMagick: the screenshot is about the
# stored set, not the imagery). The app opens a survey area at Rotterdam; the script zooms out
# once, opens Offline maps, takes the visible map area (zoom 15–16), downloads it, stops the
# tile server, starts the app again (nothing in memory) and saves a screenshot of the screen to
# docs/screenshot-offline.png (or $1): the stored set listed with its size and the map drawn
# from disk with no server. The clicks are at the window's 1440x900 layout.
# Usage: scripts/screenshot-offline.sh [out.png]   (AVIARY_PROFILE=debug for a debug build,
#        AVIARY_NO_BUILD=1 to use the binary already built, CARGO_TARGET_DIR honoured)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshot-offline.png}"
display=":${AVIARY_DISPLAY_NUM:-95}"
# shellcheck source=lib/xvfb-app.sh
. scripts/lib/xvfb-app.sh
xvfb_app_prepare python3 xdotool imagemagick

port=$((18000 + RANDOM % 1000))
mkdir -p "$work/config/aviary"
python3 - "$work" "$port" <<'PY'
import json, math, sys
work, port = sys.argv[1], sys.argv[2]
lat0, lon0 = 51.9050, 4.4660
m_lat = 111_195.0
m_lon = m_lat * math.cos(math.radians(lat0))
def at(n, e):
    return [round(lon0 + e / m_lon, 6), round(lat0 + n / m_lat, 6)]
ring = [at(300, -200), at(300, 500), at(750, 650), at(900, 150), at(650, -250), at(300, -200)]
area = {"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"name": "Harbour survey"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
json.dump(area, open(f"{work}/harbour.geojson", "w"))
json.dump({"tile_url": f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png",
           "tile_attribution": "Test tiles (local server)", "online_tiles": True,
           "weather_url": ""}, open(f"{work}/config/aviary/settings.json", "w"))
PY

# The tile server: one PNG per request, drawn on demand and labelled with its address.
cat >"$work/tiles.py" <<'PY'
import http.server, re, subprocess, sys
class Tiles(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        m = re.fullmatch(r"/(\d+)/(\d+)/(\d+)\.png", self.path)
        if not m:
            self.send_error(404)
            return
        z, x, y = m.groups()
        shade = "#eef0e6" if (int(x) + int(y)) % 2 == 0 else "#e4e8da"
        png = subprocess.run(["convert", "-size", "256x256", f"xc:{shade}", "-stroke", "#c9ccbf",
                              "-fill", "none", "-draw", "rectangle 0,0 255,255", "-stroke", "none",
                              "-fill", "#8a8f80", "-font", "DejaVu-Sans", "-pointsize", "13",
                              "-annotate", "+8+20", f"{z}/{x}/{y}", "png:-"],
                             capture_output=True, check=True).stdout
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(png)))
        self.end_headers()
        self.wfile.write(png)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Tiles).serve_forever()
PY
python3 "$work/tiles.py" "$port" &
tiles_pid=$!
trap 'kill "$tiles_pid" 2>/dev/null || true; xvfb_app_cleanup' EXIT

click() { DISPLAY="$display" xdotool mousemove "$1" "$2" click 1; sleep "${3:-1.5}"; }
xvfb_app_start "$display" 60 "$work/harbour.geojson"
sleep "${AVIARY_SETTLE_S:-8}"
click 1337 61      # zoom out once (the map's "−")
click 1322 84      # Offline maps…
click 89 108       # Use visible map area (zoom 15–16)
click 60 212 8     # Download, and let it finish
kill "$tiles_pid" 2>/dev/null || true
wait "$tiles_pid" 2>/dev/null || true
# Again with nothing in memory and no server: the set and the cache on disk draw the map.
kill "$app_pid" 2>/dev/null || true
wait "$app_pid" 2>/dev/null || true
env -u WAYLAND_DISPLAY DISPLAY="$display" XDG_RUNTIME_DIR="$work/runtime" HOME="$work/home" \
  XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" XDG_CACHE_HOME="$work/cache" \
  LIBGL_ALWAYS_SOFTWARE=1 RUST_LOG="${RUST_LOG:-info,walkers=error}" \
  "$bin" "$work/harbour.geojson" >"$work/app2.log" 2>&1 &
app_pid=$!
sleep "${AVIARY_SETTLE_S:-8}"
click 1337 61
click 1322 84 3
mkdir -p "$(dirname "$out")"
DISPLAY="$display" import -window root "$out"
echo "wrote $out"
ls "$work/data/aviary/tiles/sets" || true
