"""After-sales service tickets: opening one for a customer the actor works on,
moving it along `TICKET_MOVES`, changing its assignee, priority or category,
and commenting. Its SLA deadline is the moment the clock started (opening, or
reopening) plus the priority's hours (calendar hours, not working hours) plus
the time spent waiting on the customer, during which the clock stops."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.audit import audit_record, diff, snapshot, versioned_save
from crm.bulkcopy import sequence_numbers
from crm.models import AuditAction, NotificationKind, User
from crm.services import lazy_format, notify
from customers.models import Customer
from customers.selectors import visible_customers
from interactions.models import (
    ServiceTicket,
    TaskPriority,
    TicketCategory,
    TicketComment,
    TicketStatus,
)
from interactions.selectors import servable_customers, sla_policies
from interactions.services.values import (
    MAX_NOTES,
    _choice,
    _collect,
    _customer_servable,
    _text,
)

TICKET_PREFIX = "TK"


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
