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
profile="${AVIARY_PROFILE:-release}"
target="${CARGO_TARGET_DIR:-target}"

need=()
for pkg in xvfb imagemagick xauth x11-utils libgl1-mesa-dri libglx-mesa0 libegl-mesa0 libxkbcommon-x11-0 \
           libxcursor1 libxi6 libxrandr2 fonts-dejavu-core python3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "$profile" = release ]; then bin="$target/release/aviary"; else bin="$target/debug/aviary"; fi
if [ "${AVIARY_NO_BUILD:-0}" != 1 ]; then
  if [ "$profile" = release ]; then cargo build --release -p aviary-app; else cargo build -p aviary-app; fi
fi

work="$(mktemp -d)"
display=":${AVIARY_DISPLAY_NUM:-96}"
cleanup() {
  [ -n "${app_pid:-}" ] && kill "$app_pid" 2>/dev/null || true
  [ -n "${xvfb_pid:-}" ] && kill "$xvfb_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

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

Xvfb "$display" -screen 0 1440x900x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 1 100); do
  DISPLAY="$display" xwininfo -root >/dev/null 2>&1 && break
  sleep 0.1
done

mkdir -m 700 "$work/runtime"
env -u WAYLAND_DISPLAY DISPLAY="$display" XDG_RUNTIME_DIR="$work/runtime" HOME="$work/home" \
  XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" XDG_CACHE_HOME="$work/cache" \
  LIBGL_ALWAYS_SOFTWARE=1 RUST_LOG="${RUST_LOG:-info,walkers=error}" \
  "$bin" "$work/ridge-survey.geojson" >"$work/app.log" 2>&1 &
app_pid=$!

found=""
for _ in $(seq 1 600); do
  if DISPLAY="$display" xwininfo -root -tree 2>/dev/null | grep -q "Aviary"; then found=1; break; fi
  if ! kill -0 "$app_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ -z "$found" ]; then
  echo "the Aviary window did not appear; app log:" >&2
  cat "$work/app.log" >&2
  exit 1
fi
# The area, the DEM and the plan are read in the background; let them and a few frames land.
sleep "${AVIARY_SETTLE_S:-8}"
mkdir -p "$(dirname "$out")"
DISPLAY="$display" import -window root "$out"
echo "wrote $out"
grep -iE "window created|terrain|dem" "$work/app.log" || true
