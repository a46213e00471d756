"""The shared pool (公海, DESIGN §5): the ownership ledger (one row per change of a
customer's owner, whichever path made it), the editable list of release reasons,
and the pool rules (a company default overridden per team and importance level)
that `customers.pool_rules` resolves and `customers.ownership` applies."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import BilingualNameMixin
from customers.models.customer import Customer


class OwnershipKind(models.TextChoices):
    CREATE = "create", pgettext_lazy("ownership", "Created")
    IMPORT = "import", pgettext_lazy("ownership", "Imported")
    CLAIM = "claim", pgettext_lazy("ownership", "Claimed from the pool")
    RELEASE = "release", pgettext_lazy("ownership", "Released to the pool")
    ASSIGN = "assign", pgettext_lazy("ownership", "Assigned")
    TRANSFER = "transfer", pgettext_lazy("ownership", "Transferred")
    MERGE = "merge", pgettext_lazy("ownership", "Merged")
    RECYCLE = "recycle", pgettext_lazy("ownership", "Returned to the pool automatically")


class RecycleReason(models.TextChoices):
    NO_INTERACTION = "no_interaction", _("No interaction logged in time")
    NO_ORDER = "no_order", _("No order in time")
    OWNER_INACTIVE = "owner_inactive", _("The owner's account was deactivated")


class ReleaseReason(BilingualNameMixin, models.Model):  # noqa: DJ008 - the mixin names it
    """The editable list a rep picks from when releasing a customer to the pool,
    named in both languages."""

    name_zh = models.CharField(_("name in Chinese"), max_length=60)
    name_en = models.CharField(_("name in English"), max_length=60, blank=True, default="")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("offered"), default=True)

    class Meta:
        verbose_name = _("release reason")
        verbose_name_plural = _("release reasons")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name_zh"), name="customers_release_reason_name_ci")
        ]


class OwnershipChange(models.Model):
    """The ownership ledger: one row per change of a customer's owner, whichever
    path made it (claim, release, assignment, transfer, import, merge, recycle)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE,
        related_name="ownership_changes", db_index=False,
    )  # fmt: skip
    kind = models.CharField(_("kind"), max_length=10, choices=OwnershipKind.choices)
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("from"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("to"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+", help_text=_("Empty: the recycle job."),
    )  # fmt: skip
    at = models.DateTimeField(_("when"), default=timezone.now)
    reason = models.CharField(
        _("recycled because"), max_length=20, choices=RecycleReason.choices, blank=True,
        default="",
    )  # fmt: skip
    release_reason = models.ForeignKey(
        ReleaseReason, verbose_name=_("release reason"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    note = models.TextField(_("note"), blank=True, default="")

    class Meta:
        verbose_name = _("ownership change")
        verbose_name_plural = _("ownership changes")
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=OwnershipKind.values), name="customers_ownership_kind"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-at", "-id"], name="customers_ownership_cust_idx"),
            # A rep's claims today (the daily quota).
            models.Index(
                fields=["to_user", "at"],
                name="customers_ownership_claims_idx",
                condition=models.Q(kind="claim"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    def reason_display(self) -> str:
        """Why, as people read it: the release reason, the recycle rule, the note."""
        parts = [
            str(self.release_reason) if self.release_reason_id else "",
            self.get_reason_display() if self.reason else "",
            self.note,
        ]
        return " · ".join(part for part in parts if part)


# The values a PoolRule holds (all but its scope), in the order of the admin form.
POOL_RULE_VALUES = (
    "max_customers",
    "count_won",
    "max_claims_per_day",
    "max_locked",
    "protection_days",
    "protection_extension_days",
    "protection_max_days",
    "no_interaction_days",
    "no_order_days",
    "cooldown_days",
    "exempt_open_opportunity",
    "exempt_order_days",
    "warn_days",
)
_DAYS = [MinValueValidator(0)]


class PoolRule(models.Model):
    """The pool's rules. One company default (no team, any importance) holds every
    value; a row for a team, an importance level or both overrides the values it
    fills in, the most specific row first (team and importance, team, importance,
    company). Days are calendar days in the site's time zone; 0 switches a limit
    or a clock off."""

    team = models.ForeignKey(
        "crm.Team", verbose_name=_("team"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="+", help_text=_("Empty: every team."),
    )  # fmt: skip
    key_account = models.BooleanField(
        _("importance"), null=True, blank=True,
        choices=[(True, _("Key accounts")), (False, _("Other customers"))],
        help_text=_("Empty: every customer."),
    )  # fmt: skip
    max_customers = models.IntegerField(
        _("most customers a rep may hold"), null=True, blank=True, validators=_DAYS,
        help_text=_("0: no limit. Under a row for one importance level, the customers of "
                    "that level are counted."),
    )  # fmt: skip
    count_won = models.BooleanField(
        _("won customers count towards it"), null=True, blank=True,
        help_text=_("Won: customers who have bought (any stage past lead)."),
    )  # fmt: skip
    max_claims_per_day = models.IntegerField(
        _("most claims per rep per day"), null=True, blank=True, validators=_DAYS,
        help_text=_("0: no limit."),
    )  # fmt: skip
    max_locked = models.IntegerField(
        _("most locked customers per rep"), null=True, blank=True, validators=_DAYS,
        help_text=_("Locked customers are never recycled. 0: nobody may lock."),
    )  # fmt: skip
    protection_days = models.IntegerField(
        _("protection after taking a customer (days)"), null=True, blank=True, validators=_DAYS,
        help_text=_("No recycling during it. 0: no protection."),
    )  # fmt: skip
    protection_extension_days = models.IntegerField(
        _("each interaction extends it to (days after the interaction)"), null=True,
        blank=True, validators=_DAYS,
    )  # fmt: skip
    protection_max_days = models.IntegerField(
        _("protection at most (days after taking the customer)"), null=True, blank=True,
        validators=_DAYS,
    )  # fmt: skip
    no_interaction_days = models.IntegerField(
        _("return after days without a logged interaction"), null=True, blank=True,
        validators=_DAYS, help_text=_("Counted from when the owner took the customer. 0: off."),
    )  # fmt: skip
    no_order_days = models.IntegerField(
        _("return after days without an order"), null=True, blank=True, validators=_DAYS,
        help_text=_("Counted from when the owner took the customer. 0: off."),
    )  # fmt: skip
    cooldown_days = models.IntegerField(
        _("cool-down before the previous owner may take it again (days)"), null=True,
        blank=True, validators=_DAYS,
    )  # fmt: skip
    exempt_open_opportunity = models.BooleanField(
        _("customers with an open opportunity are never recycled"), null=True, blank=True
    )
    exempt_order_days = models.IntegerField(
        _("customers with an order in the last days are never recycled"), null=True,
        blank=True, validators=_DAYS, help_text=_("0: no such exemption."),
    )  # fmt: skip
    warn_days = models.IntegerField(
        _("warn the owner days before recycling"), null=True, blank=True, validators=_DAYS
    )

    class Meta:
        verbose_name = _("pool rule")
        verbose_name_plural = _("pool rules")
        ordering = [models.F("team").asc(nulls_first=True), "key_account"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "key_account"], nulls_distinct=False,
                name="customers_pool_rule_scope_unique",
            ),
            *(
                models.CheckConstraint(
                    condition=models.Q(**{f"{name}__gte": 0}) | models.Q(**{name: None}),
                    name=f"customers_pool_rule_{name}_positive",
                )
                for name in (
                    "max_customers", "max_claims_per_day", "max_locked", "protection_days",
                    "protection_extension_days", "protection_max_days", "no_interaction_days",
                    "no_order_days", "cooldown_days", "exempt_order_days", "warn_days",
                )
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        if self.team_id is None and self.key_account is None:
            return str(_("Company default"))
        parts = [str(self.team) if self.team_id else "", self.get_key_account_display() or ""]
        return " · ".join(part for part in parts if part)

    @property
    def is_default(self) -> bool:
        return self.team_id is None and self.key_account is None

    def clean(self):
        if self.is_default:
            missing = [name for name in POOL_RULE_VALUES if getattr(self, name) is None]
            if missing:
                raise ValidationError(
                    {
                        name: ValidationError(
                            _("The company default needs every value."), code="required"
                        )
                        for name in missing
                    }
                )
        if (
            self.protection_days is not None
            and self.protection_max_days is not None
            and self.protection_max_days < self.protection_days
        ):
            raise ValidationError(
                {
                    "protection_max_days": ValidationError(
                        _("The most protection cannot be shorter than the protection itself."),
                        code="protection_max",
                    )
                }
            )
