"""Load through the production stack: reps and managers in locust, over HTTPS,
through nginx (the shipped site file) and gunicorn (deploy/gunicorn.conf.py), with
a Celery worker and beat, against the bench database (bench/generate.py).

    .venv/bin/python bench/load.py [--users 200] [--ramp 120] [--hold 600]
                                   [--steps 25,50,100,200,300,400] [--step-seconds 90]
                                   [--no-hold] [--no-steps] [--web-workers 3] [--web-threads 4]

1. The hold run: ramps to --users over --ramp seconds, holds --hold seconds;
   req/s, p50/p95/p99 per page, 5xx and other errors of the hold; the CPU of each
   part; the database's size before and after.
2. The step run: each user count of --steps for --step-seconds (the first 20 s of
   each step left out: users still arriving); the read p95 of each step, and the
   first count at which it passes one second.
3. Every write of both runs checked against the database (stack.writes_check).

Goals (production issue): no 5xx, read p95 under 300 ms at 200 users, no write
lost or doubled. Exits 1 when one is missed. Everything (logs, raw requests,
figures as JSON) goes to bench/results/load-<time>/.
"""

# ruff: noqa: T201

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time

from benchenv import BENCH_DIR, DB_NAME, bench_env_apply

READ_P95_GOAL_MS = 300.0
KNEE_MS = 1000.0
STEP_SETTLE = 20.0


def hold_run(stack, cpu, folder, data_path, *, users: int, ramp: float, hold: float) -> dict:
    from stack import LocustRun, cpu_markdown, errors_seen, page_markdown, page_table

    rate = max(users / ramp, 0.5)
    run = LocustRun(folder, stack.base, [(ramp + hold, users, rate)])
    print(f"Hold run: ramp to {users} users over {ramp:.0f} s, hold {hold:.0f} s …", flush=True)
    run.start(data_path)
    run.wait()
    rows = run.requests()
    start = run.started + ramp + 5
    end = run.started + ramp + hold
    table, total = page_table(rows, start, end)
    cpu_use = cpu.summary(start, end)
    print(f"\n### Hold: {users} users, {hold:.0f} s (after the ramp)\n")
    print(page_markdown(table))
    print(
        f"\nAll: {total['requests']:,} requests, {total['rps']:.1f} req/s; reads p50 "
        f"{total['read_p50']:.0f} ms, p95 {total['read_p95']:.0f} ms, p99 "
        f"{total['read_p99']:.0f} ms; 5xx {total['5xx']}, other errors {total['errors']}."
    )
    print("\nCPU during the hold (cores; the machine has 2):\n")
    print(cpu_markdown(cpu_use))
    ramp_errors = errors_seen(rows, run.started, start)
    hold_errors = errors_seen(rows, start, end + 60)
    for label, errors in (("ramp", ramp_errors), ("hold", hold_errors)):
        for text, count in errors:
            print(f"  {label} error ×{count}: {text}")
    return {
        "users": users,
        "ramp": ramp,
        "hold": hold,
        "pages": table,
        "total": total,
        "cpu": cpu_use,
        "errors": {"ramp": ramp_errors, "hold": hold_errors},
        "writes": run.writes(),
    }


def step_run(stack, cpu, folder, data_path, *, steps: list[int], seconds: float) -> dict:
    from stack import LocustRun, page_table

    stages, until = [], 0.0
    for users in steps:
        until += seconds
        stages.append((until, users, 10.0))
    run = LocustRun(folder, stack.base, stages)
    print(f"\nStep run: {steps} users, {seconds:.0f} s each …", flush=True)
    run.start(data_path)
    run.wait()
    rows = run.requests()
    results, knee = [], None
    for index, users in enumerate(steps):
        start = run.started + index * seconds + STEP_SETTLE
        end = run.started + (index + 1) * seconds
        __, total = page_table(rows, start, end)
        cpu_use = cpu.summary(start, end)
        results.append({"users": users, **total, "cpu_machine": cpu_use["machine"][0]})
        if knee is None and total["read_p95"] > KNEE_MS:
            knee = users
    print("\n### Steps\n")
    print(
        "| users | req/s | read p50 ms | read p95 ms | read p99 ms | 5xx | other errors "
        "| machine CPU (cores) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['users']} | {r['rps']:.1f} | {r['read_p50']:.0f} | {r['read_p95']:.0f} "
            f"| {r['read_p99']:.0f} | {r['5xx']} | {r['errors']} | {r['cpu_machine']:.2f} |"
        )
    if knee is None:
        print(f"\nRead p95 stayed under 1 s up to {steps[-1]} users.")
    else:
        print(f"\nRead p95 passes 1 s at {knee} users.")
    return {"steps": results, "knee": knee, "writes": run.writes()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--ramp", type=float, default=120)
    parser.add_argument("--hold", type=float, default=600)
    parser.add_argument("--steps", default="25,50,100,200,300,400")
    parser.add_argument("--step-seconds", type=float, default=90)
    parser.add_argument("--no-hold", action="store_true")
    parser.add_argument("--no-steps", action="store_true")
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--web-threads", type=int, default=4)
    args = parser.parse_args()
    bench_env_apply()
    import django

    django.setup()
    from stack import (
        CpuSampler,
        Stack,
        collectstatic,
        database_size,
        locust_ensure,
        machine,
        users_data,
        writes_check,
        writes_clean,
        writes_markdown,
    )

    from customers.models import Customer

    locust_ensure()
    customers = Customer.objects.count()
    if not customers:
        sys.exit(f"{DB_NAME} has no customers: run bench/generate.py first.")
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    folder = BENCH_DIR / "results" / f"load-{stamp}"
    folder.mkdir(parents=True)
    collectstatic()
    data_path = folder / "users.json"
    users_data(data_path)
    since = datetime.datetime.now(datetime.UTC)
    size_before = database_size()
    print(f"{machine()}; {customers:,} customers; results in {folder}")
    print(
        f"gunicorn: {args.web_workers} workers × {args.web_threads} threads (gthread); "
        "Celery: 1 worker process; nginx: 1 worker process"
    )
    stack = Stack(folder, web_workers=args.web_workers, web_threads=args.web_threads)
    cpu = CpuSampler()
    cpu.start()
    results: dict = {"machine": machine(), "customers": customers, "folder": str(folder)}
    status = 0
    try:
        stack.start()
        if not args.no_hold:
            (folder / "hold").mkdir()
            hold = hold_run(
                stack, cpu, folder / "hold", data_path,
                users=args.users, ramp=args.ramp, hold=args.hold,
            )  # fmt: skip
            results["hold"] = hold
            total = hold["total"]
            if total["5xx"] or total["read_p95"] > READ_P95_GOAL_MS:
                status = 1
        if not args.no_steps:
            (folder / "steps").mkdir()
            steps = [int(n) for n in args.steps.split(",")]
            results["steps"] = step_run(
                stack, cpu, folder / "steps", data_path, steps=steps, seconds=args.step_seconds
            )
    finally:
        stack.stop()
        cpu.stop()
    time.sleep(2)
    writes = results.get("hold", {}).pop("writes", []) + results.get("steps", {}).pop("writes", [])
    report = writes_check(writes, since)
    results["writes"] = report
    size_after = database_size()
    results["database"] = {"before": size_before, "after": size_after}
    print("\n### Writes checked against the database\n")
    print(writes_markdown(report))
    print(
        f"\nDatabase size: {size_before / 1024**3:.2f} GB before, "
        f"{size_after / 1024**3:.2f} GB after."
    )
    if not writes_clean(report):
        status = 1
    (folder / "results.json").write_text(json.dumps(results, indent=1, default=str))
    sys.exit(status)


if __name__ == "__main__":
    main()
