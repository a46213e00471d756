"""The performance page's figures against hand-computed ones, who may see them, targets."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from kehu.tests.fixtures import PASSWORD
from sales import performance as perf
from sales import pipeline
from sales.models import Opportunity, SalesTarget
from sales.services.orders import order_status_change
from sales.services.refunds import refund_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def login(client, user) -> None:
    user.language = "en"
    user.save(update_fields=["language"])
    assert client.login(username=user.username, password=PASSWORD)


def last_month() -> datetime.date:
    return (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def month_before(month: datetime.date) -> datetime.date:
    return (month - datetime.timedelta(days=1)).replace(day=1)


def at(month: datetime.date, day: int) -> datetime.datetime:
    return datetime.datetime.combine(
        month.replace(day=day), datetime.time(12), timezone.get_current_timezone()
    )


@pytest.fixture
def history(
    rep, other_rep, manager, own_customer, colleague_customer, customer_make, order_make, kettle
):
    """Hand-made history (M = last month, N = the month before):

    rep:  N  1,000.00 paid          own_customer's first purchase ever
          M    500.00 completed, 100.00 refunded → 400.00
          M    300.00 pending (not a purchase)
          M    999.00 cancelled (not a purchase)
          M  US$100 × 7.1 = 710.00  second customer's first purchase
    other_rep: M 2,000.00 paid      colleague_customer's first purchase
    """
    m, n = last_month(), month_before(last_month())
    second = customer_make(rep, name="钱七", phones="13500003333")
    line = lambda amount: [(kettle, 1, amount, None)]  # noqa: E731
    order_make(own_customer, line("1000.00"), ordered_at=at(n, 5), status="paid")
    refunded = order_make(own_customer, line("500.00"), ordered_at=at(m, 3), status="completed")
    refund_create(actor=manager, order_id=refunded.pk, amount="100.00", reason="瑕疵")
    order_make(own_customer, line("300.00"), ordered_at=at(m, 4), status="pending")
    cancelled = order_make(own_customer, line("999.00"), ordered_at=at(m, 5), status="pending")
    order_status_change(actor=rep, order_id=cancelled.pk, status="cancelled")
    order_make(
        second, line("100.00"), ordered_at=at(m, 8), status="paid", currency="USD",
        exchange_rate="7.1",
    )  # fmt: skip
    order_make(colleague_customer, line("2000.00"), ordered_at=at(m, 9), status="paid")
    # Opportunities rep closed in M: one won, two lost; one still open.
    for stage in ("won", "lost", "lost", None):
        opportunity = pipeline.opportunity_create(
            actor=rep,
            customer_id=own_customer.pk,
            data={"title": f"单 {stage}", "amount": "1", "expected_close": m},
        )
        if stage:
            pipeline.opportunity_move(
                actor=rep, opportunity_id=opportunity.pk, stage=stage,
                lost_reason="price" if stage == "lost" else "",
            )  # fmt: skip
            Opportunity.objects.filter(pk=opportunity.pk).update(closed_at=at(m, 20))
    SalesTarget.objects.create(month=m, user=rep, revenue=Decimal("2000.00"))
    SalesTarget.objects.create(month=m, user=other_rep, revenue=Decimal("3000.00"))
    return m, n


def test_a_reps_month_against_hand_computed_figures(rep, history):
    m, _n = history
    result = perf.performance(perf.subject_for(rep, "me"), m, perf.month_after(m))
    totals = result.totals
    assert totals.revenue == Decimal("1110.00")  # 400.00 + 710.00
    assert (totals.orders, totals.new_customers) == (2, 1)
    assert totals.average_order_value == Decimal("555.00")
    assert (totals.won, totals.lost, totals.win_rate) == (1, 2, 33)
    assert (totals.target, totals.attainment) == (Decimal("2000.00"), 56)  # 55.5 %


def test_two_months_and_the_month_by_month_rows(rep, history):
    m, n = history
    result = perf.performance(perf.subject_for(rep, "me"), n, perf.month_after(m))
    assert result.totals.revenue == Decimal("2110.00")
    assert (result.totals.orders, result.totals.new_customers) == (3, 2)
    assert [(month, f.revenue, f.orders, f.target) for month, f in result.months] == [
        (n, Decimal("1000.00"), 1, None),
        (m, Decimal("1110.00"), 2, Decimal("2000.00")),
    ]


def test_a_team_adds_up_its_members_and_their_targets(manager, rep, other_rep, team, history):
    m, _n = history
    subject = perf.subject_for(manager, f"team-{team.pk}")
    assert subject.breakdown
    result = perf.performance(subject, m, perf.month_after(m))
    assert result.totals.revenue == Decimal("3110.00")
    assert (result.totals.orders, result.totals.new_customers) == (3, 2)
    assert (result.totals.target, result.totals.attainment) == (Decimal("5000.00"), 62)
    members = dict(result.members)
    assert (members[other_rep].revenue, members[rep].revenue) == (
        Decimal("2000.00"),
        Decimal("1110.00"),
    )
    assert members[rep].win_rate == 33 and members[other_rep].target == Decimal("3000.00")
    # A team target of its own replaces the members' sum.
    SalesTarget.objects.create(month=m, team=team, revenue=Decimal("4000.00"))
    result = perf.performance(subject, m, perf.month_after(m))
    assert result.totals.target == Decimal("4000.00")


def test_a_rep_sees_themselves_and_the_team_total_never_a_colleague(
    client, rep, other_rep, far_rep, team, other_team, history
):
    m, _n = history
    keys = [subject.key for subject in perf.performance_subjects(rep)]
    assert keys == [f"user-{rep.pk}", f"team-{team.pk}"]
    assert perf.subject_for(rep, f"user-{other_rep.pk}") is None
    assert perf.subject_for(rep, f"team-{other_team.pk}") is None
    team_view = perf.performance(perf.subject_for(rep, f"team-{team.pk}"), m, perf.month_after(m))
    assert team_view.totals.revenue == Decimal("3110.00") and team_view.members == []
    login(client, rep)
    url = reverse("sales:performance")
    page = client.get(url, {"from": f"{m:%Y-%m}", "to": f"{m:%Y-%m}"})
    assert page.context["result"].totals.revenue == Decimal("1110.00")
    assert "¥1,110.00" in page.content.decode()
    assert client.get(url, {"who": f"user-{other_rep.pk}"}).status_code == 404
    client.logout()
    login(client, far_rep)
    assert client.get(url, {"who": f"team-{team.pk}"}).status_code == 404


def test_the_page_answers_in_a_fixed_number_of_queries(
    client, manager, team, history, django_assert_max_num_queries
):
    m, n = history
    login(client, manager)
    params = {"who": f"team-{team.pk}", "from": f"{n:%Y-%m}", "to": f"{m:%Y-%m}"}
    with django_assert_max_num_queries(25):
        page = client.get(reverse("sales:performance"), params)
    assert page.status_code == 200 and len(page.context["result"].members) == 3


def test_managers_set_targets_for_their_team_only(client, manager, rep, far_rep, other_team):
    month = timezone.localdate().replace(day=1)
    login(client, manager)
    url = reverse("sales:targets") + f"?month={month:%Y-%m}"
    page = client.get(url)
    keys = [row["subject"].key for row in page.context["rows"]]
    assert f"user-{rep.pk}" in keys and f"user-{far_rep.pk}" not in keys
    refused = client.post(url, {f"target-user-{rep.pk}": "12,000.005"})
    assert "at most 2 decimal places" in refused.content.decode()
    assert not SalesTarget.objects.exists()
    client.post(url, {f"target-user-{rep.pk}": "12,000"})
    assert SalesTarget.objects.get(user=rep, month=month).revenue == Decimal("12000.00")
    client.post(url, {f"target-user-{rep.pk}": ""})  # emptied: no target
    assert not SalesTarget.objects.exists()
    # Another team's rep is not theirs to set: answered as if absent.
    assert client.post(url, {f"target-user-{far_rep.pk}": "1"}).status_code == 404
    client.logout()
    login(client, rep)
    assert client.get(url).status_code == 403


def test_a_period_longer_than_three_years_is_cut_with_a_message(client, rep):
    login(client, rep)
    page = client.get(reverse("sales:performance"), {"from": "2020-01", "to": "2026-11"})
    assert len(page.context["result"].months) == 36
    assert "at most 36 months" in page.content.decode()


def test_the_sales_by_day_kept_by_each_write_equal_a_rebuild(manager, history, messy_import):
    from sales.models import SalesDay
    from sales.rollup import sales_days_rebuild

    def rows():
        return sorted(SalesDay.objects.values_list("day", "salesperson_key", "team_key",
                                                   "revenue", "orders"))  # fmt: skip

    kept = rows()
    assert kept  # the history's purchases are there, day by day
    sales_days_rebuild()
    assert rows() == kept


@pytest.fixture
def messy_import(manager, own_customer, pool_customer, far_customer, headphones, kettle):
    """The import test's messy file, imported: its orders count too."""
    from sales.tests.test_imports import csv_file, messy_rows, run

    run(manager, csv_file(messy_rows(own_customer, pool_customer, far_customer)))
