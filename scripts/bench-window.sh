#!/usr/bin/env bash
# The real-window benchmark (issue 18): the release app in its own eframe window under Xvfb
# with Mesa's software GL (no GPU), a fresh home folder per case, measuring itself
# (app/src/gui/window_bench.rs) and printing one JSON line per case:
#   idle-12-monitor / idle-12-settings   the first start's demo fleet (12 drones flown by the
#                                        built-in simulator, inside the app's process), the app
#                                        repainting as it does for a user: CPU and memory;
#   idle-12-monitor-2hz                  the same with Settings → Display at 2 Hz (battery saver);
#   idle-12-monitor-4hz                  the same at 4 Hz (the stream rate the app asks drones for);
#   idle-12-external                     12 drones from `aviary sim` in another process (as real
#                                        drones would be): the app's own CPU and memory;
#   fleet-1000-{monitor,fleet}           1,000 drones from `aviary sim` on a UDP link, a new
#                                        frame as soon as one is drawn (as while the map is
#                                        dragged): the frame rate the window reaches;
#   fleet-1000-idle                      the same fleet, repainting as for a user: CPU, memory;
#   fleet-1000-map                       fleet-1000-monitor with the fleet at the Rotterdam site,
#                                        so the 1,000 darts, clusters and names are on the map;
#   floor-12-settings                    the demo fleet on the Settings view (a form, no map),
#                                        a new frame as soon as one is drawn: the most frames
#                                        the window's GL draws here, whatever the app shows;
#   floor-12-monitor                     the same on the Monitor (map, plots, flight display).
# Usage: scripts/bench-window.sh [CASE...]   (default: every case)
#   AVIARY_BENCH_S (measured seconds, 20), AVIARY_BENCH_RATE_HZ (positions a drone sends per
#   second, 4 — ArduPilot's usual stream rate), AVIARY_NO_BUILD=1, CARGO_TARGET_DIR honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/xvfb-app.sh
. scripts/lib/xvfb-app.sh
xvfb_app_prepare
measure_s="${AVIARY_BENCH_S:-20}"
rate_hz="${AVIARY_BENCH_RATE_HZ:-4}"
display=":${AVIARY_DISPLAY_NUM:-96}"
size=1600x1000
AVIARY_SCREEN="${size}x24" xvfb_start "$display"
sim_pid=""
stop_sim() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
  sim_pid=""
}
trap 'stop_sim; xvfb_app_cleanup' EXIT

# run_case NAME VIEW CONTINUOUS WARMUP_S DRONES_FROM_SIM [LIVE_REFRESH_HZ] [SIM_LAT SIM_LON]
#   DRONES_FROM_SIM=0: the built-in simulated fleet; N>0: N drones from `aviary sim` on a UDP
#   link (the built-in fleet off), at `aviary sim`'s default place or at SIM_LAT, SIM_LON.
run_case() {
  local name="$1" view="$2" continuous="$3" warmup="$4" sim_drones="$5" live_hz="${6:-10}"
  local sim_at=()
  [ -z "${7:-}" ] || sim_at=(--lat "$7" --lon "$8")
  local home="$work/$name" port=$((14600 + RANDOM % 1000))
  mkdir -p "$home/config/aviary" "$home/runtime"
  chmod 700 "$home/runtime"
  if [ "$sim_drones" -gt 0 ]; then
    printf '{"links":["udpin:127.0.0.1:%s"],"simulated_fleet":false,"live_refresh_hz":%s}\n' \
      "$port" "$live_hz" >"$home/config/aviary/settings.json"
  elif [ "$live_hz" != 10 ]; then
    printf '{"live_refresh_hz":%s}\n' "$live_hz" >"$home/config/aviary/settings.json"
  fi
  env -u WAYLAND_DISPLAY DISPLAY="$display" XDG_RUNTIME_DIR="$home/runtime" HOME="$home/home" \
    XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" XDG_CACHE_HOME="$home/cache" \
    LIBGL_ALWAYS_SOFTWARE=1 RUST_LOG="${RUST_LOG:-warn}" AVIARY_START_VIEW="$view" \
    AVIARY_BENCH_WINDOW="$measure_s" AVIARY_BENCH_WARMUP_S="$warmup" \
    AVIARY_BENCH_CONTINUOUS="$continuous" AVIARY_BENCH_WINDOW_SIZE="$size" \
    "$bin" >"$home/out.json" 2>"$home/app.log" &
  app_pid=$!
  if [ "$sim_drones" -gt 0 ]; then
    "$bin" sim --drones "$sim_drones" --stream --rate-hz "$rate_hz" --base-port 0 \
      --gcs "udp:127.0.0.1:$port" "${sim_at[@]}" >"$home/sim.log" 2>&1 &
    sim_pid=$!
  fi
  local limit=$(( ${warmup%.*} + ${measure_s%.*} + 120 )) waited=0
  while kill -0 "$app_pid" 2>/dev/null && [ "$waited" -lt "$limit" ]; do
    sleep 1
    waited=$((waited + 1))
  done
  if kill -0 "$app_pid" 2>/dev/null; then
    kill "$app_pid" 2>/dev/null || true
    echo "case $name: the app did not finish in ${limit}s; its log:" >&2
    tail -20 "$home/app.log" >&2
  fi
  wait "$app_pid" 2>/dev/null || true
  app_pid=""
  stop_sim
  local line
  line="$(grep -m1 '"bench":"window"' "$home/out.json" || true)"
  if [ -z "$line" ]; then
    echo "case $name: no measurement; app log:" >&2
    tail -20 "$home/app.log" >&2
    return 1
  fi
  echo "{\"case\":\"$name\",${line#\{}"
}

cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(idle-12-monitor idle-12-monitor-2hz idle-12-settings idle-12-external fleet-1000-monitor fleet-1000-fleet fleet-1000-idle)
echo "# $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/') $(nproc) cores, window ${size}, ${measure_s}s measured, sim ${rate_hz} Hz" >&2
status=0
for c in "${cases[@]}"; do
  case "$c" in
    idle-12-monitor) run_case "$c" Monitor 0 15 0 || status=1 ;;
    idle-12-monitor-2hz) run_case "$c" Monitor 0 15 0 2 || status=1 ;;
    idle-12-monitor-4hz) run_case "$c" Monitor 0 15 0 4 || status=1 ;;
    idle-12-settings) run_case "$c" Settings 0 15 0 || status=1 ;;
    idle-12-external) run_case "$c" Monitor 0 15 12 || status=1 ;;
    fleet-1000-monitor) run_case "$c" Monitor 1 30 1000 || status=1 ;;
    fleet-1000-fleet) run_case "$c" Fleet 1 30 1000 || status=1 ;;
    fleet-1000-idle) run_case "$c" Monitor 0 30 1000 || status=1 ;;
    fleet-1000-map) run_case "$c" Monitor 1 30 1000 10 51.9050 4.4660 || status=1 ;;
    floor-12-settings) run_case "$c" Settings 1 10 0 || status=1 ;;
    floor-12-monitor) run_case "$c" Monitor 1 10 0 || status=1 ;;
    *) echo "unknown case $c" >&2; status=2 ;;
  esac
done
exit "$status"
