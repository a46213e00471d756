"""The workbench: each role's day on the home page, each block
from the app that owns it, at a fixed number of queries whatever the data."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kehu.tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db

BLOCKS = {
    "rep1": {"target", "tasks", "follow_ups", "deals_closing", "churn", "pool_soon",
             "birthdays", "renewals", "buying_soon"},
    "manager": {"target", "tasks", "follow_ups", "team_overdue", "key_at_risk",
                "behind_target", "tickets_sla", "unhappy", "deals_closing"},
    "steward": {"tasks", "imports", "duplicates", "freshness"},
    "service": {"tasks", "tickets_sla", "tickets_unassigned", "unhappy"},
}  # fmt: skip


@pytest.fixture
def demo(db):
    call_command("seed_demo", customers=60, password=PASSWORD, force=True, verbosity=0)
    from crm.models import User

    return {user.username: user for user in User.objects.all()}


def _blocks(client, user) -> tuple[list[str], str, int]:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"))
    assert response.status_code == 200
    keys = [block.key for block, __ in response.context["blocks"]]
    return keys, response.content.decode(), len(queries)


@pytest.mark.parametrize("username", sorted(BLOCKS))
def test_each_role_sees_its_day(client, demo, username):
    keys, page, __ = _blocks(client, demo[username])
    assert BLOCKS[username] <= set(keys), set(keys) ^ BLOCKS[username]
    assert 'data-block="tasks"' in page
    if username == "rep1":
        assert "tickets_unassigned" not in keys and "imports" not in keys
    if username == "service":
        assert "target" not in keys and "deals_closing" not in keys and "follow_ups" not in keys


QUERY_BUDGET = 45  # the whole page: session, user, navigation badge and every block


@pytest.mark.parametrize("username", ["rep1", "manager", "steward", "service", "admin"])
def test_the_workbench_costs_a_fixed_number_of_queries(client, demo, username):
    __, __, before = _blocks(client, demo[username])
    _more_of_everything(demo)
    keys, __, after = _blocks(client, demo[username])
    assert after <= QUERY_BUDGET, (username, after)
    assert after <= before + len(keys)  # at most a count per block once it is full


def _more_of_everything(demo) -> None:
    """Many more tasks, deals and churn alerts than any block shows."""
    from interactions.models import Task
    from sales.models import Opportunity

    rep = demo["rep1"]
    now = timezone.now()
    customer = rep.customers.first() if hasattr(rep, "customers") else None
    Task.objects.bulk_create(
        Task(
            title=f"回访 {n}",
            assignee=rep,
            created_by=rep,
            due_at=now - datetime.timedelta(hours=n),
        )
        for n in range(30)
    )
    template = Opportunity.objects.filter(owner=rep).first()
    if template is not None:
        for n in range(20):
            template.pk = None
            template.title = f"机会 {n}"
            template.expected_close = timezone.localdate()
            template.save()
    assert customer is None or customer.owner_id == rep.pk


def test_the_reps_blocks_hold_what_is_due_and_no_more(client, demo):
    from customers.models import Customer
    from interactions.models import Task
    from interactions.selectors import tomorrow_starts

    rep, now = demo["rep1"], timezone.now()
    Task.objects.filter(assignee=rep).delete()
    late = Task.objects.create(title="逾期回访", assignee=rep, created_by=rep,
                               due_at=now - datetime.timedelta(days=2))  # fmt: skip
    end_of_today = tomorrow_starts(now) - datetime.timedelta(seconds=1)
    today = Task.objects.create(title="今天的回访", assignee=rep, created_by=rep,
                                due_at=end_of_today)  # fmt: skip
    Task.objects.create(title="下周的回访", assignee=rep, created_by=rep,
                        due_at=now + datetime.timedelta(days=7))  # fmt: skip
    in_three_days = now + datetime.timedelta(days=3)
    follow_up = Task.objects.create(title="三天后回访", assignee=rep, created_by=rep,
                                    source="follow_up", due_at=in_three_days)  # fmt: skip
    Task.objects.create(title="三天后的手工任务", assignee=rep, created_by=rep,
                        due_at=in_three_days)  # fmt: skip
    Task.objects.create(title="做完的回访", assignee=rep, created_by=rep, due_at=now,
                        done_at=now, done_by=rep)  # fmt: skip
    soon = timezone.localdate() + datetime.timedelta(days=3)
    mine = Customer.objects.filter(owner=rep).first()
    Customer.objects.filter(owner=rep).update(birth_date=None)
    Customer.objects.filter(pk=mine.pk).update(birth_date=soon.replace(year=1988))
    __, page, __ = _blocks(client, rep)
    blocks = dict(client.get(reverse("home")).context["blocks"])
    tasks = next(c for b, c in blocks.items() if b.key == "tasks")
    assert [t.title for t in tasks["rows"]] == ["逾期回访", "今天的回访"]
    assert tasks["count"] == 2 and tasks["overdue"] == 1
    follow_ups = next(c for b, c in blocks.items() if b.key == "follow_ups")
    assert [t.pk for t in follow_ups["rows"]] == [follow_up.pk]  # not today's, not manual
    birthdays = next(c for b, c in blocks.items() if b.key == "birthdays")
    assert [(day, c.pk) for day, c in birthdays["rows"]] == [(soon, mine.pk)]
    assert f"task-{late.pk}" in page and f"task-{today.pk}" in page and "下周的回访" not in page


def test_blocks_reading_a_whole_book_are_kept_and_say_as_of_when(client, demo):
    """Back to the pool soon, birthdays, expected to buy: read once a quarter of an
    hour per user (a rep's whole book at a million customers), shown with their time."""
    from customers.models import Customer

    rep = demo["rep1"]
    __, page, __ = _blocks(client, rep)
    assert 'data-testid="block-as-of"' in page
    blocks = dict(client.get(reverse("home")).context["blocks"])
    birthdays = next(c for b, c in blocks.items() if b.key == "birthdays")
    soon = timezone.localdate() + datetime.timedelta(days=2)
    mine = (
        Customer.objects.filter(owner=rep)
        .exclude(pk__in=[c.pk for __, c in birthdays["rows"]])
        .first()
    )
    Customer.objects.filter(pk=mine.pk).update(birth_date=soon.replace(year=1990))
    again = dict(client.get(reverse("home")).context["blocks"])
    kept = next(c for b, c in again.items() if b.key == "birthdays")
    assert kept["at"] == birthdays["at"] and mine.pk not in [c.pk for __, c in kept["rows"]]
    tasks = next(c for b, c in again.items() if b.key == "tasks")
    assert "at" not in tasks  # what the rep ticks off is read every time


def test_a_kept_block_in_another_shape_is_read_again_not_an_error(client, demo):
    """What an earlier release kept under a block's key (another shape) is replaced."""
    from django.core.cache import cache

    from crm.workbench import kept_key

    steward = demo["steward"]
    cache.set(kept_key("freshness", steward), {"at": timezone.now(), "rows": []}, 60)
    client.force_login(steward)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "content" in cache.get(kept_key("freshness", steward))
