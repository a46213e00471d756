"""The nightly recompute reads again only the customers whose history changed or
whose windows moved, and carries the others over to the day
(segmentation.figures.figures_changed): night after night it must give exactly what
reading every customer again gives, figures, scores, classes and the sales
rollups alike, whatever wrote the changes (a save, a bulk write, an UPDATE in
SQL) and whichever edge an order or interaction crossed."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer, CustomerMetrics
from dashboards.models import ProductMonth
from interactions.models import Interaction
from kehu.tests.fixtures import days_ago
from sales.models import Order, SalesDay
from segmentation.models import MetricsChange
from segmentation.runs import metrics_recompute
from segmentation.scoring import COLUMNS
from segmentation.tests.test_segmentation import _population, contact

pytestmark = pytest.mark.django_db


def _rows() -> dict:
    return {
        row["customer_id"]: row
        for row in CustomerMetrics.objects.values("customer_id", *COLUMNS).order_by()
    }


def _rollups() -> tuple[list, list]:
    days = SalesDay.objects.values_list("day", "salesperson_key", "team_key", "revenue", "orders")
    products = ProductMonth.objects.values_list(
        "month", "product_id", "salesperson_key", "team_key", "revenue", "quantity"
    )
    return sorted(days), sorted(products)


def _everyone_read_again(day: datetime.date) -> tuple[dict, tuple]:
    """What a full run at `day` gives, rolled back so the nights go on from their
    own rows."""
    with transaction.atomic():
        run = metrics_recompute(day, full=True)
        assert run.full and run.recomputed == Customer.objects.count()
        result = _rows(), _rollups()
        transaction.set_rollback(True)
    return result


def _night(day: datetime.date):
    run = metrics_recompute(day)
    assert not run.full
    return run


def _same(carried: dict, full: dict) -> None:
    assert carried.keys() == full.keys()
    differ = {
        pk: {c: (carried[pk][c], full[pk][c]) for c in COLUMNS if carried[pk][c] != full[pk][c]}
        for pk in full
        if carried[pk] != full[pk]
    }
    assert not differ


def test_night_after_night_the_carried_figures_equal_everyone_read_again(
    customer_make, order_make, headphones, kettle, rep, other_rep, manager
):
    today = timezone.localdate()
    # Today (the first run reads everyone), back to two days ago, then forward.
    nights = [today - datetime.timedelta(days=back) for back in (0, 2, 1, 0)]

    def buy(customer, ago, amount="100.00", product=headphones, **data):
        return order_make(customer, [(product, 1, amount, None)], ordered_at=days_ago(ago), **data)

    _population(150)  # a crowd for the fit; created today, so their contact rate
    for customer in Customer.objects.order_by("pk")[:40]:  # moves every day
        contact(customer, rep, 30)
    # Each crosses an edge between two nights:
    year = customer_make(rep, name="一年前")  # a purchase day enters the 12 months
    buy(year, 365)
    buy(year, 20)
    recent = customer_make(rep, name="九十天")  # a contact leaves the last 90 days
    buy(recent, 40)
    for ago in (90, 200, 300):
        contact(recent, rep, ago)
    usual = customer_make(rep, name="往年")  # one leaves the year before them
    buy(usual, 50)
    for ago in (455, 300, 120, 10):
        contact(usual, rep, ago)
    later = customer_make(rep, name="后来")  # dated after two days ago
    buy(later, 60)
    buy(later, 1)
    contact(later, rep, 1)
    # Written behind the services' back between the nights:
    bulk = customer_make(rep, name="批量")
    buy(bulk, 80)
    refunded = customer_make(rep, name="退款")
    refunded_order = buy(refunded, 70)
    buy(refunded, 30)
    forgotten = customer_make(rep, name="删除")
    buy(forgotten, 45)
    forgotten_contact = contact(forgotten, rep, 5)
    moved = customer_make(rep, name="转单")  # the first order's salesperson changes
    first_order = buy(moved, 100)
    buy(moved, 15)
    leaving = customer_make(rep, name="注销")
    buy(leaving, 25)
    key = customer_make(rep, name="大客户")
    buy(key, 35, "900.00")

    first = _everyone_read_again(nights[0])
    assert metrics_recompute(nights[0]).full  # the first run reads everyone
    _same(_rows(), first[0])
    assert not MetricsChange.objects.exists()

    # Two days ago: only the edges moved.
    edges = _changed(nights[1])
    assert {year.pk, recent.pk, usual.pk, later.pk} <= edges
    assert len(edges) < Customer.objects.count() / 4
    full = _everyone_read_again(nights[1])
    run = _night(nights[1])
    _same(_rows(), full[0])
    assert run.recomputed == len(edges)

    # Yesterday, after writes of every kind (logged; a run for a past day leaves
    # the log, and today's rollups, to the run of today).
    buy(customer_make(rep, name="新客户"), 0)  # a save, refreshed at once at today
    Order.objects.bulk_create(
        [Order(number="BULK-1", customer=bulk, status="paid", ordered_at=days_ago(2),
               total=Decimal("55.00"), salesperson=rep)]
    )  # fmt: skip
    Order.objects.filter(pk=refunded_order.pk).update(refunded=refunded_order.total)
    Interaction.objects.filter(pk=forgotten_contact.pk).delete()
    Order.objects.filter(pk=first_order.pk).update(salesperson=other_rep)
    Customer.objects.filter(pk=leaving.pk).update(deleted_at=timezone.now())
    Customer.objects.filter(pk=key.pk).update(is_key_account=True)
    Customer.objects.create(number="NEW-2", name="未建档", kind="person")  # no metrics row
    full = _everyone_read_again(nights[2])
    _night(nights[2])
    _same(_rows(), full[0])
    assert _rows()[moved.pk]["first_salesperson_key"] == other_rep.pk

    # Tonight: the log is emptied and the rollups of the days written to rebuilt.
    with connection.cursor() as cursor:  # a line changed in SQL: its product month moves
        cursor.execute(
            "UPDATE sales_orderline SET product_id = %s WHERE order_id = %s",
            [kettle.pk, first_order.pk],
        )
    full = _everyone_read_again(nights[3])
    _night(nights[3])
    _same(_rows(), full[0])
    assert _rollups() == full[1]
    assert not MetricsChange.objects.exists()
    assert metrics_recompute(nights[3]).changed == 0  # and again: nothing left to change


def _changed(day: datetime.date) -> set[int]:
    """The customers a run at `day` would read again, besides those written to."""
    from segmentation.figures import figures_changed

    with transaction.atomic():
        MetricsChange.objects.all().delete()
        ids = set(figures_changed(day).customer_ids)
        transaction.set_rollback(True)
    return ids


def test_every_write_to_orders_lines_and_interactions_is_logged_whoever_makes_it(
    customer_make, order_make, headphones, rep
):
    customer = customer_make(rep, name="日志")
    order = order_make(customer, [(headphones, 1, "10.00", None)], ordered_at=days_ago(3))
    MetricsChange.objects.all().delete()
    Order.objects.filter(pk=order.pk).update(notes="补记")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE sales_orderline SET quantity = 2 WHERE order_id = %s", [order.pk])
    Interaction.objects.bulk_create(
        [Interaction(customer=customer, user=rep, channel="phone", subject="补录")]
    )
    Interaction.objects.filter(customer=customer).delete()
    logged = list(MetricsChange.objects.values_list("customer_id", "ordered_at"))
    # An update logs the rows before and after (a line, its order's), so a customer
    # or day an order moved away from is read again too.
    assert logged.count((customer.pk, order.ordered_at)) == 4
    assert logged.count((customer.pk, None)) == 2


def test_a_refresh_of_many_customers_at_once_writes_what_one_of_few_writes(
    customer_make, order_make, headphones, rep, monkeypatch
):
    """An import refreshing tens of thousands of customers goes through a
    temporary table; a save of one, through one statement: the same rows."""
    from segmentation import scoring

    customers = [customer_make(rep, name=f"客户{n}") for n in range(3)]
    for ago, customer in zip((40, 20, 5), customers, strict=True):
        order_make(customer, [(headphones, 1, "80.00", None)], ordered_at=days_ago(ago))
        contact(customer, rep, ago // 2)
    _population(120)
    metrics_recompute()
    ids = [customer.pk for customer in customers]
    CustomerMetrics.objects.filter(customer_id=ids[0]).delete()  # one to insert
    CustomerMetrics.objects.filter(customer_id__in=ids[1:]).update(total_spent=0, lifecycle="lead")
    with transaction.atomic():
        assert scoring.segments_refresh(ids) == 3
        by_statement = _rows()
        transaction.set_rollback(True)
    monkeypatch.setattr(scoring, "APPLY_IN_ONE_STATEMENT", 0)
    assert scoring.segments_refresh(ids) == 3
    _same(_rows(), by_statement)


def test_after_a_night_whose_dashboards_failed_the_next_rebuilds_every_sales_day(
    customer_make, order_make, headphones, rep, monkeypatch
):
    from segmentation import runs, scoring

    customer = customer_make(rep, name="补单")
    order_make(customer, [(headphones, 1, "80.00", None)], ordered_at=days_ago(3))
    metrics_recompute()
    Order.objects.bulk_create(
        [Order(number="LATE-1", customer=customer, status="paid", ordered_at=days_ago(2),
               total=Decimal("30.00"), salesperson=rep)]
    )  # fmt: skip
    with monkeypatch.context() as patched:

        def broken(*args, **kwargs):
            raise RuntimeError("the rollups broke")

        patched.setattr(runs, "_dashboards_rebuild", broken)
        with pytest.raises(RuntimeError):
            metrics_recompute()  # the figures are in, the log emptied, the days not rebuilt
    assert scoring.latest_run().error.startswith("after the figures")
    assert not MetricsChange.objects.exists()
    metrics_recompute()
    revenue = dict(SalesDay.objects.values_list("day", "revenue"))
    assert revenue[timezone.localdate() - datetime.timedelta(days=2)] == Decimal("30.00")
