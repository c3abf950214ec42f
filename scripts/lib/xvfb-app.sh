# Shared by the README screenshot scripts (source it after `cd` to the repository root):
# installs what a headless window needs, builds the app, and runs it under Xvfb (Mesa software
# GL) with a fresh store and settings in a temporary folder that is removed on exit.
#
#   xvfb_app_prepare EXTRA_PKG...   packages, the build ($AVIARY_PROFILE release|debug,
#                                   AVIARY_NO_BUILD=1, CARGO_TARGET_DIR honoured); sets $bin,
#                                   $work (temporary folder) and the cleanup trap
#   xvfb_start DISPLAY              starts Xvfb on DISPLAY (screen $AVIARY_SCREEN, default
#                                   1440x900x24) and waits for it
#   xvfb_app_start DISPLAY WAIT_S ARG...
#                                   starts Xvfb on DISPLAY (screen $AVIARY_SCREEN, default
#                                   1440x900x24) and the app with ARGs, and waits up to WAIT_S
#                                   for its window (exits with the app's log if none)

xvfb_app_prepare() {
  local need=() pkg
  for pkg in xvfb imagemagick xauth x11-utils libgl1-mesa-dri libglx-mesa0 libegl-mesa0 \
             libxkbcommon-x11-0 libxcursor1 libxi6 libxrandr2 fonts-dejavu-core "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  local profile="${AVIARY_PROFILE:-release}" target="${CARGO_TARGET_DIR:-target}"
  if [ "$profile" = release ]; then bin="$target/release/aviary"; else bin="$target/debug/aviary"; fi
  if [ "${AVIARY_NO_BUILD:-0}" != 1 ]; then
    if [ "$profile" = release ]; then cargo build --release -p aviary-app; else cargo build -p aviary-app; fi
  fi
  work="$(mktemp -d)"
  trap xvfb_app_cleanup EXIT
}

xvfb_app_cleanup() {
  [ -n "${app_pid:-}" ] && kill "$app_pid" 2>/dev/null || true
  [ -n "${xvfb_pid:-}" ] && kill "$xvfb_pid" 2>/dev/null || true
  rm -rf "$work"
}

xvfb_start() {
  local display="$1"
  Xvfb "$display" -screen 0 "${AVIARY_SCREEN:-1440x900x24}" -nolisten tcp >"$work/xvfb.log" 2>&1 &
  xvfb_pid=$!
  for _ in $(seq 1 100); do
    DISPLAY="$display" xwininfo -root >/dev/null 2>&1 && break
    sleep 0.1
  done
}

xvfb_app_start() {
  local display="$1" wait_s="$2"
  shift 2
  xvfb_start "$display"
  mkdir -m 700 "$work/runtime"
  env -u WAYLAND_DISPLAY DISPLAY="$display" XDG_RUNTIME_DIR="$work/runtime" HOME="$work/home" \
    XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" XDG_CACHE_HOME="$work/cache" \
    LIBGL_ALWAYS_SOFTWARE=1 RUST_LOG="${RUST_LOG:-info,walkers=error}" \
    "$bin" "$@" >"$work/app.log" 2>&1 &
  app_pid=$!
  # Poll for the window instead of sleeping a fixed time.
  local found="" _
  for _ in $(seq 1 $((wait_s * 10))); do
    if DISPLAY="$display" xwininfo -root -tree 2>/dev/null | grep -q "Aviary"; then found=1; break; fi
    if ! kill -0 "$app_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if [ -z "$found" ]; then
    echo "the Aviary window did not appear; app log:" >&2
    cat "$work/app.log" >&2
    exit 1
  fi
}
