"""The import's vocabulary: outcomes, modes, the layout of a sheet, options and results."""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist

from crm.models import User
from customers.columns import BY_KEY
from customers.models import Customer, CustomerKind
from customers.services.records import (
    FINANCIAL_FIELDS,
    PROFILE_FIELDS,
)

SCAN_ROWS = 30  # rows looked at to find the header
WARNING_MARK = "⚠"  # heads a warnings workbook's warning column; imports ignore such columns
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
    "source_id": "", "company": "", "title": "", "postcode": "",
}  # fmt: skip


# Words that mean "nothing here", compared after NFKC and case-folding.
PLACEHOLDERS = frozenset(
    word.casefold()
    for word in (
        "无", "暂无", "没有", "空", "待补充", "待定", "待查", "不详", "未知", "不清楚",
        "-", "--", "---", "—", "——", "/", "\\", "n/a", "na", "#n/a", "null", "none", "nil",
        "?", "？", "…", "...",
    )
)  # fmt: skip


def field_label(key: str) -> str:
    """A column's or a customer field's name, as an import's warnings name it."""
    column = BY_KEY.get(key)
    if column is not None:
        return str(column.label)
    try:
        return str(Customer._meta.get_field(key).verbose_name).capitalize()
    except FieldDoesNotExist:
        return key


CELLS_SEP = "\x1f"  # the unit separator: not something typed into a register


def cells_text(cells: str | tuple[str, ...], width: int) -> list[str]:
    """The packed cells (customers.imports.layout.cells_pack) back as one text
    per column."""
    texts = cells.split(CELLS_SEP) if isinstance(cells, str) else list(cells)
    return (texts + [""] * width)[:width]


def is_placeholder(text: str) -> bool:
    return text.casefold() in PLACEHOLDERS


@dataclass(slots=True)
class Warning:
    """A problem that kept the customer: the field, what was done, and the text
    the file held (kept in the customer's import remarks; "" when nothing is lost)."""

    key: str
    message: str
    original: str = ""


def warning(key: str, message: str, original: str = "") -> Warning:
    return Warning(key, message, original[:2000])


class Outcome:
    CREATED = "created"
    CREATED_WARNED = "created_warned"  # created; some values dropped or corrected
    UPDATED = "updated"
    UPDATED_WARNED = "updated_warned"
    MERGED = "merged"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    ALL = (CREATED, CREATED_WARNED, UPDATED, UPDATED_WARNED, MERGED, REJECTED, SKIPPED)
    WARNED = {CREATED: CREATED_WARNED, UPDATED: UPDATED_WARNED}


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
    # The value mapping: {register key: {clean.value_key(text): code, "" or NEW_SOURCE}}
    values: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(slots=True)
class RowResult:
    row_number: int
    outcome: str
    reason: str = ""
    number: str = ""  # the customer it created, updated or merged into
    # The row's texts: packed into one string (imports.layout.cells_pack) while an
    # import holds many, or a list; `texts` gives the list.
    cells: list[str] | str | tuple | None = field(default_factory=list)
    # clean.Warning: values dropped or corrected (a shared empty tuple for most rows:
    # a large import holds a result per row)
    warnings: Sequence = ()
    entity: Any = None  # the _Entity it became part of (its number is drawn when written)

    def texts(self, width: int) -> list[str]:
        """One text per column of the file."""

        if isinstance(self.cells, list):
            return (self.cells + [""] * width)[:width]
        return cells_text(self.cells, width) if self.cells is not None else [""] * width


class RowSpill:
    """The rows worth keeping of a large import (rejected, or imported with
    warnings), on disk in sheet order while it runs: a file that holds a third of
    a register costs no memory. Their customer numbers are drawn by the write:
    `numbers` gives them afterwards, by entity."""

    def __init__(self):
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the spill
        self.counts = {"rejected": 0, "warned": 0}
        self.numbers: list[str] = []

    def add(self, result: RowResult, entity_index: int | None) -> None:
        which = "rejected" if result.outcome == Outcome.REJECTED else "warned"
        self.counts[which] += 1
        record = (result.row_number, result.outcome, result.reason, result.cells,
                  list(result.warnings), entity_index, result.number)  # fmt: skip
        pickle.dump(record, self.file, pickle.HIGHEST_PROTOCOL)

    def rows(self, which: str | None = None) -> Iterator[RowResult]:
        """The kept rows in sheet order: all of them, or the "rejected" or "warned"."""
        self.file.flush()
        self.file.seek(0)
        while True:
            try:
                number, outcome, reason, cells, warnings, entity, given = pickle.load(self.file)  # noqa: S301
            except EOFError:
                return
            rejected = outcome == Outcome.REJECTED
            if which is None or (which == "rejected") == rejected:
                if entity is not None and entity < len(self.numbers):
                    given = self.numbers[entity]
                yield RowResult(number, outcome, reason, given, cells, warnings)


class SpilledRows(Sequence):
    """The rejected, or the warned, rows of a RowSpill, read back as a sequence."""

    def __init__(self, spill: RowSpill, which: str):
        self.spill, self.which = spill, which

    def __iter__(self) -> Iterator[RowResult]:
        return self.spill.rows(self.which)

    def __len__(self) -> int:
        return self.spill.counts[self.which]

    def __getitem__(self, index):
        return list(self)[index]


@dataclass
class ImportResult:
    counts: dict[str, int]
    rejected: Sequence[RowResult]
    preview: list[RowResult]
    layout: Layout
    warned: Sequence[RowResult] = field(default_factory=list)  # imported with warnings
    spill: RowSpill | None = None

    @property
    def rows(self) -> int:
        return sum(self.counts.get(outcome, 0) for outcome in Outcome.ALL)

    def kept_rows(self) -> Iterator[RowResult]:
        """The rejected rows and those with warnings, in sheet order."""
        if self.spill is not None:
            return self.spill.rows()
        return iter(sorted([*self.rejected, *self.warned], key=lambda r: r.row_number))


@dataclass(slots=True)
class _Entity:
    """One customer the file speaks of: new, or an existing one to update. Its values
    stay pickled (`blob`) until they are needed: by a later row merging into it, or
    by the write, which lets them go again (`values_release`)."""

    first_row: int
    blob: bytes | None
    owner: User | None = None
    existing_id: int | None = None
    number: str = ""
    notes: list[str] | tuple = ()  # a list once a merged row brings one
    remarks: str = ""  # what its rows could not place (Customer.import_remarks)
    key_account: bool = False  # for the owners' caps, before the values are read
    index: int = -1  # its place among the import's entities
    loaded: dict[str, Any] | None = None

    @property
    def values(self) -> dict[str, Any]:
        if self.loaded is None:
            self.loaded = pickle.loads(self.blob)  # noqa: S301 - pickled by this process
            self.blob = None
        return self.loaded

    def values_release(self) -> None:
        """Written: the values are not needed again."""
        self.loaded = self.blob = None

    @property
    def is_key_account(self) -> bool:
        return bool(self.loaded.get("is_key_account")) if self.loaded else self.key_account
