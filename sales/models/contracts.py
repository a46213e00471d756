"""Contracts (合同) with customers: their kind, status and term, the renewal
reminder, and the signed copy kept in private storage under a random name. A
contract in force past its end date shows as expired; that state is derived,
never stored."""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.fields import private_storage
from crm.models import Recorded, entered_by
from sales.models.money import ZERO
from sales.models.opportunities import Opportunity


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


class Contract(Recorded):
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
    created_by = entered_by(_("entered by"))

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
