"""The company's settings for customer data, edited by admins: the import rules
(one row), the value mappings the import wizard remembers from one register to
the next, and the data-freshness policy (one row, read by customers.freshness)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import OneRowMixin


class ImportRules(OneRowMixin, models.Model):
    """The company's rules for customer imports (one row, edited in admin)."""

    require_contact = models.BooleanField(
        _("a phone or e-mail is required"),
        default=False,
        help_text=_(
            "Refuse register rows without a usable phone or e-mail. Off: such rows become "
            "customers too, with a warning."
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import rules")
        verbose_name_plural = _("import rules")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="customers_importrules_one_row")
        ]

    def __str__(self) -> str:
        return str(_("Import rules"))


class ImportValueMapping(models.Model):
    """What a steward once mapped a register's value to (来源 “抖音” → a channel,
    性别 “男生” → male): the import wizard suggests it again next time."""

    key = models.CharField(_("column"), max_length=30)
    value_key = models.CharField(_("value, folded"), max_length=100)
    value = models.CharField(_("value"), max_length=100)
    target = models.CharField(
        _("mapped to"), max_length=30, blank=True, help_text=_("Empty: left empty.")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("value mapping")
        verbose_name_plural = _("value mappings")
        ordering = ["key", "value_key"]
        constraints = [
            models.UniqueConstraint(fields=["key", "value_key"], name="customers_value_map_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.value} → {self.target or '∅'}"


class FreshnessPolicy(OneRowMixin, models.Model):
    """How fresh a record must be (customers.freshness): one row, edited by admins.
    A customer is past policy when it was last verified (or, never verified,
    created) longer ago than its segment allows, or when its data quality is
    below the minimum (incomplete or invalid key fields)."""

    key_account_days = models.PositiveSmallIntegerField(
        _("key accounts: verified within (days)"), default=92, validators=[MinValueValidator(1)]
    )
    other_days = models.PositiveSmallIntegerField(
        _("other customers: verified within (days)"), default=365,
        validators=[MinValueValidator(1)],
    )  # fmt: skip
    min_quality = models.PositiveSmallIntegerField(
        _("minimum data quality (0–100)"), default=60, validators=[MaxValueValidator(100)]
    )
    task_due_days = models.PositiveSmallIntegerField(
        _("verification task due in (days)"), default=7, validators=[MinValueValidator(1)]
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("data freshness policy")
        verbose_name_plural = _("data freshness policy")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id=1), name="customers_freshness_policy_one_row"
            ),
        ]

    def __str__(self) -> str:
        return str(_("data freshness policy"))
