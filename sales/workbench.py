"""The sales layer's blocks on the workbench (crm.workbench)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count, DateField, ExpressionWrapper, F, Sum
from django.urls import reverse
from django.utils.translation import pgettext_lazy

from crm import roles
from crm.workbench import SHOWN, Block, Day, listed, register_block
from sales.models import OPEN_STAGES, ContractStatus
from sales.performance import Subject, performance, performance_subjects
from sales.selectors import visible_contracts, visible_opportunities

BEHIND = 10  # percentage points behind the month's pace that count as behind


def _pace(day: Day) -> int:
    return round(100 * day.month_elapsed)


def target_progress(day: Day) -> dict | None:
    """This month's revenue against the user's target, and the pace it needs today."""
    result = performance(
        Subject("user", day.user.pk, str(day.user)), day.month_start, day.month_end
    )
    totals = result.totals
    return {
        "revenue": totals.revenue,
        "target": totals.target,
        "attainment": totals.attainment,
        "pace": _pace(day),
        "orders": totals.orders,
        "more_url": reverse("sales:performance"),
    }


def behind_target(day: Day) -> dict | None:
    """The members of the manager's teams behind the month's pace."""
    teams = [
        subject
        for subject in performance_subjects(day.user)
        if subject.kind == "team" and subject.breakdown
    ]
    if not teams:
        return None
    pace = _pace(day)
    rows = []
    for team in teams[:3]:
        for member, figures in performance(team, day.month_start, day.month_end).members:
            if figures.target and (figures.attainment or 0) < pace - BEHIND:
                rows.append((member, figures))
    rows.sort(key=lambda pair: pair[1].attainment or 0)
    return {
        "rows": rows,
        "count": len(rows),
        "pace": pace,
        "more_url": reverse("sales:performance"),
    }


def deals_closing(day: Day) -> dict:
    """Open opportunities expected to close this month (and those already late): the
    user's own, a manager's teams' through the scoping selector."""
    mine = day.roles.isdisjoint({roles.SALES_MANAGER}) or not day.user.has_perm(
        "customers.view_team_customers"
    )
    deals = visible_opportunities(day.user).filter(
        stage__in=OPEN_STAGES, expected_close__lt=day.month_end
    )
    if mine:
        deals = deals.filter(owner=day.user)
    deals = deals.select_related("customer", "owner").order_by("expected_close", "id")
    rows = list(deals[: SHOWN + 1])
    if len(rows) > SHOWN:  # the count and the total in one reading
        figures = deals.order_by().aggregate(count=Count("id"), total=Sum("amount"))
        rows, count, total = rows[:SHOWN], figures["count"], figures["total"]
    else:
        count, total = len(rows), sum((deal.amount for deal in rows), Decimal("0"))
    return {
        "rows": rows,
        "count": count,
        "total": total,
        "more_url": reverse("sales:opportunity_list")
        + f"?stage=open&close_month={day.today:%Y-%m}",
        "today": day.today,
        "mine": mine,
    }


def renewals(day: Day) -> dict:
    """Contracts in force whose renewal should start this week (or has), not ended."""
    contracts = (
        visible_contracts(day.user)
        .filter(owner=day.user, status=ContractStatus.ACTIVE, end_date__gte=day.today)
        # PostgreSQL's date - integer: the day the renewal should start.
        .alias(
            renew_from=ExpressionWrapper(
                F("end_date") - F("renewal_notice_days"), output_field=DateField()
            )
        )
        .filter(renew_from__lte=day.today + datetime.timedelta(days=7))
        .select_related("customer")
        .order_by("end_date", "id")
    )
    return listed(contracts, reverse("sales:contract_list"), today=day.today)


def register() -> None:
    sellers = frozenset({roles.SALES_REP, roles.SALES_MANAGER})
    for block in (
        Block(
            key="target",
            title=pgettext_lazy("workbench", "This month against target"),
            icon="bullseye",
            template="workbench/_target.html",
            load=target_progress,
            roles=sellers,
            order=5,
        ),
        Block(
            key="behind_target",
            title=pgettext_lazy("workbench", "Behind target"),
            icon="graph-down-arrow",
            template="workbench/_behind_target.html",
            load=behind_target,
            roles=frozenset({roles.SALES_MANAGER}),
            order=26,
            keep_seconds=5 * 60,  # a month's pace moves slowly
        ),
        Block(
            key="deals_closing",
            title=pgettext_lazy("workbench", "Deals closing this month"),
            icon="funnel",
            template="workbench/_deals.html",
            load=deals_closing,
            roles=sellers,
            permissions=("sales.view_opportunity",),
            order=35,
        ),
        Block(
            key="renewals",
            title=pgettext_lazy("workbench", "Contract renewals this week"),
            icon="arrow-repeat",
            template="workbench/_renewals.html",
            load=renewals,
            roles=sellers,
            permissions=("sales.view_contract",),
            order=65,
        ),
    ):
        register_block(block)
