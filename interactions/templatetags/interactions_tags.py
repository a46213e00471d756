"""Last contact, task due dates, ticket statuses and SLA states as the pages show them."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.models import User
from interactions.models import CHANNEL_ICONS, CHANNEL_MEANS

register = template.Library()

TICKET_STATUS_COLOURS = {
    "open": "primary",
    "in_progress": "info",
    "waiting": "warning",
    "resolved": "success",
    "closed": "secondary",
}
PRIORITY_COLOURS = {"urgent": "danger", "high": "warning", "normal": "light", "low": "light"}
SLA_COLOURS = {
    "breached": "danger",
    "due_soon": "warning",
    "paused": "secondary",
    "met": "success",
    "ok": "light",
}


def days_ago(moment, now=None) -> int:
    """Whole local days between that moment's day and today."""
    today = timezone.localdate(now or timezone.now())
    return (today - timezone.localdate(moment)).days


@register.simple_tag
def last_contact(metrics) -> str:
    """“Last contact 37 days ago by 李娜, by phone” (or “No contact logged yet”)."""
    if metrics is None or metrics.last_contact_at is None:
        return _("No contact logged yet")
    days = days_ago(metrics.last_contact_at)
    means = CHANNEL_MEANS.get(metrics.last_contact_channel, "")
    person = str(metrics.last_contact_by) if metrics.last_contact_by_id else _("someone")
    if days <= 0:
        return _("Last contact today by %(person)s, %(means)s") % {
            "person": person,
            "means": means,
        }
    return ngettext(
        "Last contact %(days)d day ago by %(person)s, %(means)s",
        "Last contact %(days)d days ago by %(person)s, %(means)s",
        days,
    ) % {"days": days, "person": person, "means": means}


@register.simple_tag
def last_contact_person(customer) -> str:
    """Who made a list row's last contact (customers.selectors.customer_list)."""

    name = User.name_of(customer.last_contact_last_name, customer.last_contact_first_name)
    return name or customer.last_contact_username or ""


@register.filter
def since_days(moment) -> str:
    """“today”, “3 days ago” — short, for list columns."""
    if moment is None:
        return "—"
    days = days_ago(moment)
    if days <= 0:
        return _("today")
    return ngettext("%(days)d day ago", "%(days)d days ago", days) % {"days": days}


@register.filter
def channel_icon(channel: str) -> str:
    return CHANNEL_ICONS.get(channel, "chat-dots")


@register.filter
def ticket_status_colour(status: str) -> str:
    return TICKET_STATUS_COLOURS.get(status, "secondary")


@register.filter
def priority_colour(priority: str) -> str:
    return PRIORITY_COLOURS.get(priority, "light")


@register.filter
def sla_colour(state: str) -> str:
    return SLA_COLOURS.get(state, "light")


@register.simple_tag
def sla_state(ticket, policies=None) -> str:
    warn = policies[ticket.priority].warn_hours if policies else 2
    return ticket.sla_state(warn_hours=warn)


@register.simple_tag
def sla_label(state: str) -> str:
    return {
        "breached": _("SLA breached"),
        "due_soon": _("Due soon"),
        "paused": _("Clock stopped: waiting on customer"),
        "met": _("Resolved in time"),
        "ok": _("On time"),
    }.get(state, "")
