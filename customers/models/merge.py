"""Duplicates (customers.merge): each merge of a duplicate into the customer kept,
with the survivor's fields before and after and the records moved, so that it can
be undone; and the pairs a data steward has judged not to be duplicates, which
the finder skips."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.fields import EncryptedTextField
from customers.models.customer import Customer


class CustomerMerge(models.Model):
    """One merge of a duplicate into a survivor, with what it takes to undo it."""

    survivor = models.ForeignKey(
        Customer, verbose_name=_("kept customer"), on_delete=models.PROTECT, related_name="+"
    )
    merged = models.ForeignKey(
        Customer, verbose_name=_("merged customer"), on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("merged at"), auto_now_add=True)
    # The survivor's fields before and after (encrypted: they hold personal values).
    survivor_before = EncryptedTextField(_("kept customer before"), blank=True, default="")
    survivor_after = EncryptedTextField(_("kept customer after"), blank=True, default="")
    moved = models.JSONField(_("records moved"), default=dict, blank=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"


class DuplicateDismissal(models.Model):
    """A pair a steward has judged not to be duplicates; the finder skips it."""

    low = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    high = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("dismissed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("not-a-duplicate pair")
        verbose_name_plural = _("not-a-duplicate pairs")
        constraints = [
            models.UniqueConstraint(fields=["low", "high"], name="customers_dismissal_unique"),
            models.CheckConstraint(
                condition=models.Q(low__lt=models.F("high")), name="customers_dismissal_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.low_id} ≠ {self.high_id}"
