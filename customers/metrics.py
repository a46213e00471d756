"""Per-customer purchase and contact figures (DESIGN §3): one set-based statement
for any number of customers, so an order or interaction saved, an import of a
million lines and the nightly recompute all run the same SQL.

A purchase is an order that is paid, shipped or completed (a wholly refunded
order is no longer one); its amount is the total less refunds, converted to CNY
at the order's rate. The usual interval is the median of the gaps, in days,
between consecutive days with a purchase (local time), so two orders on one day
do not make a gap of zero. Purchase days are the local days with a purchase of
a positive amount (what the repeat-purchase model counts); days since the last
purchase are counted to the as-of day.

The last contact is the latest interaction whatever its date; the contact
figures (days since the last contact, interactions in the last 90 days, the
customer's usual number per 90 days from the year before those, or from the
first contact when later, unknown when that leaves less than 90 days) are at
the as-of day.

Each table is read once, sorted by customer: the orders by (customer, local
day, time), which numbers each customer's first purchase, groups the days and
finds each purchase day's gap to the one before without another sort; the
interactions by (customer, latest first).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db import connection
from django.utils import timezone

CONTACT_WINDOW_DAYS = 90
USUAL_WINDOW_DAYS = 365  # the usual contact rate: the year before the last 90 days

# Every column the figures fill, in the order `FRESH` selects them after
# customer_id, live and is_key_account (which the customer row holds).
FIGURES = (
    "orders_count", "total_spent", "average_order_value", "first_purchase_at",
    "last_purchase_at", "purchase_interval_days", "mean_interval_days", "purchase_days",
    "purchase_days_12m", "days_since_purchase", "first_purchase_on", "repeat_spend", "as_of",
    "first_salesperson_key", "first_team_key", "last_contact_at", "last_contact_by_id",
    "last_contact_channel", "interactions_count", "days_since_contact", "interactions_90d",
    "usual_interactions_90d",
)  # fmt: skip

# {orders}, {interactions} and {customers} restrict the three tables to the
# customers asked for ("" for everyone).
FRESH = """
WITH purchases AS (
    SELECT o.customer_id, o.ordered_at, (o.ordered_at AT TIME ZONE %(zone)s)::date AS day,
           coalesce(o.salesperson_id, 0) AS seller, coalesce(o.team_id, 0) AS team,
           round((o.total - o.refunded) * o.exchange_rate, 2) AS net,
           row_number() OVER (PARTITION BY o.customer_id
                              ORDER BY (o.ordered_at AT TIME ZONE %(zone)s)::date,
                                       o.ordered_at, o.id) AS k
    FROM sales_order o
    WHERE o.status IN ('paid', 'shipped', 'completed') AND o.ordered_at < %(until)s {orders}
),
days AS (
    SELECT customer_id, day, count(*) AS n, sum(net) AS spent,
           min(ordered_at) AS first_at, max(ordered_at) AS last_at,
           max(seller) FILTER (WHERE k = 1) AS seller, max(team) FILTER (WHERE k = 1) AS team,
           sum(net) FILTER (WHERE net > 0) AS positive  -- NULL: not a purchase day
    FROM purchases GROUP BY customer_id, day
),
gaps AS (
    SELECT d.*, CASE WHEN d.positive IS NOT NULL THEN d.day - max(d.day) FILTER (
               WHERE d.positive IS NOT NULL) OVER (
               PARTITION BY d.customer_id ORDER BY d.day
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) END AS gap
    FROM days d
),
bought AS (
    SELECT customer_id, sum(n) AS n, sum(spent) AS spent,
           min(first_at) AS first_at, max(last_at) AS last_at,
           max(seller) AS seller, max(team) AS team,  -- the first day's row alone has them
           count(positive) AS days,
           count(positive) FILTER (WHERE day > %(as_of)s::date - 365) AS days_12m,
           max(day) FILTER (WHERE positive IS NOT NULL) AS last_day,
           min(day) FILTER (WHERE positive IS NOT NULL) AS first_day,
           round(avg(positive) FILTER (WHERE gap IS NOT NULL), 2) AS repeat_spend,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap,
           avg(gap) AS mean_gap
    FROM gaps GROUP BY customer_id
),
touched AS (
    SELECT i.customer_id, i.occurred_at, i.user_id, i.channel,
           row_number() OVER (PARTITION BY i.customer_id
                              ORDER BY i.occurred_at DESC, i.id DESC) AS k
    FROM interactions_interaction i
    WHERE true {interactions}
),
contacts AS (
    SELECT customer_id, count(*) AS n,
           max(occurred_at) FILTER (WHERE k = 1) AS last_at,
           max(user_id) FILTER (WHERE k = 1) AS last_by,
           max(channel) FILTER (WHERE k = 1) AS channel,
           max(occurred_at) FILTER (WHERE occurred_at < %(until)s) AS seen_at,
           min(occurred_at) FILTER (WHERE occurred_at < %(until)s) AS first_at,
           count(*) FILTER (WHERE occurred_at >= %(window)s
                            AND occurred_at < %(until)s) AS recent,
           count(*) FILTER (WHERE occurred_at >= %(usual_from)s
                            AND occurred_at < %(window)s) AS before
    FROM touched GROUP BY customer_id
),
known AS (
    SELECT c.id AS customer_id, c.deleted_at IS NULL AS live, c.is_key_account,
           b.n, b.spent, b.first_at, b.last_at, b.seller, b.team, b.days, b.days_12m,
           b.last_day, b.first_day, b.repeat_spend, b.median_gap, b.mean_gap,
           t.n AS contacts, t.last_at AS contact_at, t.last_by, t.channel, t.seen_at,
           t.recent, t.before,
           CASE WHEN t.seen_at IS NOT NULL
                THEN %(window)s - greatest(%(usual_from)s, least(t.first_at, c.created_at))
           END AS known_for
    FROM customers_customer c
    LEFT JOIN bought b ON b.customer_id = c.id
    LEFT JOIN contacts t ON t.customer_id = c.id
    WHERE true {customers}
)
SELECT k.customer_id, k.live, k.is_key_account,
       coalesce(k.n, 0)::int AS orders_count,
       coalesce(k.spent, 0)::numeric(16, 2) AS total_spent,
       CASE WHEN k.n > 0 THEN round(k.spent / k.n, 2) END::numeric(16, 2) AS average_order_value,
       k.first_at AS first_purchase_at, k.last_at AS last_purchase_at,
       round(k.median_gap::numeric, 1)::numeric(8, 1) AS purchase_interval_days,
       round(k.mean_gap::numeric, 1)::numeric(8, 1) AS mean_interval_days,
       coalesce(k.days, 0)::int AS purchase_days, coalesce(k.days_12m, 0)::int AS purchase_days_12m,
       %(as_of)s::date - k.last_day AS days_since_purchase, k.first_day AS first_purchase_on,
       k.repeat_spend::numeric(16, 2) AS repeat_spend, %(as_of)s::date AS as_of,
       coalesce(k.seller, 0)::bigint AS first_salesperson_key,
       coalesce(k.team, 0)::bigint AS first_team_key,
       k.contact_at AS last_contact_at, k.last_by AS last_contact_by_id,
       coalesce(k.channel, '')::varchar(10) AS last_contact_channel,
       coalesce(k.contacts, 0)::int AS interactions_count,
       %(as_of)s::date - (k.seen_at AT TIME ZONE %(zone)s)::date AS days_since_contact,
       coalesce(k.recent, 0)::int AS interactions_90d,
       CASE WHEN k.known_for >= interval '90 days'
            THEN round(k.before * 90.0 / (extract(epoch FROM k.known_for) / 86400)::numeric, 1)
       END::numeric(8, 1) AS usual_interactions_90d
FROM known k
"""


def fresh_sql(customer_ids: list[int] | None) -> str:
    """`FRESH` for these customers (the `ids` parameter) or for everyone."""
    if customer_ids is None:
        return FRESH.format(orders="", interactions="", customers="")
    return FRESH.format(
        orders="AND o.customer_id = ANY(%(ids)s::bigint[])",
        interactions="AND i.customer_id = ANY(%(ids)s::bigint[])",
        customers="AND c.id = ANY(%(ids)s::bigint[])",
    )


def fresh_params(as_of: datetime.date, customer_ids: list[int] | None = None) -> dict:
    until = day_end(as_of)
    params = {
        "as_of": as_of,
        "zone": settings.TIME_ZONE,
        "until": until,
        "window": until - datetime.timedelta(days=CONTACT_WINDOW_DAYS),
        "usual_from": until - datetime.timedelta(days=CONTACT_WINDOW_DAYS + USUAL_WINDOW_DAYS),
    }
    if customer_ids is not None:
        params["ids"] = customer_ids
    return params


def metrics_refresh(
    customer_ids: Iterable[int] | None = None, *, as_of: datetime.date | None = None
) -> int:
    """Bring these customers' figures, scores, tiers and stage to `as_of` (today),
    in the caller's transaction, so what a save changed shows at once; returns how
    many metrics rows changed. None means everyone: the nightly recompute
    (`customers.segmentation.metrics_recompute`), in its own transactions."""
    from customers.segmentation import metrics_recompute, segments_refresh

    if customer_ids is None:
        return metrics_recompute(as_of).changed
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
    # The customers first, then their metrics rows: the order every writer and
    # the nightly recompute take them in, so none waits on another in a circle.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM customers_customer WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids]
        )
    return segments_refresh(ids, as_of=as_of or timezone.localdate())


def day_end(day: datetime.date) -> datetime.datetime:
    """The first instant after a local day."""
    return timezone.make_aware(
        datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time())
    )
