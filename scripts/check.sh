#!/usr/bin/env bash
# The one check: formatting, clippy with warnings as errors, the dependency-graph check and
# every test. CI (.ci/run) runs exactly this. Usage: scripts/check.sh
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
