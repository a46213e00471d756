"""Every write to products, orders and refunds: checked, locked, audited.

Amounts are `Decimal`, never float. A line's total is quantity × unit price ×
(1 − discount %), rounded half up to the currency's cents; an order's total is
the sum of its lines. Lines change only while the order waits for payment; after
that, money goes back through refunds. Each write refreshes the customer's
purchase metrics in the same transaction.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_record, diff, snapshot, versioned_save
from crm.bulkcopy import sequence_numbers
from crm.models import AuditAction, User
from crm.normalise import length_check
from customers.metrics import metrics_refresh
from customers.models import Customer
from customers.selectors import assignable_owners, editable_customers
from sales.models import (
    BASE_CURRENCY,
    CURRENCY_PLACES,
    PURCHASE_STATUSES,
    ZERO,
    Currency,
    Order,
    OrderLine,
    OrderSource,
    OrderStatus,
    Product,
    Refund,
)
from sales.rollup import order_key, sales_days_refresh
from sales.signals import orders_changed

ORDER_PREFIX = "SO"
MAX_LINES = 200
MAX_QUANTITY = Decimal("999999999")
MAX_AMOUNT = Decimal("999999999999")  # fits max_digits=14 with cents
EARLIEST_ORDER = datetime.date(1990, 1, 1)
PRODUCT_FIELDS = (
    "sku",
    "name",
    "category",
    "brand",
    "variant",
    "unit",
    "list_price",
    "currency",
    "is_active",
    "description",
)


# --- values --------------------------------------------------------------------


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


# --- products ------------------------------------------------------------------


def product_values(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list] = {}
    values: dict[str, Any] = {
        "sku": _code(data.get("sku")),
        "name": _text(data.get("name"), 0),
        "category": _text(data.get("category"), 0),
        "brand": _text(data.get("brand"), 0),
        "variant": _text(data.get("variant"), 0),
        "unit": _text(data.get("unit"), 0),
        "description": str(data.get("description") or "").strip(),
        "is_active": bool(data.get("is_active", True)),
    }
    if not values["sku"]:
        errors["sku"] = [ValidationError(_("Enter the SKU (货号)."), code="required")]
    if not values["name"]:
        errors["name"] = [ValidationError(_("Enter the product's name."), code="required")]
    for name in ("sku", "name", "category", "brand", "variant", "unit"):
        length_check(errors, name, values[name], Product._meta.get_field(name).max_length)
    try:
        values["currency"] = _currency_clean(data.get("currency"))
    except ValidationError as exc:
        errors.update(exc.error_dict)
        values["currency"] = BASE_CURRENCY
    try:
        values["list_price"] = money_clean(data.get("list_price"), values["currency"])
    except ValidationError as exc:
        errors["list_price"] = [exc]
    if errors:
        raise ValidationError(errors)
    return values


def sku_taken(sku: str) -> ValidationError:
    return ValidationError(
        {
            "sku": ValidationError(
                _("Another product already has SKU %(sku)s."),
                code="duplicate_sku",
                params={"sku": sku},
            )
        }
    )


@transaction.atomic
def product_save(
    *, actor: User, data: Mapping[str, Any], product_id: int | None = None, request=None
) -> Product:
    """Create a product, or change one; the SKU is unique whatever its case."""
    permission = "sales.add_product" if product_id is None else "sales.change_product"
    if not actor.has_perm(permission):
        raise ValidationError(_("You may not change the product catalogue."), code="forbidden")
    values = product_values(data)
    if product_id is None:
        product, before = Product(), {}
    else:
        product = Product.objects.select_for_update().filter(pk=product_id).first()
        if product is None:
            raise ValidationError(_("This product does not exist any more."), code="gone")
        before = snapshot(product, PRODUCT_FIELDS)
    if Product.objects.filter(sku__iexact=values["sku"]).exclude(pk=product.pk).exists():
        raise sku_taken(values["sku"])
    changes = diff(before, values)
    if product_id is not None and not changes:
        return product
    for name, value in values.items():
        setattr(product, name, value)
    if product_id is not None and ("name" in changes or "sku" in changes):
        product.is_placeholder = False  # a steward has completed it
    product.updated_at = timezone.now()
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:  # saved by someone else this instant
        raise sku_taken(values["sku"]) from None
    audit_record(
        actor=actor,
        action=AuditAction.CREATE if product_id is None else AuditAction.UPDATE,
        target=product,
        changes=changes,
        request=request,
    )
    return product


# --- orders --------------------------------------------------------------------


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


def order_numbers_next(count: int) -> list[str]:
    return sequence_numbers("sales_order_number_seq", ORDER_PREFIX, count)


def ordered_at_clean(value: Any) -> datetime.datetime:
    """Not in the future (a minute's clock drift allowed), not before 1990."""
    if value in (None, ""):
        return timezone.now()
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time(12, 0))
    else:
        raise ValidationError(_("Enter the order date."), code="invalid")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment > timezone.now() + datetime.timedelta(minutes=1):
        raise ValidationError(_("The order date is in the future."), code="future")
    if timezone.localtime(moment).date() < EARLIEST_ORDER:
        raise ValidationError(_("The order date is too far in the past."), code="too_old")
    return moment


def _rate_clean(currency: str, value: Any) -> Decimal:
    if currency == BASE_CURRENCY:
        return Decimal(1)
    try:
        rate = decimal_parse(value)
    except ValueError:
        rate = None
    if rate is None or rate <= 0 or rate > Decimal("100000"):
        raise ValidationError(
            {
                "exchange_rate": ValidationError(
                    _("Enter how many CNY one %(currency)s was worth on the order date."),
                    code="rate_required",
                    params={"currency": currency},
                )
            }
        )
    return rate.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _salesperson_clean(actor: User, customer: Customer, salesperson: User | None) -> User | None:
    if salesperson is None:
        return customer.owner or actor
    if salesperson.pk in (actor.pk, customer.owner_id):
        return salesperson
    if not assignable_owners(actor).filter(pk=salesperson.pk).exists():
        raise ValidationError(
            {
                "salesperson": ValidationError(
                    _("Choose a salesperson from the list."), code="bad_salesperson"
                )
            }
        )
    return salesperson


def _customer_for_orders(actor: User, customer_id: int) -> Customer:
    customer = editable_customers(actor).filter(pk=customer_id).first()
    if customer is None:
        raise ValidationError(
            _("You may not record orders for this customer."), code="forbidden_customer"
        )
    return customer


def _status_times(order: Order, status: str, now: datetime.datetime) -> list[str]:
    """Stamp the moments a status is reached (earlier ones too, when skipped)."""
    stamped = []
    reached = {
        OrderStatus.PAID: ("paid_at",),
        OrderStatus.SHIPPED: ("paid_at", "shipped_at"),
        OrderStatus.COMPLETED: ("paid_at", "completed_at"),
        OrderStatus.CANCELLED: ("cancelled_at",),
    }.get(status, ())
    for name in reached:
        if getattr(order, name) is None:
            setattr(order, name, now)
            stamped.append(name)
    return stamped


def _lines_audit(lines: Sequence[Mapping[str, Any]]) -> list[str]:
    return [
        f"{line['description']} × {line['quantity'].normalize():f} = {line['line_total']}"
        for line in lines
    ]


def _lines_write(order: Order, lines: Sequence[Mapping[str, Any]]) -> None:
    OrderLine.objects.bulk_create(
        OrderLine(order=order, position=position, **line) for position, line in enumerate(lines)
    )


def _order_values(
    actor: User,
    customer: Customer,
    data: Mapping[str, Any],
    lines: Sequence[LineInput],
    errors: dict[str, list] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The order's own fields and its checked lines, or one ValidationError with
    every problem (the order's fields by name, the lines as `lines.N.field`)."""
    errors = dict(errors or {})
    values: dict[str, Any] = {"notes": str(data.get("notes") or "").strip()}
    try:
        values["currency"] = _currency_clean(data.get("currency"))
    except ValidationError as exc:
        errors.update(exc.error_dict)
        values["currency"] = BASE_CURRENCY
    for name, clean_value in (
        ("ordered_at", lambda: ordered_at_clean(data.get("ordered_at"))),
        ("exchange_rate", lambda: _rate_clean(values["currency"], data.get("exchange_rate"))),
        ("salesperson", lambda: _salesperson_clean(actor, customer, data.get("salesperson"))),
    ):
        try:
            values[name] = clean_value()
        except ValidationError as exc:
            errors.update(exc.error_dict if hasattr(exc, "error_dict") else {name: [exc]})
    clean_lines: list[dict[str, Any]] = []
    try:
        clean_lines = order_lines_clean(lines, values["currency"])
    except ValidationError as exc:
        errors.update(exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: [exc]})
    if errors:
        raise ValidationError(errors)
    return values, clean_lines


INITIAL_STATUSES = (
    OrderStatus.PENDING,
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.COMPLETED,
)


@transaction.atomic
def order_create(
    *,
    actor: User,
    customer_id: int,
    data: Mapping[str, Any],
    lines: Sequence[LineInput],
    opportunity_id: int | None = None,
    request=None,
) -> Order:
    """Record an order for a customer the actor may work on. `data`: salesperson,
    ordered_at, status (pending, or already paid/shipped/completed for a sale
    recorded afterwards), currency, exchange_rate, notes. With `opportunity_id`,
    the order is the one that won opportunity of the customer creates."""
    from sales.pipeline import opportunity_for_order, opportunity_order_link

    if not actor.has_perm("sales.add_order"):
        raise ValidationError(_("You may not record orders."), code="forbidden")
    customer = _customer_for_orders(actor, customer_id)
    opportunity = None
    if opportunity_id is not None:
        opportunity = opportunity_for_order(actor, opportunity_id, customer.pk)
    status = data.get("status") or OrderStatus.PENDING
    extra_errors = {}
    if status not in INITIAL_STATUSES:
        extra_errors["status"] = [
            ValidationError(_("Choose a status from the list."), code="invalid")
        ]
    values, clean_lines = _order_values(actor, customer, data, lines, extra_errors)
    now = timezone.now()
    salesperson = values.pop("salesperson")
    order = Order(
        number=order_numbers_next(1)[0],
        customer=customer,
        salesperson=salesperson,
        team_id=salesperson.team_id if salesperson else None,
        status=status,
        total=sum((line["line_total"] for line in clean_lines), ZERO),
        source=OrderSource.MANUAL,
        created_by=actor,
        created_at=now,
        updated_at=now,
        **values,
    )
    _status_times(order, status, order.ordered_at if status != OrderStatus.PENDING else now)
    order.save()
    _lines_write(order, clean_lines)
    orders_changed.send(sender=Order, order_ids=[order.pk])  # completed: points at once
    metrics_refresh([customer.pk])
    sales_days_refresh([order_key(order.ordered_at, order.salesperson_id, order.team_id)])
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target=order,
        changes={
            "customer": (None, customer.number),
            "salesperson": (None, salesperson.get_username() if salesperson else None),
            "status": (None, status),
            "total": (None, order.total),
            "currency": (None, order.currency),
            "lines": (None, _lines_audit(clean_lines)),
        },
        extra={"version": order.version},
        request=request,
    )
    if opportunity is not None:
        opportunity_order_link(actor=actor, opportunity=opportunity, order=order, request=request)
    return order


def customer_object_locked(queryset, actor: User, pk: int, permission: str, refusal: str):
    """The row (an order, opportunity, contract…), locked, if the actor has
    `permission` and may work on its customer; ValidationError(refusal) otherwise."""
    row = queryset.select_for_update(of=("self",)).select_related("customer").filter(pk=pk).first()
    if (
        row is None
        or not actor.has_perm(permission)
        or not editable_customers(actor).filter(pk=row.customer_id).exists()
    ):
        raise ValidationError(refusal, code="forbidden")
    return row


def editable_order_locked(actor: User, order_id: int) -> Order:
    """The order, locked, if the actor may change it (its customer is theirs to work on)."""
    return customer_object_locked(
        Order.objects, actor, order_id, "sales.change_order", _("You may not change this order.")
    )


def _order_saved(
    order: Order,
    actor: User,
    changes: Mapping[str, tuple],
    fields: list[str] | None,
    request=None,
    extra: Mapping[str, Any] | None = None,
) -> Order:
    """Save a changed order (`fields`, or all of it) under a new version, tell
    the layers above (loyalty points: sales.signals.orders_changed), refresh the
    customer's metrics and the order's sales day, and audit the change."""
    versioned_save(order, actor, changes, fields=fields, request=request, extra=extra)
    orders_changed.send(sender=Order, order_ids=[order.pk])
    metrics_refresh([order.customer_id])
    sales_days_refresh([order_key(order.ordered_at, order.salesperson_id, order.team_id)])
    return order


class OrderConflict(ValidationError):
    def __init__(self):
        super().__init__(
            _(
                "Someone else changed this order while you were editing. Reload it to see "
                "their changes, then make yours again."
            ),
            code="stale",
        )


@transaction.atomic
def order_update(
    *,
    actor: User,
    order_id: int,
    version: int,
    data: Mapping[str, Any],
    lines: Sequence[LineInput],
    request=None,
) -> Order:
    """Change an order that waits for payment: its lines, date, salesperson,
    currency and notes. Paid orders are settled; refunds give money back."""
    order = editable_order_locked(actor, order_id)
    if order.version != version:
        raise OrderConflict()
    if not order.lines_editable:
        raise ValidationError(
            _("Only orders waiting for payment can be changed; record a refund instead."),
            code="settled",
        )
    values, clean_lines = _order_values(actor, order.customer, data, lines)
    salesperson = values.pop("salesperson")
    values["salesperson_id"] = salesperson.pk if salesperson else None
    values["team_id"] = salesperson.team_id if salesperson else None
    values["total"] = sum((line["line_total"] for line in clean_lines), ZERO)
    changes = {
        name.removesuffix("_id"): change
        for name, change in diff({name: getattr(order, name) for name in values}, values).items()
    }
    old_lines = [
        {
            "description": line.description,
            "quantity": line.quantity,
            "line_total": line.line_total,
        }
        for line in order.lines.all()
    ]
    if _lines_audit(old_lines) != _lines_audit(clean_lines):
        changes["lines"] = (_lines_audit(old_lines), _lines_audit(clean_lines))
        order.lines.all().delete()
        _lines_write(order, clean_lines)
    if not changes:
        return order
    for name, value in values.items():
        setattr(order, name, value)
    return _order_saved(order, actor, changes, None, request)


@transaction.atomic
def order_status_change(*, actor: User, order_id: int, status: str, request=None) -> Order:
    """Move an order along: pending → paid → shipped → completed, or pending →
    cancelled. A repeat click changes nothing."""
    order = editable_order_locked(actor, order_id)
    if order.status == status:
        return order
    if status not in order.next_statuses():
        raise ValidationError(
            _("An order that is “%(now)s” cannot become “%(new)s”."),
            code="bad_move",
            params={
                "now": order.get_status_display(),
                "new": OrderStatus(status).label if status in OrderStatus.values else status,
            },
        )
    old = order.status
    order.status = status
    stamped = _status_times(order, status, timezone.now())
    changes = {"status": (old, status)}
    return _order_saved(order, actor, changes, ["status", *stamped], request)


@transaction.atomic
def refund_create(
    *,
    actor: User,
    order_id: int,
    amount: Any,
    reason: str,
    refunded_at: datetime.datetime | None = None,
    request=None,
) -> Refund:
    """Give back part or all of a paid order. When the refunds reach the total the
    order is "refunded" and no longer counts as a purchase."""
    if not actor.has_perm("sales.refund_order"):
        raise ValidationError(_("You may not record refunds."), code="forbidden")
    order = editable_order_locked(actor, order_id)
    if order.status not in PURCHASE_STATUSES:
        raise ValidationError(_("Only paid orders can be refunded."), code="not_refundable")
    errors: dict[str, list] = {}
    try:
        value = money_clean(amount, order.currency)
        if value == 0:
            raise ValidationError(_("Enter an amount above zero."), code="not_positive")
        if value > order.refundable:
            raise ValidationError(
                _("At most %(max)s can still be refunded on this order."),
                code="over_refund",
                params={"max": order.refundable},
            )
    except ValidationError as exc:
        errors["amount"] = [exc]
    reason = " ".join(str(reason or "").split())
    if not reason:
        errors["reason"] = [ValidationError(_("Say why the money goes back."), code="required")]
    else:
        length_check(errors, "reason", reason, 500)
    moment = timezone.now()
    if refunded_at is not None:
        try:
            moment = ordered_at_clean(refunded_at)
        except ValidationError as exc:
            errors["refunded_at"] = [exc]
    if errors:
        raise ValidationError(errors)
    refund = Refund.objects.create(
        order=order, amount=value, reason=reason, refunded_at=moment, actor=actor
    )
    old_status = order.status
    order.refunded += value
    changes: dict[str, tuple] = {"refunded": (order.refunded - value, order.refunded)}
    if order.refunded == order.total:
        order.status = OrderStatus.REFUNDED
        changes["status"] = (old_status, order.status)
    extra = {"refund": refund.pk, "reason": reason}
    _order_saved(order, actor, changes, ["refunded", "status"], request, extra)
    return refund
