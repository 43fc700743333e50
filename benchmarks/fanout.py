"""Benchmark: one logout that fans out to N RP receivers; prints time per verified logout token for each N.

    .venv/bin/python benchmarks/fanout.py [--sizes 10,100,1000,2000] [--runs N]

For each N, the bundled mock OP is started with N fan-out clients (LOGOUT_MOCK_FAN_OUT), the scenario
oidc-backchannel-op/fan-out signs one browser in to all of them, logs out once, and the harness's
receiver (one process, N receiver URLs) takes every logout token, which the harness then verifies.
Figures come from the scenario's own note in summary.json: when the last token arrived after the
logout began (the OP's fan-out), and how long verifying all of them took. "Per token" is the sum of
both over N: the time one logout costs per RP, from the OP's first send to the harness's verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CLI = str(Path(sys.executable).with_name("logout-conformance"))
NOTE = re.compile(r"(\d+) logout token\(s\): the last arrived (\d+) ms after the logout began .*?"
                  r"verified in (\d+) ms")
LOGIN = re.compile(r"signed in to (\d+) fan-out clients in ([\d.]+) s")


def run_once(size: int) -> tuple[int, float, float, float]:
    """Tokens verified, delivery ms, verification ms, login s, for one run with ``size`` RPs."""
    with tempfile.TemporaryDirectory() as report:
        env = {**os.environ, "LOGOUT_MOCK_FAN_OUT": str(size)}
        args = [CLI, "run", "--no-html", "--workers", "0", "--report-dir", report,
                "--profile", "oidc-backchannel-op", "-k", "fan-out"]
        done = subprocess.run(args, capture_output=True, text=True, timeout=900, check=False, env=env)
        if done.returncode != 0:
            sys.exit(f"N={size}: the run failed (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
        scenario = json.loads((Path(report) / "summary.json").read_text())["scenarios"][0]
    text = "\n".join(scenario["messages"])
    figures, login = NOTE.search(text), LOGIN.search(text)
    if figures is None or login is None:
        sys.exit(f"N={size}: no figures in the scenario's notes: {text}")
    return int(figures[1]), float(figures[2]), float(figures[3]), float(login[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000,2000", help="comma-separated N values")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    print(f"{'N RPs':>6} {'tokens':>7} {'delivery':>10} {'verify':>9} {'per token':>10} {'sign-in (setup)':>16}")
    previous: tuple[int, float] | None = None
    for size in (int(n) for n in args.sizes.split(",")):
        runs = [run_once(size) for _ in range(args.runs)]
        tokens = runs[0][0]
        delivery = statistics.median(r[1] for r in runs)
        verify = statistics.median(r[2] for r in runs)
        login = statistics.median(r[3] for r in runs)
        per_token = (delivery + verify) / tokens
        growth = ""
        if previous is not None:
            growth = f"   x{(delivery + verify) / previous[1]:.1f} total for x{tokens / previous[0]:.0f} tokens"
        print(f"{size:>6} {tokens:>7} {delivery:>8.0f}ms {verify:>7.0f}ms {per_token:>8.2f}ms {login:>14.1f}s{growth}")
        previous = (tokens, delivery + verify)


if __name__ == "__main__":
    main()
