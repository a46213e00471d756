"""Points and coupons: every write checked, locked and audited.

A customer's balance is the sum of its ledger lines (`PointsEntry`), never a
typed number. Every write that spends points locks the customer row first, so
two redemptions at the same moment cannot both pass the balance check; a coupon
is locked before it is redeemed, so exactly one of two simultaneous redemptions
wins.
"""

from __future__ import annotations

import calendar
import datetime
import secrets
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_copy_rows, audit_record
from crm.models import AuditAction, AuditEvent, User
from customers.models import Customer, CustomerKind
from feedback.models import Coupon, CouponReason, LoyaltyRules, PointsEntry, PointsKind
from interactions.selectors import servable_customers
from sales.services.values import money_clean

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
    """A coupon for the customer: a value in CNY or a percentage off, in a
    window. A birthday or win-back coupon without a value takes the rules'
    value; the window is the rules' number of days from `valid_from` unless
    given."""
    if not actor.has_perm("feedback.add_coupon"):
        raise ValidationError(_("You may not issue coupons."), code="forbidden")
    customer = servable_customers(actor).filter(pk=customer_id).first()
    if customer is None:
        raise ValidationError(_("You may not issue coupons to this customer."), code="forbidden")
    errors: dict[str, list] = {}
    amount: Decimal | None = None
    share: int | None = None
    rules = LoyaltyRules.current()
    if value in (None, "") and percent in (None, ""):
        value = {
            CouponReason.BIRTHDAY: rules.birthday_coupon_value,
            CouponReason.WIN_BACK: rules.win_back_coupon_value,
        }.get(reason)
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
    end = valid_until or start + datetime.timedelta(days=rules.coupon_valid_days - 1)
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


# --- the rules: earning, expiry, birthday coupons --------------------------------


def _add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later (the month's last day where it has no such day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last))


def points_expiry_date(moment: datetime.datetime, rules: LoyaltyRules | None = None):
    """When points earned at `moment` expire (None: never)."""
    rules = rules or LoyaltyRules.current()
    if not rules.points_valid_months:
        return None
    return _add_months(timezone.localdate(moment), rules.points_valid_months)


# The points an order should have brought: completed orders earn on what was
# paid less refunds, at the order's rate to CNY and at the points rate of the
# day they first earned (a later change of the rules does not re-price old
# orders); every other status (refunded, cancelled, not yet completed) earns
# nothing. The statement adds the difference to what the order already
# brought: "earned" the first time, an adjustment after (a refund takes back
# its share). Running it again adds nothing, so it is safe at every order
# change and in the nightly run. It runs after the orders and their customers
# are locked, in a statement of its own, so it reads what the transactions it
# waited for wrote.
_ORDER_POINTS_SQL = """
WITH have AS (
    SELECT p.order_id, SUM(p.points)::int AS got,
           MAX(p.rate) FILTER (WHERE p.kind = 'earned') AS rate
    FROM feedback_pointsentry p
    WHERE p.order_id = ANY(%(ids)s)
    GROUP BY p.order_id
), target AS (
    SELECT o.id, o.customer_id, h.got, COALESCE(h.rate, %(rate)s) AS rate,
           CASE WHEN o.status = 'completed'
                THEN FLOOR(GREATEST(o.total - o.refunded, 0) * o.exchange_rate
                           * COALESCE(h.rate, %(rate)s))::int
                ELSE 0 END AS want
    FROM sales_order o LEFT JOIN have h ON h.order_id = o.id
    WHERE o.id = ANY(%(ids)s)
)
INSERT INTO feedback_pointsentry
    (customer_id, kind, points, reason, order_id, rate, expires_on, created_at)
SELECT customer_id,
       CASE WHEN got IS NULL THEN 'earned' ELSE 'adjusted' END,
       want - COALESCE(got, 0), '', id,
       CASE WHEN got IS NULL THEN rate END,
       CASE WHEN got IS NULL THEN %(expires_on)s::date END,
       %(now)s
FROM target
WHERE want <> COALESCE(got, 0)
RETURNING customer_id
"""

# Orders whose points are not what the rules say: completed orders without
# their points yet, and orders whose points no longer match (refunded, moved).
_ORDERS_TO_SYNC_SQL = """
SELECT o.id
FROM sales_order o
LEFT JOIN (
    SELECT order_id, SUM(points)::int AS got, MAX(rate) FILTER (WHERE kind = 'earned') AS rate
    FROM feedback_pointsentry WHERE order_id IS NOT NULL GROUP BY order_id
) h ON h.order_id = o.id
WHERE (o.status = 'completed' OR h.got IS NOT NULL)
  AND COALESCE(h.got, 0) <> CASE WHEN o.status = 'completed'
        THEN FLOOR(GREATEST(o.total - o.refunded, 0) * o.exchange_rate
                   * COALESCE(h.rate, %(rate)s))::int
        ELSE 0 END
ORDER BY o.id
"""


def _customers_lock(cursor, ids) -> None:
    """Lock these customers' rows in id order (as every points write does, so
    two of them wait for each other rather than deadlock)."""
    cursor.execute(
        "SELECT id FROM customers_customer WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids]
    )


def points_follow_orders(sender, order_ids: Sequence[int], **kwargs) -> None:
    """sales.signals.orders_changed: an order recorded or changed earns, or gives
    back, its points (connected in FeedbackConfig.ready)."""
    order_points_sync(order_ids)


def order_points_sync(order_ids: Sequence[int], *, now=None) -> int:
    """Bring the points of these orders in line with the rules. The orders and
    then their customers are locked first (in id order, as a redemption and
    the expiry lock customers), so a refund, an expiry and a redemption never
    count the same points twice. Returns the ledger lines written."""
    ids = sorted(set(order_ids))
    if not ids:
        return 0
    now = now or timezone.now()
    rules = LoyaltyRules.current()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT customer_id FROM sales_order WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids]
        )
        customers = sorted({row[0] for row in cursor.fetchall()})
        _customers_lock(cursor, customers)
        cursor.execute(
            _ORDER_POINTS_SQL,
            {
                "ids": ids,
                "rate": rules.points_per_cny,
                "expires_on": points_expiry_date(now, rules),
                "now": now,
            },
        )
        return cursor.rowcount


def orders_points_sync(*, now=None, batch: int = 5_000) -> int:
    """The nightly catch-up for every order (imports, rule changes): finds the
    orders out of line in one query, then syncs them in batches."""
    rules = LoyaltyRules.current()
    with connection.cursor() as cursor:
        cursor.execute(_ORDERS_TO_SYNC_SQL, {"rate": rules.points_per_cny})
        ids = [row[0] for row in cursor.fetchall()]
    written = 0
    for start in range(0, len(ids), batch):
        written += order_points_sync(ids[start : start + batch], now=now)
    return written


# Points expire oldest first. An order counts as one grain: what it earned net
# of what its refunds took back, expiring with its earned line; every other
# line is a grain of its own (a survey bonus expires, an adjustment does not).
# Whatever was spent (redeemed, expired, negative adjustments) is counted
# against the oldest grains, so what is left of the grains due by `as_of` is
# expired now, never more than the balance. The customers are locked first,
# as a redemption does, so the two cannot cross; the first statement finds who
# has something due, the second counts it again under the lock.
_EXPIRE_CANDIDATES_SQL = """
WITH grains AS (
    SELECT customer_id, SUM(points) AS points, MAX(expires_on) AS expires_on
    FROM feedback_pointsentry
    WHERE order_id IS NOT NULL
    GROUP BY customer_id, order_id
    UNION ALL
    SELECT customer_id, points, expires_on
    FROM feedback_pointsentry
    WHERE order_id IS NULL
), due AS (
    SELECT customer_id,
           SUM(points) AS balance,
           COALESCE(SUM(points) FILTER (WHERE points > 0 AND expires_on <= %(as_of)s), 0)
               AS expirable,
           COALESCE(-SUM(points) FILTER (WHERE points < 0), 0) AS spent
    FROM grains
    GROUP BY customer_id
)
SELECT customer_id FROM due WHERE LEAST(balance, expirable - spent) > 0 ORDER BY customer_id
"""
_EXPIRE_SQL = """
WITH grains AS (
    SELECT customer_id, SUM(points) AS points, MAX(expires_on) AS expires_on
    FROM feedback_pointsentry
    WHERE order_id IS NOT NULL AND customer_id = ANY(%(ids)s)
    GROUP BY customer_id, order_id
    UNION ALL
    SELECT customer_id, points, expires_on
    FROM feedback_pointsentry
    WHERE order_id IS NULL AND customer_id = ANY(%(ids)s)
), due AS (
    SELECT customer_id,
           SUM(points) AS balance,
           COALESCE(SUM(points) FILTER (WHERE points > 0 AND expires_on <= %(as_of)s), 0)
               AS expirable,
           COALESCE(-SUM(points) FILTER (WHERE points < 0), 0) AS spent
    FROM grains
    GROUP BY customer_id
)
INSERT INTO feedback_pointsentry (customer_id, kind, points, reason, created_at)
SELECT customer_id, 'expired', -LEAST(balance, expirable - spent), '', %(now)s
FROM due
WHERE LEAST(balance, expirable - spent) > 0
RETURNING customer_id, -points
"""


def points_expire(*, as_of: datetime.date | None = None, now=None) -> tuple[int, int]:
    """Expire what is due by `as_of` (today by default). Returns (customers,
    points expired); a second run the same day expires nothing. Only the
    customers with something due are locked (as a redemption locks them), and
    what is due is counted again under the lock."""
    as_of = as_of or timezone.localdate()
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_EXPIRE_CANDIDATES_SQL, {"as_of": as_of})
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return 0, 0
        _customers_lock(cursor, ids)
        cursor.execute(_EXPIRE_SQL, {"ids": ids, "as_of": as_of, "now": now})
        rows = cursor.fetchall()
    return len(rows), sum(points for __, points in rows)


def _birthday_filter(day: datetime.date) -> Q:
    birthday = Q(birth_date__month=day.month, birth_date__day=day.day)
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        birthday |= Q(birth_date__month=2, birth_date__day=29)  # celebrated on the 28th
    return birthday


def birthday_coupons_issue(*, as_of: datetime.date | None = None) -> list[Coupon]:
    """The birthday coupon of the rules for every live individual customer
    whose birthday is `as_of`, once a year: a customer who already has this
    year's birthday coupon gets none. Audited as the system's issue."""
    as_of = as_of or timezone.localdate()
    rules = LoyaltyRules.current()
    if rules.birthday_coupon_value is None:
        return []
    with transaction.atomic():
        customers = list(
            Customer.objects.filter(
                _birthday_filter(as_of), kind=CustomerKind.PERSON, deleted_at__isnull=True
            )
            .exclude(  # one subquery: both conditions on the same coupon
                pk__in=Coupon.objects.filter(
                    reason=CouponReason.BIRTHDAY, valid_from__year=as_of.year
                ).values("customer_id")
            )
            .order_by("pk")
            .select_for_update()
            .values_list("pk", "number")
        )
        end = as_of + datetime.timedelta(days=rules.coupon_valid_days - 1)
        coupons = Coupon.objects.bulk_create(
            Coupon(
                code=_code(),
                customer_id=pk,
                value=rules.birthday_coupon_value,
                reason=CouponReason.BIRTHDAY,
                valid_from=as_of,
                valid_until=end,
            )
            for pk, __ in customers
        )
        numbers = dict(customers)
        AuditEvent.objects.bulk_create(
            AuditEvent(**row)
            for row in audit_copy_rows(
                None,
                AuditAction.CREATE,
                Coupon,
                (
                    (
                        coupon.pk,
                        coupon.code,
                        {
                            "customer": [None, numbers[coupon.customer_id]],
                            "value": [None, str(coupon.value)],
                            "reason": [None, coupon.reason],
                        },
                    )
                    for coupon in coupons
                ),
                {"rule": "birthday"},
                actor_repr="loyalty",
            )
        )
    return coupons


def loyalty_nightly(as_of: datetime.date | None = None) -> dict[str, int]:
    """The day's loyalty work: points for orders the day's writes did not
    reach (imports, rule changes), expiry, birthday coupons. Safe to run twice."""
    as_of = as_of or timezone.localdate()
    synced = orders_points_sync()
    customers, expired = points_expire(as_of=as_of)
    coupons = birthday_coupons_issue(as_of=as_of)
    return {
        "order_lines": synced,
        "expired_customers": customers,
        "expired_points": expired,
        "birthday_coupons": len(coupons),
    }
