"""Keeping a customer's figures (CustomerMetrics) up to date after a write.

The figures, scores, tiers and stage are computed by the segmentation app,
which sits above the apps whose writes change them (an order, an interaction,
a merge, an import). Those writes call `metrics_refresh` here, in their own
transaction; it locks the customers and hands them to the refresher the
segmentation app registers in its AppConfig.ready() (`register_refresher`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone

# "some": refresh(ids, as_of) -> rows changed; "all": recompute(as_of) -> rows changed.
_REFRESHERS: dict[str, Callable] = {}


def register_refresher(*, some: Callable, everyone: Callable) -> None:
    _REFRESHERS.update(some=some, everyone=everyone)


def _refresher(name: str) -> Callable:
    try:
        return _REFRESHERS[name]
    except KeyError:
        raise ImproperlyConfigured(
            "No metrics refresher: is the segmentation app installed?"
        ) from None


def metrics_refresh(
    customer_ids: Iterable[int] | None = None, *, as_of: datetime.date | None = None
) -> int:
    """Bring these customers' figures, scores, tiers and stage to `as_of` (today),
    in the caller's transaction, so what a save changed shows at once; returns how
    many metrics rows changed. None means everyone: the nightly recompute
    (`segmentation.runs.metrics_recompute`), in its own transactions."""
    if customer_ids is None:
        return _refresher("everyone")(as_of)
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
    # The customers first, then their metrics rows: the order every writer and
    # the nightly recompute take them in, so none waits on another in a circle.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM customers_customer WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids]
        )
    return _refresher("some")(ids, as_of or timezone.localdate())
