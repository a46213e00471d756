"""Feedback itself (DESIGN §3): what customers say through every channel, with
its rating, its category and the response it got, and the editable list of
categories it is filed under. Feedback moves along `FEEDBACK_MOVES` and follows
its customer (`feedback.selectors`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import Recorded, entered_by


class FeedbackCategory(models.Model):
    """The editable list of what feedback is about (admins keep it)."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=60, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=60, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("feedback category")
        verbose_name_plural = _("feedback categories")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        language = translation.get_language() or settings.LANGUAGE_CODE
        return self.name_en if language.startswith("en") else self.name_zh


class FeedbackChannel(models.TextChoices):
    SURVEY = "survey", pgettext_lazy("feedback channel", "Survey")
    PHONE = "phone", pgettext_lazy("feedback channel", "Phone")
    EMAIL = "email", pgettext_lazy("feedback channel", "E-mail")
    REVIEW = "review", pgettext_lazy("feedback channel", "Online review")
    IN_PERSON = "in_person", pgettext_lazy("feedback channel", "In person")
    TICKET = "ticket", pgettext_lazy("feedback channel", "Service ticket")


class FeedbackStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("feedback status", "New")
    ACKNOWLEDGED = "acknowledged", pgettext_lazy("feedback status", "Acknowledged")
    RESOLVED = "resolved", pgettext_lazy("feedback status", "Resolved")


FEEDBACK_MOVES: dict[str, tuple[str, ...]] = {
    FeedbackStatus.NEW: (FeedbackStatus.ACKNOWLEDGED, FeedbackStatus.RESOLVED),
    FeedbackStatus.ACKNOWLEDGED: (FeedbackStatus.RESOLVED,),
    FeedbackStatus.RESOLVED: (FeedbackStatus.ACKNOWLEDGED,),  # reopened
}


class Feedback(Recorded):
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="feedback",
        db_index=False,  # the (customer, created_at) index leads with it
    )
    channel = models.CharField(_("channel"), max_length=10, choices=FeedbackChannel.choices)
    rating = models.PositiveSmallIntegerField(_("rating (1–5)"), null=True, blank=True)
    nps = models.PositiveSmallIntegerField(_("would recommend (0–10)"), null=True, blank=True)
    category = models.ForeignKey(
        FeedbackCategory,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="feedback",
    )
    text = models.TextField(_("what the customer said"), blank=True, default="")
    order = models.ForeignKey(
        "sales.Order",
        verbose_name=_("related order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback",
    )
    ticket = models.ForeignKey(
        "interactions.ServiceTicket",
        verbose_name=_("related ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=FeedbackStatus.choices, default=FeedbackStatus.NEW
    )
    response = models.TextField(_("response given"), blank=True, default="")
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    created_by = entered_by(_("recorded by"))
    created_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="feedback_rating_1_5",
            ),
            models.CheckConstraint(
                condition=models.Q(nps__isnull=True) | models.Q(nps__lte=10),
                name="feedback_nps_0_10",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=FeedbackStatus.values), name="feedback_status"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="feedback_customer_idx"),
            models.Index(fields=["status", "-created_at"], name="feedback_status_idx"),
            models.Index(fields=["-created_at", "-id"], name="feedback_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.text[:40]}"

    def get_absolute_url(self) -> str:
        return reverse("feedback:detail", args=[self.pk])

    def audit_label(self) -> str:
        """What the audit log calls it: never the customer's words (masked there)."""
        return f"{self._meta.verbose_name} #{self.pk} ({self.get_channel_display()})"

    @property
    def is_detractor(self) -> bool:
        """NPS 0–6, or a rating of 1–2 without an NPS."""
        if self.nps is not None:
            return self.nps <= 6
        return self.rating is not None and self.rating <= 2

    def next_statuses(self) -> tuple[str, ...]:
        return FEEDBACK_MOVES.get(self.status, ())
