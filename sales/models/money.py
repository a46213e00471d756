"""Money in sales records: `Decimal` to the cent, the currencies an order or a
product may be in, and how each is written. `cents` rounds half up (never
Python's half-to-even); `percent` gives a share in whole per cent. Every other
sales model module builds on these."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.utils.translation import pgettext_lazy

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def cents(amount) -> Decimal:
    """An amount to the cent, half up (never Python's half-to-even)."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def percent(part, whole) -> int | None:
    """part / whole in whole per cent, half up; None without a whole."""
    if not whole:
        return None
    return int((Decimal(100) * Decimal(part) / Decimal(whole)).quantize(1, ROUND_HALF_UP))


class Currency(models.TextChoices):
    CNY = "CNY", pgettext_lazy("currency", "Chinese yuan (CNY)")
    USD = "USD", pgettext_lazy("currency", "US dollar (USD)")
    EUR = "EUR", pgettext_lazy("currency", "Euro (EUR)")
    HKD = "HKD", pgettext_lazy("currency", "Hong Kong dollar (HKD)")
    JPY = "JPY", pgettext_lazy("currency", "Japanese yen (JPY)")


# Decimal places a price or amount may have in each currency (ISO 4217).
CURRENCY_PLACES = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "JPY": 0}
BASE_CURRENCY = "CNY"
CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "US$", "EUR": "€", "HKD": "HK$", "JPY": "JP¥"}
