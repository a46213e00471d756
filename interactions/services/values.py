"""The checks every write in `interactions.services` shares: bounded text, a
value from a list of choices, moments in the past (what happened: not in the
future, not before 1990) or in the future (what is due: within five years, a
minute's clock drift allowed), collecting each field's errors into one
`ValidationError`, and the customer a write is about, which the actor must
serve. These helpers are private to the package's modules."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import User
from crm.normalise import length_check
from customers.models import Customer
from interactions.selectors import servable_customers

EARLIEST = datetime.date(1990, 1, 1)
CLOCK_DRIFT = datetime.timedelta(minutes=1)
MAX_NOTES = 20_000


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
