#!/usr/bin/env bash
# Installs the third-party peers the tests run against (from PyPI): pymavlink, MAVProxy (slim:
# no wxPython/matplotlib/opencv), MAVSDK, and shapely + pyproj for the planner reference. Idempotent.
set -euo pipefail
py=python3
if ! $py -c "import pymavlink, MAVProxy" >/dev/null 2>&1; then
  $py -m pip install -q pymavlink pyserial numpy pillow
  $py -m pip install -q --no-deps mavproxy
fi
if ! $py -c "import mavsdk" >/dev/null 2>&1; then
  $py -m pip install -q mavsdk
fi
# The planner's reference implementation of the design's crosshatch (section 6.1).
if ! $py -c "import shapely, pyproj" >/dev/null 2>&1; then
  $py -m pip install -q shapely pyproj
fi
