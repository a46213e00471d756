"""The recycle clocks and the nightly `pool_recycle` job (docs/operations.md).

A customer's recycle date, under the rules of its owner's team and its
importance level (customers.pool_rules.RuleBook), in calendar days of the site's
time zone, every clock counted from when the current owner took it
(`owner_since`), never from its creation:

- the no-interaction clock: N days after the later of the take-over and the last
  logged interaction; the no-order clock: M days after the later of the take-over
  and the last order; the earlier of the two is the one that counts;
- the protection: P days after the take-over, each interaction extending it to
  E days after that interaction, never past X days after the take-over; nothing
  returns while protected, so the date is the later of the clock and the end of
  the protection;
- never: a locked customer, or (where the rules say so) one with an open
  opportunity or an order in the last D days;
- at once: a customer whose owner's account is deactivated.

The same SQL gives the "days until recycle" of the customer lists and the job's
set, so the two cannot disagree. The job warns owners W days ahead (one
notification per owner and day, and the *To be recycled* list), returns what is
due through customers.ownership (ledger, audit) and sends each team manager a
digest. A second run the same day finds nothing more to do.
"""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext_lazy

from crm.models import Team, User
from crm.services import lazy_format, notify
from crm.sqlwords import compose
from customers.ownership import recycle_write
from customers.pool_rules import RuleBook

_CLOCK_SQL = """
WITH r AS (
    SELECT * FROM jsonb_to_recordset(%(rules)s::jsonb) AS r(
        team_id bigint, key_account boolean, protection_days int,
        protection_extension_days int, protection_max_days int, no_interaction_days int,
        no_order_days int, exempt_open_opportunity boolean, exempt_order_days int,
        warn_days int)
), c AS (
    SELECT c.id, c.owner_id, c.team_id, c.owner_since, c.locked_at IS NOT NULL AS locked,
           u.is_active AS owner_active,
           (c.owner_since AT TIME ZONE %(tz)s)::date AS since_d,
           r.protection_days, r.protection_extension_days, r.protection_max_days,
           r.no_interaction_days, r.no_order_days, r.exempt_open_opportunity,
           r.exempt_order_days, r.warn_days,
           {last_touch} AS touch_d,
           {last_purchase} AS order_d,
           {open_deal} AS open_opp
      FROM customers_customer c
      JOIN crm_user u ON u.id = c.owner_id
      JOIN r ON r.key_account = c.is_key_account
           AND r.team_id IS NOT DISTINCT FROM
               (CASE WHEN c.team_id = ANY(%(ruled_teams)s) THEN c.team_id END)
     WHERE c.owner_id IS NOT NULL AND c.deleted_at IS NULL AND c.owner_since IS NOT NULL
           {where}
), k AS (
    SELECT c.*,
           CASE WHEN no_interaction_days > 0
                THEN greatest(since_d, touch_d) + no_interaction_days END AS touch_due,
           CASE WHEN no_order_days > 0
                THEN greatest(since_d, order_d) + no_order_days END AS order_due,
           CASE WHEN protection_days > 0
                THEN least(since_d + protection_max_days,
                           greatest(since_d + protection_days,
                                    touch_d + protection_extension_days)) END AS protected_until,
           (exempt_open_opportunity AND open_opp)
           OR (exempt_order_days > 0 AND order_d > %(as_of)s::date - exempt_order_days)
               AS exempt
      FROM c
)
SELECT id, owner_id, team_id, owner_since,
       CASE WHEN NOT owner_active THEN %(as_of)s::date
            WHEN locked OR exempt OR least(touch_due, order_due) IS NULL THEN NULL
            ELSE greatest(least(touch_due, order_due), protected_until) END AS due,
       CASE WHEN NOT owner_active THEN 'owner_inactive'
            WHEN touch_due IS NOT NULL AND (order_due IS NULL OR touch_due <= order_due)
            THEN 'no_interaction'
            ELSE 'no_order' END AS reason,
       protected_until, locked, exempt, warn_days
  FROM k
"""


# What counts as the owner working the customer comes from the apps that record
# it, each registering its piece of SQL in its AppConfig.ready(): an expression
# over the customer row `c` (customers_customer) and the parameters %(tz)s and
# %(end)s (the end of the as-of day), plus any its `params()` adds. A slot
# nobody fills counts as never: no touch, no purchase, no open deal.
ACTIVITY = {
    "last_touch": "NULL::date",  # the local day of the last interaction since c.owner_since
    "last_purchase": "NULL::date",  # the local day of the last purchase
    "open_deal": "false",  # an opportunity still open
}
_ACTIVITY: dict[str, tuple[str, Callable[[], dict]]] = {}


def register_recycle_activity(slot: str, sql: str, params: Callable[[], dict] = dict) -> None:
    """Fill one of the ACTIVITY slots (once)."""
    if slot not in ACTIVITY:
        raise ValueError(f"unknown recycle activity {slot!r}")
    if _ACTIVITY.get(slot, (sql, params)) != (sql, params):
        raise ValueError(f"recycle activity {slot!r} is registered twice")
    _ACTIVITY[slot] = (sql, params)


def _params(as_of: datetime.date, book: RuleBook | None = None) -> dict:
    zone = timezone.get_default_timezone()
    end = datetime.datetime.combine(as_of + datetime.timedelta(days=1), datetime.time(), zone)
    book = book or RuleBook()
    return {
        "rules": json.dumps(book.table()),
        "ruled_teams": book.ruled_teams(),
        "tz": settings.TIME_ZONE,
        "end": end,
        "as_of": as_of,
    } | {name: value for __, params in _ACTIVITY.values() for name, value in params().items()}


def clock_sql(where: str = "") -> str:
    pieces = {slot: _ACTIVITY.get(slot, (empty,))[0] for slot, empty in ACTIVITY.items()}
    return compose(_CLOCK_SQL, where=where, **pieces)


@dataclass(frozen=True)
class Clock:
    """One owned customer's recycle date as of a day."""

    due: datetime.date | None  # None: not recycled under the rules (locked, exempt, off)
    reason: str
    protected_until: datetime.date | None
    locked: bool
    exempt: bool
    as_of: datetime.date

    @property
    def days_left(self) -> int | None:
        return None if self.due is None else max((self.due - self.as_of).days, 0)


def recycle_clocks(
    customer_ids, as_of: datetime.date | None = None, *, book: RuleBook | None = None
) -> dict[int, Clock]:
    """The clocks of these customers (those with an owner), by id."""
    ids = [int(pk) for pk in customer_ids]
    if not ids:
        return {}
    as_of = as_of or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(clock_sql("AND c.id = ANY(%(ids)s)"), {**_params(as_of, book), "ids": ids})
        return {
            pk: Clock(due, reason, protected, locked, exempt, as_of)
            for pk, _owner, _team, _since, due, reason, protected, locked, exempt, _warn in (
                cursor.fetchall()
            )
        }


def recycle_soon(owner_ids, as_of: datetime.date | None = None) -> list[tuple[int, Clock]]:
    """The customers of these owners that return to the pool within their rules'
    warning days (or are due already), soonest first: the *To be recycled* list."""
    ids = [int(pk) for pk in owner_ids]
    if not ids:
        return []
    as_of = as_of or timezone.localdate()
    with transaction.atomic(), connection.cursor() as cursor:
        # A clock per customer is many small subqueries: PostgreSQL's JIT spends
        # seconds compiling them for a large book (3.4 s of 3.9 s at 170,000
        # customers) and the plan runs in a third of that without it.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            f"SELECT * FROM ({clock_sql('AND c.owner_id = ANY(%(owners)s)')}) clocks "  # noqa: S608
            "WHERE due IS NOT NULL AND due <= %(as_of)s::date + warn_days ORDER BY due, id",
            {**_params(as_of), "owners": ids},
        )
        return [
            (pk, Clock(due, reason, protected, locked, exempt, as_of))
            for pk, _owner, _team, _since, due, reason, protected, locked, exempt, _warn in (
                cursor.fetchall()
            )
        ]


def _soon_link() -> str:
    return reverse("customers:recycle_soon")


def _warn(as_of: datetime.date) -> tuple[int, int]:
    """One notification per owner with customers due within the warning days (the
    rows of `kehu_due` not due yet)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT owner_id, count(*), min(due) FROM kehu_due "
            "WHERE due > %s::date GROUP BY owner_id",
            [as_of],
        )
        rows = cursor.fetchall()
    owners = User.objects.in_bulk([owner for owner, __, __ in rows])
    for owner_id, count, soonest in rows:
        text = lazy_format(
            ngettext_lazy(
                "%(count)d of your customers returns to the pool soon (the first in "
                "%(days)d days) unless you follow up.",
                "%(count)d of your customers return to the pool soon (the first in "
                "%(days)d days) unless you follow up.",
                count,
            ),
            {"count": count, "days": (soonest - as_of).days},
        )
        notify(
            recipient=owners[owner_id], text=text, link=_soon_link(),
            key=f"pool-warn:{as_of.isoformat()}",
        )  # fmt: skip
    return sum(count for __, count, __ in rows), len(rows)


def _digest(as_of: datetime.date, moved: list[tuple]) -> int:
    """Each team manager: how many of the team's customers went back today."""
    by_team: dict[int, int] = defaultdict(int)
    for _pk, _owner, team_id, _reason in moved:
        if team_id is not None:
            by_team[team_id] += 1
    by_manager: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for team in Team.objects.filter(pk__in=by_team, manager__isnull=False).order_by("name"):
        by_manager[team.manager_id].append((team.name, by_team[team.pk]))
    managers = User.objects.in_bulk(list(by_manager))
    for manager_id, teams in by_manager.items():
        total = sum(count for __, count in teams)
        text = lazy_format(
            ngettext_lazy(
                "Pool recycling %(date)s: %(count)d customer of your teams went back to "
                "the pool (%(teams)s).",
                "Pool recycling %(date)s: %(count)d customers of your teams went back to "
                "the pool (%(teams)s).",
                total,
            ),
            {
                "date": as_of.isoformat(),
                "count": total,
                "teams": ", ".join(f"{name} {count}" for name, count in teams),
            },
        )
        notify(
            recipient=managers[manager_id], text=text, link=reverse("customers:pool"),
            key=f"pool-digest:{as_of.isoformat()}",
        )  # fmt: skip
    return len(by_manager)


def _tell_owners(as_of: datetime.date, moved: list[tuple]) -> None:
    by_owner: dict[int, int] = defaultdict(int)
    for _pk, owner_id, _team, _reason in moved:
        by_owner[owner_id] += 1
    for owner in User.objects.filter(pk__in=by_owner, is_active=True):
        count = by_owner[owner.pk]
        text = lazy_format(
            ngettext_lazy(
                "%(count)d of your customers went back to the pool under the pool rules.",
                "%(count)d of your customers went back to the pool under the pool rules.",
                count,
            ),
            {"count": count},
        )
        notify(
            recipient=owner, text=text, link=reverse("customers:pool") + "?previous=me",
            key=f"pool-returned:{as_of.isoformat()}",
        )  # fmt: skip


def pool_recycle(as_of: datetime.date) -> dict[str, int]:
    """The job: warn, return what is due, tell the owners and the managers."""
    with transaction.atomic():
        params = _params(as_of)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS kehu_due")  # a second run in one transaction
            # One scan: what is due today (with its ledger row's id) and what is
            # due within the warning days.
            cursor.execute(
                "CREATE TEMP TABLE kehu_due ON COMMIT DROP AS "  # noqa: S608 - constant SQL
                "SELECT CASE WHEN due <= %(as_of)s::date "
                "THEN nextval('customers_ownershipchange_id_seq') END AS change_id, id, "
                f"owner_id, team_id, owner_since, reason, due FROM ({clock_sql()}) clocks "
                "WHERE due IS NOT NULL AND due <= %(as_of)s::date + warn_days",
                params,
            )
        moved = recycle_write(as_of)
        warned, owners_warned = _warn(as_of)
        _tell_owners(as_of, moved)
        digests = _digest(as_of, moved)
    return {
        "returned": len(moved),
        "owner_left": sum(1 for row in moved if row[3] == "owner_inactive"),
        "warned": warned,
        "owners_warned": owners_warned,
        "digests": digests,
    }
