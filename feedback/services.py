"""Every write to feedback: checked, locked, audited.

Feedback is recorded for a customer the actor serves (works on, or any customer
for a service agent) with a rating 1–5 and/or an NPS 0–10 or at least some text;
it moves new → acknowledged → resolved (a response is required to resolve) and
back to acknowledged when it needs another look.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_record, diff, snapshot, versioned_save
from crm.models import AuditAction, User
from crm.normalise import length_check
from customers.models import Customer
from feedback.models import Feedback, FeedbackCategory, FeedbackChannel, FeedbackStatus
from interactions.selectors import servable_customers

MAX_TEXT = 20_000


def _score(value: Any, name: str, low: int, high: int, errors: dict) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        errors[name] = [
            ValidationError(
                _("Give a whole number from %(low)d to %(high)d.") % {"low": low, "high": high},
                "out_of_range",
            )
        ]
        return None
    return number


def _related(customer: Customer, model_set, value: Any, name: str, message: str, errors: dict):
    if value in (None, ""):
        return None
    found = model_set.filter(pk=getattr(value, "pk", value)).first()
    if found is None:
        errors[name] = [ValidationError(message, "invalid")]
    return found


def _values(customer: Customer, data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list] = {}
    channel = data.get("channel") or ""
    if channel not in FeedbackChannel.values:
        errors["channel"] = [ValidationError(_("Choose from the list."), "invalid")]
    text = str(data.get("text") or "").strip()
    length_check(errors, "text", text, MAX_TEXT)
    rating = _score(data.get("rating"), "rating", 1, 5, errors)
    nps = _score(data.get("nps"), "nps", 0, 10, errors)
    category = data.get("category")
    if category is not None and not (isinstance(category, FeedbackCategory) and category.is_active):
        errors["category"] = [ValidationError(_("Choose from the list."), "invalid")]
    order = _related(
        customer, customer.orders, data.get("order"), "order",
        _("Choose one of this customer's orders."), errors,
    )  # fmt: skip
    ticket = _related(
        customer, customer.tickets, data.get("ticket"), "ticket",
        _("Choose one of this customer's tickets."), errors,
    )  # fmt: skip
    if not errors and rating is None and nps is None and not text:
        errors["text"] = [
            ValidationError(_("Give a rating, a score or what the customer said."), "empty")
        ]
    if errors:
        raise ValidationError(errors)
    return {
        "channel": channel, "text": text, "rating": rating, "nps": nps, "category": category,
        "order": order, "ticket": ticket,
    }  # fmt: skip


@transaction.atomic
def feedback_record(
    *, actor: User, customer_id: int, data: Mapping[str, Any], request=None
) -> Feedback:
    """Record what a customer said (a call, an e-mail, a review, in person…)."""
    if not actor.has_perm("feedback.add_feedback"):
        raise ValidationError(_("You may not record feedback."), code="forbidden")
    customer = servable_customers(actor).filter(pk=customer_id).first()
    if customer is None:
        raise ValidationError(_("You may not record feedback for this customer."), code="forbidden")
    values = _values(customer, data)
    now = timezone.now()
    feedback = Feedback.objects.create(
        customer=customer, created_by=actor, created_at=now, updated_at=now, **values
    )
    feedback_created_audit(
        feedback, actor=actor, extra={"version": feedback.version}, request=request
    )
    return feedback


def feedback_created_audit(feedback: Feedback, *, actor, extra, request, actor_repr=""):
    """The audit event of new feedback, recorded by someone or from a survey
    (the text masked: the audit log keeps no copy of what customers said)."""
    audit_record(
        actor=actor,
        actor_repr=actor_repr,
        action=AuditAction.CREATE,
        target=feedback,
        changes={
            "customer": (None, feedback.customer.number),
            "channel": (None, feedback.channel),
            "rating": (None, feedback.rating),
            "nps": (None, feedback.nps),
            "text": (None, feedback.text),
        },
        sensitive=("text",),
        extra=extra,
        request=request,
    )


@transaction.atomic
def feedback_handle(
    *, actor: User, feedback_id: int, status: str, response: str = "", request=None
) -> Feedback:
    """Acknowledge or resolve feedback (resolving needs the response given), or
    take a resolved one back for another look."""
    feedback = Feedback.objects.select_for_update(of=("self",)).filter(pk=feedback_id).first()
    if (
        feedback is None
        or not actor.has_perm("feedback.change_feedback")
        or not servable_customers(actor).filter(pk=feedback.customer_id).exists()
    ):
        raise ValidationError(_("You may not handle this feedback."), code="forbidden")
    errors: dict[str, list] = {}
    response = str(response or "").strip()
    length_check(errors, "response", response, MAX_TEXT)
    if status != feedback.status and status not in feedback.next_statuses():
        labels = dict(FeedbackStatus.choices)
        errors["status"] = [
            ValidationError(
                _("Feedback that is “%(current)s” cannot become “%(wanted)s”.")
                % {
                    "current": labels.get(feedback.status, feedback.status),
                    "wanted": labels.get(status, status),
                },
                "bad_move",
            )
        ]
    if status == FeedbackStatus.RESOLVED and not (response or feedback.response):
        errors["response"] = [
            ValidationError(_("Say what the customer was told or what was done."), "required")
        ]
    if errors:
        raise ValidationError(errors)
    names = ["status", "response", "handled_by", "handled_at"]
    before = snapshot(feedback, names)
    feedback.status = status
    if response:
        feedback.response = response
    feedback.handled_by, feedback.handled_at = actor, timezone.now()
    changes = diff(before, snapshot(feedback, names))
    changes.pop("handled_at", None)
    if set(changes) <= {"handled_by"}:
        return Feedback.objects.get(pk=feedback.pk)  # nothing changed: keep it as it was
    return versioned_save(
        feedback, actor, changes, fields=names, request=request, sensitive=("response",)
    )
