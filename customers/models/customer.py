"""The customer record itself (DESIGN §4): the profile with its choice lists (kind,
gender, lifecycle stage, industry, consent, the financial profile), the owner and
team, the preferences, the address and the pool columns kept by
`customers.ownership`. The street address, the import remarks and the financial
profile are encrypted at rest; the pinyin and n-gram columns are derived by
`customers.services.records` on every write, for sorting and searching."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.fields import EncryptedTextField
from customers.models.labels import Source, SourceChannel, Tag


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


def age_on(born: datetime.date, today: datetime.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
