"""Money and order statuses as the pages show them."""

from __future__ import annotations

from decimal import Decimal

from django import template

from sales.models import CURRENCY_PLACES, CURRENCY_SYMBOLS

register = template.Library()

STATUS_COLOURS = {
    "pending": "warning",
    "paid": "primary",
    "shipped": "info",
    "completed": "success",
    "cancelled": "secondary",
    "refunded": "danger",
}


@register.filter
def money(amount, currency: str = "CNY") -> str:
    """¥1,299.00 — the currency's symbol and places, grouped thousands."""
    if amount in (None, ""):
        return "—"
    places = CURRENCY_PLACES.get(currency or "CNY", 2)
    value = Decimal(amount)
    sign = "−" if value < 0 else ""
    text = f"{abs(value):,.{places}f}"
    return f"{sign}{CURRENCY_SYMBOLS.get(currency or 'CNY', currency)}{text}"


@register.filter
def quantity(value) -> str:
    """2, 1.5 — no trailing zeros."""
    if value in (None, ""):
        return ""
    return f"{Decimal(value).normalize():f}"


@register.filter
def order_status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "secondary")


STAGE_COLOURS = {
    "qualification": "secondary",
    "needs_analysis": "info",
    "proposal": "primary",
    "negotiation": "warning",
    "won": "success",
    "lost": "danger",
}


@register.filter
def stage_colour(stage: str) -> str:
    return STAGE_COLOURS.get(stage, "secondary")
