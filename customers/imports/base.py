"""The import's vocabulary: outcomes, modes, the layout of a sheet, options and results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crm.models import User
from customers.models import (
    CustomerKind,
)
from customers.services import (
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
    cells: list[str] = field(default_factory=list)
    # clean.Warning: values dropped or corrected (a shared empty tuple for most rows:
    # a large import holds a result per row)
    warnings: Sequence = ()
    entity: Any = None  # the _Entity it became part of (its number is drawn when written)


@dataclass
class ImportResult:
    counts: dict[str, int]
    rejected: list[RowResult]
    preview: list[RowResult]
    layout: Layout
    warned: list[RowResult] = field(default_factory=list)  # imported with warnings

    @property
    def rows(self) -> int:
        return sum(self.counts.get(outcome, 0) for outcome in Outcome.ALL)


@dataclass(slots=True)
class _Entity:
    """One customer the file speaks of: new, or an existing one to update."""

    first_row: int
    values: dict[str, Any]
    keys: set
    owner: User | None = None
    existing_id: int | None = None
    number: str = ""
    notes: list[str] = field(default_factory=list)
    warned: list | tuple = ()  # (row number, [clean.Warning]) of its rows; a list once any
    remarks: str = ""  # what its rows could not place (Customer.import_remarks)
