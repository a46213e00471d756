"""Sales by day (`SalesDay`): the purchases of each local day, salesperson and team,
kept beside the orders so the performance page adds up days, not millions of
orders. Same definition as the customer metrics: a paid, shipped or completed
order, its total less refunds, converted to CNY and rounded per order.

`sales_days_refresh(keys)` recomputes the given (day, salesperson, team) keys from
the orders, by index, in the transaction of the write that changed them;
`sales_days_rebuild()` recomputes everything (demo data, `metrics_refresh`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db import connection
from django.utils import timezone

from crm.bulkcopy import table_rebuild
from sales.models import PURCHASE_STATUSES

# The statuses below are PURCHASE_STATUSES, written out: the SQL is a constant.
assert set(PURCHASE_STATUSES) == {"paid", "shipped", "completed"}  # noqa: S101

# One probe per key through sales_order's (salesperson, ordered_at) index; orders
# without a salesperson (key 0) are their own branch so the index serves both.
_REFRESH = """
WITH keys AS (
    SELECT DISTINCT * FROM unnest(%(days)s::date[], %(people)s::bigint[], %(teams)s::bigint[])
        AS k(day, person, team)
),
fresh AS (
    SELECT k.day, k.person, k.team,
           coalesce(sum(o.net), 0) AS revenue, count(o.net) AS orders
    FROM keys k
    LEFT JOIN LATERAL (
        SELECT round((x.total - x.refunded) * x.exchange_rate, 2) AS net
        FROM sales_order x
        WHERE x.salesperson_id = k.person
          AND x.ordered_at >= (k.day::timestamp AT TIME ZONE %(zone)s)
          AND x.ordered_at < ((k.day + 1)::timestamp AT TIME ZONE %(zone)s)
          AND coalesce(x.team_id, 0) = k.team AND x.status IN ('paid', 'shipped', 'completed')
        UNION ALL
        SELECT round((x.total - x.refunded) * x.exchange_rate, 2)
        FROM sales_order x
        WHERE k.person = 0 AND x.salesperson_id IS NULL
          AND x.ordered_at >= (k.day::timestamp AT TIME ZONE %(zone)s)
          AND x.ordered_at < ((k.day + 1)::timestamp AT TIME ZONE %(zone)s)
          AND coalesce(x.team_id, 0) = k.team AND x.status IN ('paid', 'shipped', 'completed')
    ) o ON true
    GROUP BY k.day, k.person, k.team
),
saved AS (
    INSERT INTO sales_salesday (day, salesperson_key, team_key, revenue, orders)
    SELECT day, person, team, revenue, orders FROM fresh WHERE orders > 0
    ON CONFLICT (day, salesperson_key, team_key)
    DO UPDATE SET revenue = excluded.revenue, orders = excluded.orders
    RETURNING 1
)
DELETE FROM sales_salesday s USING fresh f
WHERE f.orders = 0 AND s.day = f.day AND s.salesperson_key = f.person AND s.team_key = f.team
"""

_REBUILD = """
SELECT (ordered_at AT TIME ZONE %(zone)s)::date, coalesce(salesperson_id, 0),
       coalesce(team_id, 0), sum(round((total - refunded) * exchange_rate, 2)), count(*)
FROM sales_order {days} WHERE status IN ('paid', 'shipped', 'completed')
GROUP BY 1, 2, 3
"""
DAYS_BY_INDEX = 62
# The orders of some local days (distinct), one range of the date index per day.
IN_DAYS = """JOIN unnest(%(days)s::date[]) AS d(day)
    ON ordered_at >= (d.day::timestamp AT TIME ZONE %(zone)s)
   AND ordered_at < ((d.day + 1)::timestamp AT TIME ZONE %(zone)s)"""


def order_key(ordered_at, salesperson_id: int | None, team_id: int | None) -> tuple:
    return (timezone.localtime(ordered_at).date(), salesperson_id or 0, team_id or 0)


def sales_days_refresh(keys: Iterable[tuple]) -> None:
    """Recompute these (local day, salesperson id or 0, team id or 0) keys."""
    keys = list(set(keys))
    if not keys:
        return
    days, people, teams = (list(column) for column in zip(*keys, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            _REFRESH,
            {"days": days, "people": people, "teams": teams, "zone": settings.TIME_ZONE},
        )


def sales_days_rebuild(days: Iterable[datetime.date] | None = None) -> None:
    """Recompute the given local days from the orders (None: every day; more than
    DAYS_BY_INDEX of them, every day too: one read of all the orders is then
    quicker than their days one by one)."""
    columns = "day, salesperson_key, team_key, revenue, orders"
    params = {"zone": settings.TIME_ZONE}
    if days is not None:
        days = set(days)
    with connection.cursor() as cursor:
        if days is None or len(days) > DAYS_BY_INDEX:
            table_rebuild(cursor, "sales_salesday", columns, _REBUILD.format(days=""), params)
            return
        params["days"] = sorted(days)
        if params["days"]:
            table_rebuild(
                cursor, "sales_salesday", columns, _REBUILD.format(days=IN_DAYS), params,
                where="day = ANY(%(days)s::date[])",
            )  # fmt: skip


_ADD = """
INSERT INTO sales_salesday AS s (day, salesperson_key, team_key, revenue, orders)
SELECT * FROM unnest(%(days)s::date[], %(people)s::bigint[], %(teams)s::bigint[],
                     %(revenue)s::numeric[], %(orders)s::integer[])
ON CONFLICT (day, salesperson_key, team_key)
DO UPDATE SET revenue = s.revenue + excluded.revenue, orders = s.orders + excluded.orders
"""


def sales_days_add(totals: dict[tuple, tuple]) -> None:
    """Add new purchases to their days: {(day, salesperson, team): (revenue, orders)}.
    For orders that were just inserted (an import): adding is exact, and costs
    what was added, where recomputing a busy day reads every order of it."""
    if not totals:
        return
    keys = list(totals)
    columns = {
        "days": [k[0] for k in keys],
        "people": [k[1] for k in keys],
        "teams": [k[2] for k in keys],
        "revenue": [totals[k][0] for k in keys],
        "orders": [totals[k][1] for k in keys],
    }
    with connection.cursor() as cursor:
        cursor.execute(_ADD, columns)
