"""Interactions: logging a call, visit or message with a customer the actor
works on, and correcting it later (its author, the customer's team manager, a
steward or an admin), with optimistic locking on its version. One interaction
write per customer at a time keeps the last-contact figures right; a follow-up
date creates the follow-up task in the same transaction."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_record, diff, snapshot, versioned_save
from crm.models import AuditAction, User
from customers.metrics import metrics_refresh
from customers.models import Contact, Customer
from customers.selectors import managed_team_ids, visible_customers
from interactions.models import (
    Channel,
    Direction,
    Interaction,
    Outcome,
    TaskPriority,
    TaskSource,
)
from interactions.selectors import oversees_everyone
from interactions.services.tasks import _task_write
from interactions.services.values import (
    MAX_NOTES,
    _choice,
    _collect,
    _customer_servable,
    _future_moment,
    _past_moment,
    _text,
)

INTERACTION_FIELDS = (
    "channel", "direction", "occurred_at", "subject", "notes", "outcome", "next_step",
    "follow_up_at", "contact",
)  # fmt: skip


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
