"""Loyalty: the points ledger (a customer's balance is the sum of its lines,
earned on orders and answered surveys, redeemed, expired or adjusted), the
company's one-row loyalty rules (earning rate, expiry, coupon values) and the
coupons issued to customers for feedback, win-back, birthdays or by hand."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import OneRowMixin


class PointsKind(models.TextChoices):
    EARNED = "earned", pgettext_lazy("points", "Earned")
    REDEEMED = "redeemed", pgettext_lazy("points", "Redeemed")
    EXPIRED = "expired", pgettext_lazy("points", "Expired")
    ADJUSTED = "adjusted", pgettext_lazy("points", "Adjusted")


class PointsEntry(models.Model):
    """One line of a customer's points ledger. The balance is the sum of the
    lines, never a typed number; earned points are positive, redeemed and
    expired ones negative, adjustments either."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="points",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=10, choices=PointsKind.choices)
    points = models.IntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    order = models.ForeignKey(
        "sales.Order",
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="points",
    )
    invitation = models.OneToOneField(
        "feedback.SurveyInvitation",
        verbose_name=_("survey answered"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="points",
    )
    rate = models.DecimalField(
        _("points per CNY"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("The rate an order's points are counted at (the rules' on the day it earned)."),
    )
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(points=0), name="feedback_points_not_zero"),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="earned", points__gt=0)
                    | models.Q(kind__in=["redeemed", "expired"], points__lt=0)
                    | models.Q(kind="adjusted")
                ),
                name="feedback_points_sign_by_kind",
            ),
            # An order earns once; later changes (refunds) are adjustments.
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(kind="earned"),
                name="feedback_points_earned_once_per_order",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="feedback_points_cust_idx")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.points:+d}"


class LoyaltyRules(OneRowMixin, models.Model):
    """The company's loyalty rules: one row, edited by admins."""

    points_per_cny = models.DecimalField(
        _("points per CNY spent"),
        max_digits=8,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(0)],
        help_text=_("Earned on completed orders, on what was paid less refunds; 0: no points."),
    )
    points_valid_months = models.PositiveSmallIntegerField(
        _("points valid for (months)"),
        default=24,
        help_text=_("Earned points expire this many months later, oldest first; 0: never."),
    )
    birthday_coupon_value = models.DecimalField(
        _("birthday coupon (CNY)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Issued to individual customers on their birthday; empty: none."),
    )
    win_back_coupon_value = models.DecimalField(
        _("win-back coupon (CNY)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("The value suggested for a customer who stopped buying."),
    )
    coupon_valid_days = models.PositiveSmallIntegerField(
        _("coupons valid for (days)"), default=30, validators=[MinValueValidator(1)]
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("loyalty rules")
        verbose_name_plural = _("loyalty rules")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="feedback_loyalty_rules_one_row"),
            models.CheckConstraint(
                condition=models.Q(points_per_cny__gte=0), name="feedback_loyalty_rate_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(birthday_coupon_value__isnull=True)
                | models.Q(birthday_coupon_value__gt=0),
                name="feedback_loyalty_birthday_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(win_back_coupon_value__isnull=True)
                | models.Q(win_back_coupon_value__gt=0),
                name="feedback_loyalty_win_back_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(coupon_valid_days__gte=1), name="feedback_loyalty_coupon_days"
            ),
        ]

    def __str__(self) -> str:
        return str(_("Loyalty rules"))


class CouponReason(models.TextChoices):
    FEEDBACK = "feedback", pgettext_lazy("coupon reason", "Feedback")
    WIN_BACK = "win_back", pgettext_lazy("coupon reason", "Win-back")
    BIRTHDAY = "birthday", pgettext_lazy("coupon reason", "Birthday")
    MANUAL = "manual", pgettext_lazy("coupon reason", "Manual")


class Coupon(models.Model):
    """A coupon for one customer: a value (CNY) or a percentage off, valid in a
    window, redeemed once (optionally on an order)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="coupons",
    )
    value = models.DecimalField(
        _("value (CNY)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    percent = models.PositiveSmallIntegerField(_("percent off"), null=True, blank=True)
    reason = models.CharField(
        _("issued for"), max_length=10, choices=CouponReason.choices, default=CouponReason.MANUAL
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    redeemed_at = models.DateTimeField(_("redeemed at"), null=True, blank=True)
    redeemed_order = models.ForeignKey(
        "sales.Order",
        verbose_name=_("redeemed on order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="coupons",
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("issued at"), default=timezone.now)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(value__gt=0, percent__isnull=True)
                    | models.Q(value__isnull=True, percent__gte=1, percent__lte=100)
                ),
                name="feedback_coupon_value_or_percent",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("valid_from")),
                name="feedback_coupon_window",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def state(self, today=None) -> str:
        """ "redeemed", "expired", "not_yet" or "valid"."""
        today = today or timezone.localdate()
        if self.redeemed_at is not None:
            return "redeemed"
        if today > self.valid_until:
            return "expired"
        if today < self.valid_from:
            return "not_yet"
        return "valid"
