#!/usr/bin/env bash
# The one check: formatting, clippy with warnings as errors, the dependency-graph check and
# every test, then the Windows cross-check and the Wine smoke test of the CLI. CI (.ci/run) runs
# exactly this. Usage: scripts/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== dependency graph (ARCHITECTURE.md)"
cargo test --locked -p aviary-tests --test architecture -- --nocapture

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  # nextest does not run doctests; run them first so the test summary closes the log
  cargo test --workspace --locked --doc --quiet
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

# --- Windows: the whole workspace type-checks for x86_64-pc-windows-gnu, and the CLI runs under
# Wine (scripts/wine-smoke.sh). Its own target dir keeps the host cache warm. Without the
# toolchain the step is skipped with the reason, unless AVIARY_REQUIRE_SERVICES=1 (CI).
cross_target=${AVIARY_CROSS_TARGET_DIR:-/var/tmp/aviary-cross-target}
windows_missing=""
rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu \
  || windows_missing="the Rust target x86_64-pc-windows-gnu"
command -v x86_64-w64-mingw32-gcc >/dev/null || windows_missing+="${windows_missing:+, }MinGW-w64"
command -v wine >/dev/null || command -v wine64 >/dev/null || windows_missing+="${windows_missing:+, }wine"
if [ -n "$windows_missing" ]; then
  if [ "${AVIARY_REQUIRE_SERVICES:-0}" = 1 ]; then
    echo "Windows checks need $windows_missing (.ci/run installs them)" >&2
    exit 1
  fi
  echo "== Windows checks SKIPPED: $windows_missing not installed"
else
  echo "== cargo check --workspace --target x86_64-pc-windows-gnu"
  start_s=$SECONDS
  CARGO_TARGET_DIR=$cross_target cargo check --workspace --target x86_64-pc-windows-gnu --locked
  echo "== Windows smoke test under Wine (scripts/wine-smoke.sh)"
  AVIARY_CROSS_TARGET_DIR=$cross_target scripts/wine-smoke.sh
  echo "== Windows checks took $((SECONDS - start_s)) s"
fi
