"""The loyalty rules: completed orders earn points once (a refund takes its
share back), points expire oldest first, birthdays bring one coupon a year,
and whatever happens the balance is the sum of the ledger and a second run
changes nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from feedback.loyalty import (
    birthday_coupons_issue,
    loyalty_nightly,
    order_points_sync,
    orders_points_sync,
    points_adjust,
    points_balance,
    points_expire,
    points_redeem,
)
from feedback.models import Coupon, LoyaltyRules, PointsEntry
from sales.services.orders import order_status_change
from sales.services.refunds import refund_create


def _ledger(customer) -> list[tuple[str, int]]:
    return list(
        PointsEntry.objects.filter(customer=customer).order_by("id").values_list("kind", "points")
    )


def _invariant(customer) -> None:
    """The balance is the sum of the lines; the sum never goes below zero by spending."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(points), 0) FROM feedback_pointsentry WHERE customer_id = %s",
            [customer.pk],
        )
        assert cursor.fetchone()[0] == points_balance(customer)


@pytest.mark.django_db
def test_a_completed_order_earns_once_and_a_refund_takes_its_share_back(
    steward, manager, own_customer, order_make, headphones
):
    order = order_make(own_customer, [(headphones, 2, "299.50", None)])  # 599.00, paid
    assert _ledger(own_customer) == []  # paid is not completed yet
    order_status_change(actor=steward, order_id=order.pk, status="shipped")
    order_status_change(actor=steward, order_id=order.pk, status="completed")
    assert _ledger(own_customer) == [("earned", 599)]
    entry = PointsEntry.objects.get(order=order)
    assert entry.expires_on is not None  # 24 months by default
    assert order_points_sync([order.pk]) == 0 and orders_points_sync() == 0  # nothing twice
    refund_create(actor=manager, order_id=order.pk, amount="100.40", reason="一只有划痕")
    assert _ledger(own_customer) == [("earned", 599), ("adjusted", -101)]  # floor(498.60) = 498
    refund_create(actor=manager, order_id=order.pk, amount="498.60", reason="全部退货")
    assert _ledger(own_customer) == [("earned", 599), ("adjusted", -101), ("adjusted", -498)]
    assert points_balance(own_customer) == 0
    _invariant(own_customer)


@pytest.mark.django_db
def test_an_order_earns_at_its_exchange_rate_and_keeps_the_points_rate_of_its_day(
    manager, own_customer, order_make, headphones
):
    first = order_make(
        own_customer, [(headphones, 1, "100.00", None)], status="completed",
        currency="USD", exchange_rate="7.1234",
    )  # fmt: skip
    assert _ledger(own_customer) == [("earned", 712)]  # floor(100 × 7.1234)
    LoyaltyRules.objects.filter(pk=1).update(points_per_cny=Decimal("2"))
    assert orders_points_sync() == 0  # a new rate does not re-price past orders
    second = order_make(own_customer, [(headphones, 1, "10.00", None)], status="completed")
    assert _ledger(own_customer)[-1] == ("earned", 20)
    refund_create(actor=manager, order_id=first.pk, amount="50.00", reason="部分退货")
    assert _ledger(own_customer)[-1] == ("adjusted", -356)  # at its own rate: 712 − 356
    PointsEntry.objects.filter(order=second).delete()  # as if imported without its points
    assert orders_points_sync() == 1 and _ledger(own_customer)[-1] == ("earned", 20)
    assert orders_points_sync() == 0


@pytest.mark.django_db
def test_points_expire_oldest_first_never_beyond_the_balance_and_once(manager, rep, own_customer):
    old = datetime.date(2024, 1, 10)
    PointsEntry.objects.create(customer=own_customer, kind="earned", points=100, expires_on=old)
    PointsEntry.objects.create(
        customer=own_customer, kind="earned", points=50, expires_on=datetime.date(2030, 1, 1)
    )
    points_redeem(actor=rep, customer_id=own_customer.pk, points=30)  # spends the oldest first
    assert points_expire(as_of=datetime.date(2024, 1, 9)) == (0, 0)  # not due yet
    assert points_expire(as_of=old) == (1, 70)
    assert points_balance(own_customer) == 50
    assert points_expire(as_of=old) == (0, 0)  # idempotent
    points_redeem(actor=rep, customer_id=own_customer.pk, points=50)
    assert points_expire(as_of=datetime.date(2030, 1, 1)) == (0, 0)  # all spent already
    points_adjust(actor=manager, customer_id=own_customer.pk, points=10, reason="补偿")
    assert points_expire(as_of=datetime.date(2031, 1, 1)) == (0, 0)  # adjustments do not expire
    assert _ledger(own_customer) == [
        ("earned", 100), ("earned", 50), ("redeemed", -30), ("expired", -70),
        ("redeemed", -50), ("adjusted", 10),
    ]  # fmt: skip
    assert points_balance(own_customer) == 10
    _invariant(own_customer)


@pytest.mark.django_db
def test_a_refunded_order_takes_back_its_own_points_not_the_oldest(
    manager, own_customer, order_make, headphones
):
    old = order_make(own_customer, [(headphones, 1, "100.00", None)], status="completed")
    new = order_make(own_customer, [(headphones, 1, "100.00", None)], status="completed")
    PointsEntry.objects.filter(order=old).update(expires_on=datetime.date(2024, 6, 30))
    PointsEntry.objects.filter(order=new).update(expires_on=datetime.date(2030, 6, 30))
    refund_create(actor=manager, order_id=new.pk, amount="100.00", reason="整单退货")
    assert points_balance(own_customer) == 100
    assert points_expire(as_of=datetime.date(2024, 6, 30)) == (1, 100)  # the old order's
    assert points_balance(own_customer) == 0
    _invariant(own_customer)


@pytest.mark.django_db
def test_a_birthday_brings_one_coupon_a_year(customer_make, rep):
    LoyaltyRules.objects.filter(pk=1).update(
        birthday_coupon_value=Decimal("50.00"), coupon_valid_days=30
    )
    born = customer_make(rep, name="生日客户", birth_date=datetime.date(1990, 3, 5))
    Coupon.objects.create(  # last year's birthday coupon …
        code="KH-LAST-YEAR", customer=born, value=Decimal("50"), reason="birthday",
        valid_from=datetime.date(2025, 3, 5), valid_until=datetime.date(2025, 4, 3),
    )  # fmt: skip
    Coupon.objects.create(  # … and another coupon this year do not stand in the way
        code="KH-THIS-YEAR", customer=born, value=Decimal("20"), reason="manual",
        valid_from=datetime.date(2026, 1, 5), valid_until=datetime.date(2026, 4, 3),
    )  # fmt: skip
    leap = customer_make(rep, name="闰日客户", birth_date=datetime.date(1992, 2, 29))
    customer_make(rep, name="公司", kind="company", founded_on=datetime.date(2001, 3, 5))
    day = datetime.date(2026, 3, 5)
    (coupon,) = birthday_coupons_issue(as_of=day)
    assert (coupon.customer_id, coupon.reason) == (born.pk, "birthday")
    assert coupon.value == Decimal("50.00")
    assert (coupon.valid_from, coupon.valid_until) == (day, datetime.date(2026, 4, 3))
    assert birthday_coupons_issue(as_of=day) == []  # once a year
    (feb,) = birthday_coupons_issue(as_of=datetime.date(2027, 2, 28))  # no 29th in 2027
    assert feb.customer_id == leap.pk
    assert birthday_coupons_issue(as_of=datetime.date(2027, 3, 5))[0].customer_id == born.pk
    assert Coupon.objects.count() == 5
    counts = loyalty_nightly(as_of=datetime.date(2027, 3, 5))
    assert counts["birthday_coupons"] == 0 and counts["order_lines"] == 0


@pytest.mark.django_db
def test_birthday_and_win_back_coupons_take_the_rules_value_and_window(rep, own_customer):
    from feedback.loyalty import coupon_issue

    LoyaltyRules.objects.filter(pk=1).update(
        win_back_coupon_value=Decimal("100.00"), coupon_valid_days=30
    )
    start = datetime.date(2026, 12, 1)
    coupon = coupon_issue(
        actor=rep, customer_id=own_customer.pk, reason="win_back", valid_from=start
    )
    assert (coupon.value, coupon.valid_until) == (Decimal("100.00"), datetime.date(2026, 12, 30))
    with pytest.raises(ValidationError) as excinfo:  # no birthday value in the rules
        coupon_issue(actor=rep, customer_id=own_customer.pk, reason="birthday")
    assert list(excinfo.value.error_dict) == ["value"]


@pytest.mark.django_db
def test_the_points_page_says_where_points_came_from_and_redeems_a_coupon_on_an_order(
    client, steward, rep, own_customer, order_make, headphones
):
    from django.urls import reverse

    from feedback.loyalty import coupon_issue

    order = order_make(own_customer, [(headphones, 1, "299.00", None)], status="completed")
    PointsEntry.objects.create(
        customer=own_customer, kind="expired", points=-9, created_at=order.created_at
    )
    coupon = coupon_issue(actor=rep, customer_id=own_customer.pk, value="20")
    rep.language = "en"
    rep.save(update_fields=["language"])
    client.force_login(rep)
    url = reverse("feedback:loyalty", args=[own_customer.pk])
    page = client.get(url).content.decode()
    assert f"Order {order.number} completed" in page
    assert "Expired, oldest points first" in page
    client.post(url, {"action": "use", "coupon": coupon.pk, "order": order.pk})
    coupon.refresh_from_db()
    assert coupon.redeemed_order == order and coupon.redeemed_at is not None


@pytest.mark.django_db
def test_admins_edit_the_rules_and_get_a_message_for_a_negative_rate(client, admin_user):
    from django.urls import reverse

    client.force_login(admin_user)
    url = reverse("admin:feedback_loyaltyrules_change", args=[1])
    data = {"points_per_cny": "-1", "points_valid_months": "12", "birthday_coupon_value": "",
            "win_back_coupon_value": "80", "coupon_valid_days": "14"}  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 200 and "points_per_cny" in response.context["adminform"].errors
    data["points_per_cny"] = "1.5"
    assert client.post(url, data).status_code == 302
    rules = LoyaltyRules.current()
    assert (rules.points_per_cny, rules.win_back_coupon_value) == (Decimal("1.5"), Decimal("80"))
    assert client.get(reverse("admin:feedback_loyaltyrules_add")).status_code == 403


@pytest.mark.django_db
def test_the_nightly_run_is_scheduled_and_says_what_it_did(own_customer, order_make, headphones):
    from io import StringIO

    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="feedback.loyalty_nightly")
    assert (task.task, task.args, task.enabled) == ("crm.job_run", '["loyalty_nightly"]', True)
    assert (task.crontab.hour, task.crontab.minute) == ("1", "30")
    order = order_make(own_customer, [(headphones, 1, "50.00", None)], status="completed")
    PointsEntry.objects.filter(order=order).delete()  # as if imported without its points
    out = StringIO()
    call_command("loyalty_nightly", "--as-of", "2026-12-01", stdout=out)
    assert out.getvalue().strip() == (
        "order_lines=1 expired_customers=0 expired_points=0 birthday_coupons=0"
    )
    assert _ledger(own_customer) == [("earned", 50)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_refund_and_the_nightly_sync_at_the_same_moment_take_the_points_back_once(
    manager, own_customer, order_make, headphones
):
    import threading
    import time

    from django.db import transaction

    order = order_make(own_customer, [(headphones, 1, "100.00", None)], status="completed")
    locked = threading.Event()
    errors: list[BaseException] = []

    def refund_slowly():
        try:
            with transaction.atomic():
                refund_create(actor=manager, order_id=order.pk, amount="100.00", reason="退货")
                locked.set()
                time.sleep(0.5)  # the sync below waits for this commit
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=refund_slowly)
    thread.start()
    assert locked.wait(10)
    order_points_sync([order.pk])  # blocks on the order's lock, then reads the refund
    thread.join(15)
    assert not errors, errors
    assert _ledger(own_customer) == [("earned", 100), ("adjusted", -100)]
    assert points_balance(own_customer) == 0
