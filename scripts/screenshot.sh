#!/usr/bin/env bash
# Runs the Aviary desktop app under Xvfb (Mesa software GL, glow renderer) with a fresh
# store and settings, waits for its window, lets the simulated fleet report in, presses
# Start on the selected demo mission (AVIARY_FLY=0 to skip) so a drone is seen surveying,
# and saves a screenshot of the screen to docs/screenshot.png (or $1).
# Usage: scripts/screenshot.sh [out.png]    (AVIARY_PROFILE=debug for a debug build,
#        AVIARY_NO_BUILD=1 to use the binary already built, CARGO_TARGET_DIR honoured)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshot.png}"
display=":${AVIARY_DISPLAY_NUM:-97}"
# shellcheck source=lib/xvfb-app.sh
. scripts/lib/xvfb-app.sh
xvfb_app_prepare xdotool
# A fresh user: empty store (the demo organisation is seeded), default settings.
xvfb_app_start "$display" 30
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
