"""Per-customer purchase metrics (DESIGN §3): one set-based statement for any
number of customers, so an order saved, an import of a million lines and a
nightly recompute all run the same SQL.

A purchase is an order that is paid, shipped or completed (a wholly refunded
order is no longer one); its amount is the total less refunds, converted to CNY
at the order's rate. The usual interval is the median of the gaps, in days,
between consecutive days with a purchase (local time), so two orders on one day
do not make a gap of zero. Purchase days are the local days with a purchase of
a positive amount (what the repeat-purchase model counts); days since the last
purchase are counted to the as-of day.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db import connection
from django.utils import timezone

_SQL = """
WITH targets AS ({targets}),
purchases AS (
    SELECT o.customer_id, o.ordered_at, o.id,
           coalesce(o.salesperson_id, 0) AS seller, coalesce(o.team_id, 0) AS team,
           round((o.total - o.refunded) * o.exchange_rate, 2) AS net
    FROM sales_order o
    JOIN targets t ON t.customer_id = o.customer_id
    WHERE o.status IN ('paid', 'shipped', 'completed') AND o.ordered_at < %(until)s
),
days AS (
    SELECT customer_id, (ordered_at AT TIME ZONE %(zone)s)::date AS day, sum(net) AS net
    FROM purchases WHERE net > 0 GROUP BY 1, 2
),
gaps AS (
    SELECT customer_id, day, net,
           day - lag(day) OVER (PARTITION BY customer_id ORDER BY day) AS gap
    FROM days
),
intervals AS (
    SELECT customer_id, count(*) AS days,
           count(*) FILTER (WHERE day > %(as_of)s::date - 365) AS days_12m,
           %(as_of)s::date - max(day) AS since, min(day) AS first_day,
           round(avg(net) FILTER (WHERE gap IS NOT NULL), 2) AS repeat_spend,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap,
           avg(gap) AS mean_gap
    FROM gaps GROUP BY customer_id
),
totals AS (
    SELECT customer_id, count(*) AS n, sum(net) AS spent,
           min(ordered_at) AS first_at, max(ordered_at) AS last_at
    FROM purchases GROUP BY customer_id
),
firsts AS (
    SELECT DISTINCT ON (customer_id) customer_id, seller, team
    FROM purchases ORDER BY customer_id, ordered_at, id
),
computed AS (
    SELECT t.customer_id,
           coalesce(s.n, 0) AS n,
           coalesce(s.spent, 0) AS spent,
           CASE WHEN s.n > 0 THEN round(s.spent / s.n, 2) END AS average,
           s.first_at, s.last_at,
           round(i.median_gap::numeric, 1) AS interval,
           round(i.mean_gap::numeric, 1) AS mean_interval,
           coalesce(i.days, 0) AS days, coalesce(i.days_12m, 0) AS days_12m, i.since,
           i.first_day, i.repeat_spend,
           coalesce(f.seller, 0) AS seller, coalesce(f.team, 0) AS team
    FROM targets t
    JOIN customers_customer c ON c.id = t.customer_id
    LEFT JOIN totals s ON s.customer_id = t.customer_id
    LEFT JOIN intervals i ON i.customer_id = t.customer_id
    LEFT JOIN firsts f ON f.customer_id = t.customer_id
)
INSERT INTO customers_customermetrics AS m (
    customer_id, orders_count, total_spent, average_order_value,
    first_purchase_at, last_purchase_at, purchase_interval_days, mean_interval_days,
    purchase_days, purchase_days_12m, days_since_purchase, first_purchase_on, repeat_spend,
    as_of, first_salesperson_key, first_team_key, refreshed_at
)
SELECT customer_id, n, spent, average, first_at, last_at, interval, mean_interval,
       days, days_12m, since, first_day, repeat_spend, %(as_of)s::date, seller, team, now()
FROM computed
ON CONFLICT (customer_id) DO UPDATE SET
    orders_count = excluded.orders_count,
    total_spent = excluded.total_spent,
    average_order_value = excluded.average_order_value,
    first_purchase_at = excluded.first_purchase_at,
    last_purchase_at = excluded.last_purchase_at,
    purchase_interval_days = excluded.purchase_interval_days,
    mean_interval_days = excluded.mean_interval_days,
    purchase_days = excluded.purchase_days,
    purchase_days_12m = excluded.purchase_days_12m,
    days_since_purchase = excluded.days_since_purchase,
    first_purchase_on = excluded.first_purchase_on,
    repeat_spend = excluded.repeat_spend,
    as_of = excluded.as_of,
    first_salesperson_key = excluded.first_salesperson_key,
    first_team_key = excluded.first_team_key,
    refreshed_at = excluded.refreshed_at
WHERE (m.orders_count, m.total_spent, m.average_order_value, m.first_purchase_at,
       m.last_purchase_at, m.purchase_interval_days, m.mean_interval_days, m.purchase_days,
       m.purchase_days_12m, m.days_since_purchase, m.first_purchase_on, m.repeat_spend, m.as_of,
       m.first_salesperson_key, m.first_team_key)
    IS DISTINCT FROM
      (excluded.orders_count, excluded.total_spent, excluded.average_order_value,
       excluded.first_purchase_at, excluded.last_purchase_at, excluded.purchase_interval_days,
       excluded.mean_interval_days, excluded.purchase_days, excluded.purchase_days_12m,
       excluded.days_since_purchase, excluded.first_purchase_on, excluded.repeat_spend,
       excluded.as_of, excluded.first_salesperson_key, excluded.first_team_key)
"""

_SOME = "SELECT DISTINCT unnest(%(ids)s::bigint[]) AS customer_id"
# Everyone with an order, and everyone who had metrics (their orders may have moved).
_ALL = "SELECT customer_id FROM sales_order UNION SELECT customer_id FROM customers_customermetrics"


def metrics_refresh(
    customer_ids: Iterable[int] | None = None, *, as_of: datetime.date | None = None
) -> int:
    """Recompute the purchase metrics of these customers (of everyone when None)
    from the orders up to the end of `as_of` (today); returns how many rows
    changed. Idempotent: a second run changes nothing. Given customers also get
    their scores, tiers and stage refreshed (`segments_refresh`), in the same
    transaction, so what a save changed shows at once."""
    as_of = as_of or timezone.localdate()
    if customer_ids is not None:
        customer_ids = sorted(set(customer_ids))
        # The customers first, then their metrics rows: the order every writer and
        # the nightly recompute take them in, so none waits on another in a circle.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM customers_customer WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                [customer_ids],
            )
    changed = per_customer_refresh(
        _SQL, _ALL, customer_ids, zone=settings.TIME_ZONE, as_of=as_of, until=day_end(as_of)
    )
    if customer_ids is not None:
        from customers.segmentation import segments_refresh

        segments_refresh(customer_ids, as_of=as_of)
    return changed


def day_end(day: datetime.date) -> datetime.datetime:
    """The first instant after a local day."""
    return timezone.make_aware(
        datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time())
    )


def per_customer_refresh(
    sql: str, everyone: str, customer_ids: Iterable[int] | None, **params
) -> int:
    """Run a per-customer upsert whose `{targets}` is the given customers, or the
    `everyone` query when None; the count of rows it changed."""
    if customer_ids is None:
        targets = everyone
    else:
        params["ids"] = sorted(set(customer_ids))
        if not params["ids"]:
            return 0
        targets = _SOME
    with connection.cursor() as cursor:
        cursor.execute(sql.format(targets=targets), params)
        return cursor.rowcount
