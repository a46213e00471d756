"""Phase 1: read and clean every row, match it, and decide its outcome (writes nothing)."""

from __future__ import annotations

import datetime
import hashlib
import pickle
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from crm.fields import blind_index
from crm.models import User
from crm.sheets.sheet import (
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
    RowSpill,
    Warning,
    _Entity,
    field_label,
)
from customers.imports.clean import (
    CHOICE_KEYS,
    NEW_SOURCE,
    Context,
    cell_read,
    remarks_join,
    remarks_lines,
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
    """A cleaned row. An import holds every row until the last is read (a later row
    may merge into an earlier customer), so each is kept packed (`pack`): two
    pickles, its values and the rest, about a third of the objects' size."""

    row_number: int
    cells: str | tuple | None  # the row as text, packed (for the rejected-rows sheet)
    values: dict[str, Any] | None
    problems: list[str] | None
    keys: list[tuple[str, str]] | None
    owner_text: str = ""
    example: bool = False  # the register template's grey example row, left in
    warnings: list[Warning] | tuple = ()  # a shared empty tuple for the many clean rows
    ok: bool = True  # a customer can be made of it
    number: str = ""  # the customer number it gives
    key_account: bool = False
    tags: tuple[str, ...] = ()
    new_source: str = ""  # a source the value mapping adds (clean.NEW_SOURCE + word)
    blob: bytes | None = None  # cells, problems, keys and owner text, pickled
    vblob: bytes | None = None  # the values, pickled

    def pack(self) -> None:
        if self.values is not None:
            self.number = self.values.get("number", "")
            self.key_account = bool(self.values.get("is_key_account"))
            self.tags = tuple(self.values.get("tags") or ())
            source = self.values.get("source") or ""
            self.new_source = source if source.startswith(NEW_SOURCE) else ""
            self.vblob = pickle.dumps(self.values, pickle.HIGHEST_PROTOCOL)
        self.ok = self.values is not None
        # The warnings stay as they are: few rows have any, and their texts are
        # shared between rows (a pickle would give each row copies).
        rest = (self.cells, self.problems, self.keys, self.owner_text)
        self.blob = pickle.dumps(rest, pickle.HIGHEST_PROTOCOL)
        self.cells = self.values = self.problems = self.keys = None
        self.owner_text = ""

    def unpack(self) -> None:
        """Everything but the values, which only a merge needs (`values_load`)."""
        if self.blob is not None:
            rest = pickle.loads(self.blob)  # noqa: S301 - pickled by this process
            self.cells, self.problems, self.keys, self.owner_text = rest
            self.blob = None

    def values_load(self) -> dict[str, Any]:
        return pickle.loads(self.vblob)  # noqa: S301 - pickled by this process

    def forget(self) -> None:
        """Decided: what a result or an entity needs has been taken."""
        self.cells = self.problems = self.keys = self.blob = self.vblob = None
        self.warnings = ()


def _is_template_example(raw: dict[str, Any]) -> bool:
    """The template's example row, word for word (a real 张伟 differs somewhere)."""
    return all(
        raw.get(key) == BY_KEY[key].example for key in ("name", "phones", "emails", "company")
    )


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
            reason = "; ".join(f"{field_label(w.key)}: {w.message}" for w in warnings)
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
            label = field_label(key)
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


DECIDE_BATCH = 10_000  # rows unpacked and matched against the database at a time


def _key_id(key: tuple[str, str]) -> bytes:
    """A match key in 16 bytes: the in-file index holds one per phone, e-mail… of
    every row."""
    return hashlib.blake2b(f"{key[0]}\x1f{key[1]}".encode(), digest_size=16).digest()


@dataclass
class Decided:
    """What phase 1 decided: the count of each outcome, the rows worth keeping
    (rejected or with warnings: in `spill`; a preview's first rows: in `kept`),
    the entities to write, and what the write prepares before it starts (tags,
    new sources)."""

    counts: dict[str, int]
    kept: list[RowResult]
    entities: list[_Entity]
    tags: set[str]
    new_sources: set[str]
    spill: RowSpill | None = None


def _decide(
    cleaned: list[_Clean], actor: User, options: Options, *, preview: int = 0, source: str = ""
) -> Decided:
    decider = _Decider(actor, options, preview, source)
    for start in range(0, len(cleaned), DECIDE_BATCH):
        batch = cleaned[start : start + DECIDE_BATCH]
        for row in batch:
            row.unpack()
        decider.matches_load({key for row in batch if row.ok for key in row.keys})
        for row in batch:
            decider.row(row)
            row.forget()
        cleaned[start : start + len(batch)] = [None] * len(batch)  # decided: let them go
    return decider.decided


class _Decider:
    """Decides each row in turn: rejected, a new customer, an update of one Kehu has,
    or merged into an earlier row's; keeps the in-file index of match keys."""

    def __init__(self, actor: User, options: Options, preview: int, source: str):
        self.actor = actor
        self.owners = _Owners(actor, options)
        self.preview = preview
        self.source = source
        self.decided = Decided(dict.fromkeys(Outcome.ALL, 0), [], [], set(), set())
        if not preview:  # a preview keeps its few rows in memory
            self.decided.spill = RowSpill()
        self.by_key: dict[bytes, _Entity] = {}
        self.by_existing: dict[int, _Entity] = {}
        self.existing: dict = {}
        self.editable: set[int] = set()
        self.numbers: dict[int, str] = {}

    def matches_load(self, keys: set) -> None:
        """Customers Kehu has that hold the keys (of a batch of rows); which the actor
        may change; the numbers of those the actor sees (a message never names one
        they do not)."""
        self.existing = customers_matching(keys)
        candidate_ids = {pk for ids in self.existing.values() for pk in ids if pk > 0}
        self.editable, self.numbers = set(), {}
        for start in range(0, len(candidate_ids), BATCH):
            part = list(candidate_ids)[start : start + BATCH]
            self.editable.update(
                editable_customers(self.actor).filter(pk__in=part).values_list("pk", flat=True)
            )
            self.numbers.update(
                visible_customers(self.actor).filter(pk__in=part).values_list("pk", "number")
            )

    def shown(self, pk: int) -> str:
        return self.numbers.get(pk) or _("a customer you do not see")

    def keep(self, result: RowResult, entity: _Entity | None = None) -> None:
        self.decided.counts[result.outcome] += 1
        if self.decided.spill is None:
            self.decided.kept.append(result)
        elif result.outcome == Outcome.REJECTED or result.warnings:
            self.decided.spill.add(result, entity.index if entity is not None else None)

    def reject(self, row: _Clean, reason: str) -> None:
        # What else the row held that was wrong goes with the reason.
        reason = "; ".join([reason, *(f"{field_label(w.key)}: {w.message}" for w in row.warnings)])
        self.keep(RowResult(row.row_number, Outcome.REJECTED, reason, cells=row.cells))

    def outcome(self, row: _Clean, entity: _Entity, outcome: str) -> None:
        if row.warnings:
            # What the row could not place, kept on the customer with why.
            heading = _("%(file)s, row %(row)d") % {"file": self.source, "row": row.row_number}
            entity.remarks = remarks_join(entity.remarks, remarks_lines(heading, row.warnings))
            outcome = Outcome.WARNED.get(outcome, outcome)
        kept = row.warnings or self.decided.spill is None
        self.keep(
            RowResult(
                row.row_number,
                outcome,
                number=entity.number,
                cells=row.cells if kept else None,
                warnings=row.warnings,
                entity=entity if row.warnings and self.decided.spill is None else None,
            ),
            entity,
        )
        self.decided.tags.update(row.tags)
        if row.new_source:
            self.decided.new_sources.add(row.new_source)

    def row(self, row: _Clean) -> None:
        if not row.ok:
            self.reject(row, "; ".join(row.problems))
            return
        matched: dict[int, str] = {}
        deleted_number = False
        for key in row.keys:
            for pk in self.existing.get(key, ()):
                if pk < 0:
                    deleted_number = True
                else:
                    matched.setdefault(pk, key[0])
        if deleted_number:
            self.reject(
                row,
                _(
                    "Customer number %(number)s belongs to a deleted customer; a data "
                    "steward can restore it, or leave the number empty."
                )
                % {"number": row.number},
            )
            return
        if len(matched) > 1:
            found = "、".join(
                f"{self.shown(pk)} ({_KEY_LABELS[how]()})" for pk, how in matched.items()
            )
            self.reject(
                row,
                _(
                    "The row matches several customers (%(found)s); merge them in the "
                    "duplicate finder first."
                )
                % {"found": found},
            )
            return
        ids = [_key_id(key) for key in row.keys]
        by_key = self.by_key
        in_file = {id(by_key[k]): by_key[k] for k in ids if k in by_key}
        existing_id = next(iter(matched), None)
        if existing_id is not None and existing_id in self.by_existing:
            in_file[id(self.by_existing[existing_id])] = self.by_existing[existing_id]
        if len(in_file) > 1:
            rows = "、".join(str(e.first_row) for e in in_file.values())
            self.reject(
                row,
                _("The row matches rows %(rows)s, which are different customers.") % {"rows": rows},
            )
            return
        if in_file:
            entity = next(iter(in_file.values()))
            if existing_id is not None and entity.existing_id != existing_id:
                # Row N is (or updates) another customer than the one this row matches.
                self.reject(
                    row,
                    _("The row matches row %(row)s and also %(customer)s, a different customer.")
                    % {"row": entity.first_row, "customer": self.shown(existing_id)},
                )
                return
            if not entity.notes:
                entity.notes = []  # a shared empty tuple until now
            _merge_into(entity.values, row.values_load(), row.row_number, entity.notes)
            for key in ids:
                by_key.setdefault(key, entity)
            self.outcome(row, entity, Outcome.MERGED)
            return
        if existing_id is not None:
            if existing_id not in self.editable:
                self.reject(
                    row,
                    _(
                        "The row matches customer %(number)s (by %(how)s), which is not "
                        "yours to change."
                    )
                    % {
                        "number": self.shown(existing_id),
                        "how": _KEY_LABELS[matched[existing_id]](),
                    },
                )
                return
            entity = _Entity(row.row_number, row.vblob, existing_id=existing_id)
            entity.number = self.numbers.get(existing_id, "")
            self.by_existing[existing_id] = entity
            outcome = Outcome.UPDATED
        else:
            owner, problem = self.owners.resolve(row.owner_text)
            if problem:  # the customer is made all the same, for the import's owner
                row.warnings = [*row.warnings, Warning("owner", problem, row.owner_text)]
            entity = _Entity(row.row_number, row.vblob, owner=owner, key_account=row.key_account)
            entity.number = row.number
            outcome = Outcome.CREATED
        entity.index = len(self.decided.entities)
        self.decided.entities.append(entity)
        for key in ids:
            by_key.setdefault(key, entity)
        self.outcome(row, entity, outcome)


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
        row.pack()
        cleaned.append(row)
        if limit is not None and len(cleaned) >= limit:
            break
        if progress is not None and len(cleaned) % 1000 == 0:
            progress(sheet.progress, len(cleaned))
    return cleaned, skipped[0]
