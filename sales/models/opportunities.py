"""The pipeline (销售漏斗): opportunities followed through the stages to an order or
to their loss, the moves between stages, the probability each stage gives (an
admin edits it), the reasons a deal is lost, and the competitors met on the
way. Amounts are in the base currency (CNY) so the pipeline's columns and
forecasts add up."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import Recorded, Timestamped, entered_by
from sales.models.money import cents
from sales.models.orders import Order


class PricePosition(models.TextChoices):
    LOWER = "lower", pgettext_lazy("price position", "Cheaper than us")
    SIMILAR = "similar", pgettext_lazy("price position", "About our price")
    HIGHER = "higher", pgettext_lazy("price position", "Dearer than us")


class Competitor(Timestamped):
    name = models.CharField(pgettext_lazy("competitor", "name"), max_length=100)
    website = models.CharField(_("website"), max_length=200, blank=True, default="")
    strengths = models.TextField(_("strengths"), blank=True, default="")
    weaknesses = models.TextField(_("weaknesses"), blank=True, default="")
    price_position = models.CharField(
        _("price position"), max_length=10, choices=PricePosition.choices, blank=True, default=""
    )
    notes = models.TextField(_("notes"), blank=True, default="")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("competitor")
        verbose_name_plural = _("competitors")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                Upper("name"),
                name="sales_competitor_name_ci_unique",
                violation_error_message=_("A competitor of this name exists already."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sales:competitor_detail", args=[self.pk])


class Stage(models.TextChoices):
    QUALIFICATION = "qualification", pgettext_lazy("opportunity stage", "Qualification")
    NEEDS_ANALYSIS = "needs_analysis", pgettext_lazy("opportunity stage", "Needs analysis")
    PROPOSAL = "proposal", pgettext_lazy("opportunity stage", "Proposal")
    NEGOTIATION = "negotiation", pgettext_lazy("opportunity stage", "Negotiation")
    WON = "won", pgettext_lazy("opportunity stage", "Won")
    LOST = "lost", pgettext_lazy("opportunity stage", "Lost")


OPEN_STAGES = (Stage.QUALIFICATION, Stage.NEEDS_ANALYSIS, Stage.PROPOSAL, Stage.NEGOTIATION)
CLOSED_STAGES = (Stage.WON, Stage.LOST)
# The defaults a new company starts with (a data migration writes them; admins edit them).
STAGE_PROBABILITIES = {
    Stage.QUALIFICATION: 10,
    Stage.NEEDS_ANALYSIS: 25,
    Stage.PROPOSAL: 50,
    Stage.NEGOTIATION: 75,
    Stage.WON: 100,
    Stage.LOST: 0,
}


class StageSetting(models.Model):
    """The probability an opportunity takes when it enters the stage (editable)."""

    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, unique=True)
    probability = models.PositiveSmallIntegerField(
        _("probability %"),
        validators=[MaxValueValidator(100)],
        help_text=_("What an opportunity takes on entering this stage."),
    )

    class Meta:
        verbose_name = _("stage probability")
        verbose_name_plural = _("stage probabilities")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(probability__lte=100), name="sales_stage_probability_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()}: {self.probability} %"


class LostReason(models.TextChoices):
    PRICE = "price", pgettext_lazy("lost reason", "Price")
    COMPETITOR = "competitor", pgettext_lazy("lost reason", "Chose a competitor")
    PRODUCT = "product", pgettext_lazy("lost reason", "Product did not fit")
    TIMING = "timing", pgettext_lazy("lost reason", "Timing or budget")
    NO_DECISION = "no_decision", pgettext_lazy("lost reason", "No decision")
    OTHER = "other", pgettext_lazy("lost reason", "Other")


class Opportunity(Recorded):
    """A deal followed through the stages to an order (or to its loss)."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="opportunities",
        db_index=False,
    )
    title = models.CharField(_("title"), max_length=200)
    # In the base currency (CNY), so the pipeline's columns and forecasts add up.
    amount = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2)
    stage = models.CharField(
        _("stage"), max_length=20, choices=Stage.choices, default=Stage.QUALIFICATION
    )
    probability = models.PositiveSmallIntegerField(
        _("probability %"), validators=[MaxValueValidator(100)]
    )
    expected_close = models.DateField(_("expected close date"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="opportunities",
        db_index=False,
    )
    # The owner's team when the opportunity was opened: team figures stay true.
    team = models.ForeignKey(
        "crm.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
        db_index=False,
    )
    next_step = models.CharField(_("next step"), max_length=200, blank=True, default="")
    competitor = models.ForeignKey(
        Competitor,
        verbose_name=_("main competitor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    lost_reason = models.CharField(
        _("lost reason"), max_length=20, choices=LostReason.choices, blank=True, default=""
    )
    lost_notes = models.TextField(_("why it was lost"), blank=True, default="")
    order = models.OneToOneField(
        Order,
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunity",
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_by = entered_by(_("entered by"))

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["expected_close", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stage__in=Stage.values), name="sales_opportunity_stage"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="sales_opportunity_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(probability__lte=100), name="sales_opportunity_probability"
            ),
            models.CheckConstraint(
                condition=~models.Q(stage="lost") | ~models.Q(lost_reason=""),
                name="sales_opportunity_lost_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="sales_opp_customer_idx"),
            models.Index(fields=["owner", "stage", "expected_close"], name="sales_opp_owner_idx"),
            models.Index(fields=["team", "stage", "expected_close"], name="sales_opp_team_idx"),
            models.Index(fields=["stage", "expected_close"], name="sales_opp_stage_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("sales:opportunity_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES

    @property
    def is_late(self) -> bool:
        """Still open after its expected close date: move the date or close it."""
        return self.is_open and self.expected_close < timezone.localdate()

    @property
    def weighted_amount(self) -> Decimal:
        return cents(self.amount * self.probability / 100)


class OpportunityStageChange(models.Model):
    """One move of an opportunity from a stage to another (the first from nothing)."""

    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        related_name="stage_changes",
        db_index=False,  # (opportunity, changed_at) in Meta serves it
    )
    from_stage = models.CharField(
        _("from stage"), max_length=20, choices=Stage.choices, blank=True, default=""
    )
    to_stage = models.CharField(_("to stage"), max_length=20, choices=Stage.choices)
    probability = models.PositiveSmallIntegerField(_("probability %"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["changed_at", "id"]
        indexes = [
            models.Index(fields=["opportunity", "changed_at"], name="sales_stagechange_opp_idx")
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage or '∅'} → {self.to_stage}"
