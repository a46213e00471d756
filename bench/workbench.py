"""Time the workbench (the home page, issue #26) at a million customers, as each
demo role sees it, through a real HTTP server (bench/generate.py fills
`kehu_bench`).

    .venv/bin/python bench/workbench.py [--runs 30] [--warmup 3]

Target: under 200 ms median each, at the fixed number of queries the tests hold
(tests/test_workbench.py). The blocks that read a whole book of customers (back to
the pool soon, birthdays, expected to buy, freshness per owner) are kept a quarter
of an hour per user, so the first load of rep1, the manager and the steward is
shown apart (--runs 1, their kept blocks emptied first).
"""

from __future__ import annotations

import argparse
import sys

from benchenv import DB_NAME, bench_env_apply
from judge import pages_judge
from run import Scenario

TARGET_MS = 200.0
ROLES = ("rep1", "rep2", "manager", "steward", "service", "admin")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    bench_env_apply()
    import django

    django.setup()
    from django.core.cache import cache

    from crm.models import User
    from crm.workbench import kept_key, registered_blocks
    from customers.models import Customer

    customers = Customer.objects.alive().count()
    if not customers:
        sys.exit(f"{DB_NAME} has no customers: run bench/generate.py first.")
    firsts = ("rep1", "manager", "steward")
    for user in User.objects.filter(username__in=firsts):
        cache.delete_many([kept_key(block.key, user) for block in registered_blocks()])
    first = [
        (user, Scenario(f"workbench as {user}, first load (kept blocks computed)", "/", "greeting"))
        for user in firsts
    ]
    intro = f"{customers:,} live customers in {DB_NAME}"
    status = pages_judge(first, intro=intro, runs=1, warmup=0, target_ms=TARGET_MS * 10)
    pages = [(user, Scenario(f"workbench as {user}", "/", "greeting")) for user in ROLES]
    status |= pages_judge(
        pages, intro=intro, runs=args.runs, warmup=args.warmup, target_ms=TARGET_MS
    )
    sys.exit(status)


if __name__ == "__main__":
    main()
