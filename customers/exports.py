"""Exporting customers: the register's columns, masked per viewer, audited.

The rows stream (chunks of 2,000 customers with their phones, e-mails and tags
in three more queries), so an export of any size starts at once and holds
little memory. The audit event is written when the stream ends, with the filter
used and the number of rows actually sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils import translation

from crm.audit import audit_record
from crm.models import AuditAction, User
from crm.normalise import email_mask, phone_mask
from customers.columns import COLUMNS, DERIVED_COLUMNS, Column
from customers.models import (
    Collaborator,
    Customer,
    CustomerEmail,
    CustomerKind,
    CustomerPhone,
    Gender,
    Industry,
    Source,
    Stage,
)

CHUNK = 2_000
MASK = "***"
# Export order: the columns other systems know first (issue #4), then the rest.
_ORDER = (
    "number", "name", "gender", "birth_date", "phones", "emails", "company", "title",
    "province", "city", "district", "address", "source", "owner", "tags", "stage",
    "created_at", "verified_at", "quality",
    "kind", "industry", "uscc", "postcode", "is_key_account", "needs",
    "preferred_categories", "preferred_brands", "preferred_colours", "marketing_consent",
    "notes",
)  # fmt: skip
_ALL = {column.key: column for column in (*COLUMNS, *DERIVED_COLUMNS)}
EXPORT_COLUMNS: tuple[Column, ...] = tuple(_ALL[key] for key in _ORDER)


def export_language(language: str) -> str:
    return "en" if language.lower().startswith("en") else "zh-hans"


_CHOICES = {
    "gender": Gender,
    "source": Source,
    "stage": Stage,
    "kind": CustomerKind,
    "industry": Industry,
}
# Only what the export shows: no search columns, no financial profile to decrypt.
_ONLY = (
    "id", "number", "name", "gender", "birth_date", "company", "title", "province", "city",
    "district", "street", "source", "owner", "stage", "created_at", "verified_at", "quality",
    "kind", "industry", "uscc", "postcode", "is_key_account", "needs", "preferred_categories",
    "preferred_brands", "preferred_colours", "marketing_consent", "notes",
)  # fmt: skip


def _labels() -> dict[str, dict[str, str]]:
    """Choice labels in the active language, looked up once per export."""
    labels = {field: {k: str(v) for k, v in choices.choices} for field, choices in _CHOICES.items()}
    labels["yes_no"] = {
        True: translation.pgettext("yes or no", "Yes"),
        False: translation.pgettext("yes or no", "No"),
    }
    return labels


def _row(customer: Customer, extra: dict, labels: dict, full: bool) -> list[Any]:
    phones, emails, tags = extra.get("phones", []), extra.get("emails", []), extra.get("tags", [])
    street = customer.street
    if not full:
        phones = [phone_mask(p) for p in phones]
        emails = [email_mask(e) for e in emails]
        street = MASK if street else ""
    values = {
        "number": customer.number,
        "name": customer.name,
        "gender": labels["gender"].get(customer.gender, "") if customer.gender else "",
        "birth_date": customer.birth_date,
        "phones": "; ".join(phones),
        "emails": "; ".join(emails),
        "company": customer.company,
        "title": customer.title,
        "province": customer.province,
        "city": customer.city,
        "district": customer.district,
        "address": street,
        "source": labels["source"].get(customer.source, customer.source),
        "owner": str(customer.owner) if customer.owner_id else "",
        "tags": "; ".join(sorted(tags)),
        "stage": labels["stage"].get(customer.stage, customer.stage),
        "created_at": customer.created_at,
        "verified_at": customer.verified_at,
        "quality": customer.quality,
        "kind": labels["kind"].get(customer.kind, customer.kind),
        "industry": labels["industry"].get(customer.industry, "") if customer.industry else "",
        "uscc": customer.uscc,
        "postcode": customer.postcode,
        "is_key_account": labels["yes_no"][customer.is_key_account],
        "needs": customer.needs,
        "preferred_categories": "; ".join(customer.preferred_categories),
        "preferred_brands": "; ".join(customer.preferred_brands),
        "preferred_colours": "; ".join(customer.preferred_colours),
        "marketing_consent": labels["yes_no"][customer.marketing_consent],
        "notes": customer.notes,
    }
    return [values[column.key] for column in EXPORT_COLUMNS]


def _extras(ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """Phones, e-mails (the customer's own, in order) and tag names of a chunk,
    in three queries of plain values: no model instances to build."""
    extras: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    phones = CustomerPhone.objects.filter(customer_id__in=ids, contact__isnull=True)
    for customer_id, number in phones.order_by("position", "id").values_list(
        "customer_id", "number"
    ):
        extras[customer_id]["phones"].append(number)
    emails = CustomerEmail.objects.filter(customer_id__in=ids, contact__isnull=True)
    for customer_id, address in emails.order_by("position", "id").values_list(
        "customer_id", "address"
    ):
        extras[customer_id]["emails"].append(address)
    links = Customer.tags.through.objects.filter(customer_id__in=ids)
    for customer_id, name in links.values_list("customer_id", "tag__name"):
        extras[customer_id]["tags"].append(name)
    return extras


def _chunks(queryset: QuerySet[Customer]) -> Iterator[list[Customer]]:
    chunk: list[Customer] = []
    rows = (
        queryset.prefetch_related(None)
        .select_related(None)
        .select_related("owner")
        .only(*_ONLY, "owner__username", "owner__first_name", "owner__last_name")
        .iterator(chunk_size=CHUNK)
    )
    for customer in rows:
        chunk.append(customer)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def customers_export_rows(
    *,
    actor: User,
    queryset: QuerySet[Customer],
    language: str,
    full_values: bool = False,
    filters: Mapping[str, Any] | None = None,
    file_format: str = "xlsx",
    request=None,
) -> Iterator[list[Any]]:
    """The header, then one row per customer of `queryset` (already scoped by the
    caller). Phones, e-mails and the street are masked except for the customers
    the actor owns or collaborates on, unless `full_values` (the admin's command)."""
    language = export_language(language)
    collaborating = set(
        Collaborator.objects.filter(user=actor).values_list("customer_id", flat=True)
    )
    sent = 0
    try:
        with translation.override(language):
            labels = _labels()
            yield [column.header(language) for column in EXPORT_COLUMNS]
            for chunk in _chunks(queryset):
                extras = _extras([customer.pk for customer in chunk])
                for customer in chunk:
                    full = (
                        full_values or customer.owner_id == actor.pk or customer.pk in collaborating
                    )
                    yield _row(customer, extras.get(customer.pk, {}), labels, full)
                    sent += 1
    finally:
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            extra={
                "what": "customers",
                "format": file_format,
                "filters": {k: v for k, v in (filters or {}).items() if v not in ("", None, [])},
                "rows": sent,
                "full_values": full_values,
            },
            request=request,
        )
