#!/usr/bin/env bash
# Installs the third-party peers the tests fly against (from PyPI): pymavlink, MAVProxy (slim:
# no wxPython/matplotlib/opencv) and MAVSDK. Idempotent.
set -euo pipefail
py=python3
if ! $py -c "import pymavlink, MAVProxy" >/dev/null 2>&1; then
  $py -m pip install -q pymavlink pyserial numpy pillow
  $py -m pip install -q --no-deps mavproxy
fi
if ! $py -c "import mavsdk" >/dev/null 2>&1; then
  $py -m pip install -q mavsdk
fi
