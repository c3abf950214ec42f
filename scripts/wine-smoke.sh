#!/usr/bin/env bash
# Windows smoke test of the `aviary` CLI under Wine, run by scripts/check.sh.
#
# Cross-builds aviary.exe with MinGW-w64 (x86_64-pc-windows-gnu) and runs it in a fresh Wine
# prefix whose user is "Zoë Ünal", from "C:\Aviary Smoke Tést" (drive letter, spaces,
# non-ASCII), and checks:
#   - `aviary.exe plan` reads a CRLF area file and writes .plan, .waypoints, .kml, .geojson and
#     .csv byte-identical to the Linux build's; a CRLF WPL mission is read back the same;
#   - `aviary.exe sim` + `aviary.exe fly` fly that plan over loopback UDP to "completed";
#   - the store lands in %APPDATA%\Aviary\Aviary\data\aviary.db of that profile;
#   - `aviary.exe report mission --latest --pdf` writes a PDF that pdftotext reads;
#   - `aviary.exe bench live --drones 50` loses no message.
#
# Wine 8.0 (Debian 12) lacks ProcessPrng in bcryptprimitives.dll, which Rust's standard library
# imports: without it aviary.exe exits at load with status 53. A test-only shim
# (packaging/windows/bcryptprimitives-shim.c) is built and put next to the exe here; it is never
# shipped (every Windows 10/11 has ProcessPrng). The prefix also gets DejaVu Sans as "Arial"
# (the charts' sans-serif on Windows), which a real Windows has and a bare Wine prefix lacks.
#
# Usage: scripts/wine-smoke.sh
# Environment: CARGO_TARGET_DIR (Linux build, default /var/tmp/aviary-ci-target),
# AVIARY_CROSS_TARGET_DIR (Windows build, default /var/tmp/aviary-cross-target),
# AVIARY_WINEPREFIX (default /var/tmp/aviary-wine-smoke; recreated on every run).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

host_target=${CARGO_TARGET_DIR:-/var/tmp/aviary-ci-target}
cross_target=${AVIARY_CROSS_TARGET_DIR:-/var/tmp/aviary-cross-target}
prefix=${AVIARY_WINEPREFIX:-/var/tmp/aviary-wine-smoke}
win_user="Zoë Ünal"
win_dir_name="Aviary Smoke Tést"
win_dir='C:\Aviary Smoke Tést'
# Ports of their own, away from 14550 (a desktop or SITL on this machine may hold it).
gcs_port=24550
sim_base_port=24560

fail() {
  echo "wine-smoke: FAIL: $*" >&2
  exit 1
}
step() { echo "-- wine-smoke: $*"; }

wine_bin=$(command -v wine || command -v wine64 || true)
[ -n "$wine_bin" ] || fail "wine is not installed (apt-get install wine64)"
command -v x86_64-w64-mingw32-gcc >/dev/null || fail "MinGW-w64 is missing (apt-get install gcc-mingw-w64-x86-64)"
command -v pdftotext >/dev/null || fail "pdftotext is missing (apt-get install poppler-utils)"

# --- Builds: the Linux reference and the Windows exe (separate target dirs).
step "building aviary (Linux) and aviary.exe (x86_64-pc-windows-gnu)"
CARGO_TARGET_DIR=$host_target cargo build --locked --quiet -p aviary-app --bin aviary
CARGO_TARGET_DIR=$cross_target cargo build --locked --quiet --target x86_64-pc-windows-gnu \
  -p aviary-app --bin aviary
linux_exe=$host_target/debug/aviary
windows_exe=$cross_target/x86_64-pc-windows-gnu/debug/aviary.exe

# --- A fresh prefix: the store must be created where Windows puts it, by this run.
case "$prefix" in
  /*wine*) rm -rf "$prefix" ;;
  *) fail "AVIARY_WINEPREFIX must be an absolute path containing 'wine' (it is deleted): $prefix" ;;
esac
export WINEPREFIX=$prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" USER=$win_user
unset DISPLAY WAYLAND_DISPLAY
step "creating the Wine prefix $prefix (user $win_user)"
"$wine_bin" wineboot -i >/dev/null 2>&1 || true
profile="$prefix/drive_c/users/$win_user"
[ -d "$profile" ] || fail "Wine did not create the profile folder $profile"
cp /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf "$prefix/drive_c/windows/Fonts/"
"$wine_bin" reg add 'HKCU\Software\Wine\Fonts\Replacements' /v Arial /t REG_SZ \
  /d 'DejaVu Sans' /f >/dev/null 2>&1 || fail "cannot set the Arial font replacement"

stage="$prefix/drive_c/$win_dir_name"
mkdir -p "$stage/out dir"
cp "$windows_exe" "$stage/aviary.exe"
x86_64-w64-mingw32-gcc -O2 -shared -s -o "$stage/bcryptprimitives.dll" \
  packaging/windows/bcryptprimitives-shim.c packaging/windows/bcryptprimitives-shim.def -ladvapi32

cleanup() {
  [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null || true
  WINEPREFIX=$prefix wineserver -k 2>/dev/null || true
}
trap cleanup EXIT
win() { (cd "$stage" && "$wine_bin" aviary.exe "$@"); }

win --version | grep -q '^aviary ' || fail "aviary.exe --version printed nothing (missing DLL?)"

# --- Plans: CRLF area in, the same files out as on Linux.
step "aviary.exe plan vs aviary plan"
linux_dir=$(mktemp -d /var/tmp/aviary-wine-smoke-linux.XXXXXX)
trap 'cleanup; rm -rf "$linux_dir"' EXIT
area=planner/tests/data/warehouse_roof.geojson
sed 's/$/\r/' "$area" >"$stage/roof area.geojson"
grep -q $'\r' "$stage/roof area.geojson" || fail "the CRLF area file has no CR"
for ext in plan waypoints kml geojson csv; do
  "$linux_exe" plan --area "$repo/$area" --altitude-m 30 --out "$linux_dir/roof.$ext" >/dev/null 2>&1 \
    || fail "Linux aviary plan --out roof.$ext failed"
  win plan --area "$win_dir\\roof area.geojson" --altitude-m 30 \
    --out "$win_dir\\out dir\\roof.$ext" >"$linux_dir/win.log" 2>&1 \
    || { tail -20 "$linux_dir/win.log" >&2; fail "aviary.exe plan --out roof.$ext failed (its output above)"; }
  cmp -s "$linux_dir/roof.$ext" "$stage/out dir/roof.$ext" \
    || fail "roof.$ext differs between Linux and Windows"
  echo "   roof.$ext identical ($(stat -c %s "$stage/out dir/roof.$ext") bytes)"
done
sed 's/$/\r/' "$linux_dir/roof.waypoints" >"$stage/roof crlf.waypoints"
"$linux_exe" plan --mission "$linux_dir/roof.waypoints" --out "$linux_dir/again.plan" >/dev/null 2>&1 \
  || fail "Linux aviary plan --mission failed"
win plan --mission "$win_dir\\roof crlf.waypoints" --out "$win_dir\\out dir\\again.plan" >/dev/null 2>&1 \
  || fail "aviary.exe plan --mission (CRLF WPL) failed"
cmp -s "$linux_dir/again.plan" "$stage/out dir/again.plan" || fail "CRLF WPL re-export differs"
echo "   CRLF WPL mission re-exported identically"

# --- A flight over loopback UDP, recorded in the default store.
step "aviary.exe sim + aviary.exe fly over UDP 127.0.0.1:$gcs_port"
(cd "$stage" && exec "$wine_bin" aviary.exe sim --drones 1 --speedup 20 --lat=37.7744 \
  --lon=-122.4189 --gcs "udp:127.0.0.1:$gcs_port" --base-port "$sim_base_port" --seconds 120 \
  >"$stage/sim.log" 2>&1) &
sim_pid=$!
fly_rc=0
win fly --link "udp:127.0.0.1:$gcs_port" --plan "$win_dir\\out dir\\roof.plan" \
  --wait-s 60 >"$stage/fly.log" 2>&1 || fly_rc=$?
kill "$sim_pid" 2>/dev/null || true
wait "$sim_pid" 2>/dev/null || true
sim_pid=
tail -n 2 "$stage/fly.log" | sed 's/^/   /'
[ "$fly_rc" -eq 0 ] || fail "aviary.exe fly exited $fly_rc (log: $stage/fly.log)"
grep -q 'end: completed' "$stage/fly.log" || fail "the flight did not complete"
db="$profile/AppData/Roaming/Aviary/Aviary/data/aviary.db"
[ -s "$db" ] || fail "the store is not at %APPDATA%\\Aviary\\Aviary\\data\\aviary.db ($db)"
echo "   store at C:\\users\\$win_user\\AppData\\Roaming\\Aviary\\Aviary\\data\\aviary.db"

# --- The PDF report of that flight.
step "aviary.exe report mission --latest --pdf"
win report mission --latest --pdf "$win_dir\\out dir\\mission report.pdf" >/dev/null 2>&1 \
  || fail "aviary.exe report mission failed"
pdf_text=$(pdftotext "$stage/out dir/mission report.pdf" - 2>/dev/null) || fail "pdftotext cannot read the report"
grep -q 'AVIARY MISSION REPORT' <<<"$pdf_text" || fail "the report's title is not in its text"
grep -q 'completed' <<<"$pdf_text" || fail "the report does not say the mission completed"
echo "   $(stat -c %s "$stage/out dir/mission report.pdf") bytes, pdftotext reads its title and verdict"

# --- Live telemetry over loopback UDP: nothing lost.
step "aviary.exe bench live --drones 50"
bench=$(win bench live --drones 50 --seconds 5 2>/dev/null | tail -n 1) || fail "aviary.exe bench live failed"
echo "   $bench"
lost=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["lost"] if r["drones"]==50 and r["received"]>0 else -1)' "$bench") \
  || fail "bench live printed no JSON"
[ "$lost" = 0 ] || fail "bench live lost $lost messages (or heard no drone)"

echo "wine-smoke: OK"
