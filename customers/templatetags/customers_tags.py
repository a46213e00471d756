"""Masking in templates: who sees a personal value in full, and in what form."""

from __future__ import annotations

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _

from customers.history import HISTORY_CHOICES, HISTORY_LABELS
from customers.models import Customer

register = template.Library()

STAGE_COLOURS = {"lead": "info", "active": "success", "at_risk": "warning", "churned": "secondary"}


@register.filter
def list_phone(customer, user) -> str:
    """The first phone on a list row: full for the owner, masked for everyone else."""
    phones = getattr(customer, "own_phones", None) or []
    if not phones:
        return ""
    if customer.owner_id is not None and customer.owner_id == user.pk:
        return phones[0].display
    return phones[0].masked


@register.filter
def list_email(customer, user) -> str:
    """The first e-mail on a list row (`own_emails`), masked as `list_phone` masks."""
    emails = getattr(customer, "own_emails", None) or []
    if not emails:
        return ""
    if customer.owner_id is not None and customer.owner_id == user.pk:
        return emails[0].display
    return emails[0].masked


@register.filter
def stage_colour(stage: str) -> str:
    return STAGE_COLOURS.get(stage, "secondary")


@register.filter
def change_label(name: str) -> str:
    """An audit change key → the field's name in the user's language."""
    if name in HISTORY_LABELS:
        return str(HISTORY_LABELS[name])
    try:
        return str(Customer._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


@register.filter
def change_value(value, name: str = "") -> str:
    """An audited value as the user reads it: choice codes become their labels."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return "、".join(str(item) for item in value) or "—"
    try:
        field = Customer._meta.get_field(name) if name else None
    except FieldDoesNotExist:
        field = None
    choices = dict(getattr(field, "flatchoices", None) or HISTORY_CHOICES.get(name, ()))
    if value in choices:
        return str(choices[value])
    if value is True:
        return str(_("yes"))
    if value is False:
        return str(_("no"))
    return str(value)


@register.inclusion_tag("customers/partials/_import_steps.html")
def import_steps(step: str, kind: str = "customers"):
    """The wizard's steps, this one marked; only customer imports map values."""
    from django.utils.translation import gettext

    names = [
        ("upload", gettext("Upload")),
        ("columns", gettext("Columns")),
        *([("values", gettext("Values"))] if kind == "customers" else []),
        ("preview", gettext("Preview")),
        ("import", gettext("Import")),
    ]
    return {
        "step": step,
        "steps": [(number, name, label) for number, (name, label) in enumerate(names, start=1)],
    }
