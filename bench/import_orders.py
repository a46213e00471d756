"""Time `manage.py import_orders` on a large order history, against `kehu_bench`.

    .venv/bin/python bench/import_orders.py [--lines 1000000] [--keep]

Writes a CSV of LINES lines (UTF-8, one row per line: order number, customer
number, order date, product SKU, quantity, unit price, salesperson; about three
lines per order, one row in ten without an order number and so an order of its
own) for customers drawn from the database, then runs the command in a child
process, as it runs in production, and reports lines per second from the start
of the command to its last line (reading, looking up, COPY, the purchase
metrics of every customer concerned, the audit events), and the peak memory
(VmHWM). The orders are removed afterwards unless --keep. Target (sales issue):
20,000 lines/s or better.
"""

# ruff: noqa: T201, S603

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
from benchenv import DATABASE_URL, ROOT, bench_env_apply

TARGET_LINES_PER_S = 20_000


def history(path: Path, lines: int, run: str, customers: list[str], skus: list[str]) -> int:
    rng = random.Random(run)  # noqa: S311 - benchmark data
    orders = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("订单号,客户编号,下单日期,产品,数量,单价,销售员\r\n")
        written = 0
        while written < lines:
            orders += 1
            customer = rng.choice(customers)
            day = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            own = rng.random() < 0.1
            count = 1 if own else min(rng.randint(1, 5), lines - written)
            number = "" if own else f"B{run}-{orders}"
            for _ in range(count):
                sku = rng.choice(skus)
                quantity = rng.randint(1, 4)
                price = f"{rng.randint(10, 3000)}.{rng.randint(0, 99):02d}"
                out.write(f"{number},{customer},{day},{sku},{quantity},{price},\r\n")
            written += count
    return orders


def peak_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the imported orders")
    args = parser.parse_args()
    bench_env_apply()
    run = str(int(time.time()))
    with psycopg2.connect(DATABASE_URL) as db, db.cursor() as cursor:
        cursor.execute("SELECT number FROM customers_customer WHERE deleted_at IS NULL")
        customers = [number for (number,) in cursor.fetchall()]
        cursor.execute("SELECT sku FROM sales_product WHERE is_active ORDER BY id")
        skus = [sku for (sku,) in cursor.fetchall()] or [f"BENCH-{i:03d}" for i in range(40)]
    if not customers:
        sys.exit("kehu_bench has no customers: run bench/generate.py first.")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "orders.csv"
        orders = history(path, args.lines, run, customers, skus)
        size = path.stat().st_size / 1e6
        print(
            f"{args.lines:,} lines, {orders:,} orders, {size:.0f} MB, {len(customers):,} customers"
        )
        command = [sys.executable, "manage.py", "import_orders", str(path), "--lang", "en"]
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        peak = 0.0
        while child.poll() is None:
            peak = max(peak, peak_mb(child.pid))
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        print(child.stdout.read().strip())
    rate = args.lines / elapsed if child.returncode == 0 else 0.0
    verdict = "ok" if rate >= TARGET_LINES_PER_S else "MISSED"
    print(
        f"import_orders: {elapsed:.1f} s, {rate:,.0f} lines/s "
        f"(target {TARGET_LINES_PER_S:,}: {verdict}), peak {peak:,.0f} MB"
    )
    if not args.keep:
        with psycopg2.connect(DATABASE_URL) as db, db.cursor() as cursor:
            pattern = f"B{run}-%"
            cursor.execute(
                "DELETE FROM sales_orderline WHERE order_id IN (SELECT id FROM sales_order "
                "WHERE source = 'import' AND (external_number LIKE %s OR external_number = ''))",
                [pattern],
            )
            cursor.execute(
                "DELETE FROM sales_order WHERE source = 'import' "
                "AND (external_number LIKE %s OR external_number = '')",
                [pattern],
            )
        print(
            "Imported orders removed (their customers' metrics and the sales by day are "
            "left as they were; `manage.py recompute_metrics` mends both)."
        )
    sys.exit(0 if child.returncode == 0 and rate >= TARGET_LINES_PER_S else 1)


if __name__ == "__main__":
    main()
