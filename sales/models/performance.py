"""What sales performance is measured by: each month's revenue target (CNY) for a
salesperson or a team, and `SalesDay`, the purchases added up per local day,
salesperson and team, which the performance page reads instead of millions of
orders (derived, never typed: see `sales.rollup`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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
