"""Every write to an order: recording one (by hand, or the order that wins an
opportunity), changing it while it waits for payment, and moving it along its
statuses. Each is checked, locked and audited under a new version; the lines
change only while the order waits for payment, after which money goes back
through refunds. Each write refreshes the customer's purchase metrics and the
order's sales day in the same transaction, and tells the layers above
(`sales.signals.orders_changed`)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_record, diff, versioned_save
from crm.bulkcopy import sequence_numbers
from crm.models import AuditAction, User
from customers.metrics import metrics_refresh
from customers.models import Customer
from customers.selectors import assignable_owners, editable_customers
from sales.models import BASE_CURRENCY, ZERO, Order, OrderLine, OrderSource, OrderStatus
from sales.pipeline import opportunity_for_order, opportunity_order_link
from sales.rollup import order_key, sales_days_refresh
from sales.services.access import customer_object_locked
from sales.services.lines import LineInput, order_lines_clean
from sales.services.values import _currency_clean, decimal_parse
from sales.signals import orders_changed

ORDER_PREFIX = "SO"
EARLIEST_ORDER = datetime.date(1990, 1, 1)


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
