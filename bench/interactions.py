"""Time the interaction pages at 1,000,000 customers, 5,000,000 orders and
5,000,000 interactions, through a real HTTP server, against `kehu_bench`
(bench/generate.py fills it).

    .venv/bin/python bench/interactions.py [--runs 30] [--warmup 3]

Pages (interactions issue, under 150 ms median each): the 360° page, with its
first timeline page, of rep1's customer with the most interactions; "my tasks"
for rep1, who has at least 2,000 open tasks; the ticket queue (rep1's default:
the active tickets by deadline). Shown beside them, not judged: the next
timeline page, the manager's queue and the whole team's tasks.
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import quote

from benchenv import DB_NAME, bench_env_apply
from judge import pages_judge
from run import Scenario

TARGET_MS = 150.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    bench_env_apply()
    import django

    django.setup()
    from django.db import connection
    from django.urls import reverse

    from crm.models import User
    from customers.models import Customer
    from customers.timeline import customer_timeline
    from interactions.models import Interaction, ServiceTicket, Task

    interactions = Interaction.objects.count()
    if not interactions:
        sys.exit(f"{DB_NAME} has no interactions: run bench/generate.py first.")
    rep = User.objects.get(username="rep1")
    with connection.cursor() as cursor:  # rep1's customer with the most interactions
        cursor.execute(
            "SELECT i.customer_id, count(*) AS n FROM interactions_interaction i"
            " JOIN customers_customer c ON c.id = i.customer_id"
            " WHERE c.owner_id = %s AND c.deleted_at IS NULL"
            " GROUP BY i.customer_id ORDER BY n DESC, i.customer_id LIMIT 1",
            [rep.pk],
        )
        customer_id, count = cursor.fetchone()
    busiest = Customer.objects.get(pk=customer_id)
    page = customer_timeline(rep, busiest)
    timeline = reverse("interactions:timeline", args=[busiest.pk])
    older = f"{timeline}?cursor={quote(page.next_cursor)}"
    open_tasks = Task.objects.filter(assignee=rep, done_at__isnull=True).count()
    intro = (
        f"{Customer.objects.alive().count():,} live customers, "
        f"{interactions:,} interactions, {ServiceTicket.objects.count():,} tickets in "
        f"{DB_NAME}. Busiest customer of rep1: {busiest.number} ({count:,} interactions, "
        f"{busiest.orders.count():,} orders); rep1 has {open_tasks:,} open tasks"
    )
    pages = [
        ("rep1", Scenario("360° page with its timeline", busiest.get_absolute_url(), "timeline")),
        ("rep1", Scenario("my tasks", reverse("interactions:task_list"), "tasks-overdue")),
        ("rep1", Scenario("ticket queue", reverse("interactions:ticket_list"), "ticket-table")),
        ("rep1", Scenario("timeline, second page (what-if)",
                          older, "data-kind", what_if=True)),
        ("manager", Scenario("ticket queue (what-if)", reverse("interactions:ticket_list"),
                             "ticket-table", what_if=True)),
        ("manager", Scenario("the team's tasks (what-if)",
                             reverse("interactions:task_list") + "?person=team", "tasks-overdue",
                             what_if=True)),
    ]  # fmt: skip
    sys.exit(
        pages_judge(pages, intro=intro, runs=args.runs, warmup=args.warmup, target_ms=TARGET_MS)
    )


if __name__ == "__main__":
    main()
