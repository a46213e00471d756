"""The points ledger and coupons: the balance is always the sum of the ledger,
nothing is spent twice, even at the same moment (real PostgreSQL, two threads)."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from feedback.loyalty import (
    coupon_issue,
    coupon_redeem,
    points_adjust,
    points_balance,
    points_redeem,
)
from feedback.models import Coupon, PointsEntry


def _errors(excinfo) -> dict:
    return {name: [e.code for e in errors] for name, errors in excinfo.value.error_dict.items()}


@pytest.mark.django_db
def test_the_balance_is_the_sum_and_never_goes_below_zero(manager, rep, own_customer):
    points_adjust(actor=manager, customer_id=own_customer.pk, points=120, reason="开业活动")
    points_redeem(actor=rep, customer_id=own_customer.pk, points=70)
    assert points_balance(own_customer) == 50
    with pytest.raises(ValidationError) as excinfo:
        points_redeem(actor=rep, customer_id=own_customer.pk, points=51)
    assert _errors(excinfo) == {"points": ["beyond_balance"]}
    with pytest.raises(ValidationError) as excinfo:
        points_adjust(actor=manager, customer_id=own_customer.pk, points=-60, reason="纠正")
    assert _errors(excinfo) == {"points": ["negative"]}
    with pytest.raises(ValidationError):
        points_adjust(actor=rep, customer_id=own_customer.pk, points=10, reason="x")  # reps may not
    entries = list(PointsEntry.objects.values_list("kind", "points"))
    assert sorted(entries) == [("adjusted", 120), ("redeemed", -70)]
    assert points_balance(own_customer) == sum(points for _kind, points in entries)


@pytest.mark.django_db
def test_a_coupon_is_value_or_percent_in_a_window_and_redeemed_once(rep, own_customer):
    with pytest.raises(ValidationError) as excinfo:
        coupon_issue(actor=rep, customer_id=own_customer.pk, value="50", percent="10")
    assert _errors(excinfo) == {"percent": ["both"]}
    with pytest.raises(ValidationError) as excinfo:
        coupon_issue(actor=rep, customer_id=own_customer.pk, percent="120")
    assert _errors(excinfo) == {"percent": ["invalid"]}
    coupon = coupon_issue(actor=rep, customer_id=own_customer.pk, value="50.00", reason="feedback")
    assert coupon.code.startswith("KH-") and coupon.state() == "valid"
    coupon_redeem(actor=rep, coupon_id=coupon.pk)
    with pytest.raises(ValidationError) as excinfo:
        coupon_redeem(actor=rep, coupon_id=coupon.pk)
    assert excinfo.value.code == "redeemed"
    old = coupon_issue(
        actor=rep, customer_id=own_customer.pk, percent="10",
        valid_from=timezone.localdate() - datetime.timedelta(days=30),
        valid_until=timezone.localdate() - datetime.timedelta(days=1),
    )  # fmt: skip
    with pytest.raises(ValidationError) as excinfo:
        coupon_redeem(actor=rep, coupon_id=old.pk)
    assert excinfo.value.code == "expired"


@pytest.mark.django_db
def test_a_colleague_cannot_redeem_anothers_customers_coupon(rep, other_rep, own_customer):
    coupon = coupon_issue(actor=rep, customer_id=own_customer.pk, value="20")
    with pytest.raises(ValidationError) as excinfo:
        coupon_redeem(actor=other_rep, coupon_id=coupon.pk)
    assert excinfo.value.code == "forbidden"


def _at_once(*calls):
    """Run the calls in threads released together; their results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(5)
            results[index] = call()
        except BaseException as exc:  # the outcome, for the test to read
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    return results


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_coupon_redeemed_twice_at_the_same_moment_wins_once(rep, own_customer):
    coupon = coupon_issue(actor=rep, customer_id=own_customer.pk, value="30")
    results = _at_once(
        lambda: coupon_redeem(actor=rep, coupon_id=coupon.pk),
        lambda: coupon_redeem(actor=rep, coupon_id=coupon.pk),
    )
    wins = [r for r in results if isinstance(r, Coupon)]
    losses = [r for r in results if isinstance(r, ValidationError)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert losses[0].code == "redeemed"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_redemptions_beyond_the_balance_at_once_only_one_passes(manager, rep, own_customer):
    points_adjust(actor=manager, customer_id=own_customer.pk, points=100, reason="积分迁移")
    results = _at_once(
        lambda: points_redeem(actor=rep, customer_id=own_customer.pk, points=80),
        lambda: points_redeem(actor=rep, customer_id=own_customer.pk, points=80),
    )
    assert sum(isinstance(r, PointsEntry) for r in results) == 1, results
    assert points_balance(own_customer) == 20


@pytest.mark.django_db
def test_the_loyalty_page_redeems_issues_and_refuses_with_reasons(
    client, manager, rep, far_rep, own_customer
):
    from django.urls import reverse

    points_adjust(actor=manager, customer_id=own_customer.pk, points=30, reason="迁移")
    rep.language = "en"
    rep.save(update_fields=["language"])
    client.force_login(rep)
    url = reverse("feedback:loyalty", args=[own_customer.pk])
    response = client.post(url, {"action": "redeem", "redeem-points": "50", "redeem-reason": ""})
    assert "Only 30 points left: 50 cannot be redeemed." in response.content.decode()
    assert points_balance(own_customer) == 30
    response = client.post(
        url, {"action": "issue", "issue-value": "20", "issue-reason": "birthday"}
    )
    assert response.status_code == 302
    coupon = Coupon.objects.get()
    client.post(url, {"action": "use", "coupon": coupon.pk})
    response = client.post(url, {"action": "use", "coupon": coupon.pk}, follow=True)
    assert f"Coupon {coupon.code} was already redeemed." in response.content.decode()
    page = client.get(own_customer.get_absolute_url()).content.decode()
    assert coupon.code in page and 'data-testid="points-balance">30<' in page
    client.force_login(far_rep)
    assert client.get(url).status_code == 404
