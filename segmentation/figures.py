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

The orders are read once, sorted by (customer, local day), which groups the
days and finds each purchase day's gap to the one before without another sort;
the interactions once, counted by customer in any order (in parallel). Who made
the first purchase and the latest interaction are looked up by index, for
everyone only where the first purchase or the latest interaction is not the one
the metrics row already names.

The nightly run reads them again only for the customers `figures_changed` names
(written to, as the database's write log says, or with an order or interaction
crossing one of the windows' edges) and carries everyone else's over to the day
(`KEPT`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone

CONTACT_WINDOW_DAYS = 90
USUAL_WINDOW_DAYS = 365  # the usual contact rate: the year before the last 90 days
YEAR = datetime.timedelta(days=365)  # purchase days in the last 12 months: after as_of − 365

# Every column the figures fill, in the order `FRESH` selects them after
# customer_id, live and is_key_account (which the customer row holds).
FIGURES = (
    "orders_count", "total_spent", "average_order_value", "first_purchase_at",
    "last_purchase_at", "purchase_interval_days", "mean_interval_days", "purchase_days",
    "purchase_days_12m", "days_since_purchase", "first_purchase_on", "repeat_spend", "as_of",
    "first_salesperson_key", "first_team_key", "last_contact_at", "last_contact_by_id",
    "last_contact_channel", "interactions_count", "days_since_contact", "interactions_90d",
    "usual_interactions_90d", "first_contact_at", "interactions_before",
)  # fmt: skip

# Bump when a figure's definition changes: the next nightly run reads everyone.
FIGURES_VERSION = 1


def _usual(before: str, first_contact: str, created: str, seen: str) -> str:
    """The usual number of interactions per 90 days at the as-of day: those of the
    year before the last 90 days, over the part of that year the customer was
    known (from the first contact or the creation, the earlier); unknown below 90
    days or without a contact."""
    known = f"(%(window)s - greatest(%(usual_from)s, least({first_contact}, {created})))"
    return (
        f"CASE WHEN {seen} IS NOT NULL AND {known} >= interval '90 days' THEN round("
        f"{before} * 90.0 / (extract(epoch FROM {known}) / 86400)::numeric, 1)"
        " END::numeric(8, 1)"
    )


# {orders}, {interactions} and {customers} restrict the three tables to the
# customers asked for ("" for everyone).
FRESH = """
WITH purchases AS (
    SELECT o.customer_id, o.ordered_at, (o.ordered_at AT TIME ZONE %(zone)s)::date AS day,
           round((o.total - o.refunded) * o.exchange_rate, 2) AS net
    FROM sales_order o
    WHERE o.status IN ('paid', 'shipped', 'completed') AND o.ordered_at < %(until)s {orders}
),
days AS (
    SELECT customer_id, day, count(*) AS n, sum(net) AS spent,
           min(ordered_at) AS first_at, max(ordered_at) AS last_at,
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
           count(positive) AS days,
           count(positive) FILTER (WHERE day > %(year_back)s) AS days_12m,
           max(day) FILTER (WHERE positive IS NOT NULL) AS last_day,
           min(day) FILTER (WHERE positive IS NOT NULL) AS first_day,
           round(avg(positive) FILTER (WHERE gap IS NOT NULL), 2) AS repeat_spend,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap,
           avg(gap) AS mean_gap
    FROM gaps GROUP BY customer_id
),
contacts AS (
    SELECT i.customer_id, count(*) AS n, max(i.occurred_at) AS last_at,
           max(occurred_at) FILTER (WHERE occurred_at < %(until)s) AS seen_at,
           min(occurred_at) FILTER (WHERE occurred_at < %(until)s) AS first_at,
           count(*) FILTER (WHERE occurred_at >= %(window)s
                            AND occurred_at < %(until)s) AS recent,
           count(*) FILTER (WHERE occurred_at >= %(usual_from)s
                            AND occurred_at < %(window)s) AS before
    FROM interactions_interaction i
    WHERE true {interactions}
    GROUP BY i.customer_id
),
known AS (
    SELECT c.id AS customer_id, c.deleted_at IS NULL AS live, c.is_key_account,
           b.n, b.spent, b.first_at, b.last_at, b.days, b.days_12m,
           b.last_day, b.first_day, b.repeat_spend, b.median_gap, b.mean_gap,
           t.n AS contacts, t.last_at AS contact_at, t.seen_at, t.recent, t.before,
           coalesce(%(trust_stored)s AND b.n = s.orders_count
                    AND b.first_at = s.first_purchase_at
                    AND NOT (c.id = ANY(%(untrusted)s::bigint[])), false) AS first_known,
           coalesce(%(trust_stored)s AND t.n = s.interactions_count
                    AND t.last_at = s.last_contact_at
                    AND NOT (c.id = ANY(%(untrusted)s::bigint[])), false) AS last_known,
           s.first_salesperson_key AS stored_seller, s.first_team_key AS stored_team,
           s.last_contact_by_id AS stored_by, s.last_contact_channel AS stored_channel,
           t.first_at AS first_contact_at, c.created_at
    FROM customers_customer c
    LEFT JOIN bought b ON b.customer_id = c.id
    LEFT JOIN contacts t ON t.customer_id = c.id
    LEFT JOIN customers_customermetrics s ON s.customer_id = c.id
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
       -- Who made the first purchase and the latest interaction: kept from the row
       -- when it names the same first purchase and latest interaction (the nightly
       -- run trusts what every save keeps up to date), else looked up by index.
       CASE WHEN k.first_known THEN k.stored_seller
            WHEN k.n > 0 THEN {first_purchase_salesperson}
            ELSE 0 END::bigint AS first_salesperson_key,
       CASE WHEN k.first_known THEN k.stored_team
            WHEN k.n > 0 THEN {first_purchase_team}
            ELSE 0 END::bigint AS first_team_key,
       k.contact_at AS last_contact_at,
       CASE WHEN k.last_known THEN k.stored_by
            WHEN k.contacts > 0 THEN {latest_contact_user}
            END AS last_contact_by_id,
       coalesce(CASE WHEN k.last_known THEN k.stored_channel
                     WHEN k.contacts > 0 THEN {latest_contact_channel}
                END, '')::varchar(10) AS last_contact_channel,
       coalesce(k.contacts, 0)::int AS interactions_count,
       %(as_of)s::date - (k.seen_at AT TIME ZONE %(zone)s)::date AS days_since_contact,
       coalesce(k.recent, 0)::int AS interactions_90d,
       {usual} AS usual_interactions_90d,
       k.first_contact_at, coalesce(k.before, 0)::int AS interactions_before
FROM known k
""".replace("{usual}", _usual("k.before", "k.first_contact_at", "k.created_at", "k.seen_at"))


_FIRST_PURCHASE = """(
    SELECT coalesce(x.{column}, 0) FROM sales_order x
    WHERE x.customer_id = k.customer_id AND x.ordered_at < %(until)s
      AND x.status IN ('paid', 'shipped', 'completed')
    ORDER BY x.ordered_at, x.id LIMIT 1)"""
_LATEST_CONTACT = """(
    SELECT i.{column} FROM interactions_interaction i
    WHERE i.customer_id = k.customer_id
    ORDER BY i.occurred_at DESC, i.id DESC LIMIT 1)"""
_LOOKUPS = {
    "first_purchase_salesperson": _FIRST_PURCHASE.format(column="salesperson_id"),
    "first_purchase_team": _FIRST_PURCHASE.format(column="team_id"),
    "latest_contact_user": _LATEST_CONTACT.format(column="user_id"),
    "latest_contact_channel": _LATEST_CONTACT.format(column="channel"),
}


def fresh_sql(customer_ids: list[int] | None) -> str:
    """`FRESH` for these customers (the `ids` parameter) or for everyone."""
    if customer_ids is None:
        return FRESH.format(orders="", interactions="", customers="", **_LOOKUPS)
    return FRESH.format(
        orders="AND o.customer_id = ANY(%(ids)s::bigint[])",
        interactions="AND i.customer_id = ANY(%(ids)s::bigint[])",
        customers="AND c.id = ANY(%(ids)s::bigint[])",
        **_LOOKUPS,
    )


def fresh_params(
    as_of: datetime.date, customer_ids: list[int] | None = None, untrusted: Iterable[int] = ()
) -> dict:
    """The parameters of `FRESH`; for everyone, the first purchase's seller and the
    latest interaction's person and channel are kept where the row names the same
    first purchase and latest interaction and no write was logged for the customer
    (`untrusted`: a salesperson changed on the first order, say)."""
    until = day_end(as_of)
    params = {
        "trust_stored": customer_ids is None,
        "untrusted": sorted(untrusted),
        "as_of": as_of,
        "year_back": as_of - YEAR,
        "zone": settings.TIME_ZONE,
        "until": until,
        "window": until - datetime.timedelta(days=CONTACT_WINDOW_DAYS),
        "usual_from": until - datetime.timedelta(days=CONTACT_WINDOW_DAYS + USUAL_WINDOW_DAYS),
    }
    if customer_ids is not None:
        params["ids"] = customer_ids
    return params


# Everyone else's figures carried over from their rows to the as-of day: nothing
# they are made of changed (figures_changed), so only the day counts move and the
# usual contact rate is worked out again over the customer's known time.
_CARRIED = {
    "days_since_purchase": "m.days_since_purchase + (%(as_of)s::date - m.as_of)",
    "days_since_contact": "m.days_since_contact + (%(as_of)s::date - m.as_of)",
    "usual_interactions_90d": _usual(
        "m.interactions_before", "m.first_contact_at", "c.created_at", "m.days_since_contact"
    ),
    "as_of": "%(as_of)s::date",
}
KEPT = (
    "SELECT m.customer_id, c.deleted_at IS NULL AS live, c.is_key_account, "
    + ", ".join(f"{_CARRIED.get(column, 'm.' + column)} AS {column}" for column in FIGURES)
    + """
FROM customers_customermetrics m JOIN customers_customer c ON c.id = m.customer_id
WHERE m.as_of IS NOT NULL AND NOT (m.customer_id = ANY(%(ids)s::bigint[]))"""
)

# Whose figures may have moved between the days the rows are at and the as-of
# day without a write: an order or interaction crossing one of the edges the
# figures count from (the end of the day, a year back for the purchase days of
# the last 12 months, 90 and 455 days back for the contact rates: each between
# where `fresh_params` puts it on the earliest and on the latest of those days);
# and the customers without a computed row.
_MOVED = """
SELECT customer_id FROM sales_order
WHERE (ordered_at >= %(end_from)s AND ordered_at < %(end_to)s)
   OR (ordered_at >= %(year_from)s AND ordered_at < %(year_to)s)
UNION
SELECT customer_id FROM interactions_interaction
WHERE (occurred_at >= %(end_from)s AND occurred_at < %(end_to)s)
   OR (occurred_at >= %(window_from)s AND occurred_at < %(window_to)s)
   OR (occurred_at >= %(usual_from)s AND occurred_at < %(usual_to)s)
UNION
SELECT c.id FROM customers_customer c
WHERE NOT EXISTS (SELECT FROM customers_customermetrics m
                  WHERE m.customer_id = c.id AND m.as_of IS NOT NULL)
"""

CARRY_MAX_DAYS = 31  # rows further from the as-of day than this: read everyone again
CARRY_MAX_SHARE = 0.25  # more customers to read than this share: read everyone


@dataclass(frozen=True)
class Changes:
    """What the nightly run reads again: `customer_ids` (None: everyone), the
    customers the log named, and the local days of the orders logged (the sales
    rollups of those days are rebuilt; None: all)."""

    customer_ids: list[int] | None
    logged: list[int]
    order_days: set[datetime.date] | None


def figures_changed(as_of: datetime.date, *, full: bool = False, consume: bool = True) -> Changes:
    """Empty the write log (in the caller's transaction, which holds the customers
    and their metrics rows locked; only read it when not `consume`: a run for a past
    day leaves the rollups of today to the next run) and say whose figures to read
    again at `as_of`: the customers written to, those whose windows an order or
    interaction crossed, those without a row; everyone when `full`, when rows are
    more than CARRY_MAX_DAYS from the day or when that is more than
    CARRY_MAX_SHARE of the customers."""
    with connection.cursor() as cursor:
        if consume:
            cursor.execute("DELETE FROM customers_metricschange RETURNING customer_id, ordered_at")
        else:
            cursor.execute("SELECT customer_id, ordered_at FROM customers_metricschange")
        log = cursor.fetchall()
        logged = sorted({pk for pk, __ in log})
        cursor.execute("SELECT min(as_of), max(as_of), count(*) FROM customers_customermetrics")
        low, high, rows = cursor.fetchone()
        if low is not None:
            low, high = min(low, as_of), max(high, as_of)
        if full or low is None or (high - low).days > CARRY_MAX_DAYS:
            return Changes(None, logged, None)
        first, last = fresh_params(low), fresh_params(high)
        cursor.execute(
            _MOVED,
            {
                "end_from": first["until"], "end_to": last["until"],
                "year_from": day_end(low - YEAR), "year_to": day_end(high - YEAR),
                "window_from": first["window"], "window_to": last["window"],
                "usual_from": first["usual_from"], "usual_to": last["usual_from"],
            },
        )  # fmt: skip
        ids = {pk for (pk,) in cursor.fetchall()}.union(logged)
    if len(ids) > CARRY_MAX_SHARE * max(rows, 1):
        return Changes(None, logged, None)
    days = {timezone.localtime(at).date() for __, at in log if at is not None}
    return Changes(sorted(ids), logged, days)


def day_end(day: datetime.date) -> datetime.datetime:
    """The first instant after a local day."""
    return timezone.make_aware(
        datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time())
    )
