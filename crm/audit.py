"""The audit service: every write in Kehu calls `audit_record`.

Changes are `{field: (old, new)}`. Values of sensitive fields (every
EncryptedTextField of the target, plus any named in `sensitive`) are masked
before they are stored, so the audit log never becomes a second copy of the
personal data it protects.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from crm.fields import BlindIndexField, EncryptedTextField
from crm.models import AuditAction, AuditEvent

MASK = "***"


def client_ip(request) -> str | None:
    """The client address; behind N trusted proxies, the Nth address from the right."""
    from django.conf import settings

    if request is None:
        return None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(item) for item in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def sensitive_field_names(model: type[models.Model] | None) -> set[str]:
    if model is None:
        return set()
    return {
        field.name
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField | BlindIndexField)
    }


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The concrete field values of an instance, keyed by field name (FKs by id)."""
    names = set(fields) if fields is not None else None
    values = {}
    for field in instance._meta.concrete_fields:
        if names is not None and field.name not in names:
            continue
        values[field.name] = getattr(instance, field.attname)
    return values


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        name: (before.get(name), value)
        for name, value in after.items()
        if before.get(name) != value
    }


def audit_label(target: models.Model, masked: Iterable[Any] = ()) -> str:
    """The target's name in the audit log. A record holding free text (feedback, a
    comment) names itself by `audit_label()` rather than its text; and no label
    carries a value the event masks (a model's `__str__` quoting what was typed)."""
    label = target.audit_label() if hasattr(target, "audit_label") else str(target)
    for value in masked:
        text = str(value).strip() if value is not None else ""
        if len(text) >= 4 and (text in label or text[:40] in label):
            return f"{target._meta.verbose_name} #{target.pk}"
    return label[:255]


def audit_copy_rows(
    actor,
    action: str,
    model: type[models.Model],
    items: Iterable[tuple[Any, str, dict]],
    extra,
    *,
    actor_repr: str = "",
) -> list[dict[str, Any]]:
    """AuditEvent rows for `crm.bulkcopy` (bulk imports) and the system's bulk
    writes (actor None, named by `actor_repr`): one per (pk, label, changes);
    the changes must be JSON-ready and hold nothing sensitive. The append-only
    trigger allows inserts."""
    content_type = ContentType.objects.get_for_model(model).pk  # cached after the first
    now = timezone.now()
    return [
        {
            "created_at": now,
            "actor_id": actor.pk if actor else None,
            "actor_repr": (actor.get_username() if actor else actor_repr)[:150],
            "action": action,
            "target_type_id": content_type,
            "target_id": str(pk),
            "target_repr": label[:255],
            "changes": changes,
            "extra": extra,
            "ip_address": None,
        }
        for pk, label, changes in items
    ]


def audit_record(
    *,
    actor,
    action: AuditAction | str,
    target: models.Model | None = None,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
    request=None,
    sensitive: Iterable[str] = (),
    actor_repr: str = "",
) -> AuditEvent:
    model = target._meta.model if target is not None else None  # also through a lazy user
    masked = sensitive_field_names(model) | set(sensitive)
    stored_changes = {}
    hidden = []
    for name, (old, new) in (changes or {}).items():
        if name in masked:
            stored_changes[name] = [MASK if old else "", MASK if new else ""]
            hidden += [old, new]
        else:
            stored_changes[name] = [_jsonable(old), _jsonable(new)]
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if is_user else None,
        actor_repr=(actor.get_username() if is_user else actor_repr)[:150],
        action=action,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_repr=audit_label(target, hidden) if target is not None else "",
        changes=stored_changes,
        extra={key: _jsonable(value) for key, value in (extra or {}).items()},
        ip_address=client_ip(request),
    )


def versioned_save(
    row, actor, changes, *, fields=None, request=None, extra=None, now=None, sensitive=()
):
    """Save a changed row under its next version (`fields`, or all of it) and audit
    the change (orders, opportunities, contracts, interactions, tickets…)."""
    row.version += 1
    row.updated_at = now or timezone.now()
    if fields is None:
        row.save()
    else:
        row.save(update_fields=[*fields, "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target=row,
        changes=changes,
        extra={**(extra or {}), "version": row.version},
        request=request,
        sensitive=sensitive,
    )
    return row
