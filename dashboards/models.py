"""The rollups the dashboards read (docs/dashboards.md), rebuilt by every full
recompute of the customer metrics (`segmentation.runs.metrics_recompute`),
so a dashboard adds up a few thousand rows instead of reading a million
customers or millions of order lines. Keys are plain numbers (0: none), like
the sales by day, so a deleted user or team leaves its history in place."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerCube(models.Model):
    """Live customers counted by owner, team, stage, tiers and RFM segment."""

    owner_key = models.PositiveBigIntegerField(_("owner"), default=0)
    team_key = models.PositiveBigIntegerField(_("team"), default=0)
    lifecycle = models.CharField(_("lifecycle stage"), max_length=10)
    value_tier = models.CharField(_("value tier"), max_length=10, blank=True)
    frequency_tier = models.CharField(_("frequency tier"), max_length=10)
    rfm_segment = models.CharField(_("RFM segment"), max_length=20, blank=True)
    customers = models.PositiveIntegerField(_("customers"))
    fresh = models.PositiveIntegerField(_("verified within policy"))
    spent = models.DecimalField(_("total spent"), max_digits=18, decimal_places=2)
    expected_value = models.DecimalField(
        _("expected value in 12 months"), max_digits=18, decimal_places=2
    )

    class Meta:
        verbose_name = _("customer count")
        verbose_name_plural = _("customer counts")
        indexes = [
            models.Index(fields=["owner_key"], name="dashboards_cube_owner_idx"),
            models.Index(fields=["team_key"], name="dashboards_cube_team_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_key}/{self.team_key} {self.lifecycle}: {self.customers}"


class NewCustomersMonth(models.Model):
    """Customers by the month of their first purchase, its salesperson and team."""

    month = models.DateField(_("month"))
    salesperson_key = models.PositiveBigIntegerField(_("salesperson"), default=0)
    team_key = models.PositiveBigIntegerField(_("team"), default=0)
    customers = models.PositiveIntegerField(_("customers"))

    class Meta:
        verbose_name = _("new customers of a month")
        verbose_name_plural = _("new customers by month")
        indexes = [models.Index(fields=["month"], name="dashboards_new_month_idx")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.salesperson_key}/{self.team_key}: {self.customers}"


class ProductMonth(models.Model):
    """Line totals (CNY, before refunds) of purchases by month, product,
    salesperson and team, for the last 37 months."""

    month = models.DateField(_("month"))
    product_id = models.PositiveBigIntegerField(_("product"))
    salesperson_key = models.PositiveBigIntegerField(_("salesperson"), default=0)
    team_key = models.PositiveBigIntegerField(_("team"), default=0)
    revenue = models.DecimalField(_("revenue (CNY)"), max_digits=18, decimal_places=2)
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=3)

    class Meta:
        verbose_name = _("product sales of a month")
        verbose_name_plural = _("product sales by month")
        indexes = [models.Index(fields=["month"], name="dashboards_product_month_idx")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} #{self.product_id}: {self.revenue}"


class ForecastMonth(models.Model):
    """Expected revenue of a month from the customer base (expected purchases ×
    expected spend per customer), as forecast on `made_on`, by the customers'
    owner and team."""

    made_on = models.DateField(_("forecast made on"))
    month = models.DateField(_("month"))
    owner_key = models.PositiveBigIntegerField(_("owner"), default=0)
    team_key = models.PositiveBigIntegerField(_("team"), default=0)
    revenue = models.DecimalField(_("revenue (CNY)"), max_digits=18, decimal_places=2)

    class Meta:
        verbose_name = _("revenue forecast of a month")
        verbose_name_plural = _("revenue forecasts")
        indexes = [models.Index(fields=["made_on", "month"], name="dashboards_forecast_idx")]

    def __str__(self) -> str:
        return f"{self.made_on} → {self.month:%Y-%m}: {self.revenue}"
