"""Points and coupons: every write checked, locked and audited.

A customer's balance is the sum of its ledger lines (`PointsEntry`), never a
typed number. Every write that spends points locks the customer row first, so
two redemptions at the same moment cannot both pass the balance check; a coupon
is locked before it is redeemed, so exactly one of two simultaneous redemptions
wins.
"""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_record
from crm.models import AuditAction, User
from customers.models import Customer
from feedback.models import Coupon, CouponReason, PointsEntry, PointsKind
from interactions.selectors import servable_customers
from sales.services import money_clean

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
MAX_POINTS = 10_000_000


def points_balance(customer: Customer | int) -> int:
    customer_id = getattr(customer, "pk", customer)
    total = PointsEntry.objects.filter(customer_id=customer_id).aggregate(total=Sum("points"))
    return total["total"] or 0


def _customer_locked(actor: User, customer_id: int) -> Customer:
    customer = servable_customers(actor).filter(pk=customer_id).first()
    if customer is None:
        raise ValidationError(_("You may not change this customer's points."), code="forbidden")
    return Customer.objects.select_for_update().get(pk=customer.pk)


def _points(value: Any) -> int:
    try:
        points = int(str(value).strip())
    except (TypeError, ValueError):
        points = 0
    if points == 0 or abs(points) > MAX_POINTS:
        raise ValidationError(
            {"points": ValidationError(_("Give a whole number of points other than 0."), "invalid")}
        )
    return points


def _entry(actor, customer, kind, points, reason, request, **extra) -> PointsEntry:
    entry = PointsEntry.objects.create(
        customer=customer, kind=kind, points=points, reason=reason[:200], actor=actor, **extra
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target=entry,
        changes={"customer": (None, customer.number), "kind": (None, kind),
                 "points": (None, points), "reason": (None, entry.reason)},
        request=request,
    )  # fmt: skip
    return entry


@transaction.atomic
def points_adjust(
    *, actor: User, customer_id: int, points: Any, reason: str, request=None
) -> PointsEntry:
    """A manager's correction, up or down (never below a zero balance)."""
    if not actor.has_perm("feedback.add_pointsentry"):
        raise ValidationError(_("You may not adjust points."), code="forbidden")
    customer = _customer_locked(actor, customer_id)
    amount = _points(points)
    reason = str(reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ValidationError(_("Say why."), "required")})
    if points_balance(customer) + amount < 0:
        raise ValidationError(
            {"points": ValidationError(_("The balance cannot go below zero."), "negative")}
        )
    return _entry(actor, customer, PointsKind.ADJUSTED, amount, reason, request)


@transaction.atomic
def points_redeem(
    *, actor: User, customer_id: int, points: Any, reason: str = "", request=None
) -> PointsEntry:
    """Spend points: refused beyond the balance, with the balance in the message."""
    customer = _customer_locked(actor, customer_id)
    amount = _points(points)
    if amount < 0:
        raise ValidationError({"points": ValidationError(_("Redeem a positive number."), "sign")})
    balance = points_balance(customer)
    if amount > balance:
        raise ValidationError(
            {
                "points": ValidationError(
                    _("Only %(balance)d points left: %(wanted)d cannot be redeemed.")
                    % {"balance": balance, "wanted": amount},
                    "beyond_balance",
                )
            }
        )
    return _entry(actor, customer, PointsKind.REDEEMED, -amount, reason or _("Redeemed"), request)


def _code() -> str:
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"KH-{body[:4]}-{body[4:]}"


@transaction.atomic
def coupon_issue(
    *,
    actor: User,
    customer_id: int,
    value: Any = None,
    percent: Any = None,
    reason: str = CouponReason.MANUAL,
    valid_from: datetime.date | None = None,
    valid_until: datetime.date | None = None,
    request=None,
) -> Coupon:
    """A coupon for the customer: a value in CNY or a percentage off, in a window."""
    if not actor.has_perm("feedback.add_coupon"):
        raise ValidationError(_("You may not issue coupons."), code="forbidden")
    customer = servable_customers(actor).filter(pk=customer_id).first()
    if customer is None:
        raise ValidationError(_("You may not issue coupons to this customer."), code="forbidden")
    errors: dict[str, list] = {}
    amount: Decimal | None = None
    share: int | None = None
    if value not in (None, "") and percent not in (None, ""):
        errors["percent"] = [ValidationError(_("Give a value or a percentage, not both."), "both")]
    elif value not in (None, ""):
        try:
            amount = money_clean(value, "CNY")
        except ValidationError as exc:
            errors["value"] = exc.error_list
        if amount is not None and not Decimal(0) < amount < Decimal(100_000_000):
            errors["value"] = [
                ValidationError(_("Give a value above zero and below 100,000,000."), "invalid")
            ]
    elif percent not in (None, ""):
        try:
            share = int(str(percent).strip().rstrip("%"))
        except ValueError:
            share = 0
        if not 1 <= share <= 100:
            errors["percent"] = [ValidationError(_("Give a percentage from 1 to 100."), "invalid")]
    else:
        errors["value"] = [ValidationError(_("Give a value or a percentage."), "required")]
    if reason not in CouponReason.values:
        errors["reason"] = [ValidationError(_("Choose from the list."), "invalid")]
    start = valid_from or timezone.localdate()
    end = valid_until or start + datetime.timedelta(days=90)
    if end < start:
        errors["valid_until"] = [
            ValidationError(_("The coupon must end on or after its first day."), "window")
        ]
    if errors:
        raise ValidationError(errors)
    coupon = Coupon.objects.create(
        code=_code(), customer=customer, value=amount, percent=share, reason=reason,
        valid_from=start, valid_until=end, issued_by=actor,
    )  # fmt: skip
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target=coupon,
        changes={"customer": (None, customer.number), "value": (None, amount),
                 "percent": (None, share), "reason": (None, reason),
                 "valid_until": (None, end)},
        request=request,
    )  # fmt: skip
    return coupon


@transaction.atomic
def coupon_redeem(*, actor: User, coupon_id: int, order_id: int | None = None, request=None):
    """Redeem a coupon once, in its window, optionally on one of its customer's
    orders. Of two redemptions at the same moment exactly one wins."""
    coupon = Coupon.objects.select_for_update().filter(pk=coupon_id).first()
    if (
        coupon is None
        or not actor.has_perm("feedback.change_coupon")
        or not servable_customers(actor).filter(pk=coupon.customer_id).exists()
    ):
        raise ValidationError(_("You may not redeem this coupon."), code="forbidden")
    state = coupon.state()
    if state == "redeemed":
        raise ValidationError(
            _("Coupon %(code)s was already redeemed.") % {"code": coupon.code}, code="redeemed"
        )
    if state in ("expired", "not_yet"):
        raise ValidationError(
            _("Coupon %(code)s is valid from %(start)s to %(end)s.")
            % {"code": coupon.code, "start": coupon.valid_from, "end": coupon.valid_until},
            code=state,
        )
    order = None
    if order_id is not None:
        order = coupon.customer.orders.filter(pk=order_id).first()
        if order is None:
            raise ValidationError(
                {"order": ValidationError(_("Choose one of this customer's orders."), "invalid")}
            )
    coupon.redeemed_at, coupon.redeemed_order = timezone.now(), order
    coupon.save(update_fields=["redeemed_at", "redeemed_order"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target=coupon,
        changes={"redeemed_at": (None, coupon.redeemed_at),
                 "redeemed_order": (None, order.number if order else None)},
        request=request,
    )  # fmt: skip
    return coupon
