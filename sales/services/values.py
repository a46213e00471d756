"""Values as people type them, checked and made exact: free text and codes (SKU,
contract number) folded, numbers in any usual form (full-width digits, ¥ signs,
thousands separators), and money in `Decimal`: rounded half up to the
currency's smallest unit, never negative, never with more places than the
currency has. A line's total is quantity × unit price × (1 − discount %),
rounded to the currency's cents. Every sales service checks its amounts here."""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from sales.models import BASE_CURRENCY, CURRENCY_PLACES, Currency

MAX_AMOUNT = Decimal("999999999999")  # fits max_digits=14 with cents


def _text(value: Any, limit: int) -> str:
    """Free text as typed (a title's full-width （正式） stays), white space trimmed
    and collapsed."""
    text = " ".join(str(value or "").split())
    return text[:limit] if limit else text


def _code(value: Any, *, spaces: bool = False) -> str:
    """An identifier (SKU, contract number): full-width forms folded (ＡＢ１ → AB1),
    upper case, without spaces (or with single ones)."""
    parts = unicodedata.normalize("NFKC", str(value or "")).split()
    return (" " if spaces else "").join(parts).upper()


_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def decimal_parse(value: Any) -> Decimal | None:
    """A number typed in any usual way (full-width digits, thousands separators,
    ¥ signs); None when empty. Raises ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float):
        number = Decimal(str(value))
    elif value.__class__ is str and value.isascii() and _PLAIN_NUMBER.fullmatch(value):
        number = Decimal(value)  # the common case, without the clean-up below
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        for mark in (",", " ", "¥", "￥", "元", "$", "RMB", "CNY"):
            text = text.replace(mark, "")
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(text) from None
    if not number.is_finite():
        raise ValueError(str(value))
    return number


def money_places(currency: str) -> int:
    return CURRENCY_PLACES.get(currency, 2)


def money_round(amount: Decimal, currency: str = BASE_CURRENCY) -> Decimal:
    """Half up to the currency's smallest unit, kept with two places for storage."""
    step = Decimal(1).scaleb(-money_places(currency))
    return amount.quantize(step, rounding=ROUND_HALF_UP).quantize(Decimal("0.01"))


def _money_error(currency: str) -> ValidationError:
    places = money_places(currency)
    if places == 0:
        return ValidationError(
            _("Amounts in %(currency)s have no decimal places."),
            code="money_places",
            params={"currency": currency},
        )
    return ValidationError(
        _("Amounts in %(currency)s have at most %(places)d decimal places."),
        code="money_places",
        params={"currency": currency, "places": places},
    )


def money_clean(value: Any, currency: str, *, required: bool = True) -> Decimal | None:
    """A price or amount: not negative, no more places than the currency has."""
    try:
        amount = decimal_parse(value)
    except ValueError:
        raise ValidationError(_("Enter an amount such as 1299.00."), code="invalid") from None
    if amount is None:
        if required:
            raise ValidationError(_("Enter an amount."), code="required")
        return None
    if amount < 0:
        raise ValidationError(_("An amount cannot be negative."), code="negative")
    if amount > MAX_AMOUNT:
        raise ValidationError(_("This amount is too large."), code="too_large")
    if amount != amount.quantize(
        Decimal(1).scaleb(-money_places(currency)), rounding=ROUND_HALF_UP
    ):
        raise _money_error(currency)
    return amount.quantize(Decimal("0.01"))


def line_total(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, currency: str):
    gross = quantity * unit_price * (Decimal(100) - discount_percent) / Decimal(100)
    return money_round(gross, currency)


def _currency_clean(value: Any) -> str:
    currency = str(value or BASE_CURRENCY).strip().upper()
    if currency not in Currency.values:
        raise ValidationError(
            {"currency": ValidationError(_("Choose a currency from the list."), code="invalid")}
        )
    return currency
