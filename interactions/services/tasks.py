"""Tasks: a manual task for the actor or someone they may give tasks to (about
a customer only for someone who may see it), a follow-up task written for a
logged interaction, marking a task done or open again, and closing the open
ones of a set of tasks because what they asked for happened another way. A
task given to someone else notifies them."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.audit import audit_record
from crm.models import AuditAction, NotificationKind, User
from crm.services import lazy_format, notify
from customers.selectors import visible_customers
from interactions.models import Task, TaskPriority, TaskSource
from interactions.selectors import task_people, visible_tasks
from interactions.services.values import (
    MAX_NOTES,
    _choice,
    _collect,
    _future_moment,
    _text,
)


def _may_work_task(actor: User, task: Task) -> bool:
    """Who sees a task works it (with the permission to change tasks)."""
    return visible_tasks(actor).filter(pk=task.pk).exists()


def _task_write(*, actor: User, values: dict[str, Any], request=None) -> Task:
    now = timezone.now()
    task = Task.objects.create(created_by=actor, created_at=now, updated_at=now, **values)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target=task,
        changes={
            "title": (None, task.title),
            "assignee": (None, task.assignee.get_username()),
            "due_at": (None, task.due_at),
            "customer": (None, task.customer.number if task.customer else None),
            "source": (None, task.source),
        },
        request=request,
    )
    if task.assignee_id != actor.pk:
        notify(
            recipient=task.assignee,
            text=lazy_format(
                gettext_lazy("New task from %(person)s: %(title)s"),
                {"person": str(actor), "title": task.title},
            ),
            link=task.get_absolute_url(),
            kind=NotificationKind.TASK,
        )
    return task


@transaction.atomic
def task_create(*, actor: User, data: Mapping[str, Any], request=None) -> Task:
    """A manual task for the actor or someone they may give tasks to; a task about
    a customer only for someone who may see that customer."""
    if not actor.has_perm("interactions.add_task"):
        raise ValidationError(_("You may not create tasks."), code="forbidden")
    now = timezone.now()
    errors: dict[str, list] = {}
    title = _collect(errors, "title", lambda: _text(data, "title", 200, required=True))
    notes = _collect(errors, "notes", lambda: _text(data, "notes", MAX_NOTES))
    priority = _collect(
        errors, "priority", lambda: _choice(data, "priority", TaskPriority, TaskPriority.NORMAL)
    )
    due_at = _collect(
        errors, "due_at", lambda: _future_moment(data.get("due_at"), "due_at", now, required=True)
    )
    assignee = data.get("assignee") or actor
    if not task_people(actor).filter(pk=assignee.pk).exists():
        errors["assignee"] = [
            ValidationError(_("You may not give tasks to this person."), "bad_assignee")
        ]
    customer = data.get("customer")
    if customer is not None:
        if not visible_customers(actor).filter(pk=customer.pk).exists():
            errors["customer"] = [ValidationError(_("Choose a customer you work on."), "invalid")]
        elif not visible_customers(assignee).filter(pk=customer.pk).exists():
            errors["assignee"] = [
                ValidationError(
                    _("%(person)s cannot see this customer: choose someone who works on it.")
                    % {"person": str(assignee)},
                    "assignee_blind",
                )
            ]
    if errors:
        raise ValidationError(errors)
    return _task_write(
        actor=actor,
        values={
            "title": title, "customer": customer, "assignee": assignee, "due_at": due_at,
            "priority": priority, "notes": notes, "source": TaskSource.MANUAL,
        },
        request=request,
    )  # fmt: skip


def _task_locked(actor: User, task_id: int) -> Task:
    task = (
        Task.objects.select_for_update(of=("self",))
        .select_related("assignee", "customer")
        .filter(pk=task_id)
        .first()
    )
    if (
        task is None
        or not actor.has_perm("interactions.change_task")
        or not _may_work_task(actor, task)
    ):
        raise ValidationError(_("You may not change this task."), code="forbidden")
    return task


@transaction.atomic
def task_complete(*, actor: User, task_id: int, done: bool = True, request=None) -> Task:
    """Mark a task done (or open again). A repeat click changes nothing."""
    task = _task_locked(actor, task_id)
    if (task.done_at is not None) == done:
        return task
    before = task.done_at
    task.done_at, task.done_by = (timezone.now(), actor) if done else (None, None)
    task.updated_at = timezone.now()
    task.save(update_fields=["done_at", "done_by", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target=task,
        changes={"done_at": (before, task.done_at)},
        request=request,
    )
    return task


def tasks_done_with(tasks: QuerySet[Task], *, actor: User, at: datetime.datetime) -> int:
    """The open ones of these tasks done, by `actor` at `at`, because what they
    asked for is done another way (the customer verified, marked lost); how many."""
    return tasks.filter(done_at__isnull=True).update(done_at=at, done_by=actor, updated_at=at)
