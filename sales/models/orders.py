"""Orders with their lines, and refunds. An order's total is the sum of its lines
and a line's total is computed from quantity, unit price and discount by the
sales services; neither is ever typed. A refund is a record of its own against
a paid order (partial refunds allowed); the order keeps the sum of its refunds,
and becomes "refunded" when that sum reaches its total. Revenue is what a
customer paid less what came back (see `Order.net`). The order statuses, the
moves allowed between them and the statuses that count as purchases are here."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import Recorded, entered_by
from sales.models.money import ZERO, Currency
from sales.models.products import Product


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


class Order(Recorded):
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
    created_by = entered_by(_("entered by"))

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
