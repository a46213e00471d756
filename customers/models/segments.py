"""Saved customer filters (docs/segmentation.md): a segment keeps the customer
list's filter as its query string, and its membership is that filter applied when
asked, among the customers the asker may see; private to its owner or shared."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Segment(models.Model):
    """A saved customer filter (docs/segmentation.md): its membership is the filter
    applied when asked, among the customers the asker may see; private to its
    owner or shared with everyone."""

    name = models.CharField(pgettext_lazy("segment", "name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="segments",
    )
    shared = models.BooleanField(_("shared with everyone"), default=False)
    # The customer list's filter, as its query string (customers.filters.CustomerFilter).
    query = models.TextField(_("filter"), blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]
        permissions = [("share_segment", _("Can share segments with everyone"))]
        constraints = [
            models.UniqueConstraint(
                "owner", Lower("name"), name="customers_segment_owner_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        query = f"{self.query}&" if self.query else ""
        return f"{reverse('customers:list')}?{query}segment={self.pk}"
