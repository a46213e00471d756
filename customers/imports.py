"""Importing a customer register (客户管理簿): every row accounted for.

Two phases. The first reads the sheet as a stream, cleans each row through
`customer_standardise` and decides its fate without writing anything:

- **skipped**: a blank row between data rows;
- **rejected**: a problem, with the reason in the user's language;
- **created**: a new customer;
- **updated**: the row matches a customer Kehu already has (same customer
  number, unified social credit code, phone or e-mail — compared through the
  blind indexes — or the same name at the same company);
- **merged**: the row repeats a customer seen earlier in the file; its values
  fill what the earlier row left empty, lists (phones, e-mails, tags) are
  joined, and conflicting values are kept in the notes, so nothing is lost.

The second phase writes everything in one transaction with COPY: an import is
all-or-nothing (a failure anywhere leaves the database as it was, and the job
can simply be run again). A dry run stops after the first phase, so its counts
are exactly what the import would do.
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_record
from crm.bulkcopy import copy_insert
from crm.fields import blind_index
from crm.models import AuditAction, AuditEvent, User
from crm.sheets.reader import (
    FORMULA_WITHOUT_VALUE,
    TOO_LONG,
    CellError,
    Sheet,
    SheetError,
    column_letters,
)
from customers.columns import BY_KEY, IGNORE, NOTES, column_for_header
from customers.models import (
    ConsentSource,
    Customer,
    CustomerEmail,
    CustomerKind,
    CustomerPhone,
    Source,
    StageChange,
)
from customers.quality import quality_refresh, quality_score
from customers.selectors import assignable_owners, editable_customers
from customers.services import (
    FINANCIAL_FIELDS,
    NUMBER_PREFIX,
    PROFILE_FIELDS,
    _masked_emails,
    _masked_phones,
    _who,
    customer_derive,
    customer_numbers_next,
    tags_get_or_create,
)
from customers.standardise import customer_standardise, name_pinyin, search_grams

SCAN_ROWS = 30  # rows looked at to find the header
PREVIEW_ROWS = 20
BATCH = 5_000
LIST_FIELDS = ("phones", "emails", "tags", *("preferred_categories", "preferred_brands"))
LIST_FIELDS += ("preferred_colours",)
# What an update may change: everything on the register but the number and owner.
UPDATABLE = tuple(name for name in PROFILE_FIELDS if name != "kind")
SENSITIVE = {"street", *FINANCIAL_FIELDS}
# What the quality rules read of a new customer the row leaves empty.
_QUALITY_DEFAULTS = {
    "name": "", "kind": CustomerKind.PERSON, "province": "", "city": "", "district": "",
    "street": "", "uscc": "", "gender": "", "industry": "", "birth_date": None,
    "source": "", "company": "", "title": "", "postcode": "",
}  # fmt: skip


class Outcome:
    CREATED = "created"
    UPDATED = "updated"
    MERGED = "merged"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    ALL = (CREATED, UPDATED, MERGED, REJECTED, SKIPPED)


class Mode:
    FILL = "fill"  # an existing customer keeps its values; the file fills the gaps
    OVERWRITE = "overwrite"  # the file's non-empty values replace the customer's


@dataclass
class Layout:
    """Where the data is: the sheet, the header rows, and what each column holds."""

    sheet: str
    header_rows: list[int]
    columns: list[str]  # the header of each column, first column first
    mapping: list[str]  # a register key, NOTES or IGNORE per column

    @property
    def first_data_row(self) -> int:
        return max(self.header_rows) + 1


@dataclass
class Options:
    owner: User | None = None  # who owns new customers; None with pool=True: the pool
    pool: bool = False
    mode: str = Mode.FILL


@dataclass
class RowResult:
    row_number: int
    outcome: str
    reason: str = ""
    number: str = ""  # the customer it created, updated or merged into
    cells: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportResult:
    counts: dict[str, int]
    rejected: list[RowResult]
    preview: list[RowResult]
    layout: Layout

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


@dataclass
class _Entity:
    """One customer the file speaks of: new, or an existing one to update."""

    first_row: int
    values: dict[str, Any]
    keys: set
    owner: User | None = None
    existing_id: int | None = None
    number: str = ""
    notes: list[str] = field(default_factory=list)


# --- layout ------------------------------------------------------------------


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ", timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return str(value.quantize(Decimal(1)))
        return format(value.normalize(), "f")
    if value is FORMULA_WITHOUT_VALUE:
        return "=?"
    if value is TOO_LONG:
        return ""
    if isinstance(value, CellError):
        return value.code
    return str(value)


def cells_text(cells: dict[int, object], width: int) -> list[str]:
    """A row's cells as the text a person would see, first column first."""
    return [_cell_text(cells.get(col)) for col in range(1, width + 1)]


def _header_score(cells: dict[int, object]) -> int:
    return sum(1 for value in cells.values() if column_for_header(_cell_text(value)))


def _is_header_like(cells: dict[int, object]) -> bool:
    texts = [v for v in cells.values() if isinstance(v, str)]
    return bool(texts) and _header_score(cells) * 2 >= len(cells)


def layout_detect(sheet: Sheet, *, sheet_name: str = "") -> Layout:
    """Find the header (rows of column names, perhaps under a title and merged
    group headings, perhaps in two languages) and map each column."""
    top: list[tuple[int, dict[int, object]]] = []
    for row_number, cells in sheet.rows(sheet=sheet_name or None):
        top.append((row_number, cells))
        if len(top) >= SCAN_ROWS:
            break
    if not top:
        raise SheetError(_("The sheet is empty: there is nothing to import."), "empty_sheet")
    scores = [_header_score(cells) for _, cells in top]
    best = max(range(len(top)), key=lambda i: (scores[i], -i))
    if scores[best] == 0:
        found = "、".join(_cell_text(v) for v in top[0][1].values())[:120]
        raise SheetError(
            _(
                "No column heading names a customer field (found: %(found)s). Put the "
                "headings in the first row, e.g. 姓名 / Name and 手机 / Phone, or start "
                "from the register template."
            )
            % {"found": found},
            "no_headers",
        )
    start = best
    while (
        start > 0 and top[start - 1][0] == top[start][0] - 1 and _is_header_like(top[start - 1][1])
    ):
        start -= 1
    end = best
    while end + 1 < len(top) and _is_header_like(top[end + 1][1]):
        end += 1
    block = top[start : end + 1]
    width = max(max(cells) for _, cells in block)
    columns, mapping = [], []
    for col in range(1, width + 1):
        texts = [_cell_text(cells.get(col)).strip() for _, cells in block]
        recognised = [t for t in texts if t and column_for_header(t)]
        present = [t for t in texts if t]
        name = (recognised or present or [""])[-1]
        columns.append(name or column_letters(col))
        key = column_for_header(name) if name else None
        mapping.append(key if key else (NOTES if name else IGNORE))
    return Layout(
        sheet=sheet_name or sheet.sheet_names[0],
        header_rows=[number for number, _ in block],
        columns=columns,
        mapping=_dedupe_single(mapping, columns),
    )


def _dedupe_single(mapping: list[str], columns: list[str]) -> list[str]:
    """A second column for a one-value field (a second “Name”) is kept as notes."""
    seen: set[str] = set()
    out = []
    for key in mapping:
        if key and key != NOTES and not BY_KEY[key].many:
            if key in seen:
                key = NOTES
            seen.add(key)
        out.append(key)
    return out


def mapping_errors(layout: Layout) -> list[str]:
    """What is wrong with a (hand-edited) mapping, in words."""
    errors = []
    if "name" not in layout.mapping:
        errors.append(_("Choose the column that holds the customer's name."))
    counts: dict[str, list[str]] = defaultdict(list)
    for key, header in zip(layout.mapping, layout.columns, strict=True):
        if key and key != NOTES:
            if key not in BY_KEY or not BY_KEY[key].importable:
                errors.append(_("“%(column)s” is mapped to an unknown field.") % {"column": header})
                continue
            counts[key].append(header)
    for key, headers in counts.items():
        if len(headers) > 1 and not BY_KEY[key].many:
            errors.append(
                _("%(field)s comes from more than one column (%(columns)s); choose one.")
                % {"field": BY_KEY[key].label, "columns": "、".join(headers)}
            )
    return errors


# --- phase 1: read, clean, decide --------------------------------------------


@dataclass
class _Clean:
    row_number: int
    cells: dict[int, object]
    values: dict[str, Any] | None
    problems: list[str]
    keys: list[tuple[str, str]]
    owner_text: str = ""


def _field_label(key: str) -> str:
    column = BY_KEY.get(key)
    if column is not None:
        return str(column.label)
    try:
        return str(Customer._meta.get_field(key).verbose_name).capitalize()
    except FieldDoesNotExist:
        return key


def _problems_of(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        out = []
        for key, errors in exc.error_dict.items():
            label = _field_label("address" if key == "street" else key)
            for error in errors:
                for message in error.messages:
                    out.append(f"{label}: {message}")
        return out
    return list(exc.messages)


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


def _clean_row(row_number: int, cells: dict[int, object], layout: Layout) -> _Clean:
    texts = cells  # turned into text only for the rows shown or rejected (cells_text)
    problems: list[str] = []
    raw: dict[str, Any] = {}
    notes: list[str] = []
    for col, key in enumerate(layout.mapping, start=1):
        if not key:
            continue
        value = cells.get(col)
        header = layout.columns[col - 1]
        where = f"{header} ({column_letters(col)}{row_number})"
        if value is FORMULA_WITHOUT_VALUE:
            problems.append(
                _(
                    "%(cell)s holds a formula without a saved result; Kehu never runs "
                    "formulas. Open the file in Excel or WPS, save it, and import again "
                    "(or paste the values)."
                )
                % {"cell": where}
            )
            continue
        if value is TOO_LONG:
            problems.append(
                _("%(cell)s is longer than Excel's limit of 32,767 characters.") % {"cell": where}
            )
            continue
        if isinstance(value, CellError):
            problems.append(
                _("%(cell)s holds the Excel error %(error)s.")
                % {"cell": where, "error": value.code}
            )
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if key == NOTES:
            notes.append(f"{header}: {_cell_text(value).strip()}")
        elif key in {"birth_date", "is_key_account", "marketing_consent"}:
            raw[key] = value
        elif BY_KEY[key].many:
            raw[key] = f"{raw[key]}\n{_cell_text(value)}" if key in raw else _cell_text(value)
        else:
            raw[key] = _cell_text(value)
    if notes:
        raw["notes"] = "\n".join(filter(None, [raw.get("notes", ""), *notes]))
    if not raw and not problems:
        return _Clean(
            row_number, texts, None, [_("The row has no value in the imported columns.")], []
        )
    owner_text = raw.pop("owner", "").strip()
    if "name" not in raw and not problems:
        problems.append(
            _("%(field)s: Enter the customer's name.") % {"field": _field_label("name")}
        )
    if raw.get("uscc") and "kind" not in raw:
        raw["kind"] = CustomerKind.COMPANY
    values = None
    try:
        values = customer_standardise(raw)
    except ValidationError as exc:
        problems.extend(_problems_of(exc))
    if problems:
        return _Clean(row_number, texts, None, problems, [])
    return _Clean(row_number, texts, values, [], _keys_of(values), owner_text)


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
                return None, _("You may import only your own customers; leave Owner empty.")
            return None, _("Owner “%(owner)s” is not a sales rep you may assign to.") % {
                "owner": text[:40]
            }
        return user, ""


def _existing_matches(keys: set[tuple[str, str]]) -> dict[tuple[str, str], set[int]]:
    """Live customers holding any of the keys, and the deleted ones holding a number."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, value in keys:
        by_kind[kind].append(value)
    found: dict[tuple[str, str], set[int]] = defaultdict(set)
    alive = Customer.objects.alive()

    def chunks(values: list[str]) -> Iterable[list[str]]:
        for start in range(0, len(values), BATCH):
            yield values[start : start + BATCH]

    for part in chunks(by_kind["number"]):
        for pk, number, deleted in Customer.objects.filter(number__in=part).values_list(
            "pk", "number", "deleted_at"
        ):
            found[("number", number)].add(-pk if deleted else pk)
    for part in chunks(by_kind["uscc"]):
        for pk, uscc in alive.filter(uscc__in=part).values_list("pk", "uscc"):
            found[("uscc", uscc)].add(pk)
    alive_ids = alive.values("pk")
    for part in chunks(by_kind["phone"]):
        rows = CustomerPhone.objects.filter(number_index__in=part, customer__in=alive_ids)
        for pk, index in rows.values_list("customer_id", "number_index"):
            found[("phone", index)].add(pk)
    for part in chunks(by_kind["email"]):
        rows = CustomerEmail.objects.filter(address_index__in=part, customer__in=alive_ids)
        for pk, index in rows.values_list("customer_id", "address_index"):
            found[("email", index)].add(pk)
    names = by_kind["name"]
    if names:
        # Companies by their name; people by name and company (see _keys_of).
        key_sql = (
            "lower(regexp_replace(name || '|' || CASE WHEN kind = 'company' THEN '' "
            "ELSE company END, '\\s', '', 'g'))"
        )
        with connection.cursor() as cursor:
            for part in chunks(names):
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
    existing = _existing_matches(keys)
    candidate_ids = {pk for ids in existing.values() for pk in ids if pk > 0}
    editable: set[int] = set()
    numbers: dict[int, str] = {}
    for start in range(0, len(candidate_ids), BATCH):
        part = list(candidate_ids)[start : start + BATCH]
        editable.update(editable_customers(actor).filter(pk__in=part).values_list("pk", flat=True))
        numbers.update(Customer.objects.filter(pk__in=part).values_list("pk", "number"))
    owners = _Owners(actor, options)
    results: list[RowResult] = []
    entities: list[_Entity] = []
    by_key: dict[tuple[str, str], _Entity] = {}
    by_existing: dict[int, _Entity] = {}

    def reject(row: _Clean, reason: str) -> None:
        results.append(RowResult(row.row_number, Outcome.REJECTED, reason, cells=row.cells))

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
            found = "、".join(
                f"{numbers.get(pk, pk)} ({_KEY_LABELS[how]()})" for pk, how in matched.items()
            )
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
            if existing_id is not None and entity.existing_id not in (None, existing_id):
                reject(
                    row,
                    _("The row matches a different customer than row %(row)s.")
                    % {"row": entity.first_row},
                )
                continue
            _merge_into(entity.values, row.values, row.row_number, entity.notes)
            entity.keys.update(row.keys)
            for key in row.keys:
                by_key.setdefault(key, entity)
            results.append(
                RowResult(
                    row.row_number,
                    Outcome.MERGED,
                    number=entity.number,
                    cells=row.cells,
                    values=row.values,
                )
            )
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
                        "number": numbers.get(existing_id),
                        "how": _KEY_LABELS[matched[existing_id]](),
                    },
                )
                continue
            entity = _Entity(
                row.row_number, dict(row.values), set(row.keys), existing_id=existing_id
            )
            entity.number = numbers[existing_id]
            by_existing[existing_id] = entity
            outcome = Outcome.UPDATED
        else:
            owner, problem = owners.resolve(row.owner_text)
            if problem:
                reject(row, problem)
                continue
            entity = _Entity(row.row_number, dict(row.values), set(row.keys), owner=owner)
            entity.number = row.values.get("number", "")
            outcome = Outcome.CREATED
        entities.append(entity)
        for key in row.keys:
            by_key.setdefault(key, entity)
        results.append(
            RowResult(
                row.row_number, outcome, number=entity.number, cells=row.cells, values=row.values
            )
        )
    return results, entities


def import_read(
    sheet: Sheet,
    layout: Layout,
    *,
    limit: int | None = None,
    progress: Callable[[float, int], None] | None = None,
) -> tuple[list[_Clean], int]:
    """Clean every data row (or the first `limit`); returns them and the blank rows skipped."""
    cleaned: list[_Clean] = []
    skipped = 0
    previous = max(layout.header_rows)
    width = len(layout.columns)
    for row_number, cells in sheet.rows(sheet=layout.sheet or None, max_col=width):
        if row_number <= previous:
            continue
        if all(isinstance(v, str) and not v.strip() for v in cells.values()):
            skipped += 1
            previous = row_number
            continue
        skipped += row_number - previous - 1
        previous = row_number
        cleaned.append(_clean_row(row_number, cells, layout))
        if limit is not None and len(cleaned) >= limit:
            break
        if progress is not None and len(cleaned) % 1000 == 0:
            progress(sheet.progress, len(cleaned))
    return cleaned, skipped


def customers_import(
    *,
    actor: User,
    sheet: Sheet,
    layout: Layout,
    options: Options | None = None,
    dry_run: bool = False,
    preview: int = 0,
    progress: Callable[[float, int], None] | None = None,
    source: str = "",
) -> ImportResult:
    """Import the sheet as `actor`. Raises SheetError for a file or mapping that
    cannot be used; rows with problems are rejected, never half-written."""
    options = options or Options()
    if not actor.has_perm("customers.add_customer"):
        raise SheetError(_("You may not import customers."), "forbidden")
    errors = mapping_errors(layout)
    if errors:
        raise SheetError(" ".join(errors), "mapping")
    if (
        options.owner is not None
        and options.owner.pk != actor.pk
        and not assignable_owners(actor).filter(pk=options.owner.pk).exists()
    ):
        raise SheetError(
            _("You may not give customers to %(owner)s.") % {"owner": options.owner}, "owner"
        )
    if options.pool and not actor.has_perm("customers.assign_customer_owner"):
        raise SheetError(_("You may not import customers into the shared pool."), "owner")
    cleaned, skipped = import_read(
        sheet,
        layout,
        limit=preview or None,
        progress=(lambda f, n: progress(f * 0.6, n)) if progress else None,
    )
    results, entities = _decide(cleaned, actor, options)
    counts = dict.fromkeys(Outcome.ALL, 0)
    counts[Outcome.SKIPPED] = skipped
    width = len(layout.columns)
    for index, result in enumerate(results):
        counts[result.outcome] += 1
        keep = result.outcome == Outcome.REJECTED or index < preview
        result.cells = cells_text(result.cells, width) if keep else []
    rejected = [r for r in results if r.outcome == Outcome.REJECTED]
    if not dry_run and not preview:
        with transaction.atomic():
            _write(actor, entities, options, counts, source or "import", progress)
    return ImportResult(
        counts=counts,
        rejected=rejected,
        preview=results[:preview] if preview else [],
        layout=layout,
    )


# --- phase 2: write ----------------------------------------------------------


def _audit_rows(actor: User, action: str, items: list[tuple[int, str, dict]], extra: dict) -> None:
    """AuditEvent rows through COPY (JSON as text); the trigger allows inserts."""
    if not items:
        return
    content_type = ContentType.objects.get_for_model(Customer).pk
    now = timezone.now()
    copy_insert(
        AuditEvent,
        [
            {
                "created_at": now,
                "actor_id": actor.pk,
                "actor_repr": actor.get_username(),
                "action": action,
                "target_type_id": content_type,
                "target_id": str(pk),
                "target_repr": label[:255],
                "changes": changes,
                "extra": extra,
                "ip_address": None,
            }
            for pk, label, changes in items
        ],
    )


def _children_rows(customer_id: int, values: dict[str, Any], skip: set[str] = frozenset()):
    """Phone and e-mail rows with their blind indexes, leaving out those in `skip`."""
    phones, emails = [], []
    for position, phone in enumerate(values.get("phones", [])):
        index = blind_index(phone)
        if index not in skip:
            phones.append(
                {"customer_id": customer_id, "contact_id": None, "number": phone,
                 "number_index": index, "label": "mobile", "position": position}
            )  # fmt: skip
    for position, email in enumerate(values.get("emails", [])):
        index = blind_index(email)
        if index not in skip:
            emails.append(
                {"customer_id": customer_id, "contact_id": None, "address": email,
                 "address_index": index, "position": position}
            )  # fmt: skip
    return phones, emails


def _write(actor, entities, options, counts, source, progress) -> None:
    """Everything decided, in batches (memory stays flat), inside the caller's transaction."""
    now = timezone.now()
    tag_names = {name for e in entities for name in e.values.get("tags", [])}
    tags = {tag.name.casefold(): tag.pk for tag in tags_get_or_create(sorted(tag_names))}
    new = [e for e in entities if e.existing_id is None]
    updates = [e for e in entities if e.existing_id is not None]
    fresh_numbers = iter(customer_numbers_next(sum(1 for e in new if not e.number)))
    extra = {"import": source}
    highest = 0
    for start in range(0, len(new), BATCH):
        batch = new[start : start + BATCH]
        customers = [_new_row(entity, actor, now, fresh_numbers) for entity in batch]
        copy_insert(Customer, customers)
        phones, emails, links, stages, audits = [], [], [], [], []
        for entity, row in zip(batch, customers, strict=True):
            pk = row["id"]
            own_phones, own_emails = _children_rows(pk, entity.values)
            phones += own_phones
            emails += own_emails
            links += [
                {"customer_id": pk, "tag_id": tags[t.casefold()]}
                for t in entity.values.get("tags", [])
            ]
            stages.append(
                {"customer_id": pk, "from_stage": "", "to_stage": row.get("stage") or "lead",
                 "changed_at": now, "actor_id": actor.pk}
            )  # fmt: skip
            audits.append((pk, f"{row['name']} ({row['number']})", _created_changes(entity, row)))
        copy_insert(CustomerPhone, phones)
        copy_insert(CustomerEmail, emails)
        copy_insert(Customer.tags.through, links)
        copy_insert(StageChange, stages)
        _audit_rows(actor, AuditAction.CREATE, audits, {**extra, "version": 1})
        highest = max(highest, _highest_number(customers))
        if progress:
            progress(0.6 + 0.35 * (start + len(batch)) / max(len(new), 1), start + len(batch))
    phones, emails, links, stages = [], [], [], []
    updated_audits = _apply_updates(
        actor, updates, options, tags, now, phones, emails, links, stages
    )
    copy_insert(CustomerPhone, phones)
    copy_insert(CustomerEmail, emails)
    copy_insert(Customer.tags.through, links)
    copy_insert(StageChange, stages)
    _audit_rows(actor, AuditAction.UPDATE, updated_audits, extra)
    quality_refresh([e.existing_id for e in updates])
    _numbers_follow(highest)
    audit_record(actor=actor, action=AuditAction.IMPORT, extra={"file": source, **counts})
    if progress:
        progress(1.0, sum(counts.values()))


@functools.lru_cache(maxsize=100_000)
def _derived(name: str, kind: str, company: str) -> tuple[str, str, list[str]]:
    """Pinyin and search grams; registers repeat names and companies, so cached."""
    pinyin, initials = name_pinyin(name, kind=kind)
    return pinyin, initials, search_grams(name, company)


def _new_row(entity: _Entity, actor: User, now, fresh_numbers) -> dict[str, Any]:
    values = entity.values
    if entity.notes:
        values["notes"] = "\n".join(filter(None, [values.get("notes", ""), *entity.notes]))
    entity.number = entity.number or next(fresh_numbers)
    kind = values.get("kind") or CustomerKind.PERSON
    pinyin, initials, grams = _derived(values["name"], kind, values.get("company", ""))
    row = {name: values[name] for name in PROFILE_FIELDS if name in values}
    row.update(
        number=entity.number,
        kind=kind,
        name_pinyin=pinyin,
        name_initials=initials,
        search_grams=list(grams),
        source=values.get("source") or Source.IMPORT,
        owner_id=entity.owner.pk if entity.owner else None,
        team_id=entity.owner.team_id if entity.owner else None,
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


def _created_changes(entity: _Entity, row: dict[str, Any]) -> dict[str, list]:
    changes = {
        name: [None, value.isoformat() if isinstance(value, datetime.date) else value]
        for name, value in row.items()
        if name in PROFILE_FIELDS and not _is_empty(value)
    }
    for name in SENSITIVE & changes.keys():
        changes[name] = [None, "***"]
    changes["owner"] = [None, _who(entity.owner)]
    if entity.values.get("phones"):
        changes["phones"] = [None, _masked_phones(entity.values["phones"])]
    if entity.values.get("emails"):
        changes["emails"] = [None, _masked_emails(entity.values["emails"])]
    if entity.values.get("tags"):
        changes["tags"] = [None, entity.values["tags"]]
    return changes


def _apply_updates(actor, updates, options, tags, now, phones, emails, links, stages):
    """Fill (or overwrite) existing customers; returns their audit items."""
    audits = []
    by_id = {e.existing_id: e for e in updates}
    for start in range(0, len(updates), BATCH):
        part = [e.existing_id for e in updates[start : start + BATCH]]
        locked = (
            Customer.objects.select_for_update(of=("self",))
            .filter(pk__in=part)
            .prefetch_related("phones", "emails", "tags")
        )
        changed_objects, fields = [], set()
        for customer in locked:
            entity = by_id[customer.pk]
            values = entity.values
            changes: dict[str, list] = {}
            for name in UPDATABLE:
                if name not in values or _is_empty(values[name]):
                    continue
                old, new = getattr(customer, name), values[name]
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
                    setattr(customer, name, new)
            if entity.notes:
                customer.notes = "\n".join(filter(None, [customer.notes, *entity.notes]))
                changes.setdefault("notes", [None, "…"])
            if "stage" in changes:
                stages.append(
                    {
                        "customer_id": customer.pk,
                        "from_stage": changes["stage"][0],
                        "to_stage": customer.stage,
                        "changed_at": now,
                        "actor_id": actor.pk,
                    }
                )
                customer.stage_changed_at = now
            if "marketing_consent" in changes:
                customer.consent_at = now
            have = {p.number_index for p in customer.phones.all()} | {
                e.address_index for e in customer.emails.all()
            }
            own_phones, own_emails = _children_rows(customer.pk, values, skip=have)
            for rows, offset in (
                (own_phones, len(customer.phones.all())),
                (own_emails, len(customer.emails.all())),
            ):
                for position, row in enumerate(rows, start=offset):
                    row["position"] = position
            if own_phones:
                changes["phones"] = [None, _masked_phones(r["number"] for r in own_phones)]
            if own_emails:
                changes["emails"] = [None, _masked_emails(r["address"] for r in own_emails)]
            phones += own_phones
            emails += own_emails
            current_tags = {t.pk for t in customer.tags.all()}
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
                "stage_changed_at",
                "consent_at",
                "name_pinyin",
                "name_initials",
                "search_grams",
                "notes",
            }
            Customer.objects.bulk_update(changed_objects, sorted(fields), batch_size=1000)
    return audits


def _highest_number(customers: list[dict]) -> int:
    highest = 0
    for row in customers:
        number = row["number"]
        if number.startswith(NUMBER_PREFIX) and number[len(NUMBER_PREFIX) :].isdigit():
            highest = max(highest, int(number[len(NUMBER_PREFIX) :]))
    return highest


def _numbers_follow(highest: int) -> None:
    """Numbers kept from the file (KH00012345) push the sequence past them."""
    if highest:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval('customers_customer_number_seq', "
                "GREATEST(%s, (SELECT last_value FROM customers_customer_number_seq)))",
                [highest],
            )


def rejected_rows(columns: list[str], rejected: Iterable[tuple[list[str], str]]):
    """The rejected-rows sheet: the original header and cells, then the reason."""
    yield [*columns, _("Reason rejected")]
    for cells, reason in rejected:
        yield [*cells, reason]


def counts_line(counts: dict[str, int]) -> str:
    return _(
        "%(rows)d rows: %(created)d created, %(updated)d updated, %(merged)d merged, "
        "%(rejected)d rejected, %(skipped)d skipped"
    ) % {"rows": sum(counts.values()), **counts}
