"""Each customer's last contact, kept on its metrics row so lists read it with the
customer (one join) instead of searching millions of interactions per row.

One statement for any number of customers, like the purchase metrics: an
interaction saved refreshes its customer, the demo seed refreshes everyone.
"""

from __future__ import annotations

from collections.abc import Iterable

from customers.metrics import metrics_refresh, per_customer_refresh

_SQL = """
WITH targets AS ({targets}),
latest AS (
    SELECT t.customer_id, l.occurred_at, l.user_id, coalesce(l.channel, '') AS channel,
           coalesce(n.count, 0) AS count
    FROM targets t
    JOIN customers_customer c ON c.id = t.customer_id
    LEFT JOIN LATERAL (
        SELECT i.occurred_at, i.user_id, i.channel FROM interactions_interaction i
        WHERE i.customer_id = t.customer_id ORDER BY i.occurred_at DESC, i.id DESC LIMIT 1
    ) l ON true
    LEFT JOIN LATERAL (
        SELECT count(*) AS count FROM interactions_interaction i
        WHERE i.customer_id = t.customer_id
    ) n ON true
)
INSERT INTO customers_customermetrics AS m (
    customer_id, orders_count, total_spent, first_salesperson_key, first_team_key,
    refreshed_at, last_contact_at, last_contact_by_id, last_contact_channel, interactions_count
)
SELECT customer_id, 0, 0, 0, 0, now(), occurred_at, user_id, channel, count FROM latest
ON CONFLICT (customer_id) DO UPDATE SET
    last_contact_at = excluded.last_contact_at,
    last_contact_by_id = excluded.last_contact_by_id,
    last_contact_channel = excluded.last_contact_channel,
    interactions_count = excluded.interactions_count
WHERE (m.last_contact_at, m.last_contact_by_id, m.last_contact_channel, m.interactions_count)
    IS DISTINCT FROM
      (excluded.last_contact_at, excluded.last_contact_by_id, excluded.last_contact_channel,
       excluded.interactions_count)
"""

_ALL = (
    "SELECT DISTINCT customer_id FROM interactions_interaction"
    " UNION SELECT customer_id FROM customers_customermetrics WHERE interactions_count > 0"
)


def last_contact_refresh(customer_ids: Iterable[int] | None = None) -> int:
    """Recompute these customers' last contact (everyone's when None); returns how
    many rows changed. Idempotent. Given customers also get their purchase
    figures, contact figures, scores and stage refreshed (`metrics_refresh`)."""
    if customer_ids is None:
        return per_customer_refresh(_SQL, _ALL, None)
    customer_ids = list(customer_ids)
    changed = per_customer_refresh(_SQL, _ALL, customer_ids)
    # The purchase figures to today too, then the scores and stage from both.
    metrics_refresh(customer_ids)
    return changed
