"""Orders, refunds and the purchase summary, to the cent."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F as models_F
from django.utils import timezone

from crm.models import AuditAction, AuditEvent
from customers.merge import customers_merge, customers_unmerge
from customers.metrics import metrics_refresh
from customers.models import CustomerMetrics
from kehu.tests.fixtures import days_ago
from sales.models import Order, OrderStatus
from sales.services.lines import LineInput
from sales.services.orders import order_create, order_status_change, order_update
from sales.services.products import product_save
from sales.services.refunds import refund_create
from sales.services.values import line_total

pytestmark = pytest.mark.django_db


def _codes(exc: ValidationError) -> dict[str, list[str]]:
    return {key: [e.code for e in errors] for key, errors in exc.error_dict.items()}


def test_line_total_rounds_half_up_to_the_cent():
    # 3 × 33.33 × 85 % = 84.9915 → 84.99; 1 × 0.125 → can't be typed, but 2.5 × 0.05 = 0.125 → 0.13
    assert line_total(Decimal(3), Decimal("33.33"), Decimal(15), "CNY") == Decimal("84.99")
    assert line_total(Decimal("2.5"), Decimal("0.05"), Decimal(0), "CNY") == Decimal("0.13")
    assert line_total(Decimal(3), Decimal(1000), Decimal(0), "JPY") == Decimal("3000.00")


def test_order_total_is_the_sum_of_computed_lines(order_make, own_customer, headphones, kettle):
    order = order_make(own_customer, [(headphones, 2, "299.00", 10), (kettle, 3, None, 0)])
    lines = list(order.lines.all())
    assert [line.line_total for line in lines] == [Decimal("538.20"), Decimal("269.70")]
    assert lines[1].unit_price == Decimal("89.90")  # the list price when none is typed
    assert order.total == Decimal("807.90")
    assert order.number.startswith("SO")
    assert order.salesperson == own_customer.owner  # defaults to the owner
    assert order.team_id == own_customer.owner.team_id


def test_zero_amount_and_identical_lines_are_kept(order_make, own_customer, headphones):
    order = order_make(own_customer, [(headphones, 1, "0", 0), (headphones, 1, "0", 0)])
    assert order.lines.count() == 2
    assert order.total == Decimal("0.00")


def test_three_decimals_in_cny_are_refused_next_to_the_line(order_make, own_customer, headphones):
    with pytest.raises(ValidationError) as exc:
        order_make(own_customer, [(headphones, 1, "12.345", 0)])
    assert _codes(exc.value) == {"lines.0.unit_price": ["money_places"]}
    assert not Order.objects.exists()


def test_negative_quantity_and_bad_discount_name_their_lines(order_make, own_customer, headphones):
    with pytest.raises(ValidationError) as exc:
        order_make(own_customer, [(headphones, 1, "10", 0), (headphones, -2, "10", 120)])
    assert _codes(exc.value) == {
        "lines.1.quantity": ["not_positive"],
        "lines.1.discount_percent": ["discount_range"],
    }
    assert not Order.objects.exists()


def test_order_date_in_the_far_future_is_refused(order_make, own_customer, headphones):
    future = timezone.now() + datetime.timedelta(days=400)
    with pytest.raises(ValidationError) as exc:
        order_make(own_customer, [(headphones, 1, "10", 0)], ordered_at=future)
    assert _codes(exc.value) == {"ordered_at": ["future"]}


def test_an_order_needs_a_line(steward, own_customer):
    with pytest.raises(ValidationError) as exc:
        order_create(actor=steward, customer_id=own_customer.pk, data={}, lines=[])
    assert _codes(exc.value) == {"__all__": ["no_lines"]}


def test_inactive_product_is_not_sold(order_make, own_customer, headphones, manager):
    product_save(
        actor=manager,
        product_id=headphones.pk,
        data={
            "sku": headphones.sku,
            "name": headphones.name,
            "list_price": "299",
            "is_active": False,
        },
    )
    headphones.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        order_make(own_customer, [(headphones, 1, None, 0)])
    assert _codes(exc.value) == {"lines.0.product": ["inactive_product"]}


def test_rep_cannot_order_for_a_customer_they_may_not_see(rep, far_customer, headphones):
    line = LineInput(product=headphones, quantity=1)
    with pytest.raises(ValidationError) as exc:
        order_create(actor=rep, customer_id=far_customer.pk, data={}, lines=[line])
    assert exc.value.code == "forbidden_customer"


def test_rep_orders_for_own_customer_but_not_a_pool_one(rep, own_customer, pool_customer, kettle):
    line = LineInput(product=kettle, quantity=1)
    order = order_create(actor=rep, customer_id=own_customer.pk, data={}, lines=[line])
    assert order.salesperson == rep and order.status == OrderStatus.PENDING
    with pytest.raises(ValidationError):
        order_create(actor=rep, customer_id=pool_customer.pk, data={}, lines=[line])


def test_foreign_currency_needs_a_rate_and_jpy_has_no_decimals(order_make, own_customer, kettle):
    with pytest.raises(ValidationError) as exc:
        order_make(own_customer, [(kettle, 1, "100", 0)], currency="USD")
    assert _codes(exc.value) == {"exchange_rate": ["rate_required"]}
    with pytest.raises(ValidationError) as exc:
        order_make(own_customer, [(kettle, 1, "100.5", 0)], currency="JPY", exchange_rate="0.048")
    assert _codes(exc.value) == {"lines.0.unit_price": ["money_places"]}


def test_lines_change_only_while_pending(order_make, own_customer, headphones, steward):
    order = order_make(own_customer, [(headphones, 1, "100", 0)], status="pending")
    order = order_update(
        actor=steward,
        order_id=order.pk,
        version=order.version,
        data={"ordered_at": order.ordered_at},
        lines=[LineInput(product=headphones, quantity=3, unit_price="100")],
    )
    assert order.total == Decimal("300.00") and order.version == 2
    order_status_change(actor=steward, order_id=order.pk, status="paid")
    with pytest.raises(ValidationError) as exc:
        order_update(
            actor=steward,
            order_id=order.pk,
            version=3,
            data={"ordered_at": order.ordered_at},
            lines=[LineInput(product=headphones, quantity=1, unit_price="1")],
        )
    assert exc.value.code == "settled"


def test_a_stale_edit_is_refused(order_make, own_customer, headphones, steward):
    order = order_make(own_customer, [(headphones, 1, "100", 0)], status="pending")
    with pytest.raises(ValidationError) as exc:
        order_update(
            actor=steward,
            order_id=order.pk,
            version=order.version - 1,
            data={},
            lines=[LineInput(product=headphones, quantity=1)],
        )
    assert exc.value.code == "stale"


def test_status_moves_follow_the_flow_and_are_audited(
    order_make, own_customer, headphones, steward
):
    order = order_make(own_customer, [(headphones, 1, "100", 0)], status="pending")
    with pytest.raises(ValidationError) as exc:
        order_status_change(actor=steward, order_id=order.pk, status="completed")
    assert exc.value.code == "bad_move"
    for status in ("paid", "shipped", "completed"):
        order = order_status_change(actor=steward, order_id=order.pk, status=status)
    assert order.paid_at and order.shipped_at and order.completed_at
    events = AuditEvent.objects.filter(target_id=str(order.pk), action=AuditAction.UPDATE)
    assert [e.changes["status"] for e in events.order_by("id")] == [
        ["pending", "paid"],
        ["paid", "shipped"],
        ["shipped", "completed"],
    ]


def test_partial_then_full_refund_to_the_cent(order_make, own_customer, headphones, manager):
    order = order_make(own_customer, [(headphones, 3, "33.33", 0)])  # 99.99
    refund_create(actor=manager, order_id=order.pk, amount="0.99", reason="少发一个配件")
    order.refresh_from_db()
    assert (order.refunded, order.net, order.status) == (
        Decimal("0.99"),
        Decimal("99.00"),
        OrderStatus.PAID,
    )
    with pytest.raises(ValidationError) as exc:
        refund_create(actor=manager, order_id=order.pk, amount="99.01", reason="退货")
    assert _codes(exc.value) == {"amount": ["over_refund"]}
    refund_create(actor=manager, order_id=order.pk, amount="99.00", reason="整单退货")
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.net == Decimal("0.00")
    with pytest.raises(ValidationError) as exc:
        refund_create(actor=manager, order_id=order.pk, amount="1", reason="again")
    assert exc.value.code == "not_refundable"


def test_reps_do_not_record_refunds(order_make, own_customer, headphones, rep):
    order = order_make(own_customer, [(headphones, 1, "100", 0)])
    with pytest.raises(ValidationError) as exc:
        refund_create(actor=rep, order_id=order.pk, amount="10", reason="x")
    assert exc.value.code == "forbidden"


def test_purchase_summary_against_hand_computed_values(
    order_make, own_customer, headphones, kettle, manager
):
    # Purchases on days −100, −90 (twice), −70, −40: gaps 10, 20, 30 → median 20 days.
    order_make(own_customer, [(headphones, 1, "100.00", 0)], ordered_at=days_ago(100))
    order_make(own_customer, [(kettle, 2, "50.00", 0)], ordered_at=days_ago(90, 9))
    order_make(own_customer, [(kettle, 1, "0.01", 0)], ordered_at=days_ago(90, 15))
    refunded = order_make(own_customer, [(headphones, 1, "300.00", 0)], ordered_at=days_ago(70))
    refund_create(actor=manager, order_id=refunded.pk, amount="100.00", reason="部分退款")
    order_make(
        own_customer,
        [(kettle, 1, "10.00", 0)],
        ordered_at=days_ago(40),
        currency="USD",
        exchange_rate="7.1234",
    )  # 71.23 CNY (71.234 rounded)
    # Not purchases: pending, cancelled, wholly refunded.
    order_make(own_customer, [(kettle, 1, "999", 0)], status="pending", ordered_at=days_ago(5))
    cancelled = order_make(own_customer, [(kettle, 1, "999", 0)], status="pending")
    order_status_change(actor=manager, order_id=cancelled.pk, status="cancelled")
    gone = order_make(own_customer, [(kettle, 1, "50", 0)], ordered_at=days_ago(3))
    refund_create(actor=manager, order_id=gone.pk, amount="50", reason="退货")

    metrics = CustomerMetrics.objects.get(customer=own_customer)
    # 100 + 100 + 0.01 + 200 + 71.23 = 471.24 over 5 orders
    assert metrics.orders_count == 5
    assert metrics.total_spent == Decimal("471.24")
    assert metrics.average_order_value == Decimal("94.25")  # 94.248
    assert timezone.localtime(metrics.first_purchase_at).date() == days_ago(100).date()
    assert timezone.localtime(metrics.last_purchase_at).date() == days_ago(40).date()
    assert metrics.purchase_interval_days == Decimal("20.0")
    assert metrics_refresh([own_customer.pk]) == 0  # a second run changes nothing


def test_merge_moves_orders_and_their_metrics_and_undo_moves_them_back(
    order_make, customer_make, rep, steward, headphones
):
    survivor = customer_make(rep, name="王小明", phones="13800000001")
    duplicate = customer_make(rep, name="王小明", phones="13800000002")
    order_make(survivor, [(headphones, 1, "100", 0)])
    moved = order_make(duplicate, [(headphones, 2, "100", 0)])
    merge = customers_merge(actor=steward, survivor_id=survivor.pk, merged_id=duplicate.pk)
    moved.refresh_from_db()
    assert moved.customer_id == survivor.pk
    assert CustomerMetrics.objects.get(customer=survivor).total_spent == Decimal("300.00")
    assert CustomerMetrics.objects.get(customer=duplicate).orders_count == 0
    customers_unmerge(actor=steward, merge_id=merge.pk)
    moved.refresh_from_db()
    assert moved.customer_id == duplicate.pk
    assert CustomerMetrics.objects.get(customer=survivor).total_spent == Decimal("100.00")
    assert CustomerMetrics.objects.get(customer=duplicate).total_spent == Decimal("200.00")


def test_sku_is_unique_whatever_its_case(product_make):
    product_make("abc-1", "A")
    with pytest.raises(ValidationError) as exc:
        product_make("ABC-1", "B")
    assert _codes(exc.value) == {"sku": ["duplicate_sku"]}


def test_product_price_checks(product_make):
    with pytest.raises(ValidationError) as exc:
        product_make("X-1", "X", "-1")
    assert _codes(exc.value) == {"list_price": ["negative"]}
    product = product_make("X-2", "X", "１，２９９.００")  # full-width, with a separator
    assert product.list_price == Decimal("1299.00")


def test_seed_demo_makes_orders_whose_totals_add_up(db):
    import io

    from django.core.management import call_command
    from django.db.models import Sum

    call_command("seed_demo", customers=200, orders=600, force=True, stdout=io.StringIO())
    assert Order.objects.count() == 600
    statuses = set(Order.objects.values_list("status", flat=True))
    assert {"completed", "pending", "cancelled", "refunded"} <= statuses
    for order in Order.objects.prefetch_related("lines")[:100]:
        assert order.total == sum(line.line_total for line in order.lines.all())
    assert Order.objects.filter(status="refunded").exclude(refunded=models_F("total")).count() == 0
    repeat = CustomerMetrics.objects.filter(orders_count__gte=3).count()
    assert repeat > 0  # repeat buyers
    spent = CustomerMetrics.objects.aggregate(s=Sum("total_spent"))["s"]
    assert spent == sum((o.net for o in Order.objects.all()), Decimal(0))


def test_a_line_given_by_its_amount_keeps_the_amount_to_the_cent(steward, own_customer):
    line = LineInput(description="年度维保", quantity="3", amount="100.00")
    order = order_create(actor=steward, customer_id=own_customer.pk, data={}, lines=[line])
    (saved,) = order.lines.all()
    assert (saved.line_total, saved.unit_price) == (Decimal("100.00"), Decimal("33.3333"))
    assert order.total == Decimal("100.00")
