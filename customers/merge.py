"""Duplicates (查重): finding likely pairs, merging them, and undoing a merge.

A merge keeps one customer (the survivor) and soft-deletes the other, marked
`merged_into` the survivor. Every record that points at the merged customer —
orders, interactions, tickets, feedback, contacts, phones, e-mails, stage
history, and whatever later apps add with a foreign key to Customer — moves to
the survivor, and the ids moved are written down, so a steward can undo the
merge: the records move back, the survivor gets back the values it had, and
the merged customer comes back to life. Both are audited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import _jsonable, audit_record
from crm.models import AuditAction, User
from customers import ownership
from customers.metrics import metrics_refresh
from customers.models import (
    Collaborator,
    Contact,
    Customer,
    CustomerEmail,
    CustomerMerge,
    CustomerPhone,
    DuplicateDismissal,
)
from customers.quality import quality_refresh
from customers.services.records import ATTNAMES, FINANCIAL_FIELDS, PROFILE_FIELDS, customer_derive

MERGE_FIELDS = tuple(name for name in PROFILE_FIELDS) + FINANCIAL_FIELDS
LIST_FIELDS = ("preferred_categories", "preferred_brands", "preferred_colours")
FINDER_LIMIT = 200


def _may_merge(actor: User) -> None:
    if not actor.has_perm("customers.merge_customers"):
        raise ValidationError(_("Only data stewards merge customers."), code="forbidden")


# --- the finder ----------------------------------------------------------------


@dataclass
class DuplicatePair:
    first: Customer
    second: Customer
    reasons: list[str]

    @property
    def customers(self) -> tuple[Customer, Customer]:
        return self.first, self.second


_PAIRS_SQL = """
WITH alive AS (SELECT id FROM customers_customer WHERE deleted_at IS NULL),
pairs AS (
    SELECT a.customer_id AS low, b.customer_id AS high, 'phone' AS reason
    FROM customers_customerphone a
    JOIN customers_customerphone b
      ON a.number_index = b.number_index AND a.customer_id < b.customer_id
    UNION ALL
    SELECT a.customer_id, b.customer_id, 'email'
    FROM customers_customeremail a
    JOIN customers_customeremail b
      ON a.address_index = b.address_index AND a.customer_id < b.customer_id
    UNION ALL
    SELECT a.id, b.id, 'name'
    FROM customers_customer a
    JOIN customers_customer b
      ON lower(a.name) = lower(b.name) AND a.id < b.id
     AND ((a.kind = 'company' AND b.kind = 'company')
          OR (a.company <> '' AND lower(a.company) = lower(b.company)))
    WHERE a.deleted_at IS NULL AND b.deleted_at IS NULL
    UNION ALL
    SELECT a.id, b.id, 'uscc'
    FROM customers_customer a
    JOIN customers_customer b ON a.uscc = b.uscc AND a.id < b.id
    WHERE a.uscc <> ''
)
SELECT low, high, array_agg(DISTINCT reason ORDER BY reason)
FROM pairs
WHERE low IN (SELECT id FROM alive) AND high IN (SELECT id FROM alive)
  AND NOT EXISTS (
      SELECT 1 FROM customers_duplicatedismissal d WHERE d.low_id = low AND d.high_id = high
  )
GROUP BY low, high
ORDER BY low DESC, high DESC
LIMIT %s
"""

_REASONS = {
    "phone": lambda: _("same phone"),
    "email": lambda: _("same e-mail"),
    "name": lambda: _("same name and company"),
    "uscc": lambda: _("same credit code"),
}


# The finder compares every phone, e-mail and name: the workbench shows the count
# it found when last run (a merge or a dismissal makes it unknown again).
DUPLICATES_FOUND_KEY = "customers:duplicates-found"
DUPLICATES_FOUND_SECONDS = 24 * 3600


def duplicate_pairs(user: User, *, limit: int = FINDER_LIMIT) -> list[DuplicatePair]:
    """Likely duplicates among live customers, newest first, with the reasons."""
    _may_merge(user)
    with connection.cursor() as cursor:
        cursor.execute(_PAIRS_SQL, [limit])
        rows = cursor.fetchall()
    ids = {pk for low, high, _reasons in rows for pk in (low, high)}
    customers = {
        c.pk: c
        for c in Customer.objects.filter(pk__in=ids)
        .select_related("owner")
        .prefetch_related("phones", "emails")
    }
    pairs = [
        DuplicatePair(customers[low], customers[high], [str(_REASONS[r]()) for r in reasons])
        for low, high, reasons in rows
        if low in customers and high in customers
    ]
    if limit == FINDER_LIMIT:
        cache.set(DUPLICATES_FOUND_KEY, len(pairs), DUPLICATES_FOUND_SECONDS)
    return pairs


@transaction.atomic
def duplicate_dismiss(*, actor: User, first_id: int, second_id: int, request=None) -> None:
    """Mark a pair as not duplicates; the finder stops showing it."""
    _may_merge(actor)
    low, high = sorted((first_id, second_id))
    if low == high or Customer.objects.alive().filter(pk__in=[low, high]).count() != 2:
        raise ValidationError(_("Choose two different customers."), code="invalid")
    DuplicateDismissal.objects.get_or_create(low_id=low, high_id=high, defaults={"actor": actor})
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target=Customer.objects.get(pk=low),
        extra={"not_duplicate_of": high},
        request=request,
    )
    cache.delete(DUPLICATES_FOUND_KEY)


# --- merge and undo ------------------------------------------------------------


def _related_models() -> list[tuple[type[models.Model], str]]:
    """Every model with a foreign key to Customer, today's and later apps', hidden
    reverse relations included (those with related_name="+")."""
    skip = {CustomerMerge, DuplicateDismissal, Customer, Customer.tags.through}
    return [
        (rel.related_model, rel.field.name)
        for rel in Customer._meta.get_fields(include_hidden=True)
        if rel.one_to_many and rel.auto_created and rel.related_model not in skip
    ]


def _snapshot(customer: Customer) -> dict:
    values = {name: _jsonable(getattr(customer, ATTNAMES[name])) for name in MERGE_FIELDS}
    values["tags"] = sorted(customer.tags.values_list("pk", flat=True))
    return values


def _locked_pair(first_id: int, second_id: int) -> dict[int, Customer]:
    if first_id == second_id:
        raise ValidationError(_("Choose two different customers."), code="invalid")
    locked = {
        c.pk: c
        for c in Customer.objects.alive()
        .select_for_update()
        .filter(pk__in=[first_id, second_id])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise ValidationError(
            _("One of the customers was deleted or merged meanwhile."), code="gone"
        )
    return locked


@transaction.atomic
def customers_merge(
    *,
    actor: User,
    survivor_id: int,
    merged_id: int,
    take: Mapping[str, bool] | None = None,
    request=None,
) -> CustomerMerge:
    """Merge `merged_id` into `survivor_id`. `take[field]` True takes the merged
    customer's value; an empty survivor field always takes it; lists are joined."""
    _may_merge(actor)
    locked = _locked_pair(survivor_id, merged_id)
    survivor, merged = locked[survivor_id], locked[merged_id]
    before = _snapshot(survivor)
    take = take or {}
    changes = {}
    for name in MERGE_FIELDS:
        mine, theirs = getattr(survivor, ATTNAMES[name]), getattr(merged, ATTNAMES[name])
        if name in LIST_FIELDS:
            new = mine + [v for v in theirs if v not in mine]
        elif name in ("notes", "import_remarks"):
            new = "\n".join(filter(None, [mine, theirs])) if theirs not in mine else mine
        elif theirs not in (None, "", False) and (take.get(name) or mine in (None, "", False)):
            new = theirs
        else:
            new = mine
        if new != mine:
            setattr(survivor, ATTNAMES[name], new)
            changes[name] = (mine, new)
    # The merged customer steps aside first: its unique credit code frees up.
    now = timezone.now()
    merged.deleted_at, merged.deleted_by, merged.merged_into = now, actor, survivor
    merged.version += 1
    merged.save(update_fields=["deleted_at", "deleted_by", "merged_into", "version"])
    moved = _move_records(merged, survivor)
    new_tags = set(merged.tags.values_list("pk", flat=True)) - set(before["tags"])
    if new_tags:
        survivor.tags.add(*new_tags)
        changes["tags"] = (before["tags"], sorted(set(before["tags"]) | new_tags))
    customer_derive(survivor)
    survivor.version += 1
    survivor.updated_at = now
    survivor.save()
    ownership.merge_owner(survivor=survivor, merged=merged, actor=actor, request=request)
    quality_refresh([survivor.pk])
    metrics_refresh([survivor.pk, merged.pk])  # the orders moved with the merge
    record = CustomerMerge.objects.create(
        survivor=survivor,
        merged=merged,
        actor=actor,
        survivor_before=json.dumps(before, ensure_ascii=False),
        survivor_after=json.dumps(_snapshot(survivor), ensure_ascii=False),
        moved=moved,
    )
    extra = {
        "merge": record.pk,
        "merged": merged.number,
        "moved": {k: len(v) for k, v in moved["records"].items()},
    }
    audit_record(
        actor=actor,
        action=AuditAction.MERGE,
        target=survivor,
        changes=changes,
        extra={**extra, "version": survivor.version},
        request=request,
    )
    audit_record(
        actor=actor,
        action=AuditAction.MERGE,
        target=merged,
        changes={"merged_into": (None, survivor.number)},
        extra={**extra, "version": merged.version},
        request=request,
    )
    cache.delete(DUPLICATES_FOUND_KEY)
    return record


def _move_records(source: Customer, target: Customer) -> dict:
    """Move what points at `source` to `target`; returns what undo needs: the ids
    moved per model, the blind indexes of the phones and e-mails moved (an edit
    of the survivor's phones after the merge recreates those rows under new ids),
    and the contacts that stopped being primary (a customer has one)."""
    records: dict[str, list[int]] = {}
    have_phones = set(target.phones.values_list("number_index", flat=True))
    have_emails = set(target.emails.values_list("address_index", flat=True))
    have_users = set(target.collaborators.values_list("user_id", flat=True))
    unprimary = []
    if target.contacts.filter(is_primary=True).exists():
        unprimary = list(source.contacts.filter(is_primary=True).values_list("pk", flat=True))
        Contact.objects.filter(pk__in=unprimary).update(is_primary=False)
    for model, field in _related_models():
        rows = model.objects.filter(**{field: source})
        if model is CustomerPhone:  # a phone both had stays with the merged one
            rows = rows.exclude(number_index__in=have_phones, contact__isnull=True)
        elif model is CustomerEmail:
            rows = rows.exclude(address_index__in=have_emails, contact__isnull=True)
        elif model is Collaborator:
            rows = rows.exclude(user_id__in=have_users | {target.owner_id})
        ids = list(rows.values_list("pk", flat=True))
        if ids:
            model.objects.filter(pk__in=ids).update(**{field: target})
            records[model._meta.label] = ids
    phones = CustomerPhone.objects.filter(pk__in=records.get(CustomerPhone._meta.label, []))
    emails = CustomerEmail.objects.filter(pk__in=records.get(CustomerEmail._meta.label, []))
    return {
        "records": records,
        "phones": list(phones.filter(contact__isnull=True).values_list("number_index", flat=True)),
        "emails": list(emails.filter(contact__isnull=True).values_list("address_index", flat=True)),
        "unprimary": unprimary,
    }


@transaction.atomic
def customers_unmerge(*, actor: User, merge_id: int, request=None) -> CustomerMerge:
    """Undo a merge: records move back, the survivor's values come back where
    nobody has changed them since, and the merged customer lives again."""
    _may_merge(actor)
    record = CustomerMerge.objects.select_for_update().filter(pk=merge_id).first()
    if record is None or record.undone_at is not None:
        raise ValidationError(_("This merge is already undone."), code="undone")
    survivor = Customer.objects.select_for_update().get(pk=record.survivor_id)
    merged = Customer.objects.select_for_update().get(pk=record.merged_id)
    if survivor.deleted_at is not None:
        raise ValidationError(
            _("The kept customer has been deleted since; restore it first."), code="deleted"
        )
    before = json.loads(record.survivor_before)
    after = json.loads(record.survivor_after)
    now_values = _snapshot(survivor)
    changes = {}
    for name in MERGE_FIELDS:
        # A value someone changed after the merge is theirs: it stays.
        if before[name] != after[name] and now_values[name] == after[name]:
            field = Customer._meta.get_field(name)
            value = field.to_python(before[name]) if before[name] is not None else None
            setattr(survivor, ATTNAMES[name], value)
            changes[name] = (after[name], before[name])
    added = set(after["tags"]) - set(before["tags"])
    if added:
        survivor.tags.remove(*added)
        changes["tags"] = (after["tags"], before["tags"])
    for label, ids in record.moved["records"].items():
        model = _model(label)
        field = next(f for m, f in _related_models() if m is model)
        model.objects.filter(pk__in=ids, **{field: survivor}).update(**{field: merged})
    # The survivor's own phones and e-mails that came from the merge, by value.
    survivor.phones.filter(contact__isnull=True, number_index__in=record.moved["phones"]).update(
        customer=merged
    )
    survivor.emails.filter(contact__isnull=True, address_index__in=record.moved["emails"]).update(
        customer=merged
    )
    Contact.objects.filter(pk__in=record.moved["unprimary"], customer=merged).update(
        is_primary=True
    )
    customer_derive(survivor)
    survivor.version += 1
    survivor.updated_at = timezone.now()
    survivor.save()
    ownership.merge_owner_undo(survivor=survivor, merged=merged, actor=actor, request=request)
    merged.deleted_at = merged.deleted_by = merged.merged_into = None
    merged.version += 1
    merged.save(update_fields=["deleted_at", "deleted_by", "merged_into", "version"])
    quality_refresh([survivor.pk, merged.pk])
    metrics_refresh([survivor.pk, merged.pk])
    record.undone_at, record.undone_by = timezone.now(), actor
    record.save(update_fields=["undone_at", "undone_by"])
    for target, target_changes in (
        (survivor, changes),
        (merged, {"merged_into": (survivor.number, None)}),
    ):
        audit_record(
            actor=actor,
            action=AuditAction.UNMERGE,
            target=target,
            changes=target_changes,
            extra={"merge": record.pk, "version": target.version},
            request=request,
        )
    return record


def _model(label: str) -> type[models.Model]:
    from django.apps import apps

    return apps.get_model(label)


def merges_recent(user: User, *, limit: int = 50):
    _may_merge(user)
    return CustomerMerge.objects.select_related("survivor", "merged", "actor", "undone_by")[:limit]
