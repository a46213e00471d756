"""Rebuild the dashboards' rollups (dashboards.models) from the customers, their
metrics and the order lines, set-based; called by the recompute in its
transaction, after the metrics are fresh. Product sales are rebuilt for the
months whose orders were written since the last run (the write log,
segmentation.figures.figures_changed), or all of them after a full run."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import connection

from crm.bulkcopy import table_rebuild
from customers.freshness import WITHIN_POLICY, policy_params
from customers.models import FreshnessPolicy

PRODUCT_MONTHS = 37  # the longest period a dashboard shows (36 months) and the current one
MONTHS_BY_INDEX = 4  # more months of orders written since the last run: rebuild them all

_CUBE = """
SELECT coalesce(c.owner_id, 0), coalesce(c.team_id, 0), coalesce(m.lifecycle, 'lead'),
       coalesce(m.value_tier, ''), coalesce(m.frequency_tier, 'none'),
       coalesce(m.rfm_segment, ''), count(*),
       count(*) FILTER (WHERE {within_policy}),
       coalesce(sum(m.total_spent), 0), coalesce(sum(m.expected_value_12m), 0)
FROM customers_customer c
LEFT JOIN customers_customermetrics m ON m.customer_id = c.id
WHERE c.deleted_at IS NULL
GROUP BY 1, 2, 3, 4, 5, 6
""".replace("{within_policy}", WITHIN_POLICY)

_NEW = """
SELECT date_trunc('month', m.first_purchase_at AT TIME ZONE %(zone)s)::date,
       m.first_salesperson_key, m.first_team_key, count(*)
FROM customers_customermetrics m
JOIN customers_customer c ON c.id = m.customer_id AND c.deleted_at IS NULL
WHERE m.first_purchase_at IS NOT NULL
GROUP BY 1, 2, 3
"""

_PRODUCTS = """
SELECT date_trunc('month', o.ordered_at AT TIME ZONE %(zone)s)::date, l.product_id,
       coalesce(o.salesperson_id, 0), coalesce(o.team_id, 0),
       sum(round(l.line_total * o.exchange_rate, 2)), sum(l.quantity)
FROM sales_order o {months}
JOIN sales_orderline l ON l.order_id = o.id
WHERE o.status IN ('paid', 'shipped', 'completed') AND o.ordered_at >= %(products_from)s
  AND l.product_id IS NOT NULL
GROUP BY 1, 2, 3, 4
"""
# The orders of some local months (distinct), one range of the date index each.
_IN_MONTHS = """JOIN unnest(%(months)s::date[]) AS n(month)
    ON o.ordered_at >= (n.month::timestamp AT TIME ZONE %(zone)s)
   AND o.ordered_at < ((n.month + interval '1 month')::timestamp AT TIME ZONE %(zone)s)"""


def rollups_rebuild(
    as_of: datetime.date, clock=None, order_days: set[datetime.date] | None = None
) -> None:
    """The customer counts, new customers by month and product sales by month
    (each step timed on `clock` when given); product sales only for the months of
    `order_days` when given (the orders written since the last run) and at most
    MONTHS_BY_INDEX of them, the months that left the window dropped."""
    from django.utils import timezone

    now = timezone.now()
    first = as_of.replace(day=1)
    for __ in range(PRODUCT_MONTHS - 1):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    params = {
        "zone": settings.TIME_ZONE,
        **policy_params(FreshnessPolicy.current(), now),
        "products_from": timezone.make_aware(datetime.datetime.combine(first, datetime.time())),
        "first": first,
    }
    products, where = _PRODUCTS.format(months=""), "true"
    months = None if order_days is None else {day.replace(day=1) for day in order_days}
    if months is not None and len(months) <= MONTHS_BY_INDEX:
        params["months"] = sorted(month for month in months if month >= first)
        products = _PRODUCTS.format(months=_IN_MONTHS)
        where = "month = ANY(%(months)s::date[]) OR month < %(first)s"
    with connection.cursor() as cursor:
        for step, table, columns, sql, replaced in (
            *_ROLLUPS,
            ("products", "dashboards_productmonth", _PRODUCT_COLUMNS, products, where),
        ):
            table_rebuild(cursor, table, columns, sql, params, where=replaced)
            if clock is not None:
                clock.lap(step)


_PRODUCT_COLUMNS = "month, product_id, salesperson_key, team_key, revenue, quantity"
_ROLLUPS = (
    ("cube", "dashboards_customercube", "owner_key, team_key, lifecycle, value_tier, "
     "frequency_tier, rfm_segment, customers, fresh, spent, expected_value", _CUBE, "true"),
    ("new", "dashboards_newcustomersmonth", "month, salesperson_key, team_key, customers", _NEW,
     "true"),
)  # fmt: skip
