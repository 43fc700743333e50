"""Benchmark: the full suite on the bundled mock IdP; prints wall time, per-scenario and per-exchange figures.

    .venv/bin/python benchmarks/suite.py [--runs N] [--workers auto|0|2]

Wall time is the whole `logout-conformance run` (mock start, pytest, workers; HTML off), measured
from outside. Per-scenario figures come from summary.json. The harness's own overhead per HTTP
exchange is the scenario time not spent waiting on the target (nor on the clock, for a token's
expiry), divided by the exchanges made.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = str(Path(sys.executable).with_name("logout-conformance"))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run_once(workers: str, profiles: list[str]) -> tuple[float, dict[str, object]]:
    with tempfile.TemporaryDirectory() as report:
        started = time.perf_counter()
        args = [CLI, "run", "--no-html", "--workers", workers, "--report-dir", report]
        args += [a for p in profiles for a in ("--profile", p)]
        done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"the run failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return wall, json.loads((Path(report) / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", default="auto")
    parser.add_argument("--profile", action="append", default=[], help="repeatable; default: every profile")
    args = parser.parse_args()
    walls: list[float] = []
    durations: list[float] = []
    exchanges = 0
    busy = wait = clock = 0.0
    for _ in range(args.runs):
        wall, summary = run_once(args.workers, args.profile)
        walls.append(wall)
        for scenario in summary["scenarios"]:  # type: ignore[union-attr]
            durations.append(scenario["duration_s"])
            exchanges += scenario["http_exchanges"]
            busy += scenario["duration_s"]
            wait += scenario["http_wait_s"]
            clock += scenario["clock_wait_s"]
    cases = len(durations) // args.runs
    print(f"profiles: {', '.join(args.profile) or 'all'}; {cases} scenario cases; {args.runs} runs; "
          f"workers={args.workers}")
    print(f"wall time per run:         median {statistics.median(walls):6.2f} s   min {min(walls):6.2f} s   "
          f"max {max(walls):6.2f} s")
    print(f"per scenario:              median {statistics.median(durations) * 1000:6.1f} ms  "
          f"p95 {_p95(durations) * 1000:6.1f} ms  max {max(durations) * 1000:6.1f} ms")
    print(f"HTTP exchanges per run:    {exchanges // args.runs}")
    print(f"per exchange, target wait: {wait / exchanges * 1000:6.2f} ms")
    print(f"clock waits per run:       {clock / args.runs:6.2f} s (tokens expiring on purpose)")
    print(f"per exchange, harness:     {(busy - wait - clock) / exchanges * 1000:6.2f} ms "
          "(scenario time not spent waiting on the target or the clock)")


if __name__ == "__main__":
    main()
