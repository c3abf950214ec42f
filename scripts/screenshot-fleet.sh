#!/usr/bin/env bash
# Multi-site demo, end to end on this machine's PostgreSQL and Mosquitto:
#   1. starts the fleet server (`aviary-server serve`) on a fresh schema and bootstraps an
#      organisation with an admin;
#   2. opens the first desktop app (its own Xvfb display, fresh store and settings) whose
#      built-in simulator flies the demo fleet as MQTT clients of the broker and registers it
#      on the server (Settings → Simulator: MQTT, register with the fleet server);
#   3. waits until the server lists those drones with live telemetry (REST);
#   4. opens a second desktop app (another display, fresh store, its own simulator off) pointed
#      at the server, shows its Fleet view and saves a screenshot to docs/screenshot-fleet.png
#      (or $1).
# Usage: scripts/screenshot-fleet.sh [out.png]   (AVIARY_PROFILE=debug for debug binaries,
#        AVIARY_NO_BUILD=1 to use binaries already built)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshot-fleet.png}"
profile="${AVIARY_PROFILE:-release}"
pg="${AVIARY_TEST_PG:-host=127.0.0.1 user=postgres}"
mqtt="${AVIARY_TEST_MQTT:-127.0.0.1:1883}"
port="${AVIARY_DEMO_PORT:-18080}"
target="${CARGO_TARGET_DIR:-target}"

need=()
for pkg in xvfb imagemagick xauth x11-utils xdotool curl postgresql-client libgl1-mesa-dri libglx-mesa0 \
           libegl-mesa0 libxkbcommon-x11-0 libxcursor1 libxi6 libxrandr2 fonts-dejavu-core; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "${AVIARY_NO_BUILD:-0}" != 1 ]; then
  if [ "$profile" = release ]; then
    cargo build --release -p aviary-app -p aviary-server
  else
    cargo build -p aviary-app -p aviary-server
  fi
fi
bin="$target/$profile"

work="$(mktemp -d)"
schema="aviary_demo_$(date +%s)_$$"
display=":${AVIARY_DISPLAY_NUM:-96}"
cleanup() {
  for p in "${app_pid:-}" "${app1_pid:-}" "${server_pid:-}" "${xvfb_pid:-}" "${xvfb1_pid:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  psql "$pg dbname=postgres" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export AVIARY_DATABASE_URL="$pg dbname=postgres" AVIARY_DB_SCHEMA="$schema" AVIARY_MQTT="$mqtt"
export AVIARY_JWT_SECRET="demo secret that is long enough for HS256 keys"
export AVIARY_AUDIT_SECRET="demo audit secret that is long enough for HMAC keys"
admin=admin@demo.test
pass="demo password $$"
AVIARY_ADMIN_PASSWORD="$pass" "$bin/aviary-server" bootstrap --org "Aviary Demo" --email "$admin" \
  >"$work/bootstrap.log" 2>&1
"$bin/aviary-server" serve --listen "127.0.0.1:$port" --instance "demo-$$" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

start_display() { # $1 = display; echoes the Xvfb pid
  Xvfb "$1" -screen 0 1440x900x24 -nolisten tcp >"$work/xvfb$1.log" 2>&1 &
  echo $!
}
wait_display() {
  for _ in $(seq 1 100); do
    DISPLAY="$1" xwininfo -root >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "Xvfb $1 did not start" >&2; return 1
}
# $1 = instance name, $2 = display, $3 = settings JSON; echoes the app pid
start_app() {
  local dir="$work/$1"
  mkdir -p -m 700 "$dir/runtime" "$dir/config/aviary"
  printf '%s\n' "$3" >"$dir/config/aviary/settings.json"
  env -u WAYLAND_DISPLAY DISPLAY="$2" XDG_RUNTIME_DIR="$dir/runtime" HOME="$dir/home" \
    XDG_DATA_HOME="$dir/data" XDG_CONFIG_HOME="$dir/config" XDG_CACHE_HOME="$dir/cache" \
    LIBGL_ALWAYS_SOFTWARE=1 RUST_LOG="${RUST_LOG:-info,walkers=error}" AVIARY_FLEET_PASSWORD="$pass" \
    "$bin/aviary" >"$work/$1.log" 2>&1 &
  echo $!
}
wait_window() { # $1 = display, $2 = app pid, $3 = log
  for _ in $(seq 1 300); do
    if DISPLAY="$1" xwininfo -root -tree 2>/dev/null | grep -q "Aviary"; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "the Aviary window did not appear on $1; app log:" >&2
  cat "$3" >&2
  return 1
}

display1=":$(( ${AVIARY_DISPLAY_NUM:-96} + 1 ))"
xvfb1_pid=$(start_display "$display1")
wait_display "$display1"
# The first instance: the desktop's own simulator flies the demo fleet (12 drones at three
# sites) as MQTT clients and registers it on the server once logged in.
app1_pid=$(start_app first "$display1" "{ \"fleet_server\": \"http://127.0.0.1:$port\",
  \"fleet_email\": \"$admin\", \"simulated_fleet\": true, \"sim_transport\": \"mqtt\",
  \"sim_mqtt_broker\": \"mqtt://$mqtt\", \"sim_register\": true, \"online_tiles\": false }")
wait_window "$display1" "$app1_pid" "$work/first.log"

# The server lists the first instance's drones, each with its latest telemetry.
token=$(curl -sf -H 'content-type: application/json' \
  -d "{\"email\":\"$admin\",\"password\":\"$pass\"}" "http://127.0.0.1:$port/api/v1/auth/login" |
  sed -E 's/.*"token":"([^"]+)".*/\1/')
live=0
for _ in $(seq 1 300); do
  live=$(curl -sf -H "authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/drones" |
    grep -o '"position":{' | wc -l || true)
  [ "$live" -ge 12 ] && break
  sleep 0.1
done
echo "the server lists $live drone(s) of the first desktop with live telemetry"
if [ "$live" -lt 12 ]; then
  echo "the first desktop's simulated fleet did not reach the server; its log:" >&2
  cat "$work/first.log" >&2
  exit 1
fi

# A mission planned on the server for one of those drones: the second desktop lists it too.
read -r m_site m_drone < <(curl -sf -H "authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/drones" |
  python3 -c 'import json, sys; d = [x for x in json.load(sys.stdin) if x["serial_number"] == "RTM-01"][0]; print(d["site_id"], d["drone_id"])')
curl -sf -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d "{\"site_id\":\"$m_site\",\"drone_id\":\"$m_drone\",\"name\":\"Harbour warehouse roof\",
       \"survey_area\":{\"type\":\"Polygon\",\"coordinates\":[[[4.4810,51.9210],[4.4840,51.9210],[4.4840,51.9228],[4.4810,51.9228],[4.4810,51.9210]]]},
       \"flight_pattern\":\"crosshatch\",\"parameters\":{\"altitude\":50,\"speed\":5,\"overlap\":70,\"gimbal_angle\":-90},
       \"scheduled_start\":\"2026-12-01T09:30:00Z\"}" \
  "http://127.0.0.1:$port/api/v1/missions" >/dev/null
echo "planned a mission on the server for RTM-01"

# The second instance: a fresh desktop connected to the server, its own simulator off.
xvfb_pid=$(start_display "$display")
wait_display "$display"
app_pid=$(start_app second "$display" "{ \"fleet_server\": \"http://127.0.0.1:$port\",
  \"fleet_email\": \"$admin\", \"simulated_fleet\": false, \"online_tiles\": false }")
wait_window "$display" "$app_pid" "$work/second.log"
sleep "${AVIARY_SETTLE_S:-6}"
# The Fleet tab of the top bar, in the default 1440x900 layout.
DISPLAY="$display" xdotool mousemove "${AVIARY_FLEET_TAB_X:-285}" "${AVIARY_FLEET_TAB_Y:-12}" click 1
sleep 2
mkdir -p "$(dirname "$out")"
DISPLAY="$display" import -window root "$out"
echo "wrote $out"
# What each desktop did, for the record.
grep -E "simulated fleet|fleet server|registered" "$work/first.log" | head -5 || true
grep -E "connected to the fleet server|fleet" "$work/second.log" | head -5 || true
