"""Benchmark: the scenarios that drive Chromium, on the bundled mock; prints what one browser scenario costs.

    .venv/bin/python benchmarks/browser.py [--runs N]

Launching Chromium is measured on its own (paid once per worker). The browser scenarios (front-channel
logout on both sides, SPA logout, the session-ended proofs of the app profiles) run with one worker, so
each scenario's duration_s from summary.json is its own cost: a fresh browser context, its logins,
logout and checks. The goal is a median under 1.5 s.
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

from harness.browser import BrowserPool
from harness.target import BrowserSettings

CLI = str(Path(sys.executable).with_name("logout-conformance"))
PROFILES = ("oidc-frontchannel-op", "oidc-frontchannel-rp", "spa-logout", "oidc-backchannel-rp", "saml-slo-sp")
GOAL_S = 1.5


def launch_cost() -> tuple[float, float]:
    """Seconds to launch Chromium, and to open a context, load a page and close the context."""
    started = time.perf_counter()
    pool = BrowserPool(BrowserSettings())
    try:
        pool.browser()
        launched = time.perf_counter()
        session = pool.session({"http://bench.test/": "<p>hello</p>"})
        session.goto("http://bench.test/")
        session.finish(False, lambda *_: None)
        return launched - started, time.perf_counter() - launched
    finally:
        pool.close()


def browser_scenarios() -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as report:
        args = [CLI, "run", "--no-html", "--workers", "0", "--report-dir", report,
                *(a for p in PROFILES for a in ("--profile", p)), "-k", "frontchannel or spa or browser"]
        done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            sys.exit(f"the run failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        summary = json.loads((Path(report) / "summary.json").read_text())
    return {s["id"]: [s["duration_s"]] for s in summary["scenarios"] if s["status"] != "skipped"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    launch, first_page = launch_cost()
    print(f"Chromium launch: {launch * 1000:.0f} ms; a fresh context, one page, closed: {first_page * 1000:.0f} ms")
    per_scenario: dict[str, list[float]] = {}
    for _ in range(args.runs):
        for scenario, durations in browser_scenarios().items():
            per_scenario.setdefault(scenario, []).extend(durations)
    print(f"\n{'scenario':<58} {'median':>8} {'max':>8}   ({args.runs} runs, one worker)")
    for scenario, durations in sorted(per_scenario.items()):
        print(f"{scenario:<58} {statistics.median(durations):>7.2f}s {max(durations):>7.2f}s")
    medians = [statistics.median(d) for d in per_scenario.values()]
    overall = statistics.median(medians)
    print(f"\nbrowser scenarios: {len(medians)}; median of medians {overall:.2f} s "
          f"(goal < {GOAL_S} s: {'met' if overall < GOAL_S else 'NOT met'}); slowest {max(medians):.2f} s")


if __name__ == "__main__":
    main()
