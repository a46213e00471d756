"""The nightly pool recycle on crafted data: exact sets
returned and warned under each rule, protection extended by activity up to its
hard maximum, clocks counted from the take-over, exemptions, idempotency."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from crm.models import AuditEvent, JobRun, Notification
from customers.models import Customer, OwnershipChange, PoolRule
from customers.pool import pool_recycle, recycle_clocks, recycle_soon
from customers.pool_lock import customer_lock
from interactions.models import Interaction
from sales import pipeline

pytestmark = pytest.mark.django_db

A = datetime.date(2026, 11, 20)  # the day the job runs for (--as-of)


def at(days_before: int) -> datetime.datetime:
    zone = timezone.get_default_timezone()
    return datetime.datetime.combine(
        A - datetime.timedelta(days=days_before), datetime.time(10), zone
    )


@pytest.fixture
def book(db, customer_make, rep, other_rep, far_rep, manager, make_user, team, other_team):
    """One customer per case, taken over `since` days before A."""
    default = PoolRule.objects.get(team=None, key_account=None)
    default.__dict__.update(
        no_interaction_days=10, no_order_days=30, protection_days=3,
        protection_extension_days=5, protection_max_days=20, warn_days=2,
        exempt_open_opportunity=True, exempt_order_days=7,
    )  # fmt: skip
    default.save()
    PoolRule.objects.create(key_account=True, no_order_days=5)  # key accounts must buy soon
    PoolRule.objects.create(team=other_team, no_interaction_days=0, no_order_days=0)
    leaver = make_user("leaver", "sales_rep", team)
    made = {}

    def case(name, owner, since, *, touched=(), key=False):
        customer = customer_make(owner, name=name, is_key_account=key)
        Customer.objects.filter(pk=customer.pk).update(owner_since=at(since), created_at=at(400))
        for days in touched:
            Interaction.objects.create(
                customer=customer, user=owner, channel="phone", occurred_at=at(days),
                subject="跟进",
            )  # fmt: skip
        made[name] = customer
        return customer

    case("silent", rep, 12)  # no interaction for 10 days since the take-over
    case("touched", rep, 12, touched=[1])
    case("soon", rep, 9)  # due in 1 day: warned
    case("no_order", other_rep, 40, touched=[30, 20, 10, 2])  # busy, never buys
    case("extended", rep, 8, touched=[1], key=True)  # order clock done, protection holds
    case("unextended", rep, 8, key=True)
    case("hard_max", rep, 25, touched=[1], key=True)  # protection at most 20 days
    case("locked", rep, 40)
    customer_lock(actor=rep, customer_id=made["locked"].pk)
    opp = case("open_opp", rep, 40)
    pipeline.opportunity_create(
        actor=rep, customer_id=opp.pk,
        data={"title": "年度采购", "amount": "1000.00",
              "expected_close": timezone.localdate() + datetime.timedelta(days=30)},
    )  # fmt: skip
    case("far", far_rep, 40)  # that team's clocks are off
    case("taken_recently", rep, 2)  # created long ago, taken two days ago
    case("left", leaver, 1)
    leaver.is_active = False
    leaver.save(update_fields=["is_active"])
    customer_make(None, name="pool")  # in the pool already: nothing to do
    return made


def names(customers) -> set[str]:
    return {c.name for c in customers}


def test_the_job_returns_exactly_the_customers_due_under_each_rule(book, rep, other_rep, manager):
    counts = pool_recycle(A)
    returned = Customer.objects.filter(owner__isnull=True).exclude(name="pool")
    assert names(returned) == {"silent", "no_order", "unextended", "hard_max", "left"}
    assert counts["returned"] == 5 and counts["owner_left"] == 1
    reasons = {
        c.customer.name: c.reason
        for c in OwnershipChange.objects.filter(kind="recycle").select_related("customer")
    }
    assert reasons == {
        "silent": "no_interaction", "no_order": "no_order", "unextended": "no_order",
        "hard_max": "no_order", "left": "owner_inactive",
    }  # fmt: skip
    silent = Customer.objects.get(name="silent")
    assert silent.pool_entry.from_user == rep and silent.pool_entry.actor is None
    assert silent.owner_since is None and silent.team is None
    assert silent.pool_since == silent.pool_entry.at
    (event,) = AuditEvent.objects.filter(target_id=str(silent.pk), extra__ownership="recycle")
    assert event.changes["owner"] == [f"{rep} ({rep.username})", None]


def test_owners_are_warned_ahead_and_managers_get_a_digest(book, rep, other_rep, manager):
    counts = pool_recycle(A)
    assert counts["warned"] == 1 and counts["owners_warned"] == 1  # "soon", due tomorrow
    soon = recycle_soon([rep.pk], A)
    assert [Customer.objects.get(pk=pk).name for pk, _clock in soon] == ["soon"]
    assert soon[0][1].days_left == 1
    warnings = Notification.objects.filter(recipient=rep, key=f"pool-warn:{A.isoformat()}")
    assert warnings.count() == 1
    assert Notification.objects.filter(recipient=rep, key__startswith="pool-returned:").count() == 1
    assert Notification.objects.filter(
        recipient=other_rep, key__startswith="pool-returned:"
    ).exists()
    (digest,) = Notification.objects.filter(recipient=manager, key__startswith="pool-digest:")
    assert "华东销售一组 5" in digest.text  # the leaver's and the four of the team


def test_a_second_run_changes_nothing(book):
    pool_recycle(A)
    changes, notes = OwnershipChange.objects.count(), Notification.objects.count()
    counts = pool_recycle(A)
    assert counts["returned"] == 0
    assert (OwnershipChange.objects.count(), Notification.objects.count()) == (changes, notes)


def test_the_lists_clock_is_the_jobs(book):
    clocks = recycle_clocks([c.pk for c in book.values()], A)
    by_name = {c.name: clocks.get(c.pk) for c in book.values()}
    assert by_name["touched"].due == A + datetime.timedelta(days=9)
    assert by_name["extended"].due == A + datetime.timedelta(days=4)  # protected until then
    assert by_name["extended"].protected_until == A + datetime.timedelta(days=4)
    assert by_name["taken_recently"].days_left == 8
    assert by_name["locked"].due is None and by_name["locked"].locked
    assert by_name["open_opp"].due is None and by_name["open_opp"].exempt
    assert by_name["far"].due is None
    due_now = {name for name, clock in by_name.items() if clock and clock.due and clock.due <= A}
    assert due_now == {"silent", "no_order", "unextended", "hard_max", "left"}


def test_a_recent_order_exempts_and_an_order_restarts_the_order_clock(
    book, rep, order_make, headphones
):
    silent = book["silent"]
    order_make(silent, [(headphones, 1, "299", 0)], ordered_at=at(3))
    assert recycle_clocks([silent.pk], A)[silent.pk].exempt  # an order within 7 days
    pool_recycle(A)
    silent.refresh_from_db()
    assert silent.owner == rep


def test_run_job_takes_an_as_of_day_and_records_the_run(book):
    call_command("run_job", "pool_recycle", "--as-of", A.isoformat(), stdout=io.StringIO())
    run = JobRun.objects.filter(job="pool_recycle").latest("id")
    assert run.status == "done" and run.counts["returned"] == 5
