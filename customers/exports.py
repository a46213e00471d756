"""Exporting customers: the register's columns, masked per viewer, audited.

The rows stream as plain values (one query, read 2,000 customers at a time,
with their phones, e-mails and tags gathered by PostgreSQL), so an export of any
size starts at once and holds little memory. The audit event is written when
the stream ends, with the filter used and the number of rows actually sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import F, OuterRef, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import translation

from crm.audit import audit_record
from crm.fields import decrypt_text
from crm.models import AuditAction, User
from crm.normalise import email_mask, phone_mask
from customers.columns import COLUMNS, DERIVED_COLUMNS, Column
from customers.models import (
    Collaborator,
    Customer,
    CustomerEmail,
    CustomerKind,
    CustomerPhone,
    FrequencyTier,
    Gender,
    Industry,
    RfmSegment,
    Stage,
    ValueTier,
)
from customers.sources import source_labels

CHUNK = 2_000
# The segmentation's columns, read from the metrics row under their own names.
SEGMENT_KEYS = (
    "purchase_days", "days_since_purchase", "recency_score", "frequency_score", "monetary_score",
    "rfm_segment", "frequency_tier", "value_tier", "p_alive", "expected_purchases_90d",
    "expected_value_12m", "next_purchase_on",
)  # fmt: skip
ZERO = Decimal("0.00")
MASK = "***"
# Export order: the columns other systems know first (issue #4), then the rest.
_ORDER = (
    "number", "name", "gender", "birth_date", "phones", "emails", "company", "title",
    "province", "city", "district", "address", "source", "owner", "tags", "stage",
    "created_at", "verified_at", "quality",
    "orders_count", "total_spent", "first_purchase", "last_purchase",
    *SEGMENT_KEYS,
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
    "stage": Stage,
    "kind": CustomerKind,
    "industry": Industry,
    "rfm_segment": RfmSegment,
    "frequency_tier": FrequencyTier,
    "value_tier": ValueTier,
}
# Only what the export shows: no search columns, no financial profile to decrypt.
_FIELDS = (
    "id", "number", "name", "gender", "birth_date", "company", "title", "province", "city",
    "district", "source", "owner_id", "stage", "created_at", "verified_at", "quality",
    "kind", "industry", "uscc", "postcode", "is_key_account", "needs", "preferred_categories",
    "preferred_brands", "preferred_colours", "marketing_consent", "notes",
)  # fmt: skip
_EXTRA = ("street_token", "phone_list", "email_list", "tag_list")
_METRICS = ("orders_n", "spent", "first_at", "last_at")


def _labels() -> dict[str, dict[str, str]]:
    """Choice labels in the active language, looked up once per export."""
    labels = {field: {k: str(v) for k, v in choices.choices} for field, choices in _CHOICES.items()}
    labels["source"] = source_labels()
    labels["yes_no"] = {
        True: translation.pgettext("yes or no", "Yes"),
        False: translation.pgettext("yes or no", "No"),
    }
    return labels


def _owners() -> dict[int, str]:
    return {user.pk: str(user) for user in User.objects.only("username", "first_name", "last_name")}


def _row(row, labels: dict, owners: dict[int, str], full: bool) -> list[Any]:
    phones, emails = row.phone_list or [], row.email_list or []
    token = row.street_token
    if full:
        street = decrypt_text(token) if token else ""
    else:
        phones = [phone_mask(p) for p in phones]
        emails = [email_mask(e) for e in emails]
        street = MASK if token else ""  # masked: no need to decrypt it at all
    by_key = {
        "number": row.number,
        "name": row.name,
        "gender": labels["gender"].get(row.gender, "") if row.gender else "",
        "birth_date": row.birth_date,
        "phones": "; ".join(phones),
        "emails": "; ".join(emails),
        "company": row.company,
        "title": row.title,
        "province": row.province,
        "city": row.city,
        "district": row.district,
        "address": street,
        "source": labels["source"].get(row.source, row.source),
        "owner": owners.get(row.owner_id, "") if row.owner_id else "",
        "tags": "; ".join(sorted(row.tag_list or [])),
        "stage": labels["stage"].get(row.stage, row.stage),
        "created_at": row.created_at,
        "verified_at": row.verified_at,
        "quality": row.quality,
        "orders_count": row.orders_n or 0,
        "total_spent": row.spent if row.spent is not None else ZERO,
        "first_purchase": row.first_at,
        "last_purchase": row.last_at,
        "kind": labels["kind"].get(row.kind, row.kind),
        "industry": labels["industry"].get(row.industry, "") if row.industry else "",
        "uscc": row.uscc,
        "postcode": row.postcode,
        "is_key_account": labels["yes_no"][row.is_key_account],
        "needs": row.needs,
        "preferred_categories": "; ".join(row.preferred_categories),
        "preferred_brands": "; ".join(row.preferred_brands),
        "preferred_colours": "; ".join(row.preferred_colours),
        "marketing_consent": labels["yes_no"][row.marketing_consent],
        "notes": row.notes,
    }
    for key in SEGMENT_KEYS:
        value = getattr(row, key)
        by_key[key] = labels[key].get(value, value) if key in labels else value
    if row.purchase_days is None:  # no metrics row: never bought, never contacted
        by_key["purchase_days"] = 0
        by_key["frequency_tier"] = labels["frequency_tier"][FrequencyTier.NONE]
    return [by_key[column.key] for column in EXPORT_COLUMNS]


def _values(queryset: QuerySet[Customer]) -> Iterator[tuple]:
    """Named rows of plain values, streamed: each customer with its own phones and e-mails (in
    order, decrypted by the field) and tag names gathered by PostgreSQL, and the
    street still encrypted (decrypted only where it is shown)."""
    own = {"customer": OuterRef("pk"), "contact__isnull": True}
    phones = CustomerPhone.objects.filter(**own).order_by("position", "id").values("number")
    emails = CustomerEmail.objects.filter(**own).order_by("position", "id").values("address")
    tags = Customer.tags.through.objects.filter(customer=OuterRef("pk")).values("tag__name")
    return (
        queryset.prefetch_related(None)
        .select_related(None)
        .annotate(
            street_token=Cast("street", TextField()),
            phone_list=ArraySubquery(phones),
            email_list=ArraySubquery(emails),
            tag_list=ArraySubquery(tags),
            orders_n=F("metrics__orders_count"),
            spent=F("metrics__total_spent"),
            first_at=F("metrics__first_purchase_at"),
            last_at=F("metrics__last_purchase_at"),
            **{key: F(f"metrics__{key}") for key in SEGMENT_KEYS},
        )
        .values_list(*_FIELDS, *_EXTRA, *_METRICS, *SEGMENT_KEYS, named=True)
        .iterator(chunk_size=CHUNK)
    )


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
            owners = _owners()
            for row in _values(queryset):
                full = full_values or row.owner_id == actor.pk or row.id in collaborating
                yield _row(row, labels, owners, full)
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
