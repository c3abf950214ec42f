#!/usr/bin/env bash
# Multi-site demo, end to end on this machine's PostgreSQL and Mosquitto:
#   1. starts the fleet server (`aviary-server serve`) on a fresh schema and bootstraps an
#      organisation with an admin;
#   2. `aviary sim --mqtt … --register …` registers a simulated MQTT fleet on it and flies it
#      (the first instance);
#   3. opens a second desktop app (fresh store and settings, its own simulated fleet off)
#      pointed at the server, shows its Fleet view and saves a screenshot to
#      docs/screenshot-fleet.png (or $1).
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
  for p in "${app_pid:-}" "${sim_pid:-}" "${server_pid:-}" "${xvfb_pid:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  psql "$pg dbname=postgres" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export AVIARY_DATABASE_URL="$pg dbname=postgres" AVIARY_DB_SCHEMA="$schema" AVIARY_MQTT="$mqtt"
export AVIARY_JWT_SECRET="demo secret that is long enough for HS256 keys"
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

# The first instance: five simulated drones on the broker, registered at a site in Zurich.
AVIARY_FLEET_EMAIL="$admin" AVIARY_FLEET_PASSWORD="$pass" "$bin/aviary" sim --drones 5 \
  --mqtt "mqtt://$mqtt" --register "http://127.0.0.1:$port" --site "Zurich field" \
  --lat 47.397742 --lon 8.545594 --rate-hz 2 >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 1 100); do
  grep -q "MQTT drone" "$work/sim.log" 2>/dev/null && break
  if ! kill -0 "$sim_pid" 2>/dev/null; then cat "$work/sim.log" >&2; exit 1; fi
  sleep 0.1
done
cat "$work/sim.log"

# The second instance: a fresh desktop connected to the server.
Xvfb "$display" -screen 0 1440x900x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 1 100); do
  DISPLAY="$display" xwininfo -root >/dev/null 2>&1 && break
  sleep 0.1
done
mkdir -p -m 700 "$work/runtime" "$work/config/aviary"
cat >"$work/config/aviary/settings.json" <<EOF
{ "fleet_server": "http://127.0.0.1:$port", "fleet_email": "$admin", "simulated_fleet": false,
  "online_tiles": false }
EOF
env -u WAYLAND_DISPLAY DISPLAY="$display" XDG_RUNTIME_DIR="$work/runtime" HOME="$work/home" \
  XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" XDG_CACHE_HOME="$work/cache" \
  LIBGL_ALWAYS_SOFTWARE=1 RUST_LOG="${RUST_LOG:-info,walkers=error}" AVIARY_FLEET_PASSWORD="$pass" \
  "$bin/aviary" >"$work/app.log" 2>&1 &
app_pid=$!
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
sleep "${AVIARY_SETTLE_S:-6}"
# The Fleet tab of the top bar, in the default 1440x900 layout.
DISPLAY="$display" xdotool mousemove "${AVIARY_FLEET_TAB_X:-285}" "${AVIARY_FLEET_TAB_Y:-12}" click 1
sleep 2
mkdir -p "$(dirname "$out")"
DISPLAY="$display" import -window root "$out"
echo "wrote $out"
# What the server saw, for the record.
grep -E "connected to the fleet server|fleet" "$work/app.log" | head -5 || true
