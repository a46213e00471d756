"""Every write to interactions, tasks and service tickets: checked, locked, audited.

An interaction with a follow-up date creates the follow-up task in the same
transaction. Tickets move only along `TICKET_MOVES`; their SLA deadline is the
moment the clock started (opening, or reopening) plus the priority's hours
(calendar hours, not working hours) plus the time spent waiting on the customer.
"""

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

from crm.audit import audit_record, diff, snapshot, versioned_save
from crm.bulkcopy import sequence_numbers
from crm.models import AuditAction, NotificationKind, User
from crm.normalise import length_check
from crm.services import lazy_format, notify
from customers.metrics import metrics_refresh
from customers.models import Contact, Customer
from customers.selectors import managed_team_ids, visible_customers
from interactions.models import (
    Channel,
    Direction,
    Interaction,
    Outcome,
    ServiceTicket,
    Task,
    TaskPriority,
    TaskSource,
    TicketCategory,
    TicketComment,
    TicketStatus,
)
from interactions.selectors import (
    oversees_everyone,
    servable_customers,
    sla_policies,
    task_people,
    visible_tasks,
)

TICKET_PREFIX = "TK"
EARLIEST = datetime.date(1990, 1, 1)
CLOCK_DRIFT = datetime.timedelta(minutes=1)
MAX_NOTES = 20_000
INTERACTION_FIELDS = (
    "channel", "direction", "occurred_at", "subject", "notes", "outcome", "next_step",
    "follow_up_at", "contact",
)  # fmt: skip


# --- values ----------------------------------------------------------------------


def _text(data: Mapping[str, Any], name: str, limit: int, *, required: bool = False) -> str:
    value = str(data.get(name) or "").strip()
    if required and not value:
        raise ValidationError({name: ValidationError(_("This field is required."), "required")})
    errors: dict[str, list] = {}
    length_check(errors, name, value, limit)
    if errors:
        raise ValidationError(errors)
    return value


def _choice(data: Mapping[str, Any], name: str, choices, default: str | None = None) -> str:
    value = data.get(name) or default
    if value not in choices.values:
        raise ValidationError({name: ValidationError(_("Choose from the list."), "invalid")})
    return value


def _aware(value: Any, name: str, message: str) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time(9, 0))
    else:
        raise ValidationError({name: ValidationError(message, "invalid")})
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _past_moment(value: Any, name: str, now: datetime.datetime) -> datetime.datetime:
    """When something happened: not in the future, not before 1990."""
    if value in (None, ""):
        return now
    moment = _aware(value, name, _("Enter a date and time."))
    if moment > now + CLOCK_DRIFT:
        raise ValidationError(
            {name: ValidationError(_("This is in the future: log what has happened."), "future")}
        )
    if timezone.localtime(moment).date() < EARLIEST:
        raise ValidationError({name: ValidationError(_("This is too far in the past."), "old")})
    return moment


def _future_moment(
    value: Any, name: str, now: datetime.datetime, *, required: bool = False
) -> datetime.datetime | None:
    """When something is due: later than now (a minute's clock drift allowed)."""
    if value in (None, ""):
        if required:
            raise ValidationError({name: ValidationError(_("Enter a date and time."), "required")})
        return None
    moment = _aware(value, name, _("Enter a date and time."))
    if moment < now - CLOCK_DRIFT:
        raise ValidationError(
            {name: ValidationError(_("This date is in the past: choose a later one."), "past")}
        )
    if moment > now + datetime.timedelta(days=5 * 366):
        raise ValidationError({name: ValidationError(_("This is too far ahead."), "far")})
    return moment


def _collect(errors: dict, name: str, clean):
    try:
        return clean()
    except ValidationError as exc:
        errors.update(exc.error_dict if hasattr(exc, "error_dict") else {name: exc.error_list})
        return None


def _customer_servable(actor: User, customer_id: int, message: str) -> Customer:
    customer = servable_customers(actor).filter(pk=customer_id).first()
    if customer is None:
        raise ValidationError(message, code="forbidden")
    return customer


def _customer_lock(customer_id: int) -> None:
    """One interaction write per customer at a time: the last-contact rollup reads
    the customer's interactions as of its statement, so two at once would store
    figures that miss each other's row."""
    list(Customer.objects.select_for_update().filter(pk=customer_id).values_list("pk"))


def _contact_of(customer: Customer, contact: Any) -> Contact | None:
    if contact in (None, ""):
        return None
    contact_id = contact.pk if isinstance(contact, Contact) else contact
    found = customer.contacts.filter(pk=contact_id).first() if customer.is_company else None
    if found is None:
        raise ValidationError(
            {"contact": ValidationError(_("Choose one of this customer's contacts."), "invalid")}
        )
    return found


# --- interactions -----------------------------------------------------------------


def _interaction_values(
    customer: Customer,
    data: Mapping[str, Any],
    now: datetime.datetime,
    *,
    new: bool,
    current: datetime.datetime | None = None,
) -> dict[str, Any]:
    """The checked fields; an edit that leaves *when* empty keeps `current`."""
    errors: dict[str, list] = {}
    if not new and data.get("occurred_at") in (None, ""):
        data = {**data, "occurred_at": current}
    values = {
        "channel": _collect(errors, "channel", lambda: _choice(data, "channel", Channel)),
        "direction": _collect(
            errors, "direction", lambda: _choice(data, "direction", Direction, Direction.OUTBOUND)
        ),
        "occurred_at": _collect(
            errors, "occurred_at", lambda: _past_moment(data.get("occurred_at"), "occurred_at", now)
        ),
        "subject": _collect(errors, "subject", lambda: _text(data, "subject", 200, required=True)),
        "notes": _collect(errors, "notes", lambda: _text(data, "notes", MAX_NOTES)),
        "outcome": _collect(
            errors,
            "outcome",
            lambda: _choice(data, "outcome", Outcome) if data.get("outcome") else "",
        ),
        "next_step": _collect(errors, "next_step", lambda: _text(data, "next_step", 200)),
        "contact": _collect(errors, "contact", lambda: _contact_of(customer, data.get("contact"))),
    }
    if new:
        values["follow_up_at"] = _collect(
            errors,
            "follow_up_at",
            lambda: _future_moment(data.get("follow_up_at"), "follow_up_at", now),
        )
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def interaction_log(
    *, actor: User, customer_id: int, data: Mapping[str, Any], request=None
) -> Interaction:
    """Log a call, visit, message… with a customer the actor works on. A follow-up
    date creates the actor's follow-up task for it."""
    if not actor.has_perm("interactions.add_interaction"):
        raise ValidationError(_("You may not log interactions."), code="forbidden")
    customer = _customer_servable(
        actor, customer_id, _("You may not log interactions with this customer.")
    )
    _customer_lock(customer.pk)
    now = timezone.now()
    values = _interaction_values(customer, data, now, new=True)
    interaction = Interaction.objects.create(
        customer=customer, user=actor, created_at=now, updated_at=now, **values
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target=interaction,
        changes={
            "customer": (None, customer.number),
            "channel": (None, interaction.channel),
            "occurred_at": (None, interaction.occurred_at),
            "subject": (None, interaction.subject),
            "notes": (None, interaction.notes),
            "follow_up_at": (None, interaction.follow_up_at),
        },
        sensitive=("notes",),
        extra={"version": interaction.version},
        request=request,
    )
    if interaction.follow_up_at is not None:
        title = interaction.next_step or _("Follow up: %(subject)s") % {
            "subject": interaction.subject
        }
        _task_write(
            actor=actor,
            values={
                "title": title[:200],
                "customer": customer,
                "assignee": actor,
                "due_at": interaction.follow_up_at,
                "priority": TaskPriority.NORMAL,
                "source": TaskSource.FOLLOW_UP,
                "interaction": interaction,
                "notes": "",
            },
            request=request,
        )
    metrics_refresh([customer.pk])
    return interaction


def _may_edit_interaction(actor: User, interaction: Interaction) -> bool:
    if not actor.has_perm("interactions.change_interaction"):
        return False
    if interaction.user_id == actor.pk:
        return True
    customer = interaction.customer
    return oversees_everyone(actor) or (
        customer.team_id is not None and customer.team_id in managed_team_ids(actor)
    )


def interaction_editable(actor: User, interaction: Interaction) -> bool:
    """Whether the actor may correct this interaction: its author, the customer's
    team manager, a steward or an admin (and only while they may see the customer)."""
    return (
        _may_edit_interaction(actor, interaction)
        and visible_customers(actor).filter(pk=interaction.customer_id).exists()
    )


class InteractionConflict(ValidationError):
    pass


@transaction.atomic
def interaction_update(
    *, actor: User, interaction_id: int, data: Mapping[str, Any], version: int, request=None
) -> Interaction:
    interaction = (
        Interaction.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk=interaction_id)
        .first()
    )
    if interaction is None or not interaction_editable(actor, interaction):
        raise ValidationError(_("You may not change this interaction."), code="forbidden")
    _customer_lock(interaction.customer_id)
    if interaction.version != version:
        raise InteractionConflict(
            _("Someone else changed this interaction meanwhile. Reload it and try again."),
            code="conflict",
        )
    now = timezone.now()
    values = _interaction_values(
        interaction.customer, data, now, new=False, current=interaction.occurred_at
    )
    names = [name for name in INTERACTION_FIELDS if name in values]
    before = snapshot(interaction, names)
    for name, value in values.items():
        setattr(interaction, name, value)
    changes = diff(before, snapshot(interaction, names))
    if not changes:
        return interaction
    versioned_save(interaction, actor, changes, request=request, now=now, sensitive=("notes",))
    metrics_refresh([interaction.customer_id])
    return interaction


# --- tasks --------------------------------------------------------------------------


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


# --- service tickets ------------------------------------------------------------------


def ticket_numbers_next(count: int = 1) -> list[str]:
    return sequence_numbers("interactions_ticket_number_seq", TICKET_PREFIX, count)


def sla_deadline(ticket: ServiceTicket) -> datetime.datetime:
    """The clock's start + its hours + the time already spent waiting."""
    return (
        ticket.sla_started_at
        + datetime.timedelta(hours=ticket.sla_hours)
        + datetime.timedelta(seconds=ticket.paused_seconds)
    )


def _ticket_assignee(customer: Customer, assignee: User | None) -> User | None:
    if assignee is None:
        return None
    if not assignee.is_active or not visible_customers(assignee).filter(pk=customer.pk).exists():
        raise ValidationError(
            {
                "assignee": ValidationError(
                    _("%(person)s cannot see this customer: choose someone who works on it.")
                    % {"person": str(assignee)},
                    "assignee_blind",
                )
            }
        )
    return assignee


def _ticket_order(customer: Customer, order: Any):
    if order in (None, ""):
        return None
    order_id = getattr(order, "pk", order)
    found = customer.orders.filter(pk=order_id).first()
    if found is None:
        raise ValidationError(
            {"order": ValidationError(_("Choose one of this customer's orders."), "invalid")}
        )
    return found


def _assigned_notify(ticket: ServiceTicket, actor: User) -> None:
    if ticket.assignee_id and ticket.assignee_id != actor.pk:
        notify(
            recipient=ticket.assignee,
            text=lazy_format(
                gettext_lazy("Ticket %(number)s is yours: %(subject)s"),
                {"number": ticket.number, "subject": ticket.subject},
            ),
            link=ticket.get_absolute_url(),
            kind=NotificationKind.TASK,
        )


@transaction.atomic
def ticket_open(
    *, actor: User, customer_id: int, data: Mapping[str, Any], request=None
) -> ServiceTicket:
    """Open an after-sales ticket for a customer the actor works on; its SLA
    deadline follows from the priority."""
    if not actor.has_perm("interactions.add_serviceticket"):
        raise ValidationError(_("You may not open service tickets."), code="forbidden")
    customer = _customer_servable(
        actor, customer_id, _("You may not open tickets for this customer.")
    )
    errors: dict[str, list] = {}
    values = {
        "subject": _collect(errors, "subject", lambda: _text(data, "subject", 200, required=True)),
        "description": _collect(
            errors, "description", lambda: _text(data, "description", MAX_NOTES)
        ),
        "category": _collect(
            errors,
            "category",
            lambda: _choice(data, "category", TicketCategory, TicketCategory.ENQUIRY),
        ),
        "priority": _collect(
            errors, "priority", lambda: _choice(data, "priority", TaskPriority, TaskPriority.NORMAL)
        ),
        "order": _collect(errors, "order", lambda: _ticket_order(customer, data.get("order"))),
        "assignee": _collect(
            errors,
            "assignee",
            lambda: _ticket_assignee(customer, data.get("assignee", actor)),
        ),
    }
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    ticket = ServiceTicket(
        number=ticket_numbers_next()[0],
        customer=customer,
        created_by=actor,
        created_at=now,
        updated_at=now,
        sla_started_at=now,
        sla_hours=sla_policies()[values["priority"]].resolve_hours,
        **values,
    )
    ticket.sla_due_at = sla_deadline(ticket)
    ticket.save()
    TicketComment.objects.create(
        ticket=ticket, author=actor, status_to=TicketStatus.OPEN, created_at=now
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target=ticket,
        changes={
            "customer": (None, customer.number),
            "category": (None, ticket.category),
            "priority": (None, ticket.priority),
            "assignee": (None, ticket.assignee.get_username() if ticket.assignee else None),
            "sla_due_at": (None, ticket.sla_due_at),
        },
        extra={"version": ticket.version},
        request=request,
    )
    _assigned_notify(ticket, actor)
    return ticket


def ticket_workable(actor: User, ticket: ServiceTicket) -> bool:
    """The assignee, whoever may work on the customer, and service agents handle
    the ticket."""
    if not actor.has_perm("interactions.change_serviceticket"):
        return False
    if ticket.assignee_id == actor.pk:
        return True
    return servable_customers(actor).filter(pk=ticket.customer_id).exists()


def _ticket_locked(actor: User, ticket_id: int) -> ServiceTicket:
    ticket = (
        ServiceTicket.objects.select_for_update(of=("self",))
        .select_related("customer", "assignee")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None or not ticket_workable(actor, ticket):
        raise ValidationError(_("You may not change this ticket."), code="forbidden")
    return ticket


def _satisfaction_clean(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= 5:
        raise ValidationError({"satisfaction": ValidationError(_("Rate from 1 to 5."), "invalid")})
    return number


@transaction.atomic
def ticket_move(
    *,
    actor: User,
    ticket_id: int,
    status: str,
    comment: str = "",
    resolution: str = "",
    satisfaction: Any = None,
    request=None,
) -> ServiceTicket:
    """Move a ticket along its workflow. Resolving needs the resolution; closing
    may record the customer's satisfaction (1–5); reopening starts a new SLA clock.
    Waiting on the customer stops the clock."""
    ticket = _ticket_locked(actor, ticket_id)
    if status == ticket.status:
        return ticket
    if status not in ticket.next_statuses():
        labels = dict(TicketStatus.choices)
        raise ValidationError(
            {
                "status": ValidationError(
                    _("A ticket that is “%(current)s” cannot be moved to “%(wanted)s”.")
                    % {
                        "current": labels.get(ticket.status, ticket.status),
                        "wanted": labels.get(status, status),
                    },
                    "bad_move",
                )
            }
        )
    errors: dict[str, list] = {}
    comment = _collect(errors, "comment", lambda: _text({"comment": comment}, "comment", MAX_NOTES))
    resolution = _collect(
        errors, "resolution", lambda: _text({"resolution": resolution}, "resolution", MAX_NOTES)
    )
    if status == TicketStatus.RESOLVED and not resolution and not ticket.resolution:
        errors["resolution"] = [ValidationError(_("Say how the request was resolved."), "required")]
    rating = (
        _collect(errors, "satisfaction", lambda: _satisfaction_clean(satisfaction))
        if status == TicketStatus.CLOSED
        else None
    )
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    fields = ["status"]
    before = snapshot(ticket, ["status", "sla_due_at", "resolution", "satisfaction"])
    if ticket.waiting_since is not None:  # the clock runs again
        ticket.paused_seconds += int((now - ticket.waiting_since).total_seconds())
        ticket.waiting_since = None
        fields += ["paused_seconds", "waiting_since"]
    if status == TicketStatus.WAITING:
        ticket.waiting_since = now
        fields.append("waiting_since")
    elif status == TicketStatus.RESOLVED:
        ticket.resolved_at = now
        if resolution:
            ticket.resolution = resolution
        fields += ["resolved_at", "resolution"]
    elif status == TicketStatus.CLOSED:
        ticket.closed_at = now
        ticket.satisfaction = rating
        fields += ["closed_at", "satisfaction"]
    elif status == TicketStatus.OPEN and ticket.status in (
        TicketStatus.RESOLVED,
        TicketStatus.CLOSED,
    ):
        ticket.reopened += 1
        ticket.resolved_at = ticket.closed_at = None
        ticket.satisfaction = None
        ticket.sla_started_at, ticket.paused_seconds = now, 0
        ticket.sla_hours = sla_policies()[ticket.priority].resolve_hours
        fields += ["reopened", "resolved_at", "closed_at", "satisfaction", "sla_started_at",
                   "paused_seconds", "sla_hours"]  # fmt: skip
    previous = ticket.status
    ticket.status = status
    ticket.sla_due_at = sla_deadline(ticket)
    fields.append("sla_due_at")
    TicketComment.objects.create(
        ticket=ticket, author=actor, body=comment, status_from=previous, status_to=status,
        created_at=now,
    )  # fmt: skip
    changes = diff(before, snapshot(ticket, ["status", "sla_due_at", "resolution", "satisfaction"]))
    return versioned_save(
        ticket, actor, changes, fields=sorted(set(fields)), request=request, now=now
    )


@transaction.atomic
def ticket_update(
    *, actor: User, ticket_id: int, data: Mapping[str, Any], request=None
) -> ServiceTicket:
    """Change a ticket's assignee, priority (the deadline follows, while the ticket
    is active) or category. A key left out of `data` keeps its value."""
    ticket = _ticket_locked(actor, ticket_id)
    errors: dict[str, list] = {}
    values = {
        "priority": _collect(
            errors, "priority", lambda: _choice(data, "priority", TaskPriority, ticket.priority)
        ),
        "category": _collect(
            errors, "category", lambda: _choice(data, "category", TicketCategory, ticket.category)
        ),
    }
    if "assignee" in data:
        values["assignee"] = _collect(
            errors, "assignee", lambda: _ticket_assignee(ticket.customer, data["assignee"])
        )
    if values["priority"] and values["priority"] != ticket.priority and not ticket.is_active:
        errors["priority"] = [
            ValidationError(
                _("The priority of a resolved or closed ticket stays as it was."), "settled"
            )
        ]
    if errors:
        raise ValidationError(errors)
    names = ["priority", "category", "assignee", "sla_hours", "sla_due_at"]
    before = snapshot(ticket, names)
    if values["priority"] != ticket.priority:
        ticket.sla_hours = sla_policies()[values["priority"]].resolve_hours
    for name, value in values.items():
        setattr(ticket, name, value)
    ticket.sla_due_at = sla_deadline(ticket)
    changes = diff(before, snapshot(ticket, names))
    if not changes:
        return ticket
    now = timezone.now()
    versioned_save(ticket, actor, changes, fields=names, request=request, now=now)
    if "assignee" in changes:
        _assigned_notify(ticket, actor)
    return ticket


@transaction.atomic
def ticket_comment(*, actor: User, ticket_id: int, body: str, request=None) -> TicketComment:
    ticket = _ticket_locked(actor, ticket_id)
    text = _text({"body": body}, "body", MAX_NOTES, required=True)
    now = timezone.now()
    comment = TicketComment.objects.create(ticket=ticket, author=actor, body=text, created_at=now)
    ServiceTicket.objects.filter(pk=ticket.pk).update(updated_at=now)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target=ticket,
        changes={"comment": (None, text)},
        sensitive=("comment",),
        request=request,
    )
    return comment
