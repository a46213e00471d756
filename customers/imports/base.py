"""The import's vocabulary: outcomes, modes, the layout of a sheet, options and results."""

from __future__ import annotations

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


@dataclass(slots=True)
class RowResult:
    row_number: int
    outcome: str
    reason: str = ""
    number: str = ""  # the customer it created, updated or merged into
    cells: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    counts: dict[str, int]
    rejected: list[RowResult]
    preview: list[RowResult]
    layout: Layout

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


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
