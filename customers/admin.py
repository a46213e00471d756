"""Customers in Django admin: for looking things up and fixing tags.

Customer and contact records change only through the CRM's own pages, whose
services standardise the input, keep the search columns and the version in step
and audit every change; admin shows them read-only with personal fields masked,
and links to the CRM page for edits. Tags are edited here (renaming a tag or
changing its colour is a steward's everyday chore), audited like all admin writes.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from crm.admin import AuditedAdminMixin, ReadOnlyAdminMixin, SettingsRowAdminMixin
from customers.models import (
    Contact,
    Customer,
    FreshnessPolicy,
    ImportRules,
    ImportValueMapping,
    OwnershipChange,
    PoolRule,
    ReleaseReason,
    SourceChannel,
    Tag,
)
from customers.selectors import customers_matching
from customers.sources import source_key
from customers.standardise import tag_name_clean

MASKED_NOTE = _("Personal fields are masked here; reveal them on the customer page.")


def _masked_list(items) -> str:
    return format_html_join(", ", "{}", ((item.masked,) for item in items)) or "—"


class ContactInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Contact
    fields = ("name", "title", "is_primary", "phones_masked")
    readonly_fields = fields
    extra = 0
    show_change_link = True

    @admin.display(description=_("phones"))
    def phones_masked(self, contact: Contact) -> str:
        return _masked_list(contact.phones.all())


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "name",
        "kind",
        "stage",
        "owner",
        "team",
        "city",
        "is_key_account",
        "phones_masked",
        "deleted_at",
    )
    list_select_related = ("owner", "team")
    list_filter = (
        "stage",
        "kind",
        "is_key_account",
        "source",
        "industry",
        "team",
        ("owner", admin.RelatedOnlyFieldListFilter),
        ("deleted_at", admin.EmptyFieldListFilter),
        "province",
    )
    search_fields = ("number",)  # the search box goes through customers_matching
    search_help_text = _(
        "Customer number, name or company (any part), pinyin, or an exact phone or e-mail."
    )
    show_full_result_count = False
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    inlines = (ContactInline,)
    fieldsets = (
        (None, {"fields": ("open_in_crm", "number", "kind", "name", "stage", "stage_changed_at")}),
        (
            _("Profile"),
            {
                "fields": (
                    "gender",
                    "birth_date",
                    "company",
                    "title",
                    "industry",
                    "source",
                    "uscc",
                    "owner",
                    "team",
                    "owner_since",
                    "locked_at",
                    "is_key_account",
                    "tag_list",
                )
            },
        ),
        (
            _("Contact details"),
            {
                "description": MASKED_NOTE,
                "fields": ("phones_masked", "emails_masked", "region", "street_masked"),
            },
        ),
        (
            _("Consent and verification"),
            {
                "fields": (
                    "marketing_consent",
                    "consent_at",
                    "consent_source",
                    "privacy_notice_version",
                    "verified_at",
                    "verified_by",
                )
            },
        ),
        (
            _("Record"),
            {
                "fields": (
                    "version",
                    "created_at",
                    "created_by",
                    "updated_at",
                    "deleted_at",
                    "deleted_by",
                )
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        return [name for _title, options in self.fieldsets for name in options["fields"]]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("phones", "tags")

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return customers_matching(queryset, search_term), False

    @admin.display(description=_("phones"))
    def phones_masked(self, customer: Customer) -> str:
        return _masked_list(phone for phone in customer.phones.all() if phone.contact_id is None)

    @admin.display(description=_("e-mails"))
    def emails_masked(self, customer: Customer) -> str:
        return _masked_list(email for email in customer.emails.all() if email.contact_id is None)

    @admin.display(description=_("street address"))
    def street_masked(self, customer: Customer) -> str:
        return "••••" if customer.street else "—"

    @admin.display(description=_("region"))
    def region(self, customer: Customer) -> str:
        return customer.region_display() or "—"

    @admin.display(description=_("tags"))
    def tag_list(self, customer: Customer) -> str:
        return ", ".join(tag.name for tag in customer.tags.all()) or "—"

    @admin.display(description=_("in the CRM"))
    def open_in_crm(self, customer: Customer) -> str:
        if customer.is_deleted:
            return _("Deleted; a data steward can restore it from “Recently deleted”.")
        return format_html(
            '<a href="{}">{}</a>', customer.get_absolute_url(), _("Open the customer page to edit")
        )


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "title", "customer", "is_primary", "phones_masked")
    list_select_related = ("customer",)
    list_filter = ("is_primary",)
    search_fields = ("name", "title", "customer__name", "customer__number")
    show_full_result_count = False
    fields = ("customer", "name", "title", "is_primary", "notes", "phones_masked", "emails_masked")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("phones", "emails")

    @admin.display(description=_("phones"))
    def phones_masked(self, contact: Contact) -> str:
        return _masked_list(contact.phones.all())

    @admin.display(description=_("e-mails"))
    def emails_masked(self, contact: Contact) -> str:
        return _masked_list(contact.emails.all())


class TagAdminForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ("name", "colour")

    def clean_name(self) -> str:
        name = tag_name_clean(self.cleaned_data.get("name", ""))
        clash = Tag.objects.filter(name__iexact=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("A tag with this name already exists."), code="duplicate")
        return name


@admin.register(Tag)
class TagAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = TagAdminForm
    list_display = ("name", "colour", "customer_count", "created_at")
    list_filter = ("colour",)
    search_fields = ("name",)
    ordering = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(customer_total=Count("customers"))

    @admin.display(description=_("customers"), ordering="customer_total")
    def customer_count(self, tag: Tag) -> int:
        return tag.customer_total


class SourceChannelForm(forms.ModelForm):
    synonyms = forms.CharField(
        label=_("synonyms"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=SourceChannel._meta.get_field("synonyms").help_text,
    )

    class Meta:
        model = SourceChannel
        fields = ("code", "name_zh", "name_en", "synonyms", "position", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["synonyms"] = "、".join(self.instance.synonyms or [])

    def clean_synonyms(self) -> list[str]:
        words = []
        for word in re.split(r"[,，;；、\n]+", self.cleaned_data.get("synonyms", "")):
            word = " ".join(word.split())
            if len(word) > 50:
                raise forms.ValidationError(
                    _("“%(word)s…” is too long: at most 50 characters."),
                    code="max_length",
                    params={"word": word[:20]},
                )
            if word and source_key(word) not in map(source_key, words):
                words.append(word)
        return words

    def clean(self):
        cleaned = super().clean()
        code = self.instance.code or cleaned.get("code", "")
        if code in SourceChannel.BUILT_IN and cleaned.get("is_active") is False:
            self.add_error(
                "is_active",
                _("Kehu relies on this channel (the default and imports); it stays offered."),
            )
        # A word may name one channel only: else an import could not tell which.
        mine = {
            source_key(w): w
            for w in (cleaned.get("name_zh"), cleaned.get("name_en"), *cleaned.get("synonyms", []))
            if w
        }
        for other in SourceChannel.objects.exclude(pk=self.instance.pk):
            theirs = {
                source_key(w) for w in (other.code, other.name_zh, other.name_en, *other.synonyms)
            }
            clash = sorted(mine[key] for key in mine.keys() & theirs)
            if clash:
                raise forms.ValidationError(
                    _("%(words)s already names the channel “%(channel)s”."),
                    code="taken",
                    params={"words": "、".join(clash), "channel": other.label},
                )
        return cleaned


@admin.register(SourceChannel)
class SourceChannelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The company's source channels: names in both languages and the words
    registers use for them. A channel in use is retired by unticking "offered"."""

    form = SourceChannelForm
    list_display = ("code", "name_zh", "name_en", "synonym_list", "position", "is_active")
    list_editable = ("position", "is_active")
    search_fields = ("code", "name_zh", "name_en")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()

    @admin.display(description=_("synonyms"))
    def synonym_list(self, channel: SourceChannel) -> str:
        return "、".join(channel.synonyms)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ImportRules)
class ImportRulesAdmin(SettingsRowAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    """The company's rules for customer imports."""


@admin.register(ImportValueMapping)
class ImportValueMappingAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """What stewards mapped registers' values to; the wizard suggests it again. A
    wrong one is corrected in the wizard next time, or deleted here."""

    list_display = ("key", "value", "target", "updated_by", "updated_at")
    list_filter = ("key",)
    search_fields = ("value", "target")
    readonly_fields = ("key", "value_key", "value", "updated_by", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(FreshnessPolicy)
class FreshnessPolicyAdmin(SettingsRowAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    """How fresh a record must be; the next freshness audit (every morning, or
    `run_job freshness_audit`) applies it."""

    fields = ("key_account_days", "other_days", "min_quality", "task_due_days")


@admin.register(PoolRule)
class PoolRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The pool rules (customers.ownership, customers.pool): the company default
    and overrides per team, per importance level or both; an empty value in an
    override takes the next broader row's. Claims and assignments apply them at
    once; the nightly `pool_recycle` applies the clocks."""

    list_display = (
        "__str__", "max_customers", "max_claims_per_day", "max_locked", "protection_days",
        "no_interaction_days", "no_order_days", "cooldown_days", "warn_days",
    )  # fmt: skip
    list_select_related = ("team",)
    fieldsets = (
        (_("Applies to"), {"fields": ("team", "key_account")}),
        (_("Holding and claiming"), {
            "fields": ("max_customers", "count_won", "max_claims_per_day", "max_locked",
                       "cooldown_days"),
        }),
        (_("Protection"), {
            "fields": ("protection_days", "protection_extension_days", "protection_max_days"),
        }),
        (_("Recycling"), {
            "fields": ("no_interaction_days", "no_order_days", "exempt_open_opportunity",
                       "exempt_order_days", "warn_days"),
        }),
    )  # fmt: skip

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj and obj.is_default)


@admin.register(ReleaseReason)
class ReleaseReasonAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The reasons a rep picks from when releasing a customer; retire one by
    unticking "offered" (the ledger keeps pointing at it)."""

    list_display = ("name_zh", "name_en", "position", "is_active")
    list_editable = ("position", "is_active")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OwnershipChange)
class OwnershipChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The ownership ledger: every claim, release, assignment, transfer, import,
    merge and recycle, written by customers.ownership only."""

    list_display = ("at", "customer", "kind", "from_user", "to_user", "actor", "reason_display")
    list_filter = ("kind", "reason", "at")
    list_select_related = ("customer", "from_user", "to_user", "actor", "release_reason")
    search_fields = ("customer__number",)
    date_hierarchy = "at"
    show_full_result_count = False
    raw_id_fields = ("customer", "from_user", "to_user", "actor", "release_reason")

    @admin.display(description=_("why"))
    def reason_display(self, change: OwnershipChange) -> str:
        return change.reason_display() or "—"
