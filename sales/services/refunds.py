"""Money given back on a paid order: part of it or all of it, with the reason.
A refund is a record of its own; the order keeps the sum of its refunds and
becomes "refunded", no longer a purchase, when that sum reaches its total. The
order is saved, audited and its customer's metrics refreshed as for any other
change to an order."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import User
from crm.normalise import length_check
from sales.models import PURCHASE_STATUSES, OrderStatus, Refund
from sales.services.orders import _order_saved, editable_order_locked, ordered_at_clean
from sales.services.values import money_clean


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
