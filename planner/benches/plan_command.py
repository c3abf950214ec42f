#!/usr/bin/env python3
"""Process-level bench of the whole `aviary plan` command (start, read, plan, write, exit).

Usage: plan_command.py AVIARY_BINARY [RUNS] [-- extra aviary plan arguments]

Runs `aviary plan --area tests/data/large_100km2.geojson --pattern crosshatch --out DIR/m.plan`
(100 km², 1,500 vertices, concave; 50 m, 70 %/80 % overlap, Phantom 4 Pro: about 2,000
sorties) RUNS times (default 30) after two warm-up runs, and prints the wall-clock minimum,
median and 90th percentile in milliseconds, with the `compute_ms` the command reports and the
bytes it wrote. The goal (issue 16) is a median of at most 150 ms.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
AREA = os.path.join(HERE, "..", "tests", "data", "large_100km2.geojson")


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1 :]
    if not args:
        sys.exit(__doc__)
    binary = args[0]
    runs = int(args[1]) if len(args) > 1 else 30
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "m.plan")
        cmd = [binary, "plan", "--area", AREA, "--pattern", "crosshatch", "--out", out, "--json"]
        cmd += extra
        walls, computes = [], []
        for k in range(runs + 2):
            t0 = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, text=True)
            wall = (time.perf_counter() - t0) * 1000.0
            if r.returncode != 0:
                sys.exit(f"aviary plan failed: {r.stderr}")
            if k >= 2:
                walls.append(wall)
                computes.append(json.loads(r.stdout)["compute_ms"])
        written = 0
        for root, _, files in os.walk(d):
            written += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    walls.sort()
    p90 = walls[min(len(walls) - 1, int(0.9 * len(walls)))]
    print(
        f"aviary plan crosshatch 100 km² ({runs} runs{', ' + ' '.join(extra) if extra else ''}): "
        f"wall min {walls[0]:.1f} ms, median {statistics.median(walls):.1f} ms, p90 {p90:.1f} ms; "
        f"compute_ms median {statistics.median(computes):.1f}; wrote {written / 1e6:.1f} MB; "
        f"load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
