#!/usr/bin/env bash
# Runs the Aviary desktop app under Xvfb (Mesa software GL, glow renderer) with a fresh
# store and settings, waits for its window, lets the simulated fleet report in, presses
# Start on the selected demo mission (AVIARY_FLY=0 to skip) so a drone is seen surveying,
# and saves a screenshot of the screen to docs/screenshot.png (or $1).
# Usage: scripts/screenshot.sh [out.png]    (AVIARY_PROFILE=debug for a debug build,
#        AVIARY_NO_BUILD=1 to use the binary already built)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshot.png}"
profile="${AVIARY_PROFILE:-release}"

need=()
for pkg in xvfb imagemagick xauth x11-utils xdotool libgl1-mesa-dri libglx-mesa0 libegl-mesa0 libxkbcommon-x11-0 \
           libxcursor1 libxi6 libxrandr2 fonts-dejavu-core; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "$profile" = release ]; then bin=target/release/aviary; else bin=target/debug/aviary; fi
if [ "${AVIARY_NO_BUILD:-0}" != 1 ]; then
  if [ "$profile" = release ]; then cargo build --release -p aviary-app; else cargo build -p aviary-app; fi
fi

work="$(mktemp -d)"
display=":${AVIARY_DISPLAY_NUM:-97}"
cleanup() {
  [ -n "${app_pid:-}" ] && kill "$app_pid" 2>/dev/null || true
  [ -n "${xvfb_pid:-}" ] && kill "$xvfb_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

Xvfb "$display" -screen 0 1440x900x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 1 100); do
  DISPLAY="$display" xwininfo -root >/dev/null 2>&1 && break
  sleep 0.1
done

mkdir -m 700 "$work/runtime"
# A fresh user: empty store (the demo organisation is seeded), default settings.
env -u WAYLAND_DISPLAY DISPLAY="$display" XDG_RUNTIME_DIR="$work/runtime" HOME="$work/home" \
  XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" XDG_CACHE_HOME="$work/cache" \
  LIBGL_ALWAYS_SOFTWARE=1 RUST_LOG="${RUST_LOG:-info,walkers=error}" \
  "$bin" >"$work/app.log" 2>&1 &
app_pid=$!

# Poll for the window instead of sleeping a fixed time.
found=""
for _ in $(seq 1 300); do
  if DISPLAY="$display" xwininfo -root -tree 2>/dev/null | grep -q "Aviary"; then found=1; break; fi
  if ! kill -0 "$app_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ -z "$found" ]; then
  echo "the Aviary window did not appear; app log:" >&2
  cat "$work/app.log" >&2
  exit 1
fi
# Let the simulated drones report in over MAVLink and a few frames render.
sleep "${AVIARY_SETTLE_S:-4}"
if [ "${AVIARY_FLY:-1}" = 1 ]; then
  # "Start" of the demo mission selected on first start, in the default 1440x900 layout (the
  # controls sit right under the mission title, below the fixed-height mission list).
  DISPLAY="$display" xdotool mousemove 29 255 click 1
  sleep "${AVIARY_FLY_S:-25}"
fi
mkdir -p "$(dirname "$out")"
DISPLAY="$display" import -window root "$out"
echo "wrote $out"
grep -E "window created|simulated fleet started" "$work/app.log" || true
