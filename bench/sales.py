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

from __future__ import annotations

import argparse
import datetime
import sys

from benchenv import DB_NAME, bench_env_apply
from judge import pages_judge
from run import Scenario

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    bench_env_apply()
    import django

    django.setup()
    from customers.models import Customer
    from sales.models import Order

    customers, orders = Customer.objects.alive().count(), Order.objects.count()
    if not orders:
        sys.exit(f"{DB_NAME} has no orders: run bench/generate.py first.")
    rep, busiest, this, last, year_ago, team = probes()
    intro = (
        f"{customers:,} live customers and {orders:,} orders in {DB_NAME}. Busiest customer "
        f"of rep1: {busiest.number} ({busiest.orders.count():,} orders)"
    )
    pages = scenarios(rep, busiest, this, last, year_ago, team)
    sys.exit(
        pages_judge(pages, intro=intro, runs=args.runs, warmup=args.warmup, target_ms=TARGET_MS)
    )


if __name__ == "__main__":
    main()
