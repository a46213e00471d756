"""Input shapes only: the rules and the standardisation live in the services."""

from __future__ import annotations

from django import forms
from django.core import signing
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import ImportKind, User
from crm.normalise import phone_display
from crm.selectors import visible_users
from customers.import_jobs import (
    KINDS,
    OWNER_POOL,
    OWNER_SELF,
    analysis_of,
    import_job_layout,
    import_kinds_for,
)
from customers.imports.clean import NEW_SOURCE, value_key
from customers.imports.values import (
    Suggester,
    choice_columns,
    column_label,
    value_targets,
)
from customers.models import (
    CollaboratorAccess,
    CollaboratorRole,
    ConsentSource,
    Customer,
    CustomerKind,
    FinancialStatus,
    Gender,
    Industry,
    ReleaseReason,
    RiskPreference,
)
from customers.selectors import assignable_owners
from customers.sources import SourceLookup, source_choices

ORIGINAL_SALT = "customers.edit-original"


def _max(field: str) -> int:
    return Customer._meta.get_field(field).max_length


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _personal_text(phones, emails) -> dict[str, str]:
    """Phones and e-mails as the form's text boxes hold them."""
    return {
        "phones": ", ".join(phone_display(phone.number) for phone in phones),
        "emails": ", ".join(email.address for email in emails),
    }


class CustomerForm(forms.Form):
    # Shown only when the new customer looks like one of the user's own.
    create_anyway = forms.BooleanField(
        label=_("It is another customer: create it anyway"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    number = forms.CharField(
        label=_("Customer number"),
        required=False,
        max_length=20,
        help_text=_("Leave empty to get the next number (KH…)."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerKind.choices)
    name = forms.CharField(label=pgettext_lazy("customer", "Name"), max_length=_max("name"))
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, required=False)
    birth_date = forms.DateField(label=_("Birth date"), required=False, widget=DateInput())
    company = forms.CharField(label=_("Company"), max_length=_max("company"), required=False)
    title = forms.CharField(label=_("Job title"), max_length=_max("title"), required=False)
    uscc = forms.CharField(
        label=_("Unified social credit code"),
        max_length=30,
        required=False,
        help_text=_("统一社会信用代码, for company customers."),
    )
    industry = forms.ChoiceField(label=_("Industry"), choices=Industry.choices, required=False)
    source = forms.ChoiceField(label=_("Source channel"), choices=())
    owner = forms.ModelChoiceField(
        label=_("Owner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=pgettext_lazy("owner", "Nobody: shared pool"),
    )
    release_reason = forms.ModelChoiceField(
        label=_("Why to the pool"),
        queryset=ReleaseReason.objects.filter(is_active=True),
        required=False,
        help_text=_("Needed when the owner becomes nobody."),
    )
    owner_note = forms.CharField(
        label=_("Note on the change of owner"), max_length=500, required=False
    )
    is_key_account = forms.BooleanField(label=_("Key account"), required=False)
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=500,
        help_text=_("Separate tags with commas."),
    )
    phones = forms.CharField(
        label=_("Phones"),
        required=False,
        max_length=200,
        help_text=_("Mobile or landline, any format; separate several with commas."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    emails = forms.CharField(
        label=_("E-mails"),
        required=False,
        max_length=300,
        help_text=_("Separate several with commas."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    province = forms.CharField(label=_("Province"), max_length=_max("province"), required=False)
    city = forms.CharField(label=_("City"), max_length=_max("city"), required=False)
    district = forms.CharField(label=_("District"), max_length=_max("district"), required=False)
    street = forms.CharField(
        label=_("Street address"),
        max_length=200,
        required=False,
        help_text=_("A whole address pasted here is split into province, city and district."),
    )
    postcode = forms.CharField(label=_("Postcode"), max_length=10, required=False)
    preferred_categories = forms.CharField(
        label=_("Preferred product categories"), max_length=500, required=False
    )
    preferred_brands = forms.CharField(label=_("Preferred brands"), max_length=500, required=False)
    preferred_colours = forms.CharField(
        label=_("Preferred colours"), max_length=500, required=False
    )
    preference_notes = forms.CharField(
        label=_("Other preferences"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    needs = forms.CharField(
        label=_("Needs"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    import_remarks = forms.CharField(
        label=_("Import remarks"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "What an import could not place, in the file's own words. Clear what you "
            "have dealt with."
        ),
    )
    marketing_consent = forms.BooleanField(label=_("Agrees to marketing"), required=False)
    consent_source = forms.ChoiceField(
        label=_("Consent source"), choices=ConsentSource.choices, required=False
    )
    privacy_notice_version = forms.CharField(
        label=_("Privacy notice version"), max_length=20, required=False
    )
    financial_status = forms.ChoiceField(
        label=_("Financial status"), choices=FinancialStatus.choices, required=False
    )
    risk_preference = forms.ChoiceField(
        label=_("Risk preference"), choices=RiskPreference.choices, required=False
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # The values the edit form was opened with (signed), so a save sends only what
    # this user changed and never writes back a colleague's newer values.
    original = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user: User, customer: Customer | None = None, **kwargs):
        self.customer = customer
        self.user = user
        super().__init__(*args, **kwargs)
        if customer is not None:
            del self.fields["number"]
        # The company's own list; a customer keeps a channel retired since.
        self.fields["source"].choices = source_choices(keep=customer.source_id if customer else "")
        if user.has_perm("customers.assign_customer_owner"):
            # The current owner (or the creator) stays choosable even when not
            # assignable (left, moved, a steward): else the form would fall back
            # to "shared pool" and move the customer on an unrelated save.
            keep = [customer.owner_id if customer is not None else user.pk]
            self.fields["owner"].queryset = User.objects.filter(
                Q(pk__in=assignable_owners(user).values("pk")) | Q(pk__in=keep)
            ).order_by("username")
        else:
            del self.fields["owner"], self.fields["release_reason"], self.fields["owner_note"]
        if not user.has_perm("customers.view_financial_profile"):
            del self.fields["financial_status"], self.fields["risk_preference"]

    @classmethod
    def initial_for(cls, customer: Customer) -> dict:
        """The edit form's values: the customer's own phones and e-mails, not its contacts'."""
        initial = {
            name: getattr(customer, name)
            for name in cls.base_fields
            if name not in ("number", "owner", "tags", "phones", "emails", "version")
            and name not in ("release_reason", "owner_note")
            and hasattr(customer, name)
        }
        for name in ("preferred_categories", "preferred_brands", "preferred_colours"):
            initial[name] = ", ".join(getattr(customer, name))
        initial.update(
            owner=customer.owner_id,
            source=customer.source_id,
            tags=", ".join(tag.name for tag in customer.tags.all()),
            **_personal_text(
                customer.phones.filter(contact__isnull=True),
                customer.emails.filter(contact__isnull=True),
            ),
            version=customer.version,
        )
        initial["original"] = cls.original_sign(initial)
        return initial

    @staticmethod
    def original_sign(initial: dict) -> str:
        as_posted = {
            name: value.isoformat() if hasattr(value, "isoformat") else value
            for name, value in initial.items()
            if value not in (None, False) and name not in ("version", "original")
        }
        return signing.dumps(as_posted, salt=ORIGINAL_SALT)

    def _original_cleaned(self) -> dict | None:
        try:
            posted = signing.loads(self.cleaned_data.get("original") or "", salt=ORIGINAL_SALT)
        except signing.BadSignature:
            return None
        form = CustomerForm(posted, user=self.user, customer=self.customer)
        form.is_valid()
        return form.cleaned_data

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        data.pop("original", None)
        if self.customer is not None:
            data.pop("number", None)
            data.pop("create_anyway", None)
            original = self._original_cleaned()
            if original is not None:
                data = {
                    name: value
                    for name, value in data.items()
                    if name not in original or original[name] != value
                }
        return data


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    phones = forms.CharField(
        label=_("Phones"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    emails = forms.CharField(label=_("E-mails"), max_length=300, required=False)
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)
    notes = forms.CharField(label=_("Notes"), max_length=500, required=False)

    @staticmethod
    def initial_for(contact) -> dict:
        return {
            "name": contact.name,
            "title": contact.title,
            "notes": contact.notes,
            "is_primary": contact.is_primary,
            **_personal_text(contact.phones.all(), contact.emails.all()),
        }


class CollaboratorForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Colleague"), queryset=User.objects.none())
    role = forms.ChoiceField(label=_("Role"), choices=CollaboratorRole.choices)
    access = forms.ChoiceField(label=_("Access"), choices=CollaboratorAccess.choices)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = visible_users(user).filter(is_active=True)


class BulkAction(forms.Form):
    ASSIGN = "assign"
    TAG_ADD = "tag_add"
    TAG_REMOVE = "tag_remove"

    ids = forms.TypedMultipleChoiceField(coerce=int, choices=())
    action = forms.ChoiceField(
        label=_("With the selected"),
        choices=(
            (ASSIGN, _("Assign owner")),
            (TAG_ADD, _("Add tag")),
            (TAG_REMOVE, _("Remove tag")),
        ),
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=pgettext_lazy("owner", "Nobody: shared pool"),
    )
    release_reason = forms.ModelChoiceField(
        label=_("Why to the pool"),
        queryset=ReleaseReason.objects.filter(is_active=True),
        required=False,
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    tag = forms.CharField(label=_("Tag"), max_length=40, required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_owners(user)
        if not user.has_perm("customers.assign_customer_owner"):
            self.fields["action"].choices = self.fields["action"].choices[1:]
        # Any ids may be posted; the service refuses those outside the user's scope.
        self.fields["ids"].valid_value = lambda value: True

    def clean(self):
        data = super().clean()
        if data.get("action") in (self.TAG_ADD, self.TAG_REMOVE) and not data.get("tag"):
            self.add_error("tag", _("Enter the tag."))
        return data


class ClaimForm(forms.Form):
    """Customers to take from the pool (the pool page, a customer's page)."""

    ids = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), error_messages={"required": _("Choose the customers to claim.")}
    )
    back = forms.CharField(required=False, max_length=2000)  # the pool page's filters

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any ids may be posted; the service refuses those not in the user's pool.
        self.fields["ids"].valid_value = lambda value: True


class ReleaseForm(forms.Form):
    release_reason = forms.ModelChoiceField(
        label=_("Why to the pool"), queryset=ReleaseReason.objects.filter(is_active=True)
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class LockForm(forms.Form):
    locked = forms.TypedChoiceField(
        coerce=lambda value: value == "1",
        choices=(("1", pgettext_lazy("lock", "Lock")), ("0", pgettext_lazy("lock", "Unlock"))),
    )


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=pgettext_lazy("import", "What the file holds"),
        choices=(),
        required=False,  # the first kind the user may import
        widget=forms.RadioSelect,
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_("An Excel workbook (.xlsx) or a CSV file (UTF-8 or GBK)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,.txt"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        kinds = import_kinds_for(user)
        self.fields["kind"].choices = [(k, ImportKind(k).label) for k in kinds]
        self.fields["kind"].initial = kinds[0] if kinds else None

    def clean_kind(self) -> str:
        return self.cleaned_data["kind"] or self.fields["kind"].initial or ""


class ImportMappingForm(forms.Form):
    """One drop-down per column of the sheet; for customers also the owner and the
    update mode."""

    mode = forms.ChoiceField(
        label=_("When a row matches a customer Kehu already has"),
        choices=(
            ("fill", _("Fill only the customer's empty fields")),
            ("overwrite", _("Replace the customer's fields with the file's values")),
        ),
    )
    owner = forms.ChoiceField(label=_("Owner of the new customers"), choices=())

    def __init__(self, *args, job, user: User, **kwargs):
        spec = KINDS[job.kind]
        initial = {"mode": job.options.get("mode", "fill"), "owner": job.options.get("owner")}
        initial.update({f"col_{i}": key for i, key in enumerate(job.mapping)})
        super().__init__(*args, initial=initial, **kwargs)
        targets = [("", pgettext_lazy("import column", "— ignore —")), *spec.targets()]
        self.columns = []
        for index, header in enumerate(job.columns):
            name = f"col_{index}"
            # The column's header labels it in the table's first cell, once.
            self.fields[name] = forms.ChoiceField(
                label=header,
                choices=targets,
                required=False,
                widget=forms.Select(attrs={"class": "form-select"}),
            )
            self.columns.append(name)
        if not spec.owner_options:
            del self.fields["owner"], self.fields["mode"]
            return
        owners = [(OWNER_SELF, _("Me"))]
        if user.has_perm("customers.assign_customer_owner"):
            owners.append((OWNER_POOL, pgettext_lazy("owner", "Nobody: shared pool")))
            owners += [(str(u.pk), str(u)) for u in assignable_owners(user) if u.pk != user.pk]
        self.fields["owner"].choices = owners

    def column_fields(self):
        return [self[name] for name in self.columns]

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(name, "") for name in self.columns]


class ConflictCheckForm(forms.Form):
    q = forms.CharField(
        label=_("Name, company, phone or e-mail"),
        max_length=100,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )


class ImportValuesForm(forms.Form):
    """The value-mapping step: for each distinct value of each choice column, what it
    becomes (the suggestion chosen), with a group per column for the page."""

    def __init__(self, *args, job, **kwargs):
        super().__init__(*args, **kwargs)
        layout = import_job_layout(job)
        values = analysis_of(job)["values"]
        sources = SourceLookup()
        columns = choice_columns(layout)
        suggester = Suggester(sources, {key for __, key in columns})
        decided = job.options.get("values") or {}
        self.groups = []
        self._values: dict[str, tuple[str, str]] = {}  # field name → (key, text)
        for index, key in columns:
            group = {
                "key": key,
                "label": column_label(key),
                "header": layout.columns[index],
                "rows": [],
                "too_many": values.get(str(index)) is None,
            }
            self.groups.append(group)
            empty = ("", _("Leave empty (the text kept in the remarks)"))
            targets = [empty, *value_targets(key, sources)]
            for position, (text, count) in enumerate(values.get(str(index)) or []):
                name = f"v{index}_{position}"
                suggestion = suggester.suggest(key, text)
                choices = list(targets)
                if key == "source":
                    choices.append(
                        (NEW_SOURCE, _("Add “%(value)s” as a new source") % {"value": text})
                    )
                initial = decided.get(key, {}).get(value_key(text))
                if initial is None:
                    initial = suggestion.target or ""
                self.fields[name] = forms.ChoiceField(
                    label=text, choices=choices, initial=initial, required=False
                )
                self._values[name] = (key, text)
                group["rows"].append(
                    {"field": name, "text": text, "count": count, "suggestion": suggestion}
                )

    def bound_rows(self):
        """The groups with each row's bound field, for the template."""
        for group in self.groups:
            yield {**group, "rows": [{**row, "bound": self[row["field"]]} for row in group["rows"]]}

    def decisions(self) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
        """({key: {value_key: target}}, {key: {value_key: text}})."""

        decisions: dict[str, dict[str, str]] = {}
        texts: dict[str, dict[str, str]] = {}
        for name, (key, text) in self._values.items():
            folded = value_key(text)
            decisions.setdefault(key, {})[folded] = self.cleaned_data.get(name) or ""
            texts.setdefault(key, {})[folded] = text
        return decisions, texts
