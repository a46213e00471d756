"""Fill the benchmark database with demo customers and their sales.

    .venv/bin/python bench/generate.py [--customers 1000000] [--orders 5000000]
                                       [--interactions 5000000] [--fresh]

Creates `kehu_bench` when missing (`--fresh` drops it first), migrates it, loads
the demo users (`seed_demo --customers 0`), then adds customers in chunks until
the table holds the requested count, then demo orders (in committed chunks of
500,000) until there are as many as asked, so an interrupted run resumes where it
stopped; then opportunities, contracts and targets (once); then demo interactions
(committed chunks, resumable) with their follow-up tasks, 2,000 open tasks for
rep1 and 20,000 service tickets (once); then VACUUM ANALYZE, as autovacuum would
eventually, and the first recompute of everyone's metrics (once, timed per step:
`bench/segmentation.py` times the nightly ones).
"""

# ruff: noqa: T201

from __future__ import annotations

import argparse
import time

import psycopg2
from benchenv import DB_NAME, PG_SERVER, bench_env_apply, database_name_check

SEED = 20261124
CHUNK = 50_000


def database_ensure(*, fresh: bool) -> None:
    database_name_check()
    conn = psycopg2.connect(f"{PG_SERVER}/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            if fresh:
                cursor.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
                print(f"Dropped {DB_NAME}.")
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{DB_NAME}"')
                print(f"Created {DB_NAME}.")
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--interactions", type=int, default=5_000_000)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database")
    args = parser.parse_args()
    started = time.perf_counter()

    def elapsed() -> str:
        return f"{time.perf_counter() - started:7.1f} s"

    database_ensure(fresh=args.fresh)
    bench_env_apply()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from crm.models import User
    from customers.models import Customer
    from customers.seed import customers_generate

    call_command("migrate", interactive=False, verbosity=0)
    print(f"[{elapsed()}] {DB_NAME} migrated.")
    call_command("seed_demo", customers=0, force=True, verbosity=0)
    owners = list(User.objects.filter(username__in=("rep1", "rep2", "manager")).order_by("pk"))
    team_of = {user.pk: user.team_id for user in owners}

    have = Customer.objects.count()
    print(f"[{elapsed()}] {have:,} customers present, {args.customers:,} wanted.")
    chunk_started = time.perf_counter()
    made = 0
    while have < args.customers:
        size = min(CHUNK, args.customers - have)
        # A seed per chunk: a resumed run adds new names, not the same ones again.
        customers_generate(size, owners=owners, team_of=team_of, seed=SEED + have)
        have += size
        made += size
        rate = made / (time.perf_counter() - chunk_started)
        left = (args.customers - have) / rate
        print(f"[{elapsed()}] {have:,} customers ({rate:,.0f}/s, about {left:.0f} s left)")

    from sales.models import Opportunity, Order
    from sales.seed import orders_generate
    from sales.seed_pipeline import pipeline_generate, targets_generate

    orders_have = Order.objects.count()
    print(f"[{elapsed()}] {orders_have:,} orders present, {args.orders:,} wanted.")
    if orders_have < args.orders:
        orders_started, wanted = time.perf_counter(), args.orders - orders_have

        def progress(done: int) -> None:
            rate = done / (time.perf_counter() - orders_started)
            left = (wanted - done) / rate
            have_now = orders_have + done
            print(f"[{elapsed()}] {have_now:,} orders ({rate:,.0f}/s, about {left:.0f} s left)")

        orders_generate(
            wanted, reps=team_of, seed=SEED + orders_have, refresh=False, progress=progress
        )
    if not Opportunity.objects.exists():
        made, contracts = pipeline_generate(customers=args.customers, seed=SEED)
        targets_generate(people=team_of, seed=SEED)
        print(f"[{elapsed()}] {made:,} opportunities, {contracts:,} contracts, targets.")
    interactions_ensure(args.interactions, team_of, elapsed)
    print(f"[{elapsed()}] VACUUM ANALYZE …")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    from segmentation.models import MetricsRun
    from segmentation.runs import metrics_recompute

    if not MetricsRun.objects.filter(status=MetricsRun.Status.DONE, buyers__gt=0).exists():
        print(f"[{elapsed()}] the first recompute of everyone's metrics …")
        run = metrics_recompute()
        moved = f"{run.changed:,} rows, {run.stage_changes:,} stage changes"
        print(f"[{elapsed()}] {moved}, seconds per step: {run.timings}")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE customers_customer, customers_customermetrics")
    print(
        f"[{elapsed()}] Done: {Customer.objects.count():,} customers, "
        f"{Order.objects.count():,} orders in {DB_NAME}."
    )


BUSY_TASKS = 2_000
TICKETS = 20_000


def interactions_ensure(wanted: int, team_of: dict, elapsed) -> None:
    """Interactions up to `wanted` (with their follow-ups), rep1's open tasks up to
    BUSY_TASKS and the demo tickets, each resumable."""

    from crm.models import User
    from interactions.models import Interaction, ServiceTicket, Task
    from interactions.seed import interactions_generate, tasks_generate, tickets_generate

    have = Interaction.objects.count()
    print(f"[{elapsed()}] {have:,} interactions present, {wanted:,} wanted.")
    if have < wanted:
        started, missing = time.perf_counter(), wanted - have

        def progress(done: int) -> None:
            rate = done / (time.perf_counter() - started)
            left = (missing - done) / rate
            made = f"{have + done:,} interactions"
            print(f"[{elapsed()}] {made} ({rate:,.0f}/s, about {left:.0f} s left)")

        interactions_generate(missing, reps=list(team_of), seed=SEED + have, progress=progress)
    rep1 = User.objects.get(username="rep1")
    open_tasks = Task.objects.filter(assignee=rep1, done_at__isnull=True).count()
    if open_tasks < BUSY_TASKS:
        # Some of those generated come out done; add until rep1 has its 2,000 open.
        while open_tasks < BUSY_TASKS:
            tasks_generate(
                assignee_id=rep1.pk, count=BUSY_TASKS - open_tasks, seed=SEED + open_tasks
            )
            open_tasks = Task.objects.filter(assignee=rep1, done_at__isnull=True).count()
        print(f"[{elapsed()}] rep1 has {open_tasks:,} open tasks.")
    if not ServiceTicket.objects.exists():
        made = tickets_generate(count=TICKETS, reps=list(team_of), seed=SEED)
        print(f"[{elapsed()}] {made:,} service tickets.")


if __name__ == "__main__":
    main()
