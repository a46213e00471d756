"""Sales records (销售记录): products, orders with their lines, and refunds.

Money is `Decimal` throughout. An order's total is the sum of its lines and a
line's total is computed from quantity, unit price and discount by
`sales.services`; neither is ever typed. A refund is a record of its own
against a paid order (partial refunds allowed); the order keeps the sum of its
refunds, and becomes "refunded" when that sum reaches its total. Revenue is
what a customer paid less what came back (see `Order.net`).
"""

from __future__ import annotations

import datetime
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.fields import private_storage

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def cents(amount) -> Decimal:
    """An amount to the cent, half up (never Python's half-to-even)."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def percent(part, whole) -> int | None:
    """part / whole in whole per cent, half up; None without a whole."""
    if not whole:
        return None
    return int((Decimal(100) * Decimal(part) / Decimal(whole)).quantize(1, ROUND_HALF_UP))


class Currency(models.TextChoices):
    CNY = "CNY", pgettext_lazy("currency", "Chinese yuan (CNY)")
    USD = "USD", pgettext_lazy("currency", "US dollar (USD)")
    EUR = "EUR", pgettext_lazy("currency", "Euro (EUR)")
    HKD = "HKD", pgettext_lazy("currency", "Hong Kong dollar (HKD)")
    JPY = "JPY", pgettext_lazy("currency", "Japanese yen (JPY)")


# Decimal places a price or amount may have in each currency (ISO 4217).
CURRENCY_PLACES = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "JPY": 0}
BASE_CURRENCY = "CNY"
CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "US$", "EUR": "€", "HKD": "HK$", "JPY": "JP¥"}


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=40)
    name = models.CharField(pgettext_lazy("product", "name"), max_length=200)
    category = models.CharField(_("category"), max_length=50, blank=True, default="")
    brand = models.CharField(_("brand"), max_length=50, blank=True, default="")
    variant = models.CharField(
        _("colour or variant"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("e.g. 黑色 256GB"),
    )
    unit = models.CharField(
        _("unit"), max_length=10, blank=True, default="", help_text=_("e.g. 件, 台, 套, kg")
    )
    list_price = models.DecimalField(_("list price"), max_digits=14, decimal_places=2)
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive products are not offered on new orders.")
    )
    # Made by an order import for a product it did not know; a steward completes it.
    is_placeholder = models.BooleanField(_("placeholder from an import"), default=False)
    description = models.TextField(_("description"), blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["category", "name", "id"]
        constraints = [
            models.UniqueConstraint(Upper("sku"), name="sales_product_sku_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(list_price__gte=0), name="sales_product_price_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["category", "name"], name="sales_product_category_idx"),
            models.Index(fields=["name"], name="sales_product_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    def get_absolute_url(self) -> str:
        return reverse("sales:product_update", args=[self.pk])


class OrderStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("order status", "Pending payment")
    PAID = "paid", pgettext_lazy("order status", "Paid")
    SHIPPED = "shipped", pgettext_lazy("order status", "Shipped")
    COMPLETED = "completed", pgettext_lazy("order status", "Completed")
    CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")
    REFUNDED = "refunded", pgettext_lazy("order status", "Refunded")


# Orders that are purchases: paid for and not wholly refunded.
PURCHASE_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)
# Where each status may go by hand (refunded is reached by refunds only).
STATUS_MOVES = {
    OrderStatus.PENDING: (OrderStatus.PAID, OrderStatus.CANCELLED),
    OrderStatus.PAID: (OrderStatus.SHIPPED, OrderStatus.COMPLETED),
    OrderStatus.SHIPPED: (OrderStatus.COMPLETED,),
    OrderStatus.COMPLETED: (),
    OrderStatus.CANCELLED: (),
    OrderStatus.REFUNDED: (),
}


class OrderSource(models.TextChoices):
    MANUAL = "manual", pgettext_lazy("order source", "Entered by hand")
    IMPORT = "import", pgettext_lazy("order source", "Import")
    DEMO = "demo", pgettext_lazy("order source", "Demo data")


class Order(models.Model):
    # Indexes: a unique constraint (no LIKE twin) and composite ones in Meta, which
    # lead with the foreign keys; at millions of orders every index costs writes.
    number = models.CharField(_("order number"), max_length=40)
    # The number the order had where it came from (a shop, the old system), kept by
    # imports: a file imported twice does not record its orders twice.
    external_number = models.CharField(
        _("original order number"), max_length=64, blank=True, default=""
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,
    )
    salesperson = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("salesperson"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sales_orders",
        db_index=False,
    )
    # The salesperson's team when the order was taken: team totals stay true
    # after people move teams.
    team = models.ForeignKey(
        "crm.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
        db_index=False,
    )
    ordered_at = models.DateTimeField(_("order date"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY
    )
    # Units of the base currency (CNY) per unit of the order's currency, fixed when
    # the order is taken; customer metrics and performance add up converted amounts.
    exchange_rate = models.DecimalField(
        _("exchange rate to CNY"), max_digits=12, decimal_places=6, default=Decimal(1)
    )
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=ZERO)
    refunded = models.DecimalField(_("refunded"), max_digits=14, decimal_places=2, default=ZERO)
    notes = models.TextField(_("notes"), blank=True, default="")
    source = models.CharField(
        _("source"), max_length=10, choices=OrderSource.choices, default=OrderSource.MANUAL
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-ordered_at", "-id"]
        permissions = [("refund_order", _("Can record refunds"))]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="sales_order_number_unique"),
            models.UniqueConstraint(
                fields=["external_number"],
                condition=~models.Q(external_number=""),
                name="sales_order_external_number_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=OrderStatus.values), name="sales_order_status"
            ),
            models.CheckConstraint(
                condition=models.Q(total__gte=0), name="sales_order_total_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(exchange_rate__gt=0), name="sales_order_rate_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(refunded__gte=0) & models.Q(refunded__lte=models.F("total")),
                name="sales_order_refund_within_total",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-ordered_at"], name="sales_order_customer_idx"),
            models.Index(fields=["salesperson", "-ordered_at"], name="sales_order_salesperson_idx"),
            models.Index(fields=["team", "-ordered_at"], name="sales_order_team_idx"),
            models.Index(fields=["-ordered_at", "-id"], name="sales_order_date_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("sales:order_detail", args=[self.pk])

    @property
    def net(self) -> Decimal:
        """What the customer paid and kept: the total less refunds (0 until paid)."""
        if self.status in (OrderStatus.PENDING, OrderStatus.CANCELLED):
            return ZERO
        return self.total - self.refunded

    @property
    def refundable(self) -> Decimal:
        if self.status not in PURCHASE_STATUSES:
            return ZERO
        return self.total - self.refunded

    @property
    def lines_editable(self) -> bool:
        return self.status == OrderStatus.PENDING

    def next_statuses(self) -> tuple[str, ...]:
        return STATUS_MOVES.get(self.status, ())


class OrderLine(models.Model):
    order = models.ForeignKey(
        Order,
        verbose_name=_("order"),
        on_delete=models.CASCADE,
        related_name="lines",
        db_index=False,  # (order, position) in Meta serves it
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order_lines",
    )
    # The product's name when sold (a product renamed later does not rewrite history).
    description = models.CharField(_("description"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=16, decimal_places=4)
    discount_percent = models.DecimalField(
        _("discount %"), max_digits=5, decimal_places=2, default=ZERO
    )
    line_total = models.DecimalField(_("line total"), max_digits=14, decimal_places=2)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="sales_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="sales_line_price_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(discount_percent__gte=0, discount_percent__lte=100),
                name="sales_line_discount_range",
            ),
            models.CheckConstraint(
                condition=models.Q(line_total__gte=0), name="sales_line_total_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["order", "position"], name="sales_line_order_idx")]

    def __str__(self) -> str:
        return f"{self.description} × {self.quantity.normalize()}"


class Refund(models.Model):
    """Money given back on a paid order: part of it, or all of it."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=500)
    refunded_at = models.DateTimeField(_("refunded at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["refunded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="sales_refund_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: −{self.amount}"


# --- the pipeline ------------------------------------------------------------------


class PricePosition(models.TextChoices):
    LOWER = "lower", pgettext_lazy("price position", "Cheaper than us")
    SIMILAR = "similar", pgettext_lazy("price position", "About our price")
    HIGHER = "higher", pgettext_lazy("price position", "Dearer than us")


class Competitor(models.Model):
    name = models.CharField(pgettext_lazy("competitor", "name"), max_length=100)
    website = models.CharField(_("website"), max_length=200, blank=True, default="")
    strengths = models.TextField(_("strengths"), blank=True, default="")
    weaknesses = models.TextField(_("weaknesses"), blank=True, default="")
    price_position = models.CharField(
        _("price position"), max_length=10, choices=PricePosition.choices, blank=True, default=""
    )
    notes = models.TextField(_("notes"), blank=True, default="")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

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


class Opportunity(models.Model):
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
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

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


# --- contracts ---------------------------------------------------------------------


class ContractKind(models.TextChoices):
    SALES = "sales", pgettext_lazy("contract kind", "Sales contract")
    SERVICE = "service", pgettext_lazy("contract kind", "Service agreement")
    NDA = "nda", pgettext_lazy("contract kind", "Non-disclosure agreement")
    FRAMEWORK = "framework", pgettext_lazy("contract kind", "Framework agreement")
    OTHER = "other", pgettext_lazy("contract kind", "Other")


class ContractStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("contract status", "Draft")
    ACTIVE = "active", pgettext_lazy("contract status", "In force")
    TERMINATED = "terminated", pgettext_lazy("contract status", "Terminated")


# Shown for a contract in force whose end date has passed (never stored: always true).
EXPIRED = "expired"
EXPIRED_LABEL = pgettext_lazy("contract status", "Expired")


def contract_file_name(instance: Contract, filename: str) -> str:
    """Where a signed file is kept: a random name (the original is in `file_name`)."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"contracts/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{suffix[:5]}"


class Contract(models.Model):
    number = models.CharField(_("contract number"), max_length=40)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="contracts",
        db_index=False,
    )
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(
        _("kind"), max_length=10, choices=ContractKind.choices, default=ContractKind.SALES
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ContractStatus.choices, default=ContractStatus.DRAFT
    )
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2, default=ZERO)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    renewal_notice_days = models.PositiveSmallIntegerField(
        _("renewal reminder (days before the end)"), default=30
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="contracts",
        db_index=False,
    )
    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contracts",
    )
    notes = models.TextField(_("notes"), blank=True, default="")
    signed_file = models.FileField(
        _("signed file"),
        storage=private_storage,
        upload_to=contract_file_name,
        max_length=200,
        blank=True,
        default="",
    )
    file_name = models.CharField(_("file name"), max_length=200, blank=True, default="")
    file_type = models.CharField(_("file type"), max_length=100, blank=True, default="")
    file_size = models.PositiveBigIntegerField(_("file size"), default=0)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(Upper("number"), name="sales_contract_number_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="sales_contract_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="sales_contract_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-start_date"], name="sales_contract_customer_idx"),
            models.Index(fields=["owner", "end_date"], name="sales_contract_owner_idx"),
            models.Index(fields=["status", "end_date"], name="sales_contract_end_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("sales:contract_detail", args=[self.pk])

    @property
    def state(self) -> str:
        """The status as people mean it: a contract in force past its end has expired."""
        if (
            self.status == ContractStatus.ACTIVE
            and self.end_date is not None
            and self.end_date < timezone.localdate()
        ):
            return EXPIRED
        return self.status

    @property
    def state_label(self) -> str:
        return str(EXPIRED_LABEL) if self.state == EXPIRED else self.get_status_display()

    @property
    def renewal_due(self):
        """The day the owner should start renewing (None without an end date)."""
        if self.end_date is None:
            return None
        return self.end_date - datetime.timedelta(days=self.renewal_notice_days)

    @property
    def renewal_is_due(self) -> bool:
        due = self.renewal_due
        return (
            self.status == ContractStatus.ACTIVE
            and due is not None
            and due <= timezone.localdate() <= self.end_date
        )


# --- targets -----------------------------------------------------------------------


class SalesTarget(models.Model):
    """A month's revenue target (CNY) for one salesperson or one team."""

    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("salesperson"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sales_targets",
        db_index=False,
    )
    team = models.ForeignKey(
        "crm.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sales_targets",
        db_index=False,
    )
    revenue = models.DecimalField(_("revenue target (CNY)"), max_digits=14, decimal_places=2)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        ordering = ["-month", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=True, team__isnull=False)
                | models.Q(user__isnull=False, team__isnull=True),
                name="sales_target_user_or_team",
            ),
            models.CheckConstraint(condition=models.Q(month__day=1), name="sales_target_month"),
            models.CheckConstraint(
                condition=models.Q(revenue__gte=0), name="sales_target_not_negative"
            ),
            models.UniqueConstraint(
                fields=["user", "month"],
                condition=models.Q(user__isnull=False),
                name="sales_target_user_month_unique",
            ),
            models.UniqueConstraint(
                fields=["team", "month"],
                condition=models.Q(team__isnull=False),
                name="sales_target_team_month_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.user or self.team}: {self.revenue}"


class SalesDay(models.Model):
    """Purchases per local day, salesperson and team (0: none): what the performance
    page adds up instead of millions of orders. Derived, never typed: every order
    write refreshes its day (`sales.rollup`), `metrics_refresh` rebuilds all."""

    day = models.DateField(_("day"))
    salesperson_key = models.PositiveBigIntegerField(_("salesperson"), default=0)
    team_key = models.PositiveBigIntegerField(_("team"), default=0)
    revenue = models.DecimalField(_("revenue (CNY)"), max_digits=16, decimal_places=2)
    orders = models.PositiveIntegerField(pgettext_lazy("count", "orders"))

    class Meta:
        verbose_name = _("sales of a day")
        verbose_name_plural = _("sales by day")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "salesperson_key", "team_key"], name="sales_day_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["salesperson_key", "day"], name="sales_day_person_idx"),
            models.Index(fields=["team_key", "day"], name="sales_day_team_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.salesperson_key}/{self.team_key}: {self.revenue}"
