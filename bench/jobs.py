"""Time the periodic jobs at a million customers against `kehu_bench`
(bench/generate.py fills it).

    .venv/bin/python bench/jobs.py [--as-of YYYY-MM-DD]

Runs `run_job freshness_audit`, `churn_alerts`, `reminders` and `pool_recycle`
(the pool rules' clocks set to the demo's 30 days without an
interaction and 90 without an order first) twice each in
its own process, end to end: the first run writes the verification tasks, the
churn episodes with their tasks and alerts, the reminders; the second finds
them there and writes none. Target: under 60 s each, set-based. What the first
runs write stays (a third run is the same as the second).
"""

# ruff: noqa: T201

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from benchenv import ROOT, bench_env_apply

TARGET_S = 60.0
JOBS = ("freshness_audit", "churn_alerts", "reminders", "pool_recycle")
POOL_RULES = (
    "from customers.models import PoolRule; "
    "PoolRule.objects.filter(team=None, key_account=None)"
    ".update(no_interaction_days=30, no_order_days=90)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--as-of", help="the day to run at (default: today)")
    args = parser.parse_args()
    bench_env_apply()
    status = 0
    subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "manage.py", "shell", "-c", POOL_RULES], cwd=ROOT, env=os.environ.copy(),
        check=True,
    )  # fmt: skip
    for name in JOBS:
        for attempt in ("first run", "second run"):
            command = [sys.executable, "manage.py", "run_job", name]
            if args.as_of:
                command += ["--as-of", args.as_of]
            started = time.perf_counter()
            done = subprocess.run(  # noqa: S603 - our own command
                command, cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True,
                check=True,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            verdict = "ok" if seconds < TARGET_S else "MISSED"
            print(f"run_job {name} ({attempt}): {seconds:.1f} s [{verdict}]")
            print("    " + done.stdout.strip().splitlines()[-1])
            status |= seconds >= TARGET_S
    sys.exit(status)


if __name__ == "__main__":
    main()
