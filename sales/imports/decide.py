"""Deciding each row's outcome, writing nothing: rows with the same order number
form one order, each row becomes a line checked as the order services check
one, and a further row must agree with its order's first row. A row that cannot
be imported takes the rest of its order with it, and an order number already in
Kehu is refused, so a file imported twice records nothing twice."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crm.models import User
from customers.imports.base import Outcome, RowResult
from sales.imports.base import _label
from sales.imports.lookups import _Lookups
from sales.imports.read import _Row
from sales.models import BASE_CURRENCY, OrderStatus
from sales.services.lines import LineInput, order_lines_clean


@dataclass(slots=True)
class _Order:
    first_row: int
    external_number: str
    customer_id: int
    customer_number: str
    salesperson_id: int | None
    ordered_at: datetime.datetime
    status: str
    currency: str
    exchange_rate: Decimal
    notes: list[str] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)


_HEAD = ("ordered_at", "status", "currency", "exchange_rate")


def _line_problems(exc: ValidationError) -> list[str]:
    labels = {"product": "product", "quantity": "quantity", "unit_price": "unit_price",
              "discount_percent": "discount"}  # fmt: skip
    problems = []
    for key, errors in exc.message_dict.items():
        name = key.rsplit(".", 1)[-1]
        label = _label(labels[name]) if name in labels else ""
        problems.extend(f"{label}: {message}" if label else message for message in errors)
    return problems


def _row_order(
    row: _Row, lookups: _Lookups, default_status: str, currency: str = BASE_CURRENCY
) -> tuple[_Order | None, list]:
    """The row as an order of one line (merged later with its order's other rows);
    `currency` is the order's when the row gives none."""
    values = row.values
    customer_id, problem = lookups.customer(row)
    problems = [problem] if problem else []
    product = None
    if values.get("product"):
        product, problem = lookups.product(values["product"])
        if problem:
            problems.append(problem)
    number, owner = lookups.customers.get(customer_id, ("", None))
    salesperson, problem = lookups.salesperson(values.get("salesperson", ""), owner)
    if problem:
        problems.append(problem)
    currency = values.get("currency", currency)
    line = LineInput(
        product=product,
        description="" if product is not None else lookups.unnamed,
        quantity=values.get("quantity", 1),
        unit_price=values.get("unit_price"),
        discount_percent=values.get("discount"),
        amount=values.get("amount"),
    )
    if product is not None and product.pk is None:
        line.product = None  # a placeholder: linked when written
        line.description = product.name
    try:
        (clean,) = order_lines_clean([line], currency, historic=True)
    except ValidationError as exc:
        problems.extend(_line_problems(exc))
        clean = None
    if problems or customer_id is None or clean is None:
        return None, problems
    clean["placeholder"] = product if product is not None and product.pk is None else None
    order = _Order(
        first_row=row.row_number,
        external_number=values.get("order_number", ""),
        customer_id=customer_id,
        customer_number=number,
        salesperson_id=salesperson,
        ordered_at=values["ordered_at"],
        status=values.get("status") or default_status,
        currency=currency,
        exchange_rate=values.get("exchange_rate", Decimal(1)),
        notes=[values["notes"]] if values.get("notes") else [],
        lines=[clean],
    )
    return order, []


def _conflicts(order: _Order, row: _Order, explicit: dict[str, Any]) -> list[str]:
    """What a further row of an order says differently from the order's first row."""
    problems = []
    if row.customer_id != order.customer_id:
        problems.append(
            _("The order's row %(row)d is for customer %(first)s; this row for %(this)s.")
            % {"row": order.first_row, "first": order.customer_number, "this": row.customer_number}
        )
    if "salesperson" in explicit and row.salesperson_id != order.salesperson_id:
        problems.append(
            _("%(field)s differs from the order's row %(row)d.")
            % {"field": _label("salesperson"), "row": order.first_row}
        )
    for key in _HEAD:
        if key in explicit and getattr(row, key) != getattr(order, key):
            problems.append(
                _("%(field)s differs from the order's row %(row)d.")
                % {"field": _label(key), "row": order.first_row}
            )
    return problems


def orders_decide(
    rows: list[_Row], actor: User, *, default_status: str = OrderStatus.COMPLETED
) -> tuple[list[RowResult], list[_Order]]:
    lookups = _Lookups(actor, rows)
    groups: dict[object, list[_Row]] = {}
    for row in rows:
        key = row.values.get("order_number") or ("row", row.row_number)
        groups.setdefault(key, []).append(row)
    outcomes: dict[int, RowResult] = {}
    orders: list[_Order] = []
    for key, members in groups.items():
        order: _Order | None = None
        failed: dict[int, list[str]] = {}
        if isinstance(key, str) and key in lookups.taken:
            message = _("Order number %(number)s is in Kehu already; it was not imported again.")
            failed = {row.row_number: [message % {"number": key}] for row in members}
        for row in members if not failed else ():
            if row.problems:
                failed[row.row_number] = row.problems
                continue
            # A further line without a currency is in its order's (JPY has no cents).
            currency = order.currency if order is not None else BASE_CURRENCY
            single, problems = _row_order(row, lookups, default_status, currency)
            if not problems and order is not None:
                problems = _conflicts(order, single, row.values)
            if problems:
                failed[row.row_number] = problems
            elif order is None:
                order = single
            else:
                order.lines.extend(single.lines)
                order.notes.extend(n for n in single.notes if n not in order.notes)
        if failed:
            first_bad = min(failed)
            for row in members:
                reasons = failed.get(row.row_number) or [
                    _(
                        "Row %(row)d of the same order %(number)s was rejected, so none of "
                        "the order's rows was imported."
                    )
                    % {"row": first_bad, "number": key}
                ]
                outcomes[row.row_number] = RowResult(
                    row.row_number, Outcome.REJECTED, "; ".join(reasons), cells=row.cells
                )
            continue
        orders.append(order)
        for index, row in enumerate(members):
            outcome = Outcome.CREATED if index == 0 else Outcome.MERGED
            outcomes[row.row_number] = RowResult(
                row.row_number, outcome, number=order.external_number, cells=row.cells
            )
    results = [outcomes[row.row_number] for row in rows]
    return results, orders
