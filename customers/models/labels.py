"""What customers are labelled with from the company's own lists: tags, shared by
everyone and made on the fly (a name and a colour), and the source channels
(来源渠道) that admins edit and imports map registers onto, with the built-in
codes (`Source`) every company starts with and code relies on."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import BilingualNameMixin


class Source(models.TextChoices):
    """The codes of the source channels every company starts with (migration 0023
    seeds them into SourceChannel); code names the two it relies on: OTHER, the
    default, and IMPORT, for imported customers whose register gives none."""

    WEBSITE = "website", pgettext_lazy("source channel", "Website")
    REFERRAL = "referral", pgettext_lazy("source channel", "Referral")
    EXHIBITION = "exhibition", pgettext_lazy("source channel", "Trade show")
    COLD_CALL = "cold_call", pgettext_lazy("source channel", "Cold call")
    ADVERTISING = "advertising", pgettext_lazy("source channel", "Advertising")
    WECHAT = "wechat", pgettext_lazy("source channel", "WeChat")
    WALK_IN = "walk_in", pgettext_lazy("source channel", "Walk-in")
    PARTNER = "partner", pgettext_lazy("source channel", "Partner")
    IMPORT = "import", pgettext_lazy("source channel", "Import")
    OTHER = "other", pgettext_lazy("source channel", "Other")


class TagColour(models.TextChoices):
    GREY = "secondary", pgettext_lazy("colour", "Grey")
    BLUE = "primary", pgettext_lazy("colour", "Blue")
    GREEN = "success", pgettext_lazy("colour", "Green")
    ORANGE = "warning", pgettext_lazy("colour", "Orange")
    RED = "danger", pgettext_lazy("colour", "Red")
    CYAN = "info", pgettext_lazy("colour", "Cyan")


class Tag(models.Model):
    name = models.CharField(pgettext_lazy("tag", "name"), max_length=20)
    colour = models.CharField(
        _("colour"), max_length=16, choices=TagColour.choices, default=TagColour.GREY
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="customers_tag_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class SourceChannel(BilingualNameMixin, models.Model):  # noqa: DJ008 - the mixin names it
    """A source channel of the company's own list (来源渠道). Admins edit it; imports
    map what registers say onto it through its names and synonyms. A channel in
    use is retired by unticking "offered", never deleted."""

    code = models.SlugField(
        _("code"),
        max_length=20,
        unique=True,
        help_text=_("Letters, digits, - or _; kept in exports and reports. Cannot change."),
    )
    name_zh = models.CharField(_("name in Chinese"), max_length=50)
    name_en = models.CharField(_("name in English"), max_length=50, blank=True, default="")
    synonyms = ArrayField(
        models.CharField(max_length=50),
        verbose_name=_("synonyms"),
        default=list,
        blank=True,
        help_text=_(
            "Other words registers use for it, separated by commas, e.g. 朋友介绍, "
            "老客户转介绍. Imports map them to this channel."
        ),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(
        _("offered"),
        default=True,
        help_text=_("Retired channels stay on their customers but are no longer offered."),
    )

    # Code relies on these two: the default, and imported customers without a source.
    BUILT_IN = frozenset({"other", "import"})

    class Meta:
        verbose_name = _("source channel")
        verbose_name_plural = _("source channels")
        ordering = ["position", "id"]
