"""The customer record (DESIGN §4): profile, phones and e-mails, contacts, tags,
collaborators and the stage history.

Phones, e-mails, the street address and the financial profile are encrypted at
rest; phones and e-mails live in child rows, each with a blind index, so a
customer may have several and an exact search finds any of them. Writes go
through `customers.services`, which keeps the derived search columns (pinyin,
n-grams) in step and audits every change.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.fields import BlindIndexField, EncryptedTextField
from crm.models import BilingualNameMixin, OneRowMixin
from crm.normalise import email_mask, phone_display, phone_mask


class CustomerKind(models.TextChoices):
    PERSON = "person", pgettext_lazy("customer kind", "Person")
    COMPANY = "company", pgettext_lazy("customer kind", "Company")


class Gender(models.TextChoices):
    UNKNOWN = "", pgettext_lazy("gender", "Not given")
    FEMALE = "female", pgettext_lazy("gender", "Female")
    MALE = "male", pgettext_lazy("gender", "Male")


class Stage(models.TextChoices):
    LEAD = "lead", pgettext_lazy("lifecycle stage", "Lead")
    ACTIVE = "active", pgettext_lazy("lifecycle stage", "Active")
    AT_RISK = "at_risk", pgettext_lazy("lifecycle stage", "At risk")
    CHURNED = "churned", pgettext_lazy("lifecycle stage", "Churned")


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


class Industry(models.TextChoices):
    NONE = "", pgettext_lazy("industry", "Not given")
    MANUFACTURING = "manufacturing", pgettext_lazy("industry", "Manufacturing")
    RETAIL = "retail", pgettext_lazy("industry", "Retail and wholesale")
    IT = "it", pgettext_lazy("industry", "IT and software")
    FINANCE = "finance", pgettext_lazy("industry", "Finance and insurance")
    EDUCATION = "education", pgettext_lazy("industry", "Education")
    HEALTHCARE = "healthcare", pgettext_lazy("industry", "Healthcare")
    REAL_ESTATE = "real_estate", pgettext_lazy("industry", "Real estate and construction")
    LOGISTICS = "logistics", pgettext_lazy("industry", "Logistics")
    CATERING = "catering", pgettext_lazy("industry", "Hotels and catering")
    GOVERNMENT = "government", pgettext_lazy("industry", "Government and non-profit")
    OTHER = "other", pgettext_lazy("industry", "Other")


class ConsentSource(models.TextChoices):
    NONE = "", pgettext_lazy("consent source", "Not given")
    WEB_FORM = "web_form", pgettext_lazy("consent source", "Web form")
    PAPER = "paper", pgettext_lazy("consent source", "Signed paper form")
    PHONE = "phone", pgettext_lazy("consent source", "By phone (recorded)")
    WECHAT = "wechat", pgettext_lazy("consent source", "WeChat")
    EMAIL = "email", pgettext_lazy("consent source", "E-mail")
    IMPORT = "import", pgettext_lazy("consent source", "Import")


class FinancialStatus(models.TextChoices):
    NONE = "", pgettext_lazy("financial status", "Not assessed")
    SOUND = "sound", pgettext_lazy("financial status", "Sound")
    AVERAGE = "average", pgettext_lazy("financial status", "Average")
    STRAINED = "strained", pgettext_lazy("financial status", "Strained")


class RiskPreference(models.TextChoices):
    NONE = "", pgettext_lazy("risk preference", "Not assessed")
    CONSERVATIVE = "conservative", pgettext_lazy("risk preference", "Conservative")
    BALANCED = "balanced", pgettext_lazy("risk preference", "Balanced")
    AGGRESSIVE = "aggressive", pgettext_lazy("risk preference", "Aggressive")


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


class CustomerQuerySet(models.QuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        return self.filter(deleted_at__isnull=False)


class Customer(models.Model):
    number = models.CharField(_("customer number"), max_length=20, unique=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=CustomerKind.choices, default=CustomerKind.PERSON
    )
    name = models.CharField(pgettext_lazy("customer", "name"), max_length=100)
    # Derived by the service on every save, for sorting and searching.
    name_pinyin = models.CharField(_("name in pinyin"), max_length=400, editable=False)
    name_initials = models.CharField(_("pinyin initials"), max_length=100, editable=False)
    search_grams = ArrayField(
        models.CharField(max_length=8), verbose_name=_("search n-grams"), default=list, blank=True
    )
    gender = models.CharField(
        _("gender"), max_length=10, choices=Gender.choices, blank=True, default=""
    )
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    # From an age in an imported register: the year is known, the day is not (no
    # birthday greetings); a birth date entered later takes precedence.
    birth_year = models.PositiveSmallIntegerField(
        _("approximate birth year"), null=True, blank=True
    )
    company = models.CharField(_("company"), max_length=200, blank=True, default="")
    title = models.CharField(_("job title"), max_length=100, blank=True, default="")
    industry = models.CharField(
        _("industry"), max_length=20, choices=Industry.choices, blank=True, default=""
    )
    source = models.ForeignKey(
        SourceChannel,
        verbose_name=_("source channel"),
        to_field="code",
        db_column="source",
        on_delete=models.PROTECT,
        default=Source.OTHER.value,
        related_name="+",
        # Ten-odd values: an index would not serve a filter, and every import pays for one.
        db_index=False,
    )
    uscc = models.CharField(
        _("unified social credit code"),
        max_length=18,
        blank=True,
        default="",
        help_text=_("统一社会信用代码: 18 characters, for company customers."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_customers",
        help_text=_("Empty means the customer is in the shared pool."),
    )
    team = models.ForeignKey(
        "crm.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    is_key_account = models.BooleanField(_("key account"), default=False)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    preferred_categories = ArrayField(
        models.CharField(max_length=50),
        verbose_name=_("preferred product categories"),
        default=list,
        blank=True,
    )
    preferred_brands = ArrayField(
        models.CharField(max_length=50),
        verbose_name=_("preferred brands"),
        default=list,
        blank=True,
    )
    preferred_colours = ArrayField(
        models.CharField(max_length=50),
        verbose_name=_("preferred colours"),
        default=list,
        blank=True,
    )
    preference_notes = models.TextField(_("other preferences"), blank=True, default="")
    needs = models.TextField(_("needs"), blank=True, default="")
    notes = models.TextField(_("notes"), blank=True, default="")
    # What imports could not place, in the file's own words and why (a masked or
    # mistyped phone, a value no choice matched): personal, hence encrypted.
    import_remarks = EncryptedTextField(_("import remarks"), blank=True, default="")
    stage = models.CharField(
        _("lifecycle stage"), max_length=10, choices=Stage.choices, default=Stage.LEAD
    )
    stage_changed_at = models.DateTimeField(_("stage since"), default=timezone.now)
    province = models.CharField(_("province"), max_length=20, blank=True, default="")
    city = models.CharField(_("city"), max_length=30, blank=True, default="")
    district = models.CharField(_("district"), max_length=30, blank=True, default="")
    street = EncryptedTextField(_("street address"), blank=True, default="")
    postcode = models.CharField(_("postcode"), max_length=6, blank=True, default="")
    financial_status = EncryptedTextField(
        _("financial status"), choices=FinancialStatus.choices, blank=True, default=""
    )
    risk_preference = EncryptedTextField(
        _("risk preference"), choices=RiskPreference.choices, blank=True, default=""
    )
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    consent_source = models.CharField(
        _("consent source"), max_length=20, choices=ConsentSource.choices, blank=True, default=""
    )
    privacy_notice_version = models.CharField(
        _("privacy notice version"), max_length=20, blank=True, default=""
    )
    verified_at = models.DateTimeField(_("last verified"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Derived by customers.quality after every write; 0–100.
    quality = models.PositiveSmallIntegerField(_("data quality"), default=0, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deleted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Kept by customers.ownership, the only code that changes the owner: when the
    # current owner took the customer (the recycle clocks start there), whether it
    # is locked against recycling, and the ledger row that put it in the pool.
    owner_since = models.DateTimeField(_("owner since"), null=True, blank=True)
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("locked by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    pool_since = models.DateTimeField(_("in the pool since"), null=True, blank=True)
    pool_entry = models.ForeignKey(
        "customers.OwnershipChange",
        verbose_name=_("entered the pool by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name_pinyin", "id"]
        permissions = [
            ("view_all_customers", _("Can see every customer")),
            ("view_team_customers", _("Can see the customers of the teams one manages")),
            (
                "reveal_customer_contact",
                _("Can reveal the phones and e-mails of others' customers"),
            ),
            ("view_financial_profile", _("Can see and edit the financial profile")),
            ("assign_customer_owner", _("Can assign customers to a sales rep")),
            ("view_customer_history", _("Can see a customer's change history")),
            ("restore_customer", _("Can see and restore deleted customers")),
            ("export_customers", _("Can export customer lists")),
            ("merge_customers", _("Can merge duplicate customers and undo merges")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["uscc"],
                condition=~models.Q(uscc="") & models.Q(deleted_at__isnull=True),
                name="customers_customer_uscc_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=CustomerKind.values), name="customers_customer_kind"
            ),
            models.CheckConstraint(
                condition=models.Q(stage__in=Stage.values), name="customers_customer_stage"
            ),
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="customers_customer_version_positive"
            ),
        ]
        indexes = [
            # The default list order, among live customers only.
            models.Index(
                fields=["name_pinyin", "id"],
                name="customers_live_pinyin_idx",
                condition=models.Q(deleted_at__isnull=True),
            ),
            # Prefix search by pinyin ("zhangsan", "zs"): pattern ops serve LIKE 'x%'.
            models.Index(
                fields=["name_pinyin"],
                name="customers_pinyin_prefix_idx",
                opclasses=["varchar_pattern_ops"],
                condition=models.Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["name_initials"],
                name="customers_initials_prefix_idx",
                opclasses=["varchar_pattern_ops"],
                condition=models.Q(deleted_at__isnull=True),
            ),
            # One- and two-character Chinese searches, which trigrams cannot serve.
            GinIndex(
                fields=["search_grams"],
                name="customers_search_grams_gin",
                condition=models.Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["owner", "name_pinyin", "id"], name="customers_owner_pinyin_idx"),
            # The pool page: newest in the pool first.
            models.Index(
                F("pool_since").desc(),
                F("id").desc(),
                name="customers_pool_since_idx",
                condition=models.Q(owner__isnull=True, deleted_at__isnull=True),
            ),
            # The conflict check's exact name and company look-ups.
            models.Index(
                Lower("name"),
                name="customers_name_lower_idx",
                condition=models.Q(deleted_at__isnull=True),
            ),
            models.Index(
                Lower("company"),
                name="customers_company_lower_idx",
                condition=models.Q(deleted_at__isnull=True) & ~models.Q(company=""),
            ),
            models.Index(fields=["team", "name_pinyin", "id"], name="customers_team_pinyin_idx"),
            models.Index(fields=["stage"], name="customers_stage_idx"),
            # The workbench's key accounts at risk (a few in a million), newest change first.
            models.Index(
                F("updated_at").desc(),
                F("id"),
                name="customers_key_at_risk_idx",
                condition=models.Q(is_key_account=True, stage="at_risk", deleted_at__isnull=True),
            ),
            models.Index(fields=["province", "city"], name="customers_region_idx"),
            models.Index(fields=["updated_at"], name="customers_updated_idx"),
            models.Index(fields=["verified_at"], name="customers_verified_idx"),
            models.Index(
                fields=["quality", "id"],
                name="customers_quality_idx",
                condition=models.Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["-deleted_at"],
                name="customers_deleted_idx",
                condition=models.Q(deleted_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.number})"

    def get_absolute_url(self) -> str:
        return reverse("customers:detail", args=[self.pk])

    @property
    def is_company(self) -> bool:
        return self.kind == CustomerKind.COMPANY

    @property
    def in_pool(self) -> bool:
        return self.owner_id is None

    @property
    def age(self) -> int | None:
        if self.birth_date is None:
            return self.approximate_age
        return age_on(self.birth_date, timezone.localdate())

    @property
    def approximate_age(self) -> int | None:
        """The age this year from the approximate birth year (no birth date)."""
        if self.birth_date is not None or self.birth_year is None:
            return None
        return timezone.localdate().year - self.birth_year

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def region_display(self) -> str:
        return " ".join(part for part in (self.province, self.city, self.district) if part)


class Contact(models.Model):
    """A person at a company customer."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("job title"), max_length=100, blank=True, default="")
    is_primary = models.BooleanField(_("primary contact"), default=False)
    notes = models.CharField(_("notes"), max_length=500, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_primary=True),
                name="customers_contact_one_primary",
            )
        ]

    def __str__(self) -> str:
        return self.name


class PhoneLabel(models.TextChoices):
    MOBILE = "mobile", pgettext_lazy("phone label", "Mobile")
    WORK = "work", pgettext_lazy("phone label", "Work")
    HOME = "home", pgettext_lazy("phone label", "Home")
    OTHER = "other", pgettext_lazy("phone label", "Other")


class CustomerPhone(models.Model):
    """A phone of the customer (contact empty) or of one of its contacts."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="phones"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="phones",
    )
    number = EncryptedTextField(_("phone"))
    number_index = BlindIndexField(_("phone index"))
    label = models.CharField(
        _("label"), max_length=10, choices=PhoneLabel.choices, default=PhoneLabel.MOBILE
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    # What a register wrote beside the number ("微信同号", "转 801", "办").
    note = models.CharField(pgettext_lazy("phone", "note"), max_length=40, blank=True, default="")
    wechat = models.BooleanField(
        _("same number on WeChat"),
        default=False,
        help_text=_("微信同号: the number finds them on WeChat."),
    )

    class Meta:
        verbose_name = _("phone")
        verbose_name_plural = _("phones")
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["number_index"], name="customers_phone_index_idx")]

    def __str__(self) -> str:
        return phone_mask(self.number)

    @property
    def display(self) -> str:
        return phone_display(self.number)

    @property
    def masked(self) -> str:
        return phone_mask(self.number)


class CustomerEmail(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="emails"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="emails",
    )
    address = EncryptedTextField(_("e-mail"))
    address_index = BlindIndexField(_("e-mail index"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["address_index"], name="customers_email_index_idx")]

    def __str__(self) -> str:
        return email_mask(self.address)

    @property
    def display(self) -> str:
        return self.address

    @property
    def masked(self) -> str:
        return email_mask(self.address)


class CollaboratorAccess(models.TextChoices):
    READ = "read", pgettext_lazy("collaborator access", "Read")
    EDIT = "edit", pgettext_lazy("collaborator access", "Edit")


class CollaboratorRole(models.TextChoices):
    CO_FOLLOW = "co_follow", pgettext_lazy("collaborator role", "Co-follow-up")
    AFTER_SALES = "after_sales", pgettext_lazy("collaborator role", "After-sales")
    OTHER = "other", pgettext_lazy("collaborator role", "Other")


class Collaborator(models.Model):
    """Someone besides the owner who works on the customer (联合跟进人)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="collaborators"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("colleague"),
        on_delete=models.CASCADE,
        related_name="collaborations",
    )
    role = models.CharField(
        _("role"),
        max_length=20,
        choices=CollaboratorRole.choices,
        default=CollaboratorRole.CO_FOLLOW,
    )
    access = models.CharField(
        _("access"),
        max_length=10,
        choices=CollaboratorAccess.choices,
        default=CollaboratorAccess.READ,
    )
    created_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("collaborator")
        verbose_name_plural = _("collaborators")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "user"], name="customers_collaborator_unique"
            )
        ]
        indexes = [models.Index(fields=["user", "customer"], name="customers_collab_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} → {self.customer_id}"


class StageChange(models.Model):
    """One move of the lifecycle stage, kept for ever (lead → active → …)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.CharField(
        _("from"), max_length=10, choices=Stage.choices, blank=True, default=""
    )
    to_stage = models.CharField(_("to"), max_length=10, choices=Stage.choices)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-changed_at"], name="customers_stage_hist_idx")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_stage} → {self.to_stage}"


def age_on(born: datetime.date, today: datetime.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


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


class FrequencyTier(models.TextChoices):
    HIGH = "high", pgettext_lazy("frequency tier", "High")
    MEDIUM = "medium", pgettext_lazy("frequency tier", "Medium")
    LOW = "low", pgettext_lazy("frequency tier", "Low")
    NONE = "none", pgettext_lazy("frequency tier", "None")


class ValueTier(models.TextChoices):
    HIGH = "high", pgettext_lazy("value tier", "High")
    MEDIUM = "medium", pgettext_lazy("value tier", "Medium")
    LOW = "low", pgettext_lazy("value tier", "Low")


class RfmSegment(models.TextChoices):
    """The named RFM segments over the R × F grid (docs/segmentation.md)."""

    CHAMPIONS = "champions", pgettext_lazy("rfm segment", "Champions")
    LOYAL = "loyal", pgettext_lazy("rfm segment", "Loyal")
    POTENTIAL_LOYALISTS = "potential", pgettext_lazy("rfm segment", "Potential loyalists")
    NEW = "new", pgettext_lazy("rfm segment", "New customers")
    PROMISING = "promising", pgettext_lazy("rfm segment", "Promising")
    NEED_ATTENTION = "attention", pgettext_lazy("rfm segment", "Need attention")
    ABOUT_TO_SLEEP = "sleepy", pgettext_lazy("rfm segment", "About to sleep")
    AT_RISK = "at_risk", pgettext_lazy("rfm segment", "At risk")
    CANT_LOSE = "cant_lose", pgettext_lazy("rfm segment", "Can't lose them")
    HIBERNATING = "hibernating", pgettext_lazy("rfm segment", "Hibernating")
    LOST = "lost", pgettext_lazy("rfm segment", "Lost")


class CustomerMetrics(models.Model):
    """Numbers derived from a customer's orders, recomputed by set-based SQL
    (`customers.metrics.metrics_refresh`), never typed. Amounts are net of refunds
    and converted to CNY at each order's rate."""

    customer = models.OneToOneField(
        Customer,
        verbose_name=_("customer"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="metrics",
    )
    orders_count = models.PositiveIntegerField(pgettext_lazy("count", "orders"), default=0)
    total_spent = models.DecimalField(_("total spent"), max_digits=16, decimal_places=2, default=0)
    average_order_value = models.DecimalField(
        _("average order value"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    first_purchase_at = models.DateTimeField(_("first purchase"), null=True, blank=True)
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    # The median number of days between purchases on different days.
    purchase_interval_days = models.DecimalField(
        _("usual days between purchases"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    # Who made the first purchase, and their team then (0: nobody): the new customers
    # of a salesperson or team in a period are counted from here (sales.performance).
    first_salesperson_key = models.PositiveBigIntegerField(_("first purchase by"), default=0)
    first_team_key = models.PositiveBigIntegerField(_("first purchase by team"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"), default=timezone.now)
    # The latest interaction, whatever its date (`metrics_refresh` keeps these in
    # step with every interaction saved).
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    last_contact_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last contact by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    last_contact_channel = models.CharField(
        _("last contact channel"), max_length=10, blank=True, default="", db_default=""
    )
    interactions_count = models.PositiveIntegerField(
        pgettext_lazy("count", "interactions"), default=0, db_default=0
    )

    # Set by `segmentation` at its as-of day (DESIGN §3, docs/segmentation.md).
    as_of = models.DateField(_("as of"), null=True, blank=True)
    purchase_days = models.PositiveIntegerField(_("purchase days"), default=0, db_default=0)
    purchase_days_12m = models.PositiveIntegerField(
        _("purchase days in 12 months"), default=0, db_default=0
    )
    mean_interval_days = models.DecimalField(
        _("average days between purchases"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    days_since_purchase = models.IntegerField(_("days since last purchase"), null=True, blank=True)
    # The repeat-purchase model's inputs (segmentation.scoring._INPUTS): the first
    # purchase day and the average value of the later purchase days.
    first_purchase_on = models.DateField(_("first purchase day"), null=True, blank=True)
    repeat_spend = models.DecimalField(
        _("average repeat purchase"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    days_since_contact = models.IntegerField(_("days since last contact"), null=True, blank=True)
    interactions_90d = models.PositiveIntegerField(
        _("interactions in 90 days"), default=0, db_default=0
    )
    usual_interactions_90d = models.DecimalField(
        _("usual interactions per 90 days"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    # What the usual rate is worked out from, kept so the nightly run moves it to
    # the next day without reading the interactions again (segmentation.figures).
    first_contact_at = models.DateTimeField(_("first contact"), null=True, blank=True)
    interactions_before = models.PositiveIntegerField(
        _("interactions in the year before the last 90 days"), default=0, db_default=0
    )
    recency_score = models.PositiveSmallIntegerField("R", null=True, blank=True)
    frequency_score = models.PositiveSmallIntegerField("F", null=True, blank=True)
    monetary_score = models.PositiveSmallIntegerField("M", null=True, blank=True)
    rfm_segment = models.CharField(
        _("RFM segment"), max_length=20, choices=RfmSegment.choices, blank=True, default="",
        db_default="",
    )  # fmt: skip
    frequency_tier = models.CharField(
        _("frequency tier"), max_length=10, choices=FrequencyTier.choices,
        default=FrequencyTier.NONE, db_default=FrequencyTier.NONE,
    )  # fmt: skip
    value_tier = models.CharField(
        _("value tier"), max_length=10, choices=ValueTier.choices, blank=True, default="",
        db_default="",
    )  # fmt: skip
    lifecycle = models.CharField(
        _("lifecycle stage"), max_length=10, choices=Stage.choices, default=Stage.LEAD,
        db_default=Stage.LEAD,
    )  # fmt: skip
    key_account_suggested = models.BooleanField(
        _("suggested key account"), default=False, db_default=False
    )
    p_alive = models.DecimalField(
        _("P(alive)"), max_digits=5, decimal_places=4, null=True, blank=True
    )
    expected_purchases_90d = models.DecimalField(
        _("expected purchases in 90 days"), max_digits=9, decimal_places=3, null=True, blank=True
    )
    expected_value_12m = models.DecimalField(
        _("expected value in 12 months"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    next_purchase_on = models.DateField(_("next purchase expected"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer metrics")
        verbose_name_plural = _("customer metrics")
        indexes = [
            models.Index(fields=["last_purchase_at"], name="customers_metrics_last_idx"),
            models.Index(fields=["total_spent"], name="customers_metrics_spent_idx"),
            models.Index(
                fields=["first_salesperson_key", "first_purchase_at"],
                name="customers_metrics_first_idx",
            ),
            models.Index(
                fields=["first_team_key", "first_purchase_at"], name="customers_metrics_fteam_idx"
            ),
            models.Index(fields=["next_purchase_on"], name="customers_metrics_next_idx"),
            # The dashboards' customers at risk, most valuable first.
            models.Index(fields=["lifecycle", "-total_spent"], name="customers_metrics_risk_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.orders_count} / {self.total_spent}"


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


# --- the shared pool (公海, DESIGN §5) ----------------------------------------


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
        from customers.ownership import POOL_RULE_VALUES

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
