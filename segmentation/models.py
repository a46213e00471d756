"""Segmentation's own records (docs/segmentation.md): the rules of the tiers and
stages, each nightly run with its fitted models, the database's log of the
writes that change a customer's figures, and the churn episodes. The figures
themselves are on the customer's metrics row (customers.CustomerMetrics), which
the customer list filters and sorts by.

These models were made in the customers app; they moved here with their tables
and rows (state-only migrations, customers 0028 and segmentation 0001)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import OneRowMixin
from customers.models import Customer, Stage


class MetricsChange(models.Model):
    """A write to a customer's orders, order lines or interactions, logged by the
    database itself (triggers, migration 0017) whatever made it: a save, an import,
    a bulk update in SQL. The nightly recompute reads exactly these customers'
    figures again (and the sales rollups of these order days) and empties the log."""

    customer_id = models.BigIntegerField(_("customer"))
    ordered_at = models.DateTimeField(_("ordered at"), null=True, blank=True)  # orders only

    class Meta:
        db_table = "customers_metricschange"  # made in the customers app; the table kept
        verbose_name = _("metrics change")
        verbose_name_plural = _("metrics changes")

    def __str__(self) -> str:
        return f"{self.customer_id} {self.ordered_at or ''}".strip()


class ValueTierMode(models.TextChoices):
    SHARE = "share", pgettext_lazy("value tier mode", "By share of buying customers")
    AMOUNT = "amount", pgettext_lazy("value tier mode", "By amount spent")


def _percent(label, default, help_text):
    return models.PositiveSmallIntegerField(
        label, default=default, validators=[MaxValueValidator(100)], help_text=help_text
    )


def _factor(label, default, help_text):
    return models.DecimalField(
        label, max_digits=4, decimal_places=1, default=Decimal(default),
        validators=[MinValueValidator(Decimal("1.0"))], help_text=help_text,
    )  # fmt: skip


def _probability(label, default, help_text):
    return models.DecimalField(
        label, max_digits=3, decimal_places=2, default=Decimal(default),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("0.99"))],
        help_text=help_text,
    )  # fmt: skip


class SegmentationRules(OneRowMixin, models.Model):
    """The thresholds of the tiers and the lifecycle stages: one row, edited by
    admins; the defaults are documented in docs/segmentation.md."""

    frequency_high = models.PositiveSmallIntegerField(
        _("high frequency from (purchase days in 12 months)"), default=6,
        validators=[MinValueValidator(2)],
    )  # fmt: skip
    frequency_medium = models.PositiveSmallIntegerField(
        _("medium frequency from (purchase days in 12 months)"), default=2,
        validators=[MinValueValidator(1)],
        help_text=_("Below this but at least one purchase day: low; none in 12 months: none."),
    )  # fmt: skip
    value_mode = models.CharField(
        _("value tiers"), max_length=10, choices=ValueTierMode.choices, default=ValueTierMode.SHARE
    )
    value_high_share = _percent(
        _("high value: top share (%)"), 20, _("The top share of buying customers by total spent.")
    )
    value_medium_share = _percent(
        _("medium value: next share (%)"), 30, _("The share after the high tier; the rest: low.")
    )
    value_high_amount = models.DecimalField(
        _("high value from (CNY spent)"), max_digits=16, decimal_places=2,
        default=Decimal("50000"), validators=[MinValueValidator(Decimal("0.01"))],
    )  # fmt: skip
    value_medium_amount = models.DecimalField(
        _("medium value from (CNY spent)"), max_digits=16, decimal_places=2,
        default=Decimal("5000"), validators=[MinValueValidator(Decimal("0.01"))],
    )  # fmt: skip
    default_interval_days = models.PositiveSmallIntegerField(
        _("usual days between purchases when unknown"), default=90,
        validators=[MinValueValidator(1)],
        help_text=_(
            "For customers who bought on one day only, while no customer has bought twice; "
            "otherwise the median of the repeat buyers' own intervals is used."
        ),
    )  # fmt: skip
    at_risk_factor = _factor(
        _("at risk after (× own interval)"), "1.5",
        _("At risk when the days since the last purchase exceed this many usual intervals."),
    )  # fmt: skip
    churned_factor = _factor(
        _("churned after (× own interval)"), "3.0",
        _("Churned when past this many usual intervals and the model agrees (below)."),
    )  # fmt: skip
    at_risk_p_alive = _probability(
        _("at risk below P(alive)"), "0.50",
        _("At risk when the model's probability that the customer is still active is lower."),
    )  # fmt: skip
    churned_p_alive = _probability(
        _("churned below P(alive)"), "0.20",
        _("With the interval rule: churned when the probability is lower (or unknown)."),
    )  # fmt: skip
    contact_drop_share = _percent(
        _("interaction drop below (percent of usual)"), 50,
        _("Fewer interactions in 90 days than this share of the customer's usual rate."),
    )  # fmt: skip
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        db_table = "customers_segmentationrules"  # made in the customers app; the table kept
        verbose_name = _("segmentation rules")
        verbose_name_plural = _("segmentation rules")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id=1), name="customers_segmentation_rules_one_row"
            ),
        ]

    def __str__(self) -> str:
        return str(_("Segmentation rules"))

    def clean(self) -> None:
        def reaches(lower, upper) -> bool:
            """The value meant to be lower is not (both given)."""
            return lower is not None and upper is not None and lower >= upper

        errors = {}
        if reaches(self.frequency_medium, self.frequency_high):
            errors["frequency_medium"] = _("Must be lower than the high frequency.")
        if (self.value_high_share or 0) + (self.value_medium_share or 0) > 100:
            errors["value_medium_share"] = _("The two shares add up to more than 100%.")
        if reaches(self.value_medium_amount, self.value_high_amount):
            errors["value_medium_amount"] = _("Must be lower than the high value amount.")
        if reaches(self.at_risk_factor, self.churned_factor):
            errors["churned_factor"] = _("Must be more than the at-risk factor.")
        if reaches(self.churned_p_alive, self.at_risk_p_alive):
            errors["churned_p_alive"] = _("Must be lower than the at-risk probability.")
        if errors:
            raise ValidationError(errors)


class MetricsRun(models.Model):
    """One recompute of every customer's metrics, tiers, RFM and model scores,
    with the parameters the models were fitted to (shown to admins)."""

    class Status(models.TextChoices):
        RUNNING = "running", pgettext_lazy("metrics run", "Running")
        DONE = "done", pgettext_lazy("metrics run", "Done")
        FAILED = "failed", pgettext_lazy("metrics run", "Failed")

    as_of = models.DateField(_("as of"))
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    customers = models.PositiveIntegerField(_("customers"), default=0)
    buyers = models.PositiveIntegerField(_("buying customers"), default=0)
    changed = models.PositiveIntegerField(_("rows changed"), default=0)
    stage_changes = models.PositiveIntegerField(_("stage changes"), default=0)
    bgnbd_ok = models.BooleanField(_("BG/NBD fitted"), default=False)
    r = models.FloatField("r", null=True, blank=True)
    alpha = models.FloatField("alpha", null=True, blank=True)
    a = models.FloatField("a", null=True, blank=True)
    b = models.FloatField("b", null=True, blank=True)
    log_likelihood = models.FloatField(_("log-likelihood"), null=True, blank=True)
    bgnbd_note = models.CharField(_("BG/NBD note"), max_length=200, blank=True, default="")
    gamma_gamma_ok = models.BooleanField(_("Gamma-Gamma fitted"), default=False)
    p = models.FloatField("p", null=True, blank=True)
    q = models.FloatField("q", null=True, blank=True)
    gamma = models.FloatField("γ", null=True, blank=True)
    gamma_gamma_note = models.CharField(
        _("Gamma-Gamma note"), max_length=200, blank=True, default=""
    )
    typical_interval_days = models.DecimalField(
        _("typical days between purchases"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    average_order_value = models.DecimalField(
        _("average order value"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    # The cut-offs the scores and tiers were given by (segmentation.scoring), so a
    # customer refreshed between runs is scored on the same scale.
    breakpoints = models.JSONField(_("breakpoints"), default=dict, blank=True)
    # The segmentation rules the run applied, and the seconds each step took.
    rules = models.JSONField(_("rules"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    timings = models.JSONField(_("seconds per step"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True, default="")
    # Full: every customer's figures read from the orders and interactions; nightly:
    # only those of the customers whose history changed or whose windows moved
    # (segmentation.figures.figures_changed), the others carried over to the day.
    full = models.BooleanField(_("all figures read again"), default=True)
    recomputed = models.PositiveIntegerField(_("customers read again"), default=0)
    figures_version = models.PositiveSmallIntegerField(_("figures version"), default=0)

    class Meta:
        db_table = "customers_metricsrun"  # made in the customers app; the table kept
        verbose_name = _("metrics run")
        verbose_name_plural = _("metrics runs")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["status", "-started_at"], name="customers_run_status_idx")]

    def __str__(self) -> str:
        return f"{self.as_of} ({self.get_status_display()})"

    def parameters(self) -> str:
        """`r=… alpha=… a=… b=…` (time in days), or why there are none."""
        if not self.bgnbd_ok:
            return f"BG/NBD: {self.bgnbd_note}"
        return f"r={self.r:.4f} alpha={self.alpha:.4f} a={self.a:.4f} b={self.b:.4f}"


class ChurnOutcome(models.TextChoices):
    BOUGHT = "bought", pgettext_lazy("churn episode end", "Bought again")
    LOST = "lost", pgettext_lazy("churn episode end", "Marked lost")
    GONE = "gone", pgettext_lazy("churn episode end", "Customer deleted")


class ChurnEpisode(models.Model):
    """A customer's time at risk (segmentation.churn): it starts when the nightly
    figures put the customer at risk or churned, with one alert and a win-back
    task for the owner, and ends when the customer buys again, is marked lost
    or is deleted; no second alert while it lasts, and none after "marked lost"
    until the customer buys again. The figures of the day it started are kept,
    so its reasons read the same later, in any language."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE,
        related_name="churn_episodes",
    )  # fmt: skip
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner alerted"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    task = models.ForeignKey(
        "interactions.Task", verbose_name=_("win-back task"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    started_on = models.DateField(_("alerted on"))
    started_at = models.DateTimeField(_("alerted at"), default=timezone.now)
    # The figures that day (CustomerMetrics' names: stage_reasons reads either).
    lifecycle = models.CharField(_("lifecycle stage"), max_length=10, choices=Stage.choices)
    last_purchase_at = models.DateTimeField(_("last purchase"))
    purchase_days = models.PositiveIntegerField(_("purchase days"))
    purchase_interval_days = models.DecimalField(
        _("usual days between purchases"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    days_since_purchase = models.IntegerField(_("days since last purchase"))
    p_alive = models.DecimalField(
        _("P(alive)"), max_digits=5, decimal_places=4, null=True, blank=True
    )
    interactions_90d = models.PositiveIntegerField(_("interactions in 90 days"))
    usual_interactions_90d = models.DecimalField(
        _("usual interactions per 90 days"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    days_since_contact = models.IntegerField(_("days since last contact"), null=True, blank=True)
    typical_interval_days = models.DecimalField(
        _("typical days between purchases"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    # The rules of that day that the reasons depend on.
    at_risk_p_alive = models.DecimalField(
        _("at risk below P(alive)"), max_digits=3, decimal_places=2
    )
    contact_drop_share = models.PositiveSmallIntegerField(
        _("interaction drop below (percent of usual)")
    )
    total_spent = models.DecimalField(_("total spent"), max_digits=16, decimal_places=2)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    outcome = models.CharField(
        _("how it ended"), max_length=10, choices=ChurnOutcome.choices, blank=True
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("marked lost by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    lost_reason = models.CharField(_("why lost"), max_length=500, blank=True, default="")

    class Meta:
        db_table = "customers_churnepisode"  # made in the customers app; the table kept
        verbose_name = _("churn alert")
        verbose_name_plural = _("churn alerts")
        ordering = ["-started_at", "-id"]
        constraints = [
            # One open episode per customer, whoever (the scan, twice or at once) would
            # open a second.
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(ended_at__isnull=True),
                name="customers_churn_one_open",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True, outcome="")
                | (models.Q(ended_at__isnull=False) & ~models.Q(outcome="")),
                name="customers_churn_outcome_given",
            ),
        ]
        indexes = [models.Index(fields=["started_on"], name="customers_churn_started_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.started_on:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None
