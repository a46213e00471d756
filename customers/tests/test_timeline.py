"""The 360° timeline: every source merged newest first, filtered by kind, paged by a
cursor, in a fixed number of queries however long the history."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import OwnershipChange
from customers.timeline import customer_timeline
from interactions.models import Interaction, ServiceTicket
from kehu.tests.fixtures import hours_ago
from sales.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(rep, own_customer, log, ticket_make, order_make, headphones):
    """An order 5 days ago, a call 3 days ago, a ticket now, a visit 1 day ago,
    and the customer's feedback after the ticket."""
    from feedback.services import feedback_record

    order = order_make(own_customer, [(headphones, 1, "299.00", None)], ordered_at=hours_ago(120))
    call = log(rep, own_customer, channel="phone", occurred_at=hours_ago(72))
    ticket = ticket_make(rep, own_customer)
    visit = log(rep, own_customer, channel="visit", occurred_at=hours_ago(24))
    feedback_record(actor=rep, customer_id=own_customer.pk, data={"channel": "phone", "rating": 4})
    return order, call, ticket, visit


def _kinds_and_ids(page):
    return [(entry.kind, entry.item.pk) for entry in page.entries]


def test_every_source_newest_first(rep, own_customer, history):
    order, call, ticket, visit = history
    from feedback.models import Feedback

    page = customer_timeline(rep, own_customer)
    created = OwnershipChange.objects.get(customer=own_customer)  # its first owner
    assert _kinds_and_ids(page) == [
        ("feedback", Feedback.objects.get().pk),
        ("ticket", ticket.pk),
        ("ownership", created.pk),
        ("interaction", visit.pk),
        ("interaction", call.pk),
        ("order", order.pk),
    ]
    assert page.next_cursor == ""
    assert page.kinds == ("order", "interaction", "ticket", "feedback", "ownership")


def test_filtered_by_kind(rep, own_customer, history):
    order, call, _ticket, visit = history
    assert _kinds_and_ids(customer_timeline(rep, own_customer, kind="interaction")) == [
        ("interaction", visit.pk),
        ("interaction", call.pk),
    ]
    assert _kinds_and_ids(customer_timeline(rep, own_customer, kind="order")) == [
        ("order", order.pk)
    ]
    # An unknown kind shows everything rather than nothing.
    assert len(customer_timeline(rep, own_customer, kind="bogus").entries) == 6


def test_the_cursor_walks_the_whole_history_without_gaps_or_repeats(
    rep, own_customer, log, order_make, headphones
):
    moment = hours_ago(10)
    # Ties on the same moment across kinds and within one kind.
    for _ in range(3):
        log(rep, own_customer, occurred_at=moment)
    for _ in range(2):
        order_make(own_customer, [(headphones, 1, "1.00", None)], ordered_at=moment)
    for hours in range(1, 8):
        log(rep, own_customer, occurred_at=hours_ago(hours * 3))
    seen, cursor = [], ""
    while True:
        page = customer_timeline(rep, own_customer, cursor=cursor, size=4)
        seen += _kinds_and_ids(page)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    expected = sorted(
        [("interaction", i.pk, i.occurred_at) for i in Interaction.objects.all()]
        + [("order", o.pk, o.ordered_at) for o in Order.objects.all()]
        + [("ownership", c.pk, c.at) for c in OwnershipChange.objects.all()],
        key=lambda row: (row[2], row[0], row[1]),
        reverse=True,
    )
    assert seen == [(kind, pk) for kind, pk, _at in expected]
    assert len(seen) == 13


def test_a_bad_cursor_gives_an_empty_page_not_the_first_again(rep, own_customer, history):
    # "Show older" appends: repeating the first page would show every entry twice.
    page = customer_timeline(rep, own_customer, cursor="2026-13-45|order|x")
    assert (page.entries, page.next_cursor) == ([], "")


def test_the_query_count_does_not_grow_with_the_history(
    rep, own_customer, log, ticket_make, order_make, headphones
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            customer_timeline(rep, own_customer)
        return len(queries)

    order_make(own_customer, [(headphones, 1, "1.00", None)], ordered_at=hours_ago(50))
    log(rep, own_customer, occurred_at=hours_ago(40))
    ticket_make(rep, own_customer)
    small = count()
    for hours in range(30):
        log(rep, own_customer, occurred_at=hours_ago(hours + 1))
        order_make(own_customer, [(headphones, 1, "1.00", None)], ordered_at=hours_ago(hours + 1.5))
    for _ in range(5):
        ticket_make(rep, own_customer)
    assert ServiceTicket.objects.count() == 6
    assert count() == small == 5  # the union, then one query per kind on the page
    from feedback.services import feedback_record

    feedback_record(actor=rep, customer_id=own_customer.pk, data={"channel": "phone", "nps": 8})
    with_feedback = count()
    for _ in range(10):
        feedback_record(actor=rep, customer_id=own_customer.pk, data={"channel": "email", "nps": 9})
    assert count() == with_feedback == 6  # feedback is one kind more


def test_a_user_sees_only_the_kinds_they_may(auditor, own_customer, history, make_user):
    from django.contrib.auth.models import Permission

    assert len(customer_timeline(auditor, own_customer).entries) == 6
    nobody = make_user("viewer")
    nobody.user_permissions.add(
        Permission.objects.get(codename="view_customer"),
        Permission.objects.get(codename="view_interaction"),
    )
    page = customer_timeline(nobody, own_customer)
    assert page.kinds == ("interaction", "ownership")  # who held it: anyone who sees it
    assert {entry.kind for entry in page.entries} == {"interaction", "ownership"}
