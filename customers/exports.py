"""Exporting customers: the register's columns, masked per viewer, audited.

The rows stream (chunks of 2,000 customers with their phones, e-mails and tags
in three more queries), so an export of any size starts at once and holds
little memory. The audit event is written when the stream ends, with the filter
used and the number of rows actually sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils import translation

from crm.audit import audit_record
from crm.models import AuditAction, User
from crm.normalise import email_mask, phone_mask
from customers.columns import COLUMNS, DERIVED_COLUMNS, Column
from customers.models import Collaborator, Customer

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


def _yes_no(value: bool) -> str:
    return (
        translation.pgettext("yes or no", "Yes")
        if value
        else translation.pgettext("yes or no", "No")
    )


def _row(customer: Customer, full: bool) -> list[Any]:
    phones = [p.number for p in customer.phones.all() if p.contact_id is None]
    emails = [e.address for e in customer.emails.all() if e.contact_id is None]
    street = customer.street
    if not full:
        phones = [phone_mask(p) for p in phones]
        emails = [email_mask(e) for e in emails]
        street = MASK if street else ""
    values = {
        "number": customer.number,
        "name": customer.name,
        "gender": customer.get_gender_display() if customer.gender else "",
        "birth_date": customer.birth_date,
        "phones": "; ".join(phones),
        "emails": "; ".join(emails),
        "company": customer.company,
        "title": customer.title,
        "province": customer.province,
        "city": customer.city,
        "district": customer.district,
        "address": street,
        "source": customer.get_source_display(),
        "owner": str(customer.owner) if customer.owner_id else "",
        "tags": "; ".join(sorted(tag.name for tag in customer.tags.all())),
        "stage": customer.get_stage_display(),
        "created_at": customer.created_at,
        "verified_at": customer.verified_at,
        "quality": customer.quality,
        "kind": customer.get_kind_display(),
        "industry": customer.get_industry_display() if customer.industry else "",
        "uscc": customer.uscc,
        "postcode": customer.postcode,
        "is_key_account": _yes_no(customer.is_key_account),
        "needs": customer.needs,
        "preferred_categories": "; ".join(customer.preferred_categories),
        "preferred_brands": "; ".join(customer.preferred_brands),
        "preferred_colours": "; ".join(customer.preferred_colours),
        "marketing_consent": _yes_no(customer.marketing_consent),
        "notes": customer.notes,
    }
    return [values[column.key] for column in EXPORT_COLUMNS]


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
    rows = (
        queryset.select_related("owner")
        .prefetch_related("phones", "emails", "tags")
        .iterator(chunk_size=CHUNK)
    )
    sent = 0
    try:
        with translation.override(language):
            yield [column.header(language) for column in EXPORT_COLUMNS]
            for customer in rows:
                full = full_values or customer.owner_id == actor.pk or customer.pk in collaborating
                yield _row(customer, full)
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
