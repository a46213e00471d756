"""Time the sales pages at 1,000,000 customers and 5,000,000 orders, through a real
HTTP server, against `kehu_bench` (bench/generate.py fills it).

    .venv/bin/python bench/sales.py [--runs 30] [--warmup 3]

Pages (sales issue, under 150 ms median each): the 360° page of rep1's customer
with the most orders, the order list filtered by salesperson and month (rep1's
own last month; the manager looking at rep1's), and rep1's performance page
(this month, and the last twelve months). Shown beside them, not judged: the
manager's team performance for twelve months and the pipeline board. Each page
as run.py measures it: warm-up, timed requests, queries counted by the server,
the page's statements replayed straight to PostgreSQL (raw SQL), and the plan of
the slowest statement of every page that missed.
"""

# ruff: noqa: T201

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile

import psycopg2
from benchenv import DATABASE_URL, DB_NAME, DEMO_PASSWORD, bench_env_apply
from run import (
    Browser,
    Result,
    Scenario,
    explain,
    free_port,
    measure,
    server_start,
    short,
)

TARGET_MS = 150.0


def probes():
    """rep1's customer with the most orders, and the months to look at."""
    from django.db.models import Count
    from django.utils import timezone

    from crm.models import Team, User
    from customers.models import Customer

    rep = User.objects.get(username="rep1")
    busiest = (
        Customer.objects.alive()
        .filter(owner=rep)
        .annotate(n=Count("orders"))
        .order_by("-n", "pk")
        .first()
    )
    if busiest is None:
        sys.exit("rep1 has no customers: run bench/generate.py first.")
    this = timezone.localdate().replace(day=1)
    last = (this - datetime.timedelta(days=1)).replace(day=1)
    year_ago = this.replace(year=this.year - 1)
    team = Team.objects.get(manager__username="manager")
    return rep, busiest, this, last, year_ago, team


def scenarios(rep, busiest, this, last, year_ago, team) -> list[tuple[str, Scenario]]:
    month = f"{last:%Y-%m}"
    rows = [
        ("rep1", Scenario("360° page, busiest customer", busiest.get_absolute_url(), "SO")),
        ("rep1", Scenario(f"orders ?salesperson=me&month={month}",
                          f"/sales/orders/?salesperson=me&month={month}", "SO")),
        ("manager", Scenario(f"orders ?salesperson=rep1&month={month}",
                             f"/sales/orders/?salesperson={rep.pk}&month={month}", "SO")),
        ("manager", Scenario("360° page, busiest customer", busiest.get_absolute_url(), "SO")),
        ("rep1", Scenario("performance, this month", "/sales/performance/", "¥")),
        ("rep1", Scenario("performance, last 12 months",
                          f"/sales/performance/?from={year_ago:%Y-%m}&to={this:%Y-%m}", "¥")),
        ("manager", Scenario("team performance, 12 months (what-if)",
                             f"/sales/performance/?who=team-{team.pk}&from={year_ago:%Y-%m}"
                             f"&to={this:%Y-%m}", "¥", what_if=True)),
        ("rep1", Scenario("pipeline board (what-if)", "/sales/pipeline/", "kehu-board",
                          what_if=True)),
    ]  # fmt: skip
    return rows


def ok(result: Result) -> bool:
    return result.scenario.what_if or result.median < TARGET_MS


def table(results: list[Result]) -> str:
    lines = [
        "| page | user | median ms | p90 ms | queries | SQL in app ms | raw SQL ms "
        "| slowest statement ms | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        low, high = min(r.queries), max(r.queries)
        shown = str(high) if low == high else f"{low}–{high}"
        verdict = "what-if" if r.scenario.what_if else "ok" if ok(r) else "MISSED"
        lines.append(
            f"| {r.scenario.label} | {r.user} | {r.median:.1f} | {r.p90:.1f} | {shown} "
            f"| {statistics.median(r.app_sql_ms):.1f} | {r.raw_ms:.1f} | {r.slowest_ms:.1f} "
            f"| {verdict} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    bench_env_apply()
    import django

    django.setup()
    from django.core.management import call_command

    from customers.models import Customer
    from sales.models import Order

    customers, orders = Customer.objects.alive().count(), Order.objects.count()
    if not orders:
        sys.exit(f"{DB_NAME} has no orders: run bench/generate.py first.")
    call_command("collectstatic", interactive=False, verbosity=0)
    rep, busiest, this, last, year_ago, team = probes()
    pages = scenarios(rep, busiest, this, last, year_ago, team)
    db = psycopg2.connect(DATABASE_URL)
    db.autocommit = True
    cursor = db.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.execute("SHOW server_version")
    print(
        f"{customers:,} live customers and {orders:,} orders in {DB_NAME}; PostgreSQL "
        f"{cursor.fetchone()[0]}; Python {platform.python_version()}, Django "
        f"{django.get_version()}; {os.cpu_count()} CPU cores. Busiest customer of rep1: "
        f"{busiest.number} ({busiest.orders.count():,} orders).\n"
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
                measure(browsers[user], cursor, scenario, user=user, runs=args.runs,
                        warmup=args.warmup)
            )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    print("\n" + table(results) + "\n")
    failed = [r for r in results if not ok(r)]
    for r in failed:
        print(f"=== MISSED: {r.scenario.label} as {r.user} ===")
        print(short(r.slowest_sql) + "\n")
        print(explain(cursor, r.slowest_sql) + "\n")
    db.close()
    os.unlink(log.name)
    if failed:
        print(f"{len(failed)} page(s) missed {TARGET_MS:.0f} ms.")
        sys.exit(1)
    print(f"Every judged page answered under {TARGET_MS:.0f} ms median.")


if __name__ == "__main__":
    main()
