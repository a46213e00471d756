"""The interaction, task and ticket pages as users meet them: logging in place,
escaping, "my tasks", the ticket queue and page, and scoping per role."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from interactions.models import Interaction, ServiceTicket, Task
from interactions.services.tasks import task_create
from interactions.services.tickets import ticket_move
from kehu.tests.fixtures import hours_ago, hours_ahead

pytestmark = pytest.mark.django_db
SCRIPT = "<script>alert('x')</script>"


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _english(user):
    user.language = "en"
    user.save(update_fields=["language"])


# --- logging on the customer page -------------------------------------------------------


def test_logging_in_place_returns_an_empty_form_and_reloads_the_timeline(client, rep, own_customer):
    client.force_login(rep)
    due = hours_ahead(26)
    response = client.post(
        reverse("interactions:log", args=[own_customer.pk]),
        {"channel": "phone", "direction": "out", "occurred_at": _local(hours_ago(1)),
         "subject": "回访满意度", "notes": "客户很满意", "next_step": "寄送样品",
         "follow_up_at": _local(due)},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert response.status_code == 200
    assert response["HX-Trigger"] == "timeline-changed"
    body = response.content.decode()
    assert 'id="interaction-form"' in body and "回访满意度" not in body  # a fresh form
    assert Interaction.objects.get().subject == "回访满意度"
    assert Task.objects.get().title == "寄送样品"
    timeline = client.get(reverse("interactions:timeline", args=[own_customer.pk]))
    assert "回访满意度" in timeline.content.decode()


def test_errors_stand_next_to_their_fields_and_nothing_is_written(client, rep, own_customer):
    _english(rep)
    client.force_login(rep)
    response = client.post(
        reverse("interactions:log", args=[own_customer.pk]),
        {"channel": "phone", "direction": "out", "occurred_at": _local(hours_ahead(5)),
         "subject": "x", "follow_up_at": _local(hours_ago(5))},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    body = response.content.decode()
    assert "This is in the future: log what has happened." in body
    assert "This date is in the past: choose a later one." in body
    assert "HX-Trigger" not in response
    assert not Interaction.objects.exists() and not Task.objects.exists()


def test_notes_with_markup_are_shown_escaped(client, rep, own_customer, log):
    interaction = log(rep, own_customer, subject=f"主题{SCRIPT}", notes=f"备注{SCRIPT}")
    client.force_login(rep)
    for url in (
        own_customer.get_absolute_url(),
        interaction.get_absolute_url(),
        reverse("interactions:list"),
        reverse("interactions:timeline", args=[own_customer.pk]),
    ):
        body = client.get(url).content.decode()
        assert SCRIPT not in body, url
        assert "&lt;script&gt;" in body, url


def test_the_360_page_shows_the_last_contact(client, rep, own_customer, log):
    _english(rep)
    log(rep, own_customer, channel="phone", occurred_at=hours_ago(37 * 24))
    client.force_login(rep)
    body = client.get(own_customer.get_absolute_url()).content.decode()
    assert "Last contact 37 days ago by 李娜, by phone" in body
    listing = client.get(reverse("customers:list")).content.decode()
    assert "37 days ago" in listing


def test_a_customer_never_contacted_says_so(client, rep, own_customer):
    _english(rep)
    client.force_login(rep)
    assert "No contact logged yet" in client.get(own_customer.get_absolute_url()).content.decode()


def test_the_360_page_costs_the_same_queries_for_a_long_history(
    client, rep, own_customer, pool_customer, log, ticket_make
):
    client.force_login(rep)
    log(rep, own_customer)
    client.get(own_customer.get_absolute_url())  # warm the per-session caches

    def queries(url) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = queries(own_customer.get_absolute_url())
    for hours in range(40):
        log(rep, own_customer, occurred_at=hours_ago(hours + 1), follow_up_at=hours_ahead(5))
        ticket_make(rep, own_customer)
    # At most as many: one query per kind on the first page, and the ownership
    # ledger's row (the customer's creation) has dropped off it.
    assert queries(own_customer.get_absolute_url()) <= few


# --- scoping ----------------------------------------------------------------------------


def test_interactions_and_tickets_follow_the_customer(
    client, rep, far_rep, manager, auditor, own_customer, log, ticket_make
):
    interaction = log(rep, own_customer, notes="只给能看到客户的人")
    ticket = ticket_make(rep, own_customer)
    client.force_login(far_rep)
    assert client.get(interaction.get_absolute_url()).status_code == 404
    assert client.get(ticket.get_absolute_url()).status_code == 404
    assert client.get(reverse("interactions:timeline", args=[own_customer.pk])).status_code == 404
    assert "只给" not in client.get(reverse("interactions:list")).content.decode()
    assert ticket.number not in client.get(reverse("interactions:ticket_list")).content.decode()
    for viewer in (manager, auditor):  # the team's manager, and the auditor, read them
        client.force_login(viewer)
        assert "只给能看到客户的人" in client.get(interaction.get_absolute_url()).content.decode()
        assert client.get(ticket.get_absolute_url()).status_code == 200


def test_an_auditor_reads_but_cannot_log_or_move(client, auditor, rep, own_customer, ticket_make):
    ticket = ticket_make(rep, own_customer)
    client.force_login(auditor)
    page = client.get(own_customer.get_absolute_url()).content.decode()
    assert 'id="interaction-form"' not in page
    response = client.post(
        reverse("interactions:log", args=[own_customer.pk]), {"channel": "phone", "subject": "x"}
    )
    assert response.status_code == 403
    response = client.post(
        reverse("interactions:ticket_move", args=[ticket.pk]), {"status": "in_progress"}
    )
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == "open"


def test_a_rep_cannot_log_on_a_colleagues_customer(client, rep, colleague_customer):
    client.force_login(rep)
    response = client.post(
        reverse("interactions:log", args=[colleague_customer.pk]),
        {"channel": "phone", "direction": "out", "subject": "x"},
    )
    assert response.status_code == 404
    assert not Interaction.objects.exists()


# --- my tasks ----------------------------------------------------------------------------


@pytest.fixture
def board(rep, own_customer):
    now = timezone.now()
    overdue = task_create(actor=rep, data={"title": "逾期任务", "due_at": hours_ahead(1)})
    Task.objects.filter(pk=overdue.pk).update(due_at=now - datetime.timedelta(days=2))
    today_end = timezone.localtime(now).replace(hour=23, minute=59)
    today = None
    if today_end > now + datetime.timedelta(minutes=2):
        today = task_create(actor=rep, data={"title": "今天任务", "due_at": today_end})
    later = task_create(
        actor=rep, data={"title": "下周任务", "due_at": now + datetime.timedelta(days=7),
                         "customer": own_customer},
    )  # fmt: skip
    return overdue, today, later


def test_my_tasks_sorts_overdue_today_and_upcoming(client, rep, board):
    overdue, today, later = board
    client.force_login(rep)
    response = client.get(reverse("interactions:task_list"))
    sections = response.context["board"]
    assert [t.pk for t in sections.overdue] == [overdue.pk]
    assert [t.pk for t in sections.today] == ([today.pk] if today else [])
    assert [t.pk for t in sections.upcoming] == [later.pk]
    due = 2 if today else 1
    assert re.search(rf'data-testid="task-badge"[^>]*>{due}</span>', response.content.decode())


def test_completing_in_place_returns_the_row_and_the_new_badge(client, rep, board):
    overdue, today, _later = board
    client.force_login(rep)
    response = client.post(
        reverse("interactions:task_done", args=[overdue.pk]), {"done": "1"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert f'id="task-{overdue.pk}"' in body and "text-decoration-line-through" in body
    assert 'hx-swap-oob="true"' in body
    overdue.refresh_from_db()
    assert overdue.done_at is not None and overdue.done_by == rep
    assert ('data-testid="task-badge"' in body) == bool(today)


def test_a_manager_sees_the_teams_tasks_a_rep_does_not(client, rep, other_rep, manager, board):
    theirs = task_create(actor=other_rep, data={"title": "同事的任务", "due_at": hours_ahead(30)})
    client.force_login(manager)
    team = client.get(reverse("interactions:task_list") + "?person=team")
    titles = [t.title for t in team.context["board"].upcoming]
    assert "同事的任务" in titles and "下周任务" in titles
    client.force_login(rep)
    mine = client.get(reverse("interactions:task_list") + f"?person={other_rep.pk}")
    assert theirs.title not in mine.content.decode()  # falls back to their own
    response = client.post(reverse("interactions:task_done", args=[theirs.pk]))
    assert response.status_code == 404


def test_a_task_for_a_customer_the_assignee_cannot_see_is_refused(
    client, steward, far_rep, own_customer
):
    _english(steward)
    client.force_login(steward)
    response = client.post(
        reverse("interactions:task_create") + f"?customer={own_customer.pk}",
        {"title": "核实地址", "assignee": far_rep.pk, "due_at": _local(hours_ahead(5)),
         "priority": "normal"},
    )  # fmt: skip
    assert "cannot see this customer" in response.content.decode()
    assert not Task.objects.exists()


# --- tickets -----------------------------------------------------------------------------


def test_the_queue_shows_active_tickets_and_highlights_breaches(
    client, rep, own_customer, ticket_make
):
    late = ticket_make(rep, own_customer, subject="逾期工单", priority="urgent")
    ServiceTicket.objects.filter(pk=late.pk).update(
        sla_started_at=timezone.now() - datetime.timedelta(hours=6),
        sla_due_at=timezone.now() - datetime.timedelta(hours=2),
    )
    fine = ticket_make(rep, own_customer, subject="正常工单", priority="low")
    done = ticket_make(rep, own_customer, subject="已解决工单")
    ticket_move(actor=rep, ticket_id=done.pk, status="resolved", resolution="ok")
    client.force_login(rep)
    response = client.get(reverse("interactions:ticket_list"))
    rows = [t.number for t in response.context["page_obj"]]
    assert rows == [late.number, fine.number]  # the deadline first; resolved ones hidden
    body = response.content.decode()
    assert 'class="table-danger" data-sla="breached"' in body
    breached = client.get(reverse("interactions:ticket_list") + "?breached=on")
    assert [t.number for t in breached.context["page_obj"]] == [late.number]
    everything = client.get(reverse("interactions:ticket_list") + "?status=")
    assert len(everything.context["page_obj"]) == 3


def test_a_move_the_workflow_refuses_gets_a_message(client, rep, own_customer, ticket_make):
    _english(rep)
    ticket = ticket_make(rep, own_customer)
    ticket_move(actor=rep, ticket_id=ticket.pk, status="resolved", resolution="ok")
    client.force_login(rep)
    response = client.post(
        reverse("interactions:ticket_move", args=[ticket.pk]), {"status": "waiting"}
    )
    assert response.status_code == 200
    assert "cannot be moved to “Waiting on customer”" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


def test_resolving_without_a_resolution_says_why(client, rep, own_customer, ticket_make):
    _english(rep)
    ticket = ticket_make(rep, own_customer)
    client.force_login(rep)
    response = client.post(
        reverse("interactions:ticket_move", args=[ticket.pk]), {"status": "resolved"}
    )
    assert "Say how the request was resolved." in response.content.decode()
    response = client.post(
        reverse("interactions:ticket_move", args=[ticket.pk]),
        {"status": "resolved", "resolution": f"换新{SCRIPT}"},
    )
    assert response.status_code == 302
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert SCRIPT not in page and "换新&lt;script&gt;" in page


def test_the_thread_takes_comments(client, rep, own_customer, ticket_make):
    ticket = ticket_make(rep, own_customer)
    client.force_login(rep)
    client.post(reverse("interactions:ticket_comment", args=[ticket.pk]), {"body": "已联系师傅"})
    assert "已联系师傅" in client.get(ticket.get_absolute_url()).content.decode()
    assert ticket.comments.count() == 2


def test_opening_a_ticket_from_the_customer_page(client, rep, own_customer, order_make, headphones):
    order = order_make(own_customer, [(headphones, 1, "299.00", None)])
    client.force_login(rep)
    url = reverse("interactions:ticket_create") + f"?customer={own_customer.pk}"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {"subject": "耳机无声", "category": "repair", "priority": "high", "assignee": rep.pk,
         "order": order.pk, "description": "左耳无声"},
    )  # fmt: skip
    ticket = ServiceTicket.objects.get()
    assert response["Location"] == ticket.get_absolute_url()
    assert (ticket.order, ticket.priority, ticket.assignee) == (order, "high", rep)


def test_the_navigation_marks_only_the_page_it_is_on(client, rep, own_customer, ticket_make):
    ticket = ticket_make(rep, own_customer)
    client.force_login(rep)
    for url, active in (
        (ticket.get_absolute_url(), reverse("interactions:ticket_list")),
        (reverse("interactions:task_list"), reverse("interactions:task_list")),
        (reverse("interactions:list"), reverse("interactions:list")),
    ):
        body = client.get(url).content.decode()
        assert body.count('aria-current="page"') == 1, url
        assert f'href="{active}" aria-current="page"' in body, url


def test_a_ticket_can_go_to_a_service_agent_and_stays_with_them(
    client, agent, far_rep, far_customer, ticket_make
):
    ticket = ticket_make(far_rep, far_customer)
    client.force_login(far_rep)
    page = client.get(ticket.get_absolute_url())
    assert agent in page.context["update_form"].fields["assignee"].queryset
    client.post(
        reverse("interactions:ticket_update", args=[ticket.pk]),
        {"assignee": agent.pk, "priority": "normal", "category": "repair"},
    )
    client.force_login(agent)
    page = client.get(ticket.get_absolute_url())
    form = page.context["update_form"]
    assert form.initial["assignee"] == agent.pk and agent in form.fields["assignee"].queryset
    client.post(
        reverse("interactions:ticket_update", args=[ticket.pk]),
        {"assignee": agent.pk, "priority": "high", "category": "repair"},
    )
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.priority) == (agent, "high")
    queue = client.get(reverse("interactions:ticket_list") + "?assignee=me")
    assert [t.pk for t in queue.context["page_obj"]] == [ticket.pk]


def test_a_long_section_shows_fifty_counts_the_rest_and_shows_more(client, rep):
    tasks = [
        Task(title=f"任务{n}", assignee=rep, due_at=hours_ago(100 - n), created_by=rep)
        for n in range(60)
    ]
    Task.objects.bulk_create(tasks)
    client.force_login(rep)
    board = client.get(reverse("interactions:task_list")).context["board"]
    assert (len(board.overdue), board.overdue_more) == (50, 10)
    assert board.overdue[0].title == "任务0"  # the most overdue first
    board = client.get(reverse("interactions:task_list") + "?all=overdue").context["board"]
    assert (len(board.overdue), board.overdue_more) == (60, 0)
