"""The customers layer's blocks on the workbench (crm.workbench)."""

from __future__ import annotations

import datetime

from django.core.cache import cache
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import pgettext_lazy

from crm import roles
from crm.models import ImportJob, ImportStatus
from crm.workbench import SHOWN, Block, Day, listed, register_block
from customers.merge import DUPLICATES_FOUND_KEY, FINDER_LIMIT
from customers.models import Customer, CustomerMetrics, Stage
from customers.pool import recycle_soon
from customers.selectors import (
    managed_team_ids,
    quality_by_owner,
    visible_customers,
)

KEPT_SECONDS = 15 * 60  # blocks that read a whole book of customers
UPCOMING_DAYS = 7


def pool_soon(day: Day) -> dict:
    """The user's customers the pool takes back within the rules' warning days."""
    soon = recycle_soon([day.user.pk], as_of=day.today)
    customers = Customer.objects.in_bulk([pk for pk, __ in soon[:SHOWN]])
    rows = [(customers[pk], clock) for pk, clock in soon[:SHOWN] if pk in customers]
    return {"rows": rows, "count": len(soon), "more_url": reverse("customers:recycle_soon")}


def _birthday_rule(start: datetime.date, days: int) -> Q:
    rule = Q()
    for offset in range(days):
        moment = start + datetime.timedelta(days=offset)
        rule |= Q(birth_date__month=moment.month, birth_date__day=moment.day)
    return rule


def birthdays(day: Day) -> dict:
    """The user's customers whose birthday falls in the next seven days."""
    found = list(
        Customer.objects.filter(
            _birthday_rule(day.today, UPCOMING_DAYS),
            owner=day.user,
            deleted_at__isnull=True,
            birth_date__isnull=False,
        ).only("id", "name", "number", "birth_date")[:50]
    )

    def next_birthday(customer):
        date = (
            customer.birth_date.replace(year=day.today.year)
            if not (customer.birth_date.month == 2 and customer.birth_date.day == 29)
            else datetime.date(day.today.year, 3, 1)
        )
        return date if date >= day.today else date.replace(year=day.today.year + 1)

    rows = sorted(((next_birthday(c), c) for c in found), key=lambda pair: pair[0])
    return {"rows": rows[:SHOWN], "count": len(rows), "today": day.today}


def buying_soon(day: Day) -> dict:
    """The user's customers whose next purchase is expected within two weeks."""
    metrics = (
        CustomerMetrics.objects.filter(
            customer__owner=day.user,
            customer__deleted_at__isnull=True,
            next_purchase_on__gte=day.today,
            next_purchase_on__lt=day.today + datetime.timedelta(days=14),
        )
        .select_related("customer")
        .order_by("next_purchase_on", "customer_id")
    )
    return listed(metrics)


def key_accounts_at_risk(day: Day) -> dict | None:
    """Key accounts of the manager's teams (everyone's for an admin) at risk."""
    customers = visible_customers(day.user).filter(is_key_account=True, stage=Stage.AT_RISK)
    if not day.user.is_superuser:
        teams = managed_team_ids(day.user)
        if not teams:
            return None
        customers = customers.filter(team_id__in=teams)
    return listed(
        customers.select_related("owner").order_by("-updated_at", "id"),
        reverse("customers:list") + "?stage=at_risk&is_key_account=true",
    )


def imports(day: Day) -> dict:
    """Imports still running, and those that failed this week."""
    week_ago = day.now - datetime.timedelta(days=7)
    busy = (ImportStatus.ANALYSING, ImportStatus.QUEUED, ImportStatus.RUNNING)
    jobs = ImportJob.objects.filter(
        Q(status__in=busy) | Q(status=ImportStatus.FAILED, created_at__gte=week_ago)
    )
    if not day.user.is_superuser:
        jobs = jobs.filter(created_by=day.user) if not day.roles & {roles.DATA_STEWARD} else jobs
    return listed(
        jobs.select_related("created_by").order_by("-created_at"), reverse("customers:import")
    )


def duplicates(day: Day) -> dict:
    """Duplicates waiting: the count the duplicates page found when last opened (the
    finder compares every phone, e-mail and name: not for every home page)."""
    return {
        "found": cache.get(DUPLICATES_FOUND_KEY),
        "limit": FINDER_LIMIT,
        "more_url": reverse("customers:duplicates"),
    }


def freshness(day: Day) -> dict:
    """The owners whose customers are least fresh. Counting them reads every
    customer the steward sees: kept a quarter of an hour (Block.keep_seconds)."""
    rows = sorted(quality_by_owner(day.user), key=lambda row: row.fresh_share)
    return {
        "rows": [
            {
                "owner": str(row.owner) if row.owner else None,
                "customers": row.customers,
                "fresh_share": row.fresh_share,
            }
            for row in rows[:SHOWN]
        ],
        "count": min(len(rows), SHOWN),
        "more_url": reverse("customers:quality"),
    }


SELLERS = frozenset({roles.SALES_REP, roles.SALES_MANAGER})
STEWARDS = frozenset({roles.DATA_STEWARD})


def register() -> None:
    for block in (
        Block(
            key="pool_soon",
            title=pgettext_lazy("workbench", "Back to the pool soon"),
            icon="hourglass-split",
            template="workbench/_pool_soon.html",
            load=pool_soon,
            roles=SELLERS,
            permissions=("customers.view_customer",),
            order=50,
            keep_seconds=KEPT_SECONDS,
        ),
        Block(
            key="birthdays",
            title=pgettext_lazy("workbench", "Birthdays this week"),
            icon="gift",
            template="workbench/_birthdays.html",
            load=birthdays,
            roles=SELLERS,
            permissions=("customers.view_customer",),
            order=60,
            keep_seconds=KEPT_SECONDS,
        ),
        Block(
            key="buying_soon",
            title=pgettext_lazy("workbench", "Expected to buy soon"),
            icon="cart-check",
            template="workbench/_buying_soon.html",
            load=buying_soon,
            roles=SELLERS,
            permissions=("customers.view_customer",),
            order=70,
            keep_seconds=KEPT_SECONDS,
        ),
        Block(
            key="key_at_risk",
            title=pgettext_lazy("workbench", "Key accounts at risk"),
            icon="exclamation-diamond",
            template="workbench/_customers.html",
            load=key_accounts_at_risk,
            roles=frozenset({roles.SALES_MANAGER}),
            permissions=("customers.view_customer",),
            order=25,
            keep_seconds=KEPT_SECONDS,  # stages move nightly
        ),
        Block(
            key="imports",
            title=pgettext_lazy("workbench", "Running and failed imports"),
            icon="cloud-upload",
            template="workbench/_imports.html",
            load=imports,
            roles=STEWARDS,
            order=15,
        ),
        Block(
            key="duplicates",
            title=pgettext_lazy("workbench", "Duplicates waiting"),
            icon="intersect",
            template="workbench/_duplicates.html",
            load=duplicates,
            roles=STEWARDS,
            permissions=("customers.merge_customers",),
            order=16,
        ),
        Block(
            key="freshness",
            title=pgettext_lazy("workbench", "Freshness per owner"),
            icon="clipboard-check",
            template="workbench/_freshness.html",
            load=freshness,
            roles=STEWARDS,
            permissions=("customers.view_customer",),
            order=17,
            keep_seconds=KEPT_SECONDS,
        ),
    ):
        register_block(block)
