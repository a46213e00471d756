"""A customer's figures, one row each: the numbers derived from its orders and
interactions (`customers.metrics.metrics_refresh`), and what `segmentation` sets
at its as-of day (RFM scores and segment, frequency and value tiers, the
lifecycle stage, the repeat-purchase model's predictions), with their choice
lists. Never typed: set-based SQL recomputes them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models.customer import Customer, Stage


class FrequencyTier(models.TextChoices):
    HIGH = "high", pgettext_lazy("frequency tier", "High")
    MEDIUM = "medium", pgettext_lazy("frequency tier", "Medium")
    LOW = "low", pgettext_lazy("frequency tier", "Low")
    NONE = "none", pgettext_lazy("frequency tier", "None")


class ValueTier(models.TextChoices):
    HIGH = "high", pgettext_lazy("value tier", "High")
    MEDIUM = "medium", pgettext_lazy("value tier", "Medium")
    LOW = "low", pgettext_lazy("value tier", "Low")


class RfmSegment(models.TextChoices):
    """The named RFM segments over the R × F grid (docs/segmentation.md)."""

    CHAMPIONS = "champions", pgettext_lazy("rfm segment", "Champions")
    LOYAL = "loyal", pgettext_lazy("rfm segment", "Loyal")
    POTENTIAL_LOYALISTS = "potential", pgettext_lazy("rfm segment", "Potential loyalists")
    NEW = "new", pgettext_lazy("rfm segment", "New customers")
    PROMISING = "promising", pgettext_lazy("rfm segment", "Promising")
    NEED_ATTENTION = "attention", pgettext_lazy("rfm segment", "Need attention")
    ABOUT_TO_SLEEP = "sleepy", pgettext_lazy("rfm segment", "About to sleep")
    AT_RISK = "at_risk", pgettext_lazy("rfm segment", "At risk")
    CANT_LOSE = "cant_lose", pgettext_lazy("rfm segment", "Can't lose them")
    HIBERNATING = "hibernating", pgettext_lazy("rfm segment", "Hibernating")
    LOST = "lost", pgettext_lazy("rfm segment", "Lost")


class CustomerMetrics(models.Model):
    """Numbers derived from a customer's orders, recomputed by set-based SQL
    (`customers.metrics.metrics_refresh`), never typed. Amounts are net of refunds
    and converted to CNY at each order's rate."""

    customer = models.OneToOneField(
        Customer,
        verbose_name=_("customer"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="metrics",
    )
    orders_count = models.PositiveIntegerField(pgettext_lazy("count", "orders"), default=0)
    total_spent = models.DecimalField(_("total spent"), max_digits=16, decimal_places=2, default=0)
    average_order_value = models.DecimalField(
        _("average order value"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    first_purchase_at = models.DateTimeField(_("first purchase"), null=True, blank=True)
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    # The median number of days between purchases on different days.
    purchase_interval_days = models.DecimalField(
        _("usual days between purchases"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    # Who made the first purchase, and their team then (0: nobody): the new customers
    # of a salesperson or team in a period are counted from here (sales.performance).
    first_salesperson_key = models.PositiveBigIntegerField(_("first purchase by"), default=0)
    first_team_key = models.PositiveBigIntegerField(_("first purchase by team"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"), default=timezone.now)
    # The latest interaction, whatever its date (`metrics_refresh` keeps these in
    # step with every interaction saved).
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    last_contact_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last contact by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    last_contact_channel = models.CharField(
        _("last contact channel"), max_length=10, blank=True, default="", db_default=""
    )
    interactions_count = models.PositiveIntegerField(
        pgettext_lazy("count", "interactions"), default=0, db_default=0
    )

    # Set by `segmentation` at its as-of day (DESIGN §3, docs/segmentation.md).
    as_of = models.DateField(_("as of"), null=True, blank=True)
    purchase_days = models.PositiveIntegerField(_("purchase days"), default=0, db_default=0)
    purchase_days_12m = models.PositiveIntegerField(
        _("purchase days in 12 months"), default=0, db_default=0
    )
    mean_interval_days = models.DecimalField(
        _("average days between purchases"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    days_since_purchase = models.IntegerField(_("days since last purchase"), null=True, blank=True)
    # The repeat-purchase model's inputs (segmentation.scoring._INPUTS): the first
    # purchase day and the average value of the later purchase days.
    first_purchase_on = models.DateField(_("first purchase day"), null=True, blank=True)
    repeat_spend = models.DecimalField(
        _("average repeat purchase"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    days_since_contact = models.IntegerField(_("days since last contact"), null=True, blank=True)
    interactions_90d = models.PositiveIntegerField(
        _("interactions in 90 days"), default=0, db_default=0
    )
    usual_interactions_90d = models.DecimalField(
        _("usual interactions per 90 days"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    # What the usual rate is worked out from, kept so the nightly run moves it to
    # the next day without reading the interactions again (segmentation.figures).
    first_contact_at = models.DateTimeField(_("first contact"), null=True, blank=True)
    interactions_before = models.PositiveIntegerField(
        _("interactions in the year before the last 90 days"), default=0, db_default=0
    )
    recency_score = models.PositiveSmallIntegerField("R", null=True, blank=True)
    frequency_score = models.PositiveSmallIntegerField("F", null=True, blank=True)
    monetary_score = models.PositiveSmallIntegerField("M", null=True, blank=True)
    rfm_segment = models.CharField(
        _("RFM segment"), max_length=20, choices=RfmSegment.choices, blank=True, default="",
        db_default="",
    )  # fmt: skip
    frequency_tier = models.CharField(
        _("frequency tier"), max_length=10, choices=FrequencyTier.choices,
        default=FrequencyTier.NONE, db_default=FrequencyTier.NONE,
    )  # fmt: skip
    value_tier = models.CharField(
        _("value tier"), max_length=10, choices=ValueTier.choices, blank=True, default="",
        db_default="",
    )  # fmt: skip
    lifecycle = models.CharField(
        _("lifecycle stage"), max_length=10, choices=Stage.choices, default=Stage.LEAD,
        db_default=Stage.LEAD,
    )  # fmt: skip
    key_account_suggested = models.BooleanField(
        _("suggested key account"), default=False, db_default=False
    )
    p_alive = models.DecimalField(
        _("P(alive)"), max_digits=5, decimal_places=4, null=True, blank=True
    )
    expected_purchases_90d = models.DecimalField(
        _("expected purchases in 90 days"), max_digits=9, decimal_places=3, null=True, blank=True
    )
    expected_value_12m = models.DecimalField(
        _("expected value in 12 months"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    next_purchase_on = models.DateField(_("next purchase expected"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer metrics")
        verbose_name_plural = _("customer metrics")
        indexes = [
            models.Index(fields=["last_purchase_at"], name="customers_metrics_last_idx"),
            models.Index(fields=["total_spent"], name="customers_metrics_spent_idx"),
            models.Index(
                fields=["first_salesperson_key", "first_purchase_at"],
                name="customers_metrics_first_idx",
            ),
            models.Index(
                fields=["first_team_key", "first_purchase_at"], name="customers_metrics_fteam_idx"
            ),
            models.Index(fields=["next_purchase_on"], name="customers_metrics_next_idx"),
            # The dashboards' customers at risk, most valuable first.
            models.Index(fields=["lifecycle", "-total_spent"], name="customers_metrics_risk_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.orders_count} / {self.total_spent}"
