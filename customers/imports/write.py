"""Phase 2: write what phase 1 decided, in batches of COPY, in one transaction."""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin

from crm.audit import audit_copy_rows, audit_record
from crm.bulkcopy import CopyPipeline, copy_insert, ids_reserve
from crm.fields import blind_index
from crm.models import AuditAction, AuditEvent, User
from crm.sheets.sheet import SheetError
from customers import ownership
from customers.imports.base import (
    _QUALITY_DEFAULTS,
    BATCH,
    SENSITIVE,
    UPDATABLE,
    Mode,
    Outcome,
    _Entity,
)
from customers.imports.clean import NEW_SOURCE, remarks_join
from customers.imports.decide import _is_empty
from customers.metrics import metrics_refresh
from customers.models import (
    ConsentSource,
    Customer,
    CustomerEmail,
    CustomerKind,
    CustomerPhone,
    OwnershipChange,
    OwnershipKind,
    PhoneLabel,
    Source,
    SourceChannel,
    Stage,
    StageChange,
)
from customers.ownership import who_label as _who
from customers.quality import quality_refresh, quality_score
from customers.selectors import editable_customers
from customers.services.parts import _masked_emails, _masked_phones, tags_get_or_create
from customers.services.records import (
    ATTNAMES,
    NUMBER_PREFIX,
    PROFILE_FIELDS,
    customer_derive,
    customer_numbers_next,
)
from customers.sources import SourceLookup
from customers.standardise import name_pinyin, search_grams

# --- phase 2: write ----------------------------------------------------------


def _children_rows(customer_id: int, values: dict[str, Any], skip: set[str] = frozenset()):
    """Phone and e-mail rows with their blind indexes, leaving out those in `skip`."""
    phones, emails = [], []
    meta = values.get("phone_meta") or {}
    for position, phone in enumerate(values.get("phones", [])):
        index = blind_index(phone)
        if index not in skip:
            label, note, wechat = meta.get(phone, (PhoneLabel.MOBILE, "", False))
            phones.append(
                {"customer_id": customer_id, "contact_id": None, "number": phone,
                 "number_index": index, "label": label, "position": position, "note": note,
                 "wechat": wechat}
            )  # fmt: skip
    for position, email in enumerate(values.get("emails", [])):
        index = blind_index(email)
        if index not in skip:
            emails.append(
                {"customer_id": customer_id, "contact_id": None, "address": email,
                 "address_index": index, "position": position}
            )  # fmt: skip
    return phones, emails


def _write(actor, decided, options, counts, source, progress) -> None:
    """Everything decided, in batches, inside the caller's transaction.

    New customers go through a COPY pipeline: PostgreSQL writes one batch while
    this thread prepares the next. Everything that needs the connection (ids,
    numbers, tags, new source channels) is fetched before it starts; updates
    follow once it is done. Each customer's values are read back from their pickle
    for its batch, and let go after it.
    """
    now = timezone.now()
    entities = decided.entities
    sources = _sources_create(decided.new_sources)
    tags = {tag.name.casefold(): tag.pk for tag in tags_get_or_create(sorted(decided.tags))}
    new = [e for e in entities if e.existing_id is None]
    updates = [e for e in entities if e.existing_id is not None]
    # Numbers kept from the file push the sequence past them before fresh ones are drawn.
    _numbers_follow(_highest_number(e.number for e in new if e.number))
    fresh_numbers = iter(customer_numbers_next(sum(1 for e in new if not e.number)))
    _owners_check(actor, new)
    new_ids = iter(ids_reserve(Customer, len(new)))
    ContentType.objects.get_for_model(Customer)  # into the cache, before the pipeline
    extra = {"import": source}
    with CopyPipeline() as pipeline:
        for start in range(0, len(new), BATCH):
            batch = new[start : start + BATCH]
            customers = [_new_row(entity, actor, now, fresh_numbers, sources) for entity in batch]
            phones, emails, links, stages, audits, owners = [], [], [], [], [], []
            for entity, row in zip(batch, customers, strict=True):
                pk = row["id"] = next(new_ids)
                owners.append((pk, entity.owner))
                own_phones, own_emails = _children_rows(pk, entity.values)
                phones += own_phones
                emails += own_emails
                links += [
                    {"customer_id": pk, "tag_id": tags[t.casefold()]}
                    for t in entity.values.get("tags", [])
                ]
                stages.append(
                    {"customer_id": pk, "from_stage": "", "to_stage": Stage.LEAD,
                     "changed_at": now, "actor_id": actor.pk}
                )  # fmt: skip
                audits.append(
                    (pk, f"{row['name']} ({row['number']})", _created_changes(entity, row))
                )
            pipeline.send(Customer, customers)
            pipeline.send(CustomerPhone, phones, ids=False)
            pipeline.send(CustomerEmail, emails, ids=False)
            pipeline.send(Customer.tags.through, links, ids=False)
            pipeline.send(StageChange, stages, ids=False)
            pipeline.send(
                OwnershipChange,
                ownership.new_customer_ledger_rows(owners, OwnershipKind.IMPORT, actor, now),
                ids=False,
            )
            audit_rows = audit_copy_rows(
                actor, AuditAction.CREATE, Customer, audits, {**extra, "version": 1}
            )
            pipeline.send(AuditEvent, audit_rows, ids=False)
            for entity in batch:
                entity.values_release()
            if progress:
                done = start + len(batch)
                progress(0.6 + 0.35 * done / max(len(new), 1), done)
    phones, emails, links = [], [], []
    updated_audits = _apply_updates(
        actor, updates, options, tags, now, phones, emails, links, sources
    )
    copy_insert(CustomerPhone, phones, ids=False)
    copy_insert(CustomerEmail, emails, ids=False)
    copy_insert(Customer.tags.through, links, ids=False)
    updated_rows = audit_copy_rows(actor, AuditAction.UPDATE, Customer, updated_audits, extra)
    copy_insert(AuditEvent, updated_rows, ids=False)
    quality_refresh([e.existing_id for e in updates])
    # The key-account suggestion follows a key account marked or unmarked.
    metrics_refresh([pk for pk, __, changes in updated_audits if "is_key_account" in changes])
    audit_record(actor=actor, action=AuditAction.IMPORT, extra={"file": source, **counts})
    if progress:
        progress(1.0, sum(counts.get(outcome, 0) for outcome in Outcome.ALL))


def _owners_check(actor: User, new: list[_Entity]) -> None:
    """Each owner of new customers may take them all under the pool rules (the cap);
    else the whole file is refused before anything is written."""
    by_owner: dict[int, tuple[User, list[bool]]] = {}
    for entity in new:
        if entity.owner is not None:
            keys = by_owner.setdefault(entity.owner.pk, (entity.owner, []))[1]
            keys.append(entity.is_key_account)
    for owner, keys in by_owner.values():
        try:
            ownership.new_customer_owner(actor, owner, key_accounts=keys)
        except ValidationError as exc:
            raise SheetError(" ".join(exc.messages), "owner") from None


def _new_row(entity: _Entity, actor: User, now, fresh_numbers, sources) -> dict[str, Any]:
    values = entity.values
    if values.get("source") in sources:
        values["source"] = sources[values["source"]]
    if entity.notes:
        values["notes"] = "\n".join(filter(None, [values.get("notes", ""), *entity.notes]))
    entity.number = entity.number or next(fresh_numbers)
    kind = values.get("kind") or CustomerKind.PERSON
    pinyin, initials = name_pinyin(values["name"], kind=kind)
    grams = search_grams(values["name"], values.get("company", ""))
    row = {name: values[name] for name in PROFILE_FIELDS if name in values}
    if entity.remarks:
        row["import_remarks"] = entity.remarks
    row.update(
        number=entity.number,
        kind=kind,
        name_pinyin=pinyin,
        name_initials=initials,
        search_grams=list(grams),
        source_id=row.pop("source", None) or Source.IMPORT,
        **ownership.new_customer_columns(entity.owner, now),
        created_by_id=actor.pk,
        created_at=now,
        updated_at=now,
        stage_changed_at=now,
    )
    if values.get("marketing_consent"):
        row.update(
            consent_at=now, consent_source=values.get("consent_source") or ConsentSource.IMPORT
        )
    row["quality"] = quality_score(
        SimpleNamespace(**{**_QUALITY_DEFAULTS, **row}),
        len(values.get("phones", [])),
        len(values.get("emails", [])),
    )
    return row


_PROFILE = frozenset(PROFILE_FIELDS)


def _created_changes(entity: _Entity, row: dict[str, Any]) -> dict[str, list]:
    changes = {
        name: [None, value.isoformat() if isinstance(value, datetime.date) else value]
        for name, value in row.items()
        if name in _PROFILE and value is not None and value != "" and value is not False
        and value != []
    }  # fmt: skip
    for name in SENSITIVE & changes.keys():
        changes[name] = [None, "***"]
    changes["owner"] = [None, _who(entity.owner)]
    if entity.remarks:
        changes["import_remarks"] = [None, "***"]
    if entity.values.get("phones"):
        changes["phones"] = [None, _masked_phones(entity.values["phones"])]
    if entity.values.get("emails"):
        changes["emails"] = [None, _masked_emails(entity.values["emails"])]
    if entity.values.get("tags"):
        changes["tags"] = [None, entity.values["tags"]]
    return changes


def _apply_updates(actor, updates, options, tags, now, phones, emails, links, sources):
    """Fill (or overwrite) existing customers; returns their audit items."""
    audits = []
    by_id = {e.existing_id: e for e in updates}
    for start in range(0, len(updates), BATCH):
        part = [e.existing_id for e in updates[start : start + BATCH]]
        # Decided before the transaction: still alive and still the actor's to change?
        locked = list(editable_customers(actor).select_for_update(of=("self",)).filter(pk__in=part))
        # What they hold, as plain values: prefetched objects would tie each customer
        # in reference cycles, which the import's paused collector never frees.
        phone_indexes: dict[int, list[str]] = defaultdict(list)
        for pk, index in CustomerPhone.objects.filter(customer_id__in=part).values_list(
            "customer_id", "number_index"
        ):
            phone_indexes[pk].append(index)
        email_indexes: dict[int, list[str]] = defaultdict(list)
        for pk, index in CustomerEmail.objects.filter(customer_id__in=part).values_list(
            "customer_id", "address_index"
        ):
            email_indexes[pk].append(index)
        tag_ids: dict[int, set[int]] = defaultdict(set)
        for pk, tag in Customer.tags.through.objects.filter(customer_id__in=part).values_list(
            "customer_id", "tag_id"
        ):
            tag_ids[pk].add(tag)
        if len(locked) != len(part):
            raise SheetError(
                _(
                    "Some customers the file matches were deleted, merged or handed to "
                    "someone else while the import ran; nothing was imported. Run it again."
                ),
                "changed",
            )
        changed_objects, fields = [], set()
        for customer in locked:
            entity = by_id[customer.pk]
            values = entity.values
            if values.get("source") in sources:
                values["source"] = sources[values["source"]]
            changes: dict[str, list] = {}
            for name in UPDATABLE:
                if name not in values or _is_empty(values[name]):
                    continue
                old, new = getattr(customer, ATTNAMES[name]), values[name]
                if name in ("preferred_categories", "preferred_brands", "preferred_colours"):
                    new = old + [v for v in new if v not in old]
                elif name == "notes":
                    new = old if new in old else "\n".join(filter(None, [old, new]))
                elif not (
                    options.mode == Mode.OVERWRITE
                    or _is_empty(old)
                    or (name == "source" and old == Source.OTHER)
                ):
                    continue
                if old != new:
                    masked = name in SENSITIVE
                    changes[name] = ["***" if masked and old else old, "***" if masked else new]
                    setattr(customer, ATTNAMES[name], new)
            if entity.notes:
                customer.notes = "\n".join(filter(None, [customer.notes, *entity.notes]))
                changes.setdefault("notes", [None, "…"])
            if entity.remarks:
                customer.import_remarks = remarks_join(customer.import_remarks, entity.remarks)
                changes["import_remarks"] = [None, "***"]
            if "marketing_consent" in changes:
                customer.consent_at = now
            have = {*phone_indexes[customer.pk], *email_indexes[customer.pk]}
            own_phones, own_emails = _children_rows(customer.pk, values, skip=have)
            for rows, offset in (
                (own_phones, len(phone_indexes[customer.pk])),
                (own_emails, len(email_indexes[customer.pk])),
            ):
                for position, row in enumerate(rows, start=offset):
                    row["position"] = position
            if own_phones:
                changes["phones"] = [None, _masked_phones(r["number"] for r in own_phones)]
            if own_emails:
                changes["emails"] = [None, _masked_emails(r["address"] for r in own_emails)]
            phones += own_phones
            emails += own_emails
            current_tags = tag_ids[customer.pk]
            added = [n for n in values.get("tags", []) if tags[n.casefold()] not in current_tags]
            links += [{"customer_id": customer.pk, "tag_id": tags[n.casefold()]} for n in added]
            if added:
                changes["tags"] = [None, added]
            if not changes:
                continue
            if changes.keys() & {"name", "company"}:
                customer_derive(customer)
            customer.version += 1
            customer.updated_at = now
            changed_objects.append(customer)
            fields.update(k for k in changes if k in UPDATABLE)
            audits.append((customer.pk, str(customer), changes))
        if changed_objects:
            fields |= {
                "version",
                "updated_at",
                "consent_at",
                "name_pinyin",
                "name_initials",
                "search_grams",
                "notes",
                "import_remarks",
            }
            Customer.objects.bulk_update(changed_objects, sorted(fields), batch_size=1000)
        for entity in updates[start : start + BATCH]:
            entity.values_release()
    return audits


def _sources_create(words: set[str]) -> dict[str, str]:
    """Source channels the value mapping adds (clean.NEW_SOURCE + word), made before
    the customers that name them; each becomes its word's code."""
    if not words:
        return {}
    lookup = SourceLookup()
    codes: dict[str, str] = {}
    position = (SourceChannel.objects.aggregate(top=Max("position"))["top"] or 0) + 10
    for marked in sorted(words):
        word = marked[len(NEW_SOURCE) :]
        code = lookup.resolve(word)  # made meanwhile, or by another word of this file
        if code is None:
            code = _source_code(word, lookup.codes | set(codes.values()))
            SourceChannel.objects.create(
                code=code, name_zh=word[:50], name_en=word[:50], position=position
            )
            position += 10
        codes[marked] = code
    return codes


def _source_code(word: str, taken: set[str]) -> str:
    """A code for a new channel: its name in pinyin (抖音 → douyin), made unique."""
    base = re.sub(r"[^a-z0-9]+", "_", "".join(lazy_pinyin(word)).lower()).strip("_")[:16]
    base = base or "source"
    code, suffix = base, 2
    while code in taken:
        code, suffix = f"{base}_{suffix}", suffix + 1
    return code


def _highest_number(numbers: Iterable[str]) -> int:
    highest = 0
    for number in numbers:
        if number.startswith(NUMBER_PREFIX) and number[len(NUMBER_PREFIX) :].isdigit():
            highest = max(highest, int(number[len(NUMBER_PREFIX) :]))
    return highest


def _numbers_follow(highest: int) -> None:
    """Move the number sequence past `highest` (KH00012345 kept from a file)."""
    if highest:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval('customers_customer_number_seq', "
                "GREATEST(%s, (SELECT last_value FROM customers_customer_number_seq)))",
                [highest],
            )
