"""The customer record's writes: create (numbered from the database sequence,
its first owner checked by customers.ownership), edit on the version the form was
opened on (a later save by someone else refuses it), verify with the customer,
log the reveal of personal values, and tag several at once. Each keeps the
derived search columns (pinyin, n-grams) in step, refreshes the data quality and
writes one audit event; the field lists say what a form or import may set."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_record, diff, snapshot
from crm.models import AuditAction, User
from customers import ownership
from customers.conflict import conflict_refusal
from customers.metrics import metrics_refresh
from customers.models import Customer, OwnershipKind, StageChange, Tag
from customers.ownership import who_label as _who
from customers.pool_rules import receiver_lock
from customers.quality import quality_refresh
from customers.selectors import customer_access, customer_changes_since, editable_customers
from customers.services.parts import (
    _emails_replace,
    _masked_emails,
    _masked_phones,
    _phones_replace,
    tags_get_or_create,
)
from customers.signals import customer_verified
from customers.standardise import customer_standardise, name_pinyin, search_grams, tag_name_clean

NUMBER_PREFIX = "KH"

# Plain columns a form or import may set; phones, e-mails and tags are handled apart.
PROFILE_FIELDS = (
    "kind",
    "name",
    "gender",
    "birth_date",
    "birth_year",
    "company",
    "title",
    "industry",
    "source",
    "uscc",
    "is_key_account",
    "preferred_categories",
    "preferred_brands",
    "preferred_colours",
    "preference_notes",
    "needs",
    "notes",
    "import_remarks",
    "province",
    "city",
    "district",
    "street",
    "postcode",
    "marketing_consent",
    "consent_source",
    "privacy_notice_version",
)
FINANCIAL_FIELDS = ("financial_status", "risk_preference")
# Each field's attribute: the source channel, a foreign key, is read and set by its
# code, as forms, imports and the audit log carry it.
ATTNAMES = {
    name: Customer._meta.get_field(name).attname for name in (*PROFILE_FIELDS, *FINANCIAL_FIELDS)
}


class CustomerConflict(ValidationError):
    """Somebody saved the customer after the form was opened."""

    def __init__(self, *, customer: Customer, changed: dict[str, list]):
        super().__init__(
            _(
                "Someone else saved this customer while you were editing. Nothing of "
                "yours is lost: check the changes below, then save again."
            ),
            code="stale",
        )
        self.customer = customer
        self.changed = changed


def customer_numbers_next(count: int) -> list[str]:
    """`count` fresh customer numbers (KH00000001…) from the database sequence."""
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval('customers_customer_number_seq') FROM generate_series(1, %s)",
            [count],
        )
        return [f"{NUMBER_PREFIX}{value:08d}" for (value,) in cursor.fetchall()]


def customer_derive(customer: Customer) -> None:
    """Keep the search columns in step with the name and company."""
    customer.name_pinyin, customer.name_initials = name_pinyin(customer.name, kind=customer.kind)
    customer.search_grams = search_grams(customer.name, customer.company)


def _check_uscc_free(uscc: str, customer_id: int | None) -> None:
    if not uscc:
        return
    taken = Customer.objects.alive().filter(uscc=uscc).exclude(pk=customer_id).exists()
    if taken:
        raise ValidationError(
            {
                "uscc": ValidationError(
                    _("Another customer already has this code; ask a data steward to merge them."),
                    code="duplicate_uscc",
                )
            }
        )


def _number_taken(number: str) -> ValidationError:
    return ValidationError(
        {
            "number": ValidationError(
                _("Customer number %(number)s is taken; leave it empty to get a new one."),
                code="duplicate_number",
                params={"number": number},
            )
        }
    )


def _check_financial_allowed(actor: User, values: Mapping[str, Any]) -> None:
    if any(values.get(f) for f in FINANCIAL_FIELDS) and not actor.has_perm(
        "customers.view_financial_profile"
    ):
        raise ValidationError(
            _("You may not set the financial profile."), code="forbidden_financial"
        )


@transaction.atomic
def customer_create(*, actor: User, data: Mapping[str, Any], request=None) -> Customer:
    """Create a customer. The creator owns it unless an allowed actor chooses an
    owner, or chooses none (the pool)."""
    if not actor.has_perm("customers.add_customer"):
        raise ValidationError(_("You may not create customers."), code="forbidden")
    values = customer_standardise(data)
    _check_financial_allowed(actor, values)
    conflict_refusal(actor=actor, values=values, own_ok=bool(data.get("create_anyway")))
    if "owner" in data and actor.has_perm("customers.assign_customer_owner"):
        owner = data["owner"]
    else:
        owner = actor
    owner = ownership.new_customer_owner(
        actor, owner, key_accounts=(bool(values.get("is_key_account")),)
    )
    _check_uscc_free(values.get("uscc", ""), None)
    number = values.pop("number", "") or customer_numbers_next(1)[0]
    if Customer.objects.filter(number=number).exists():
        raise _number_taken(number)
    now = timezone.now()
    customer = Customer(
        number=number,
        **ownership.new_customer_columns(owner, now),
        created_by=actor,
        created_at=now,
        updated_at=now,
        stage_changed_at=now,
    )
    for name in (*PROFILE_FIELDS, *FINANCIAL_FIELDS):
        if name in values:
            setattr(customer, ATTNAMES[name], values[name])
    if values.get("marketing_consent"):
        customer.consent_at = now
    customer_derive(customer)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        raise _number_taken(number) from None
    ownership.new_customer_record(customer, actor, OwnershipKind.CREATE)
    _phones_replace(customer, values.get("phones", []))
    _emails_replace(customer, values.get("emails", []))
    if values.get("tags"):
        customer.tags.set(tags_get_or_create(values["tags"]))
    StageChange.objects.create(
        customer=customer, to_stage=customer.stage, changed_at=now, actor=actor
    )
    quality_refresh([customer.pk])
    changes = {name: (None, value) for name, value in snapshot(customer, PROFILE_FIELDS).items()}
    changes.update(
        owner=(None, _who(customer.owner)),
        phones=(None, _masked_phones(values.get("phones", []))),
        emails=(None, _masked_emails(values.get("emails", []))),
        tags=(None, values.get("tags", [])),
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target=customer,
        changes={k: v for k, v in changes.items() if v[1] not in (None, "", [], False)},
        extra={"version": customer.version},
        request=request,
    )
    return customer


def locked_editable(actor: User, customer_id: int) -> Customer:
    customer = (
        editable_customers(actor).select_for_update(of=("self",)).filter(pk=customer_id).first()
    )
    if customer is None:
        raise ValidationError(_("You may not change this customer."), code="forbidden")
    return customer


def _locked_editable_many(
    actor: User, customer_ids: Iterable[int], *, prefetch: tuple[str, ...] = ()
) -> list[Customer]:
    """Lock the chosen customers; refuse all of them if any is not the actor's to change."""
    ids = set(customer_ids)
    customers = list(
        editable_customers(actor)
        .select_for_update(of=("self",))
        .filter(pk__in=ids)
        .prefetch_related(*prefetch)
    )
    if len(customers) != len(ids):
        raise ValidationError(
            _("Some of the chosen customers are not yours to change."), code="forbidden"
        )
    return customers


def _save_changes(
    customer: Customer, actor: User, changes: dict, fields: list[str], request=None
) -> Customer:
    customer.version += 1
    customer.updated_at = timezone.now()
    customer.save(update_fields=[*fields, "version", "updated_at"])
    quality_refresh([customer.pk])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target=customer,
        changes=changes,
        extra={"version": customer.version},
        request=request,
    )
    return customer


@transaction.atomic
def customer_update(
    *, actor: User, customer_id: int, data: Mapping[str, Any], version: int, request=None
) -> Customer:
    """Apply an edit made on `version`; a later save by someone else refuses it.
    A change of owner (for those who assign) goes through customers.ownership."""
    new_owner = data.get("owner")
    owner_changes = "owner" in data and actor.has_perm("customers.assign_customer_owner")
    if owner_changes and new_owner is not None:
        receiver_lock(new_owner)  # before the customer, as claims lock them
    customer = locked_editable(actor, customer_id)
    if customer.version != version:
        raise CustomerConflict(customer=customer, changed=customer_changes_since(customer, version))
    values = customer_standardise({k: v for k, v in data.items() if k != "number"})
    _check_financial_allowed(actor, values)
    if "uscc" in values:
        _check_uscc_free(values["uscc"], customer.pk)
    fields = [name for name in (*PROFILE_FIELDS, *FINANCIAL_FIELDS) if name in values]
    changes = diff(snapshot(customer, fields), {name: values[name] for name in fields})
    update_fields = set(changes)
    now = timezone.now()
    for name in changes:
        setattr(customer, ATTNAMES[name], values[name])
    if "marketing_consent" in changes:
        customer.consent_at = now if customer.marketing_consent else None
        update_fields.add("consent_at")
    if update_fields & {"name", "company", "kind"}:
        customer_derive(customer)
        update_fields |= {"name_pinyin", "name_initials", "search_grams"}
    if "phones" in values:
        old = [p.number for p in customer.phones.filter(contact__isnull=True)]
        if old != values["phones"]:
            _phones_replace(customer, values["phones"])
            changes["phones"] = (_masked_phones(old), _masked_phones(values["phones"]))
    if "emails" in values:
        old = [e.address for e in customer.emails.filter(contact__isnull=True)]
        if old != values["emails"]:
            _emails_replace(customer, values["emails"])
            changes["emails"] = (_masked_emails(old), _masked_emails(values["emails"]))
    if "tags" in values:
        old_tags = sorted(t.name for t in customer.tags.all())
        new_tags = tags_get_or_create(values["tags"])
        if old_tags != sorted(t.name for t in new_tags):
            customer.tags.set(new_tags)
            changes["tags"] = (old_tags, sorted(t.name for t in new_tags))
    moves = owner_changes and (new_owner.pk if new_owner else None) != customer.owner_id
    if changes:
        customer = _save_changes(customer, actor, changes, sorted(update_fields), request)
        if "is_key_account" in changes:
            metrics_refresh([customer.pk])  # the key-account suggestion follows at once
    if moves:
        ownership.customers_assign(
            actor=actor,
            customer_ids=[customer.pk],
            owner=new_owner,
            note=data.get("owner_note") or "",
            release_reason=data.get("release_reason"),
            request=request,
        )
        customer.refresh_from_db()
    return customer


@transaction.atomic
def customer_verify(*, actor: User, customer_id: int, request=None) -> Customer:
    """Record that somebody has just confirmed the record with the customer."""
    customer = locked_editable(actor, customer_id)
    now = timezone.now()
    changes = {"verified_at": (customer.verified_at, now)}
    customer.verified_at, customer.verified_by = now, actor
    # The freshness audit's "verify customer information" task is done with it.
    customer_verified.send(sender=Customer, customer=customer, actor=actor, at=now)
    return _save_changes(customer, actor, changes, ["verified_at", "verified_by"], request)


def customer_reveal(*, actor: User, customer: Customer, reason: str = "reveal", request=None):
    """Log that the actor has seen a customer's full personal values."""
    access = customer_access(actor, customer)
    if not (access.sees_contact or access.can_reveal or access.can_edit):
        raise ValidationError(_("You may not see these details."), code="forbidden")
    if access.sees_contact:
        return None  # the owner's own record: nothing to log
    return audit_record(
        actor=actor,
        action=AuditAction.VIEW_SENSITIVE,
        target=customer,
        extra={
            "fields": [
                "phones",
                "emails",
                "street",
                *(["import_remarks"] * bool(customer.import_remarks)),
            ],
            "reason": reason,
        },
        request=request,
    )


@transaction.atomic
def customers_tag(
    *, actor: User, customer_ids: Iterable[int], tag_name: str, remove: bool = False, request=None
) -> int:
    """Add a tag to (or remove it from) several customers. Returns how many changed."""
    try:
        name = tag_name_clean(tag_name)
    except ValidationError as exc:
        raise ValidationError({"tag": exc}) from None
    customers = _locked_editable_many(actor, customer_ids, prefetch=("tags",))
    if remove:
        tag = Tag.objects.filter(name__iexact=name).first()
        if tag is None:
            return 0
    else:
        (tag,) = tags_get_or_create([name])
    changed = 0
    for customer in customers:
        names = sorted(t.name for t in customer.tags.all())
        has = any(t.pk == tag.pk for t in customer.tags.all())
        if has != remove:
            continue
        if remove:
            customer.tags.remove(tag)
            after = [n for n in names if n != tag.name]
        else:
            customer.tags.add(tag)
            after = sorted([*names, tag.name])
        _save_changes(customer, actor, {"tags": (names, after)}, [], request)
        changed += 1
    return changed
