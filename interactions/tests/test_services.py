"""The rules of interactions, follow-up tasks and service tickets, on real PostgreSQL."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from crm.models import AuditEvent
from customers.metrics import metrics_refresh
from customers.models import CustomerMetrics
from interactions.models import Interaction, ServiceTicket, Task, TicketComment
from interactions.services.interactions import InteractionConflict, interaction_update
from interactions.services.tasks import task_complete, task_create
from interactions.services.tickets import sla_deadline, ticket_move, ticket_update
from kehu.tests.fixtures import hours_ago, hours_ahead

pytestmark = pytest.mark.django_db


def _errors(excinfo) -> dict:
    return {name: [e.code for e in errors] for name, errors in excinfo.value.error_dict.items()}


# --- interactions and follow-ups ------------------------------------------------------


def test_a_follow_up_date_creates_the_loggers_task(rep, own_customer, log):
    due = hours_ahead(48)
    interaction = log(
        rep, own_customer, subject="报价沟通", next_step="发送正式报价单", follow_up_at=due
    )
    task = Task.objects.get(interaction=interaction)
    assert (task.title, task.assignee, task.customer, task.source) == (
        "发送正式报价单",
        rep,
        own_customer,
        "follow_up",
    )
    assert task.due_at == due and task.done_at is None


def test_without_a_next_step_the_task_is_named_after_the_subject(rep, own_customer, log):
    with translation.override("en"):
        log(rep, own_customer, subject="新品介绍", follow_up_at=hours_ahead(5))
    assert Task.objects.get().title == "Follow up: 新品介绍"


def test_no_follow_up_no_task(rep, own_customer, log):
    log(rep, own_customer)
    assert not Task.objects.exists()


def test_a_follow_up_in_the_past_is_refused_and_nothing_is_written(rep, own_customer, log):
    with pytest.raises(ValidationError) as excinfo:
        log(rep, own_customer, follow_up_at=hours_ago(2))
    assert _errors(excinfo) == {"follow_up_at": ["past"]}
    assert not Interaction.objects.exists() and not Task.objects.exists()


def test_an_interaction_in_the_future_is_refused(rep, own_customer, log):
    with pytest.raises(ValidationError) as excinfo:
        log(rep, own_customer, occurred_at=hours_ahead(3), subject="")
    assert _errors(excinfo) == {"occurred_at": ["future"], "subject": ["required"]}
    assert not Interaction.objects.exists()


def test_a_rep_cannot_log_on_a_colleagues_customer(rep, colleague_customer, log):
    with pytest.raises(ValidationError) as excinfo:
        log(rep, colleague_customer)
    assert excinfo.value.code == "forbidden"
    assert not Interaction.objects.exists()


def test_the_contact_must_be_the_customers(rep, customer_make, log):
    from customers.models import Contact

    company = customer_make(rep, name="华为技术有限公司", kind="company")
    other = customer_make(rep, name="美的集团", kind="company")
    stranger = Contact.objects.create(customer=other, name="王五")
    with pytest.raises(ValidationError) as excinfo:
        log(rep, company, contact=stranger.pk)
    assert _errors(excinfo) == {"contact": ["invalid"]}
    mine = Contact.objects.create(customer=company, name="赵经理")
    assert log(rep, company, contact=mine.pk).contact == mine


def test_logging_is_audited_without_copying_the_notes(rep, own_customer, log):
    interaction = log(rep, own_customer, notes="客户说家里有老人，下午三点后再打")
    event = AuditEvent.objects.get(target_id=str(interaction.pk), action="create")
    assert event.changes["subject"] == [None, "电话回访"]
    assert event.changes["notes"] == ["", "***"]


def test_last_contact_follows_the_latest_interaction(rep, other_rep, own_customer, log):
    log(rep, own_customer, channel="visit", occurred_at=hours_ago(24 * 40))
    latest = log(rep, own_customer, channel="wechat", occurred_at=hours_ago(24 * 3))
    log(rep, own_customer, channel="email", occurred_at=hours_ago(24 * 10))
    metrics = CustomerMetrics.objects.get(customer=own_customer)
    assert (metrics.last_contact_at, metrics.last_contact_by, metrics.last_contact_channel) == (
        latest.occurred_at,
        rep,
        "wechat",
    )
    assert metrics.interactions_count == 3
    assert metrics_refresh([own_customer.pk]) == 0  # already true: nothing to change
    assert metrics_refresh() == 0


def test_purchase_metrics_leave_the_last_contact_alone(
    rep, own_customer, log, order_make, headphones
):
    log(rep, own_customer, channel="phone")
    order_make(own_customer, [(headphones, 1, "299.00", None)])
    metrics = CustomerMetrics.objects.get(customer=own_customer)
    assert metrics.orders_count == 1 and metrics.last_contact_channel == "phone"


def test_the_author_corrects_an_interaction_others_may_not(rep, other_rep, own_customer, log):
    interaction = log(rep, own_customer, notes="初次")
    with pytest.raises(ValidationError):
        interaction_update(actor=other_rep, interaction_id=interaction.pk, data={}, version=1)
    data = {"channel": "visit", "subject": "上门拜访", "notes": "改过", "direction": "out"}
    updated = interaction_update(actor=rep, interaction_id=interaction.pk, data=data, version=1)
    assert (updated.channel, updated.notes, updated.version) == ("visit", "改过", 2)
    with pytest.raises(InteractionConflict):
        interaction_update(actor=rep, interaction_id=interaction.pk, data=data, version=1)


# --- tasks ------------------------------------------------------------------------------


def test_task_assignee_must_see_the_customer(steward, rep, far_rep, own_customer):
    with pytest.raises(ValidationError) as excinfo:
        task_create(
            actor=steward,
            data={"title": "回访", "assignee": far_rep, "customer": own_customer,
                  "due_at": hours_ahead(3)},
        )  # fmt: skip
    assert _errors(excinfo) == {"assignee": ["assignee_blind"]}
    assert not Task.objects.exists()
    task = task_create(
        actor=steward,
        data={"title": "回访", "assignee": rep, "customer": own_customer, "due_at": hours_ahead(3)},
    )
    assert task.assignee == rep
    assert rep.notifications.get().link == task.get_absolute_url()


def test_a_rep_gives_tasks_only_to_themselves(rep, other_rep):
    with pytest.raises(ValidationError) as excinfo:
        task_create(actor=rep, data={"title": "x", "assignee": other_rep, "due_at": hours_ahead(1)})
    assert _errors(excinfo) == {"assignee": ["bad_assignee"]}


def test_a_new_task_due_in_the_past_is_refused(rep):
    with pytest.raises(ValidationError) as excinfo:
        task_create(actor=rep, data={"title": "x", "due_at": hours_ago(1)})
    assert _errors(excinfo) == {"due_at": ["past"]}


def test_completing_twice_changes_nothing_the_second_time(rep, other_rep):
    task = task_create(actor=rep, data={"title": "x", "due_at": hours_ahead(1)})
    done = task_complete(actor=rep, task_id=task.pk)
    again = task_complete(actor=rep, task_id=task.pk)
    assert done.done_at == again.done_at is not None and again.done_by == rep
    assert AuditEvent.objects.filter(target_id=str(task.pk), action="update").count() == 1
    with pytest.raises(ValidationError):
        task_complete(actor=other_rep, task_id=task.pk)
    reopened = task_complete(actor=rep, task_id=task.pk, done=False)
    assert reopened.done_at is None


def test_a_manager_completes_a_team_members_task(rep, manager, far_rep):
    task = task_create(actor=rep, data={"title": "x", "due_at": hours_ahead(1)})
    assert task_complete(actor=manager, task_id=task.pk).done_by == manager
    with pytest.raises(ValidationError):
        task_complete(actor=far_rep, task_id=task.pk, done=False)


# --- tickets ------------------------------------------------------------------------------


def test_the_sla_deadline_follows_the_priority(rep, own_customer, ticket_make):
    urgent = ticket_make(rep, own_customer, priority="urgent")
    low = ticket_make(rep, own_customer, priority="low")
    assert urgent.sla_due_at == urgent.created_at + datetime.timedelta(hours=4)
    assert low.sla_due_at == low.created_at + datetime.timedelta(hours=120)
    assert urgent.number != low.number and urgent.number.startswith("TK")
    assert TicketComment.objects.get(ticket=urgent).status_to == "open"


def test_an_admin_edited_policy_applies(rep, own_customer, ticket_make):
    from interactions.models import SlaPolicy

    SlaPolicy.objects.filter(priority="high").update(resolve_hours=8)
    ticket = ticket_make(rep, own_customer, priority="high")
    assert ticket.sla_due_at == ticket.created_at + datetime.timedelta(hours=8)


def test_the_workflow_refuses_a_move_it_does_not_allow(rep, own_customer, ticket_make):
    ticket = ticket_make(rep, own_customer)
    ticket_move(actor=rep, ticket_id=ticket.pk, status="resolved", resolution="更换压缩机")
    with pytest.raises(ValidationError) as excinfo:
        ticket_move(actor=rep, ticket_id=ticket.pk, status="waiting")
    assert _errors(excinfo) == {"status": ["bad_move"]}
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


def test_resolving_needs_the_resolution(rep, own_customer, ticket_make):
    ticket = ticket_make(rep, own_customer)
    with pytest.raises(ValidationError) as excinfo:
        ticket_move(actor=rep, ticket_id=ticket.pk, status="resolved")
    assert _errors(excinfo) == {"resolution": ["required"]}
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.comments.count() == 1


def test_waiting_on_the_customer_stops_the_clock(rep, own_customer, ticket_make):
    ticket = ticket_make(rep, own_customer, priority="high")
    deadline = ticket.sla_due_at
    ticket_move(actor=rep, ticket_id=ticket.pk, status="waiting")
    # Three hours of waiting, as if they had passed.
    ServiceTicket.objects.filter(pk=ticket.pk).update(
        waiting_since=timezone.now() - datetime.timedelta(hours=3)
    )
    assert ServiceTicket.objects.get(pk=ticket.pk).sla_state() == "paused"
    moved = ticket_move(actor=rep, ticket_id=ticket.pk, status="in_progress")
    assert moved.paused_seconds == pytest.approx(3 * 3600, abs=5)
    gained = (moved.sla_due_at - deadline).total_seconds()
    assert gained == pytest.approx(3 * 3600, abs=5)


def test_sla_states(rep, own_customer, ticket_make):
    ticket = ticket_make(rep, own_customer, priority="urgent")
    now = ticket.created_at
    assert ticket.sla_state(now) == "ok"
    assert ticket.sla_state(now + datetime.timedelta(hours=3)) == "due_soon"
    assert ticket.sla_state(now + datetime.timedelta(hours=5)) == "breached"
    # Opened five hours ago, as if they had passed: an hour late now.
    ServiceTicket.objects.filter(pk=ticket.pk).update(
        sla_started_at=timezone.now() - datetime.timedelta(hours=5),
        sla_due_at=timezone.now() - datetime.timedelta(hours=1),
    )
    late = ticket_move(actor=rep, ticket_id=ticket.pk, status="resolved", resolution="done")
    assert late.sla_state() == "breached"  # resolved, but after the deadline


def test_close_records_satisfaction_and_reopen_restarts_the_clock(rep, own_customer, ticket_make):
    ticket = ticket_make(rep, own_customer, priority="normal")
    ticket_move(actor=rep, ticket_id=ticket.pk, status="resolved", resolution="已上门维修")
    with pytest.raises(ValidationError) as excinfo:
        ticket_move(actor=rep, ticket_id=ticket.pk, status="closed", satisfaction=11)
    assert _errors(excinfo) == {"satisfaction": ["invalid"]}
    closed = ticket_move(actor=rep, ticket_id=ticket.pk, status="closed", satisfaction="5")
    assert (closed.status, closed.satisfaction) == ("closed", 5)
    reopened = ticket_move(actor=rep, ticket_id=ticket.pk, status="open", comment="又坏了")
    assert (reopened.reopened, reopened.satisfaction, reopened.resolved_at) == (1, None, None)
    assert reopened.sla_due_at == sla_deadline(reopened) > closed.sla_due_at
    thread = [(c.status_from, c.status_to) for c in reopened.comments.all()]
    assert thread == [("", "open"), ("open", "resolved"), ("resolved", "closed"),
                      ("closed", "open")]  # fmt: skip


def test_a_ticket_for_a_blind_assignee_or_a_strangers_order_is_refused(
    rep, far_rep, own_customer, far_customer, ticket_make, order_make, headphones
):
    order = order_make(far_customer, [(headphones, 1, "299.00", None)])
    with pytest.raises(ValidationError) as excinfo:
        ticket_make(rep, own_customer, assignee=far_rep, order=order.pk)
    assert _errors(excinfo) == {"assignee": ["assignee_blind"], "order": ["invalid"]}
    assert not ServiceTicket.objects.exists()


def test_the_assignee_is_told(rep, manager, own_customer, ticket_make):
    ticket = ticket_make(manager, own_customer, assignee=rep)
    assert rep.notifications.get().link == ticket.get_absolute_url()


def test_a_policy_edit_does_not_move_a_ticket_in_flight(rep, own_customer, ticket_make):
    from interactions.models import SlaPolicy

    ticket = ticket_make(rep, own_customer, priority="low")  # 120 h
    SlaPolicy.objects.filter(priority="low").update(resolve_hours=1)
    moved = ticket_move(actor=rep, ticket_id=ticket.pk, status="in_progress")
    assert moved.sla_due_at == ticket.created_at + datetime.timedelta(hours=120)
    resolved = ticket_move(actor=rep, ticket_id=ticket.pk, status="resolved", resolution="ok")
    assert resolved.sla_state() == "met"
    # A settled ticket keeps its priority, so its verdict stays.
    with pytest.raises(ValidationError) as excinfo:
        ticket_update(actor=rep, ticket_id=ticket.pk, data={"priority": "urgent"})
    assert _errors(excinfo) == {"priority": ["settled"]}
    # Reopened, it starts a new clock under today's policy.
    ticket_move(actor=rep, ticket_id=ticket.pk, status="closed")
    reopened = ticket_move(actor=rep, ticket_id=ticket.pk, status="open")
    assert reopened.sla_hours == 1


def test_changing_the_priority_of_an_active_ticket_moves_its_deadline(
    rep, own_customer, ticket_make
):
    ticket = ticket_make(rep, own_customer, priority="normal")
    updated = ticket_update(actor=rep, ticket_id=ticket.pk, data={"priority": "urgent"})
    assert updated.sla_due_at == ticket.created_at + datetime.timedelta(hours=4)
    assert updated.assignee == rep  # no assignee in the data: unchanged


def test_notifications_speak_the_recipients_language(manager, rep, own_customer):
    manager.language = "en"
    manager.save(update_fields=["language"])
    rep.language = "zh-hans"
    rep.save(update_fields=["language"])
    with translation.override("en"):
        task_create(
            actor=manager, data={"title": "回电", "assignee": rep, "due_at": hours_ahead(2)}
        )
    assert rep.notifications.get().text.startswith("王经理 给您分配了任务")


def test_an_edit_without_a_time_keeps_the_time(rep, own_customer, log):
    interaction = log(rep, own_customer, occurred_at=hours_ago(48))
    data = {"channel": "phone", "subject": "改主题", "occurred_at": ""}
    updated = interaction_update(actor=rep, interaction_id=interaction.pk, data=data, version=1)
    assert updated.occurred_at == interaction.occurred_at


def test_a_subject_too_long_gets_the_usual_length_message(rep, own_customer, log):
    with pytest.raises(ValidationError) as excinfo:
        log(rep, own_customer, subject="长" * 201)
    assert _errors(excinfo) == {"subject": ["max_length"]}
    assert not Interaction.objects.exists()
