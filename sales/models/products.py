"""The product catalogue (产品目录): what orders are made of. A product is found by
its SKU, unique whatever its case; an inactive product is kept for history but
not offered on new orders, and an order import may leave a placeholder product
behind for a steward to complete."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import Timestamped
from sales.models.money import Currency


class Product(Timestamped):
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
