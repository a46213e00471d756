"""An order's lines, as a form or an import gives them (`LineInput`), checked
into what an order stores: a product or a description, a quantity of at most
three places, a discount between 0 and 100 %, a unit price (or, from an import,
only the line's amount) and the line's total. Every problem is reported under
its line and field (`lines.0.quantity`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from sales.models import ZERO, Product
from sales.services.values import MAX_AMOUNT, _text, decimal_parse, line_total, money_clean

MAX_LINES = 200
MAX_QUANTITY = Decimal("999999999")


@dataclass
class LineInput:
    """One line as a form or an import gives it. `amount` (the line total) stands
    in for the unit price when only the amount is known (imports)."""

    product: Product | None = None
    description: str = ""
    quantity: Any = None
    unit_price: Any = None
    discount_percent: Any = None
    amount: Any = None


def _line_error(index: int, field: str, error: ValidationError) -> dict[str, list]:
    return {f"lines.{index}.{field}": [error]}


def _quantity_clean(value: Any) -> Decimal:
    try:
        quantity = decimal_parse(value)
    except ValueError:
        raise ValidationError(_("Enter a quantity such as 2 or 1.5."), code="invalid") from None
    if quantity is None:
        raise ValidationError(_("Enter a quantity."), code="required")
    if quantity <= 0:
        raise ValidationError(_("The quantity must be more than zero."), code="not_positive")
    if quantity > MAX_QUANTITY or quantity != quantity.quantize(Decimal("0.001")):
        raise ValidationError(
            _("A quantity has at most three decimal places."), code="quantity_places"
        )
    return quantity


def _discount_clean(value: Any) -> Decimal:
    try:
        discount = decimal_parse(value)
    except ValueError:
        raise ValidationError(_("Enter a discount between 0 and 100 %."), code="invalid") from None
    if discount is None:
        return ZERO
    if not ZERO <= discount <= 100 or discount != discount.quantize(Decimal("0.01")):
        raise ValidationError(_("Enter a discount between 0 and 100 %."), code="discount_range")
    return discount


def order_lines_clean(
    lines: Sequence[LineInput], currency: str, *, historic: bool = False
) -> list[dict[str, Any]]:
    """Checked lines with their totals, or one ValidationError whose keys name
    each bad line's field (`lines.0.quantity`). `historic` lines (an import of
    past sales) may name products no longer sold."""
    errors: dict[str, list] = {}
    clean: list[dict[str, Any]] = []
    if not lines:
        raise ValidationError(_("Add at least one line."), code="no_lines")
    if len(lines) > MAX_LINES:
        raise ValidationError(
            _("An order has at most %(max)d lines."),
            code="too_many_lines",
            params={"max": MAX_LINES},
        )
    for index, line in enumerate(lines):
        product = line.product
        description = _text(line.description, 0) or (product.name if product else "")
        row: dict[str, Any] = {"product": product, "description": description[:200]}
        if product is not None and not product.is_active and not historic:
            errors.update(
                _line_error(
                    index,
                    "product",
                    ValidationError(
                        _("%(product)s is no longer sold."),
                        code="inactive_product",
                        params={"product": product.name},
                    ),
                )
            )
        if not description:
            errors.update(
                _line_error(
                    index,
                    "product",
                    ValidationError(_("Choose a product or describe the item."), code="required"),
                )
            )
        for field, clean_value, raw in (
            ("quantity", _quantity_clean, line.quantity),
            ("discount_percent", _discount_clean, line.discount_percent),
        ):
            try:
                row[field] = clean_value(raw)
            except ValidationError as exc:
                errors.update(_line_error(index, field, exc))
        price = line.unit_price
        if price in (None, "") and line.amount in (None, "") and product is not None:
            price = product.list_price if product.currency == currency else None
        try:
            if line.amount not in (None, "") and price in (None, ""):
                amount = money_clean(line.amount, currency)
                row["line_total"] = amount
                if "quantity" in row:
                    row["unit_price"] = (amount / row["quantity"]).quantize(Decimal("0.0001"))
            else:
                row["unit_price"] = money_clean(price, currency)
        except ValidationError as exc:
            errors.update(_line_error(index, "unit_price", exc))
        if "line_total" not in row and {"quantity", "unit_price", "discount_percent"} <= set(row):
            row["line_total"] = line_total(
                row["quantity"], row["unit_price"], row["discount_percent"], currency
            )
        if row.get("line_total", ZERO) > MAX_AMOUNT:
            errors.update(
                _line_error(
                    index,
                    "quantity",
                    ValidationError(_("This line is too large."), code="too_large"),
                )
            )
        clean.append(row)
    if errors:
        raise ValidationError(errors)
    return clean
