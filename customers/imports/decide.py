"""Phase 1: read and clean every row, match it, and decide its outcome (writes nothing)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.utils.translation import gettext as _

from crm.fields import blind_index
from crm.models import User
from crm.sheets.reader import (
    Sheet,
)
from customers.columns import BY_KEY, NOTES
from customers.imports.base import (
    BATCH,
    LIST_FIELDS,
    SENSITIVE,
    Layout,
    Options,
    Outcome,
    RowResult,
    _Entity,
)
from customers.imports.clean import (
    CHOICE_KEYS,
    Context,
    Warning,
    cell_read,
    row_forgive,
    text_of,
)
from customers.imports.layout import _cell_text, cells_pack, data_rows
from customers.models import (
    Customer,
    CustomerEmail,
    CustomerKind,
    CustomerPhone,
)
from customers.selectors import assignable_owners, editable_customers, visible_customers

# --- phase 1: read, clean, decide --------------------------------------------

MATCH_BATCH = 50_000  # keys per matching query


@dataclass(slots=True)
class _Clean:
    row_number: int
    cells: str | tuple  # the row as text, packed (kept for the rejected-rows sheet)
    values: dict[str, Any] | None
    problems: list[str]
    keys: list[tuple[str, str]]
    owner_text: str = ""
    example: bool = False  # the register template's grey example row, left in
    warnings: list[Warning] | tuple = ()  # a shared empty tuple for the many clean rows


def _is_template_example(raw: dict[str, Any]) -> bool:
    """The template's example row, word for word (a real 张伟 differs somewhere)."""
    return all(
        raw.get(key) == BY_KEY[key].example for key in ("name", "phones", "emails", "company")
    )


def _field_label(key: str) -> str:
    column = BY_KEY.get(key)
    if column is not None:
        return str(column.label)
    try:
        return str(Customer._meta.get_field(key).verbose_name).capitalize()
    except FieldDoesNotExist:
        return key


def name_key(name: str, company: str) -> str:
    """Name and company as compared for duplicates: pinyin-free, case- and space-folded."""
    return "".join(f"{name}|{company}".casefold().split())


def _keys_of(values: dict[str, Any]) -> list[tuple[str, str]]:
    keys = []
    if values.get("number"):
        keys.append(("number", values["number"]))
    if values.get("uscc"):
        keys.append(("uscc", values["uscc"]))
    keys.extend(("phone", blind_index(phone)) for phone in values.get("phones", []))
    keys.extend(("email", blind_index(email)) for email in values.get("emails", []))
    if values.get("kind") == CustomerKind.COMPANY:
        keys.append(("name", name_key(values["name"], "")))
    elif values.get("company") and not (values.get("phones") or values.get("emails")):
        # A person known only by name and employer; with a phone or e-mail those
        # decide (two 张伟 at one large company are two people).
        keys.append(("name", name_key(values["name"], values["company"])))
    return keys


def _clean_row(row_number: int, cells: dict[int, object], layout: Layout, ctx: Context) -> _Clean:
    texts = cells_pack(cells, len(layout.columns))
    warnings: list[Warning] = []
    raw: dict[str, Any] = {}
    notes: list[str] = []
    for col, key in enumerate(layout.mapping, start=1):
        if not key:
            continue
        value = cells.get(col)
        if value is None:
            continue
        value = cell_read("notes" if key == NOTES else key, value, warnings)
        if value is None:
            continue
        if key == NOTES:
            notes.append(f"{layout.columns[col - 1]}: {_cell_text(value).strip()}")
        elif key in _TYPED:
            raw[key] = value
        else:
            text = value if value.__class__ is str else _cell_text(value)
            raw[key] = f"{raw[key]}\n{text}" if key in raw and BY_KEY[key].many else text
    if notes:
        raw["notes"] = "\n".join(filter(None, [raw.get("notes", ""), *notes]))
    if not raw:
        reason = _("The row has no value in the imported columns.")
        if warnings:  # nothing usable was left: say what there was
            reason = "; ".join(f"{_field_label(w.key)}: {w.message}" for w in warnings)
        return _Clean(row_number, texts, None, [reason], [])
    owner_text = text_of(raw.pop("owner", ""))
    if _is_template_example(raw):
        return _Clean(row_number, texts, None, [], [], example=True)
    values, problem = row_forgive(raw, ctx, warnings)
    if values is None:
        return _Clean(row_number, texts, None, [problem], [], warnings=warnings)
    return _Clean(
        row_number, texts, values, _NONE, _keys_of(values), owner_text, warnings=warnings or ()
    )


_NONE: list = []  # the clean rows' problems: one shared empty list, never appended to

# Cells read as typed (dates and numbers are not text for these).
_TYPED = frozenset({"birth_date", *CHOICE_KEYS, "consent_source", "financial_status"})
_TYPED |= {"risk_preference"}


class _Owners:
    """Resolves the Owner column (username or full name) against whom the actor may assign."""

    def __init__(self, actor: User, options: Options):
        self.actor = actor
        self.default = None if options.pool else (options.owner or actor)
        self.may_assign = actor.has_perm("customers.assign_customer_owner")
        self._cache: dict[str, User | None] = {}

    def resolve(self, text: str) -> tuple[User | None, str]:
        if not text:
            return self.default, ""
        key = text.casefold()
        if key not in self._cache:
            users = [self.actor, *(assignable_owners(self.actor) if self.may_assign else [])]
            match = [u for u in users if key in {u.username.casefold(), str(u).casefold()}]
            self._cache[key] = match[0] if len({u.pk for u in match}) == 1 else None
        user = self._cache[key]
        if user is None:
            if not self.may_assign:
                return self.default, _(
                    "you may import only your own customers; the customer is yours"
                )
            return self.default, _(
                "“%(owner)s” is not a sales rep you may assign to; the customer goes to "
                "the import's owner"
            ) % {"owner": text[:40]}
        return user, ""


def customers_matching(keys: set[tuple[str, str]]) -> dict[tuple[str, str], set[int]]:
    """Live customers holding any of the keys, and the deleted ones holding a number."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, value in keys:
        by_kind[kind].append(value)
    found: dict[tuple[str, str], set[int]] = defaultdict(set)
    alive = Customer.objects.alive()

    def chunks(values: list[str], size: int = BATCH) -> Iterable[list[str]]:
        for start in range(0, len(values), size):
            yield values[start : start + size]

    with connection.cursor() as cursor:
        for part in chunks(by_kind["number"], MATCH_BATCH):
            cursor.execute(
                "SELECT c.id, c.number, c.deleted_at IS NOT NULL FROM unnest(%s::varchar[]) "
                "AS k(v) JOIN customers_customer c ON c.number = k.v",
                [part],
            )
            for pk, number, deleted in cursor.fetchall():
                found[("number", number)].add(-pk if deleted else pk)
    for part in chunks(by_kind["uscc"]):
        for pk, uscc in alive.filter(uscc__in=part).values_list("pk", "uscc"):
            found[("uscc", uscc)].add(pk)
    # Blind indexes: an index probe per key, driven by unnest (a large `= ANY` runs
    # several times slower). Contacts' numbers are not the customer's own.
    for kind, model, column in (
        ("phone", CustomerPhone, "number_index"),
        ("email", CustomerEmail, "address_index"),
    ):
        sql = (
            f"SELECT p.customer_id, p.{column} FROM unnest(%s::varchar[]) AS k(v) "  # noqa: S608
            f"JOIN {model._meta.db_table} p ON p.{column} = k.v "
            "JOIN customers_customer c ON c.id = p.customer_id "
            "WHERE p.contact_id IS NULL AND c.deleted_at IS NULL"
        )
        with connection.cursor() as cursor:
            for part in chunks(by_kind[kind], MATCH_BATCH):
                cursor.execute(sql, [part])
                for pk, index in cursor.fetchall():
                    found[(kind, index)].add(pk)
    names = by_kind["name"]
    if names:
        # Companies by their name; people by name and company (see _keys_of).
        key_sql = (
            "lower(regexp_replace(name || '|' || CASE WHEN kind = 'company' THEN '' "
            "ELSE company END, '\\s', '', 'g'))"
        )
        with connection.cursor() as cursor:
            for part in chunks(names, MATCH_BATCH):  # a scan each: few and large
                cursor.execute(
                    f"SELECT id, {key_sql} FROM customers_customer "  # noqa: S608 - constant
                    f"WHERE deleted_at IS NULL AND (kind = 'company' OR company <> '') "
                    f"AND {key_sql} = ANY(%s)",
                    [part],
                )
                for pk, key in cursor.fetchall():
                    found[("name", key)].add(pk)
    return found


_KEY_LABELS = {
    "number": lambda: _("customer number"),
    "uscc": lambda: _("credit code"),
    "phone": lambda: _("phone"),
    "email": lambda: _("e-mail"),
    "name": lambda: _("name and company"),
}


def _is_empty(value: Any) -> bool:
    return value in (None, "", [], False)


def _merge_into(target: dict[str, Any], values: dict[str, Any], row: int, notes: list[str]) -> None:
    """A later row of the same customer: fill gaps, join lists, keep conflicts as notes."""
    for key, value in values.items():
        if _is_empty(value) or key == "number":
            continue
        if key == "phone_meta":
            meta = target.setdefault("phone_meta", {})
            for number, about in value.items():
                meta.setdefault(number, about)
            continue
        if key in LIST_FIELDS:
            current = list(target.get(key) or [])
            seen = {str(v).casefold() for v in current}
            current.extend(v for v in value if str(v).casefold() not in seen)
            target[key] = current
        elif key == "notes":
            if value not in (target.get("notes") or ""):
                target["notes"] = "\n".join(filter(None, [target.get("notes", ""), value]))
        elif _is_empty(target.get(key)):
            target[key] = value
        elif target[key] != value:
            label = _field_label(key)
            if key in SENSITIVE:
                notes.append(
                    _("Row %(row)s gave a different %(field)s.") % {"row": row, "field": label}
                )
            else:
                shown = value.isoformat() if isinstance(value, datetime.date) else value
                notes.append(
                    _("Row %(row)s also gave %(field)s: %(value)s")
                    % {"row": row, "field": label, "value": shown}
                )


def _decide(
    cleaned: list[_Clean], actor: User, options: Options
) -> tuple[list[RowResult], list[_Entity]]:
    keys = {key for row in cleaned if row.values for key in row.keys}
    existing = customers_matching(keys)
    candidate_ids = {pk for ids in existing.values() for pk in ids if pk > 0}
    editable: set[int] = set()
    numbers: dict[int, str] = {}  # only of customers the actor sees: messages never leak
    for start in range(0, len(candidate_ids), BATCH):
        part = list(candidate_ids)[start : start + BATCH]
        editable.update(editable_customers(actor).filter(pk__in=part).values_list("pk", flat=True))
        numbers.update(visible_customers(actor).filter(pk__in=part).values_list("pk", "number"))

    def shown(pk: int) -> str:
        return numbers.get(pk) or _("a customer you do not see")

    owners = _Owners(actor, options)
    results: list[RowResult] = []
    entities: list[_Entity] = []
    by_key: dict[tuple[str, str], _Entity] = {}
    by_existing: dict[int, _Entity] = {}

    def reject(row: _Clean, reason: str) -> None:
        # What else the row held that was wrong goes with the reason.
        reason = "; ".join([reason, *(f"{_field_label(w.key)}: {w.message}" for w in row.warnings)])
        results.append(RowResult(row.row_number, Outcome.REJECTED, reason, cells=row.cells))

    def outcome_of(row: _Clean, entity: _Entity, outcome: str) -> RowResult:
        if row.warnings:
            entity.warned = [*entity.warned, (row.row_number, row.warnings)]
            outcome = Outcome.WARNED.get(outcome, outcome)
        return RowResult(
            row.row_number,
            outcome,
            number=entity.number,
            cells=row.cells,
            warnings=row.warnings,
            entity=entity if row.warnings else None,
        )

    for row in cleaned:
        if row.values is None:
            reject(row, "; ".join(row.problems))
            continue
        matched: dict[int, str] = {}
        deleted_number = False
        for key in row.keys:
            for pk in existing.get(key, ()):
                if pk < 0:
                    deleted_number = True
                else:
                    matched.setdefault(pk, key[0])
        if deleted_number:
            reject(
                row,
                _(
                    "Customer number %(number)s belongs to a deleted customer; a data "
                    "steward can restore it, or leave the number empty."
                )
                % {"number": row.values["number"]},
            )
            continue
        if len(matched) > 1:
            found = "、".join(f"{shown(pk)} ({_KEY_LABELS[how]()})" for pk, how in matched.items())
            reject(
                row,
                _(
                    "The row matches several customers (%(found)s); merge them in the "
                    "duplicate finder first."
                )
                % {"found": found},
            )
            continue
        in_file = {id(by_key[k]): by_key[k] for k in row.keys if k in by_key}
        existing_id = next(iter(matched), None)
        if existing_id is not None and existing_id in by_existing:
            in_file[id(by_existing[existing_id])] = by_existing[existing_id]
        if len(in_file) > 1:
            rows = "、".join(str(e.first_row) for e in in_file.values())
            reject(
                row,
                _("The row matches rows %(rows)s, which are different customers.") % {"rows": rows},
            )
            continue
        if in_file:
            entity = next(iter(in_file.values()))
            if existing_id is not None and entity.existing_id != existing_id:
                # Row N is (or updates) another customer than the one this row matches.
                reject(
                    row,
                    _("The row matches row %(row)s and also %(customer)s, a different customer.")
                    % {"row": entity.first_row, "customer": shown(existing_id)},
                )
                continue
            _merge_into(entity.values, row.values, row.row_number, entity.notes)
            entity.keys.update(row.keys)
            for key in row.keys:
                by_key.setdefault(key, entity)
            results.append(outcome_of(row, entity, Outcome.MERGED))
            continue
        if existing_id is not None:
            if existing_id not in editable:
                reject(
                    row,
                    _(
                        "The row matches customer %(number)s (by %(how)s), which is not "
                        "yours to change."
                    )
                    % {
                        "number": shown(existing_id),
                        "how": _KEY_LABELS[matched[existing_id]](),
                    },
                )
                continue
            entity = _Entity(row.row_number, row.values, set(row.keys), existing_id=existing_id)
            entity.number = numbers.get(existing_id, "")
            by_existing[existing_id] = entity
            outcome = Outcome.UPDATED
        else:
            owner, problem = owners.resolve(row.owner_text)
            if problem:  # the customer is made all the same, for the import's owner
                row.warnings = [*row.warnings, Warning("owner", problem, row.owner_text)]
            entity = _Entity(row.row_number, row.values, set(row.keys), owner=owner)
            entity.number = row.values.get("number", "")
            outcome = Outcome.CREATED
        entities.append(entity)
        for key in row.keys:
            by_key.setdefault(key, entity)
        results.append(outcome_of(row, entity, outcome))
    return results, entities


def import_read(
    sheet: Sheet,
    layout: Layout,
    ctx: Context,
    *,
    limit: int | None = None,
    progress: Callable[[float, int], None] | None = None,
    reasons: dict[str, int] | None = None,
) -> tuple[list[_Clean], int]:
    """Clean every data row (or the first `limit`); returns them and the rows skipped
    (blank, section labels, repeated headers; `reasons` counts the last two)."""
    cleaned: list[_Clean] = []
    skipped = [0]
    for row_number, cells in data_rows(sheet, layout, skipped, reasons):
        row = _clean_row(row_number, cells, layout, ctx)
        if row.example:
            skipped[0] += 1
            continue
        cleaned.append(row)
        if limit is not None and len(cleaned) >= limit:
            break
        if progress is not None and len(cleaned) % 1000 == 0:
            progress(sheet.progress, len(cleaned))
    return cleaned, skipped[0]
