"""The dashboards' figures against direct queries of the orders, customers and
opportunities they summarise; their query counts; the scopes; the downloads;
the forecast and its backtest."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum
from django.db.models.functions import TruncMonth
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, CustomerMetrics, Stage
from dashboards import forecast as fc
from dashboards.figures import dashboard, default_scope, scope_for
from dashboards.models import ForecastMonth
from kehu.tests.fixtures import days_ago
from sales.models import PURCHASE_STATUSES, Opportunity, Order, OrderLine
from segmentation.runs import metrics_recompute

pytestmark = pytest.mark.django_db

NET = ExpressionWrapper(
    (F("total") - F("refunded")) * F("exchange_rate"),
    output_field=DecimalField(max_digits=20, decimal_places=2),
)


@pytest.fixture
def book(customer_make, order_make, headphones, kettle, rep, other_rep, far_rep, team):
    """Customers of two reps of `team` and one of another team, with orders over
    the last months and open opportunities."""
    a = customer_make(rep, name="甲公司")
    b = customer_make(rep, name="乙公司")
    c = customer_make(other_rep, name="丙公司")
    d = customer_make(far_rep, name="丁公司")
    customer_make(rep, name="潜在客户")
    for customer, product, ago, price in (
        (a, headphones, 70, "300.00"), (a, headphones, 40, "310.00"), (a, kettle, 10, "89.90"),
        (b, kettle, 35, "120.00"), (c, headphones, 5, "299.00"), (d, kettle, 20, "1000.00"),
        (d, headphones, 100, "500.00"),
    ):  # fmt: skip
        order_make(customer, [(product, 2, price, None)], ordered_at=days_ago(ago))
    close = fc.forecast_months(timezone.localdate())[0] + datetime.timedelta(days=9)
    for customer, owner, amount, stage, probability in (
        (a, rep, "10000.00", "proposal", 50), (c, other_rep, "4000.00", "qualification", 10),
        (d, far_rep, "9000.00", "negotiation", 80),
    ):  # fmt: skip
        Opportunity.objects.create(
            customer=customer, title="年度采购", amount=Decimal(amount), stage=stage,
            probability=probability, expected_close=close, owner=owner, team=owner.team,
        )  # fmt: skip
    metrics_recompute()
    return {"a": a, "b": b, "c": c, "d": d}


def _year():
    this = timezone.localdate().replace(day=1)
    first = this
    for __ in range(11):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    return first, this


def test_a_managers_dashboard_adds_up_to_the_teams_own_records(book, manager, team):
    scope = default_scope(manager)
    assert (scope.kind, scope.pk) == ("team", team.pk)
    first, last = _year()
    board = dashboard(manager, scope, first, last)

    orders = Order.objects.filter(team=team, status__in=PURCHASE_STATUSES)
    by_month = {
        f"{row['month']:%Y-%m}": row
        for row in orders.annotate(month=TruncMonth("ordered_at"))
        .values("month")
        .annotate(revenue=Sum(NET), n=Count("pk"))
    }
    revenue = board.chart("revenue")
    # The current month is marked as counted so far ("2026-12 (to date)").
    assert revenue.labels[-1].startswith(f"{last:%Y-%m}") and revenue.labels[-1] != f"{last:%Y-%m}"
    months = [label[:7] for label in revenue.labels]
    shown = dict(zip(months, zip(*(v for __, v in revenue.series), strict=True), strict=True))
    assert {k: v for k, v in shown.items() if v[1]} == {
        month: (row["revenue"], row["n"]) for month, row in by_month.items()
    }
    assert board.tiles["revenue"] == sum((row["revenue"] for row in by_month.values()), Decimal(0))

    customers = Customer.objects.filter(team=team, deleted_at__isnull=True)
    stages = dict(customers.values_list("stage").annotate(n=Count("pk")))
    chart = board.chart("stages")
    # Labelled in the active language (an earlier request may have left English).
    assert dict(zip(chart.labels, chart.series[0][1], strict=True)) == {
        str(stage.label): stages.get(stage.value, 0)
        for stage in (Stage.LEAD, Stage.ACTIVE, Stage.AT_RISK, Stage.CHURNED)
    }
    assert board.tiles["customers"] == customers.count() == 4

    pipeline = board.chart("pipeline")
    weighted = dict(zip(pipeline.labels, pipeline.series[1][1], strict=True))
    assert sum(weighted.values()) == Decimal("5400.00")  # 10,000 × 50 % + 4,000 × 10 %

    lines = OrderLine.objects.filter(order__team=team, order__status__in=PURCHASE_STATUSES)
    top = dict(lines.values_list("product__name").annotate(total=Sum("line_total")))
    products = board.chart("products")
    assert dict(zip(products.labels, products.series[0][1], strict=True)) == top

    new = CustomerMetrics.objects.filter(first_team_key=team.pk, first_purchase_at__isnull=False)
    assert board.tiles["new"] == new.count() == 3


def test_the_admin_sees_everyone_and_a_rep_only_themselves_or_their_team(
    book, admin_user, rep, far_rep, team, other_team
):
    everyone = default_scope(admin_user)
    assert everyone.kind == "all"
    board = dashboard(admin_user, everyone, *_year())
    assert board.tiles["customers"] == Customer.objects.filter(deleted_at__isnull=True).count()
    assert default_scope(rep).key == scope_for(rep, "me").key == f"user-{rep.pk}"
    assert scope_for(admin_user, "me").key == f"user-{admin_user.pk}"
    assert scope_for(rep, f"team-{team.pk}") is None  # colleagues' customers: not a rep's
    assert scope_for(rep, f"team-{other_team.pk}") is None
    assert scope_for(rep, f"user-{far_rep.pk}") is None


def test_the_page_answers_404_for_a_scope_out_of_reach(client, book, rep, other_team):
    client.force_login(rep)
    url = reverse("dashboard")
    assert client.get(url, {"who": f"team-{other_team.pk}"}).status_code == 404
    mine = client.get(url, {"who": "me"})  # the form names the viewer's own figures so
    assert mine.context["scope"].key == f"user-{rep.pk}"
    assert '<option value="me" selected>' in mine.content.decode()
    assert client.get(url, {"download": "nothing"}).status_code == 404


def test_every_chart_downloads_as_a_workbook_with_its_figures(client, book, manager):
    client.force_login(manager)
    url = reverse("dashboard")
    page = client.get(url)
    board = page.context["board"]
    for chart in board.charts:
        response = client.get(url, {"download": chart.key})
        assert response.status_code == 200
        rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.values)
        assert rows[0] == (chart.title, *(name for name, __ in chart.series))
        assert [row[0] for row in rows[1:]] == list(chart.labels)
        first_series = [
            Decimal(str(v)) if v is not None else None for v in (r[1] for r in rows[1:])
        ]
        expected = [Decimal(str(v)) if v is not None else None for v in chart.series[0][1]]
        assert first_series == expected


def test_the_dashboard_reads_a_fixed_number_of_queries_whatever_the_data(
    client, book, manager, customer_make, order_make, headphones, rep, other_rep
):
    client.force_login(manager)
    url = reverse("dashboard")
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    for n in range(6):
        customer = customer_make(rep if n % 2 else other_rep, name=f"新客户{n}")
        order_make(customer, [(headphones, 1, "299.00", None)], ordered_at=days_ago(3 + n))
    metrics_recompute()
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large) == len(small) <= 30


def test_the_base_forecast_sums_each_customers_expected_revenue(book, admin_user):
    from segmentation import clv

    today = timezone.localdate()
    inputs = clv.model_inputs(today)
    model = clv.BgNbd(True, 0.5, 30.0, 0.8, 3.0)
    fc.forecast_write(today, inputs, model, None, 100.0)
    months = fc.forecast_months(today)
    assert months[0] == fc.month_after(today.replace(day=1))
    edges = [(m - today).days - 1 for m in [*months, fc.month_after(months[-1])]]
    spend = [m if m > 0 else 100.0 for m in inputs.m]
    expected_first = sum(
        (
            clv.expected_purchases(model, edges[1], x, t, T)
            - clv.expected_purchases(model, edges[0], x, t, T)
        )
        * s
        for x, t, T, s in zip(inputs.x, inputs.t_x, inputs.T, spend, strict=True)
    )
    saved = ForecastMonth.objects.filter(made_on=today, month=months[0]).aggregate(s=Sum("revenue"))
    assert abs(saved["s"] - Decimal(str(round(float(expected_first), 2)))) <= Decimal("0.05")
    chart = dashboard(admin_user, default_scope(admin_user), *_year()).chart("forecast")
    pipeline = dict(zip(chart.labels, chart.series[2][1], strict=True))
    assert pipeline[f"{months[0]:%Y-%m}"] == Decimal("12600.00")  # 5,000 + 400 + 7,200
    assert pipeline[f"{months[1]:%Y-%m}"] == 0


def test_the_backtest_compares_the_forecast_of_three_months_ago_with_what_was_sold(
    book, admin_user
):
    today = timezone.localdate()
    made_on = fc.backtest_day(today)
    assert made_on.month != (made_on + datetime.timedelta(days=1)).month  # a month's last day
    assert (today.replace(day=1) - made_on).days > 85
    months = fc.forecast_months(made_on)
    ForecastMonth.objects.filter(made_on=made_on).delete()
    for month in months:
        ForecastMonth.objects.create(made_on=made_on, month=month, revenue=Decimal("100.00"))
    sold = Order.objects.filter(
        status__in=PURCHASE_STATUSES, ordered_at__date__gte=months[0],
        ordered_at__date__lt=fc.month_after(months[-1]),
    ).aggregate(s=Sum(NET))["s"] or Decimal(0)  # fmt: skip
    board = dashboard(admin_user, default_scope(admin_user), *_year())
    test = board.backtest
    assert (test.made_on, test.forecast, test.actual) == (made_on, Decimal("300.00"), sold)
    assert sold > 0  # the book's orders of the last three months
    assert test.error_percent == (100 * (300 - sold) / sold).quantize(Decimal("0.1"))


def test_a_recompute_of_a_past_day_leaves_the_dashboards_as_they_are(book, admin_user):
    from dashboards.models import CustomerCube

    before = list(CustomerCube.objects.order_by("pk").values())
    forecasts = ForecastMonth.objects.count()
    metrics_recompute(timezone.localdate() - datetime.timedelta(days=30))
    assert list(CustomerCube.objects.order_by("pk").values()) == before
    assert ForecastMonth.objects.count() >= forecasts


def test_the_forecast_marks_the_month_under_way_and_explains_its_backtest(client, book, manager):
    client.force_login(manager)
    response = client.get(reverse("dashboard"))
    this = f"{timezone.localdate():%Y-%m}"
    labels = response.context["charts"]["forecast"].labels
    assert f"{this}（截至今日）" in labels and this not in labels
    body = response.content.decode()
    assert f"{this} 尚未结束" in body
    assert "回测会把三个月前做出的预测与之后的实际销售额相比较" in body  # none yet: said why

    made_on = fc.backtest_day(timezone.localdate())
    for month in fc.forecast_months(made_on):
        ForecastMonth.objects.create(
            made_on=made_on, month=month, owner_key=book["a"].owner_id,
            team_key=book["a"].team_id, revenue=Decimal("1.00"),
        )  # fmt: skip
    test = client.get(reverse("dashboard")).context["board"].backtest
    assert test.error_percent < 0
    body = client.get(reverse("dashboard")).content.decode()
    assert f"预测偏低 {test.error_size} %" in body
