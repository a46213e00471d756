"""What a dashboard shows (docs/dashboards.md), for a scope — everyone, a team
or one person — and a period of whole months, read from the rollups (customer
counts, new customers, product sales and forecasts by month: dashboards.models;
sales by day: sales.SalesDay) and from the small live tables (open pipeline,
feedback, the person's own tasks), in a fixed number of queries.

Sales figures follow the salesperson on the order; customer figures follow
the customer's owner today.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import User
from crm.selectors import sees_everyone
from customers.models import (
    Customer,
    CustomerMetrics,
    FrequencyTier,
    RfmSegment,
    Stage,
    ValueTier,
)
from customers.selectors import visible_customers
from dashboards import forecast as fc
from dashboards.models import CustomerCube, ForecastMonth, NewCustomersMonth, ProductMonth
from feedback.analysis import satisfaction
from feedback.selectors import visible_feedback
from interactions.models import Task
from sales.models import OPEN_STAGES, Opportunity, Product, SalesDay
from sales.models import Stage as OpportunityStage
from sales.performance import Subject, performance_subjects

TOP = 10


def dashboard_scopes(viewer: User) -> list[Subject]:
    """Everyone (for those who see everyone), then the viewer, their teams and
    people (sales.performance: the same rule as the performance page)."""
    # Teams only where the viewer manages them (or sees everyone): a rep's own
    # team's figures would count colleagues' customers and pipeline.
    scopes = [s for s in performance_subjects(viewer) if s.kind != "team" or s.breakdown]
    if sees_everyone(viewer):
        scopes.insert(0, Subject("all", 0, _("Everyone"), breakdown=True))
    return scopes


def default_scope(viewer: User) -> Subject:
    """Admins see everyone, managers their (first) team, the others themselves."""
    scopes = dashboard_scopes(viewer)
    if scopes[0].kind == "all":
        return scopes[0]
    managed = [s for s in scopes if s.kind == "team" and s.breakdown]
    return managed[0] if managed else scopes[0]


def scope_for(viewer: User, key: str) -> Subject | None:
    if not key:
        return default_scope(viewer)
    if key == "me":
        key = f"user-{viewer.pk}"
    return next((s for s in dashboard_scopes(viewer) if s.key == key), None)


def _keys(scope: Subject, person: str, team: str = "team_key") -> dict:
    if scope.kind == "user":
        return {person: scope.pk}
    if scope.kind == "team":
        return {team: scope.pk}
    return {}


@dataclass
class Chart:
    key: str
    title: str
    kind: str  # bar, line, doughnut, forecast
    labels: list[str]
    series: list[tuple[str, list]]  # (name, values)
    money: bool = False

    @property
    def empty(self) -> bool:
        """Nothing to draw: every value missing or zero ("no data yet", not bare axes)."""
        return not any(value for __, values in self.series for value in values)

    def data(self) -> dict:
        """For Chart.js: numbers as floats (display only; the download keeps cents)."""
        return {
            "key": self.key,
            "kind": self.kind,
            "labels": [str(label) for label in self.labels],
            "series": [
                {"name": str(name), "values": [None if v is None else float(v) for v in values]}
                for name, values in self.series
            ],
            "money": self.money,
        }


@dataclass
class Dashboard:
    scope: Subject
    first: datetime.date
    last: datetime.date
    tiles: dict = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)
    at_risk: list = field(default_factory=list)  # (customer, metrics) most valuable first
    backtest: fc.Backtest | None = None
    tasks: list = field(default_factory=list)  # the person's own, due soonest
    expected: list = field(default_factory=list)  # their customers expected to buy soon

    def chart(self, key: str) -> Chart | None:
        return next((c for c in self.charts if c.key == key), None)


def month_label(month: datetime.date, today: datetime.date | None = None) -> str:
    """A month as YYYY-MM; the current one marked as counted so far."""
    label = f"{month:%Y-%m}"
    if today is not None and month == today.replace(day=1):
        return _("%(month)s (to date)") % {"month": label}
    return label


def months_between(first: datetime.date, end: datetime.date) -> list[datetime.date]:
    months, month = [], first
    while month < end:
        months.append(month)
        month = fc.month_after(month)
    return months


def _sales(scope, first, end):
    days = SalesDay.objects.filter(**_keys(scope, "salesperson_key"))
    rows = (
        days.filter(day__gte=first, day__lt=end)
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(revenue=Sum("revenue"), orders=Sum("orders"))
    )
    return days, {row["month"]: row for row in rows}


def _cube(scope):
    rows = CustomerCube.objects.filter(**_keys(scope, "owner_key"))
    return list(
        rows.values("lifecycle", "value_tier", "frequency_tier", "rfm_segment").annotate(
            n=Sum("customers"), fresh_n=Sum("fresh"), value=Sum("expected_value")
        )
    )


def _count_by(cube, key, choices) -> list[int]:
    totals = dict.fromkeys((value for value, __ in choices), 0)
    for row in cube:
        if row[key] in totals:
            totals[row[key]] += row["n"]
    return list(totals.values())


def _open_pipeline(scope, months: list[datetime.date]) -> dict[str, dict]:
    """The scope's open opportunities by stage, in one pass for both charts: the
    amount, the amount × probability (in percent: the callers divide by 100 once,
    not each opportunity), and that for those expected to close in each of
    `months` (m0, m1, …), summed by date range."""
    condition = Q() if scope.kind == "all" else scope.opportunities()
    weighted = F("amount") * F("probability")
    closing = {
        f"m{k}": Sum(
            weighted, filter=Q(expected_close__gte=month, expected_close__lt=fc.month_after(month))
        )
        for k, month in enumerate(months)
    }
    return {
        row["stage"]: row
        for row in Opportunity.objects.filter(condition, stage__in=OPEN_STAGES)
        .values("stage")
        .annotate(total=Sum("amount"), weighted=Sum(weighted), **closing)
    }


def _pipeline(rows: dict[str, dict]) -> Chart:
    stages = [(value, label) for value, label in OpportunityStage.choices if value in OPEN_STAGES]
    return Chart(
        "pipeline", _("Open pipeline by stage"), "bar", [label for __, label in stages],
        [
            (_("Amount"), [rows.get(value, {}).get("total") or 0 for value, __ in stages]),
            (_("Weighted by probability"),
             [(rows.get(value, {}).get("weighted") or Decimal(0)) / 100 for value, __ in stages]),
        ],
        money=True,
    )  # fmt: skip


def _products(scope, first, end) -> tuple[Chart, Chart]:
    """The top products and categories by revenue in the period."""
    sold = ProductMonth.objects.filter(
        month__gte=first, month__lt=end, **_keys(scope, "salesperson_key")
    )
    revenue = {
        row["product_id"]: row["revenue"]
        for row in sold.values("product_id").annotate(revenue=Sum("revenue"))
    }
    products = {
        pk: (name, category)
        for pk, name, category in Product.objects.filter(pk__in=revenue).values_list(
            "pk", "name", "category"
        )
    }
    top = sorted(revenue.items(), key=lambda item: -item[1])[:TOP]
    categories: dict[str, Decimal] = {}
    for pk, amount in revenue.items():
        category = products.get(pk, ("", ""))[1] or _("No category")
        categories[category] = categories.get(category, Decimal(0)) + amount
    top_categories = sorted(categories.items(), key=lambda item: -item[1])[:TOP]
    return (
        Chart("products", _("Top products"), "hbar",
              [products.get(pk, (f"#{pk}", ""))[0] for pk, __ in top],
              [(_("Revenue"), [amount for __, amount in top])], money=True),
        Chart("categories", _("Top categories"), "hbar", [name for name, __ in top_categories],
              [(_("Revenue"), [amount for __, amount in top_categories])], money=True),
    )  # fmt: skip


def _forecast(scope, today, days, open_rows) -> tuple[Chart, fc.Backtest | None]:
    this_month = today.replace(day=1)
    first = this_month
    for __ in range(11):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    actual = fc.actuals_by_month(days, first, fc.month_after(this_month))

    latest = ForecastMonth.objects.filter(made_on__lte=today).order_by("-made_on").first()
    months_ahead = fc.forecast_months(today)
    base = {}
    if latest is not None:
        rows = ForecastMonth.objects.filter(made_on=latest.made_on, **_keys(scope, "owner_key"))
        base = {
            row["month"]: row["total"]
            for row in rows.values("month").annotate(total=Sum("revenue"))
        }
    pipeline = {
        month: sum((row[f"m{k}"] or Decimal(0) for row in open_rows.values()), Decimal(0)) / 100
        for k, month in enumerate(months_ahead)
    }
    past = months_between(first, fc.month_after(this_month))
    labels = [month_label(m, today) for m in [*past, *months_ahead]]
    gap = [None] * len(months_ahead)
    chart = Chart(
        "forecast", _("Revenue: last 12 months and the next 3"), "forecast", labels,
        [
            (_("Actual"), [actual.get(m, 0) for m in past] + gap),
            (_("Forecast from the customer base"),
             [None] * len(past) + [base.get(m) for m in months_ahead]),
            (_("Forecast from the pipeline"),
             [None] * len(past) + [pipeline[m] for m in months_ahead]),
        ],
        money=True,
    )  # fmt: skip
    return chart, fc.backtest(today, _keys(scope, "owner_key"), days)


def dashboard(viewer: User, scope: Subject, first: datetime.date, last: datetime.date) -> Dashboard:
    """Every figure of the dashboard for the scope and the months first..last."""
    today = timezone.localdate()
    end = fc.month_after(last)
    board = Dashboard(scope, first, last)
    days, sales = _sales(scope, first, end)
    months = months_between(first, end)
    labels = [month_label(m, today) for m in months]
    board.charts.append(Chart(
        "revenue", _("Revenue and orders by month"), "bar", labels,
        [
            (_("Revenue"), [sales.get(m, {}).get("revenue") or 0 for m in months]),
            (_("Orders"), [sales.get(m, {}).get("orders") or 0 for m in months]),
        ],
        money=True,
    ))  # fmt: skip
    new = (
        NewCustomersMonth.objects.filter(
            month__gte=first, month__lt=end, **_keys(scope, "salesperson_key")
        ).aggregate(n=Sum("customers"))["n"]
        or 0
    )
    cube = _cube(scope)
    open_rows = _open_pipeline(scope, fc.forecast_months(today))
    stages = _count_by(cube, "lifecycle", Stage.choices)
    stage_counts = dict(zip((value for value, __ in Stage.choices), stages, strict=True))
    at_risk_value = sum(
        (row["value"] or Decimal(0) for row in cube if row["lifecycle"] == Stage.AT_RISK),
        Decimal(0),
    )
    customers = sum(stages)
    fresh = sum(row["fresh_n"] or 0 for row in cube)
    board.tiles = {
        "revenue": sum((sales.get(m, {}).get("revenue") or 0 for m in months), Decimal(0)),
        "orders": sum(sales.get(m, {}).get("orders") or 0 for m in months),
        "new": new,
        "customers": customers,
        "active": stage_counts[Stage.ACTIVE],
        "at_risk": stage_counts[Stage.AT_RISK],
        "at_risk_value": at_risk_value,
        "churned": stage_counts[Stage.CHURNED],
        "fresh_percent": round(100 * fresh / customers) if customers else None,
    }
    board.charts += [
        Chart("stages", _("Customers by stage"), "doughnut",
              [label for __, label in Stage.choices], [(_("Customers"), stages)]),
        Chart("value_tiers", _("Customers by value tier"), "bar",
              [label for __, label in ValueTier.choices],
              [(_("Customers"), _count_by(cube, "value_tier", ValueTier.choices))]),
        Chart("frequency_tiers", _("Customers by frequency tier"), "bar",
              [label for __, label in FrequencyTier.choices],
              [(_("Customers"), _count_by(cube, "frequency_tier", FrequencyTier.choices))]),
        Chart("rfm", _("Customers by RFM segment"), "hbar",
              [label for __, label in RfmSegment.choices],
              [(_("Customers"), _count_by(cube, "rfm_segment", RfmSegment.choices))]),
        Chart("freshness", _("Data freshness by stage"), "stacked",
              [label for __, label in Stage.choices],
              [(_("Verified within policy"), _fresh_by_stage(cube, True)),
               (_("Not verified within policy"), _fresh_by_stage(cube, False))]),
        _pipeline(open_rows),
        *_products(scope, first, end),
    ]  # fmt: skip
    forecast_chart, board.backtest = _forecast(scope, today, days, open_rows)
    board.charts.append(forecast_chart)
    board.tiles |= feedback_satisfaction(viewer, scope, first, end)
    board.at_risk = _at_risk(viewer, scope)
    if scope.kind == "user" and scope.pk == viewer.pk:
        board.tasks, board.expected = _next_actions(viewer, today)
    return board


def _fresh_by_stage(cube, fresh: bool) -> list[int]:
    totals = dict.fromkeys((value for value, __ in Stage.choices), 0)
    for row in cube:
        if row["lifecycle"] in totals:
            verified = row["fresh_n"] or 0
            totals[row["lifecycle"]] += verified if fresh else row["n"] - verified
    return list(totals.values())


def _scoped_customers(viewer: User, scope: Subject):
    customers = visible_customers(viewer)
    if scope.kind == "user":
        return customers.filter(owner_id=scope.pk)
    if scope.kind == "team":
        return customers.filter(team_id=scope.pk)
    return customers


def _at_risk(viewer: User, scope: Subject) -> list:
    """The scope's most valuable customers at risk (by what they spent)."""
    rows = (
        CustomerMetrics.objects.filter(
            lifecycle=Stage.AT_RISK, customer__in=_scoped_customers(viewer, scope)
        )
        .select_related("customer", "customer__owner")
        .order_by("-total_spent")[:TOP]
    )
    return list(rows)


def day_start(day: datetime.date) -> datetime.datetime:
    """The first moment of a day, in local time."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def feedback_satisfaction(viewer: User, scope: Subject, first, end) -> dict:
    """The scope's feedback figures for the days first..end (end excluded)."""

    feedback = visible_feedback(viewer).filter(
        created_at__gte=day_start(first), created_at__lt=day_start(end)
    )
    if scope.kind == "user":
        feedback = feedback.filter(customer__owner_id=scope.pk)
    elif scope.kind == "team":
        feedback = feedback.filter(customer__team_id=scope.pk)
    return {"satisfaction": satisfaction(feedback)}


def _next_actions(viewer: User, today: datetime.date) -> tuple[list, list]:
    """The person's open tasks, due soonest, and their customers expected to buy
    within a week (or overdue and still active)."""

    tasks = list(
        Task.objects.filter(assignee=viewer, done_at__isnull=True)
        .select_related("customer")
        .order_by("due_at")[:TOP]
    )
    week = today + datetime.timedelta(days=7)
    expected = list(
        Customer.objects.filter(
            pk__in=visible_customers(viewer).filter(owner=viewer).values("pk"),
            metrics__next_purchase_on__range=(today, week),
            stage__in=(Stage.ACTIVE, Stage.AT_RISK),
        )
        .select_related("metrics")
        .order_by("metrics__next_purchase_on")[:TOP]
    )
    return tasks, expected
