"""Time a list of (user, page) through the bench server and judge each against a
target median: what bench/sales.py and bench/interactions.py share with run.py's
measurements (warm-up, timed requests, queries counted by the server, the page's
statements replayed straight to PostgreSQL, the plan of a missed page's slowest
statement)."""

# ruff: noqa: T201

from __future__ import annotations

import os
import platform
import statistics
import tempfile

import psycopg2
from benchenv import DATABASE_URL, DEMO_PASSWORD
from run import Browser, Result, Scenario, explain, free_port, measure, server_start, short


def verdict_ok(result: Result, target_ms: float) -> bool:
    return result.scenario.what_if or result.median < target_ms


def table(results: list[Result], target_ms: float) -> str:
    lines = [
        "| page | user | median ms | p90 ms | queries | SQL in app ms | raw SQL ms "
        "| slowest statement ms | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        low, high = min(r.queries), max(r.queries)
        shown = str(high) if low == high else f"{low}–{high}"
        verdict = (
            "what-if" if r.scenario.what_if else "ok" if verdict_ok(r, target_ms) else "MISSED"
        )
        lines.append(
            f"| {r.scenario.label} | {r.user} | {r.median:.1f} | {r.p90:.1f} | {shown} "
            f"| {statistics.median(r.app_sql_ms):.1f} | {r.raw_ms:.1f} | {r.slowest_ms:.1f} "
            f"| {verdict} |"
        )
    return "\n".join(lines)


def pages_judge(
    pages: list[tuple[str, Scenario]], *, intro: str, runs: int, warmup: int, target_ms: float
) -> int:
    """Measure every page, print the table (and the plans of the misses); returns
    the exit status: 1 when a judged page missed the target."""
    import django
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    db = psycopg2.connect(DATABASE_URL)
    db.autocommit = True
    cursor = db.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.execute("SHOW server_version")
    print(
        f"{intro}; PostgreSQL {cursor.fetchone()[0]}; Python {platform.python_version()}, "
        f"Django {django.get_version()}; {os.cpu_count()} CPU cores.\n"
    )
    port = free_port()
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
        "w+", prefix="kehu-bench-server-", suffix=".log", delete=False
    )
    server = server_start(port, log)
    results: list[Result] = []
    browsers: dict[str, Browser] = {}
    try:
        for user, scenario in pages:
            if user not in browsers:
                browsers[user] = Browser(f"http://127.0.0.1:{port}")
                browsers[user].login(user, DEMO_PASSWORD)
            results.append(
                measure(browsers[user], cursor, scenario, user=user, runs=runs, warmup=warmup)
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    print("\n" + table(results, target_ms) + "\n")
    failed = [r for r in results if not verdict_ok(r, target_ms)]
    for r in failed:
        print(f"=== MISSED: {r.scenario.label} as {r.user} ===")
        print(short(r.slowest_sql) + "\n")
        print(explain(cursor, r.slowest_sql) + "\n")
    db.close()
    os.unlink(log.name)
    if failed:
        print(f"{len(failed)} page(s) missed {target_ms:.0f} ms.")
        return 1
    print(f"Every judged page answered under {target_ms:.0f} ms median.")
    return 0
