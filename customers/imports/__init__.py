"""Importing a customer register (客户管理簿): every row accounted for.

Two phases. The first reads the sheet as a stream, cleans each row through
`customer_standardise` and decides its fate without writing anything:

- **skipped**: a blank row between data rows;
- **rejected**: a problem, with the reason in the user's language;
- **created**: a new customer;
- **updated**: the row matches a customer Kehu already has (same customer
  number, unified social credit code, phone or e-mail — compared through the
  blind indexes —, a company customer's name, or, for a person given without
  phone or e-mail, the same name at the same company);
- **merged**: the row repeats a customer seen earlier in the file; its values
  fill what the earlier row left empty, lists (phones, e-mails, tags) are
  joined, and conflicting values are kept in the notes, so nothing is lost.

The second phase writes everything in one transaction with COPY: an import is
all-or-nothing (a failure anywhere leaves the database as it was, and the job
can simply be run again). A dry run stops after the first phase, so its counts
are exactly what the import would do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from crm.bulkcopy import gc_paused
from crm.models import User
from crm.sheets.sheet import Sheet, SheetError
from crm.sheets.writer import xlsx_bytes
from customers.columns import BY_KEY
from customers.imports.base import (
    PREVIEW_ROWS,
    WARNING_MARK,
    ImportResult,
    Layout,
    Mode,
    Options,
    Outcome,
    RowResult,
    SpilledRows,
    field_label,
)
from customers.imports.clean import Context
from customers.imports.decide import _decide, import_read
from customers.imports.layout import _cell_text as cell_text
from customers.imports.layout import layout_detect, mapping_errors
from customers.imports.write import _write
from customers.models import ImportRules
from customers.selectors import assignable_owners
from customers.sources import SourceLookup

__all__ = [
    "PREVIEW_ROWS",
    "ImportResult",
    "Layout",
    "Mode",
    "Options",
    "Outcome",
    "RowResult",
    "cell_text",
    "counts_line",
    "customers_import",
    "import_read",
    "layout_detect",
    "mapping_errors",
    "rejected_rows",
    "result_files_write",
    "warned_rows",
    "warnings_json",
]


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
    cannot be used; rows with problems are rejected, never half-written.

    `progress(fraction, rows)` is called as the work advances; it must not use
    the database connection (the writes stream COPY on it meanwhile): the job
    keeps its progress in the cache."""
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
    ctx = Context(
        sources=SourceLookup(),
        decisions=options.values,
        require_contact=ImportRules.current().require_contact,
    )
    with gc_paused():  # millions of small objects, alive until the end
        reasons: dict[str, int] = {}
        cleaned, skipped = import_read(
            sheet,
            layout,
            ctx,
            limit=preview or None,
            progress=(lambda f, n: progress(f * 0.6, n)) if progress else None,
            reasons=reasons,
        )
        decided = _decide(cleaned, actor, options, preview=preview, source=source or "import")
        del cleaned  # the entities hold what is written; memory for the write phase
        counts = {**decided.counts, Outcome.SKIPPED: skipped}
        counts.update(reasons)  # of the skipped: section labels, repeated headers
        if not dry_run and not preview:
            with transaction.atomic():
                _write(actor, decided, options, counts, source or "import", progress)
        spill = decided.spill
        if spill is not None:  # the whole file: its kept rows are on disk
            spill.numbers = [entity.number for entity in decided.entities]  # drawn by _write
            return ImportResult(
                counts=counts,
                rejected=SpilledRows(spill, "rejected"),
                preview=[],
                layout=layout,
                warned=SpilledRows(spill, "warned"),
                spill=spill,
            )
        kept = decided.kept  # a preview: its few rows in memory, cells packed (texts())
        for result in kept:
            if result.entity is not None:
                result.number, result.entity = result.entity.number, None
        return ImportResult(
            counts=counts,
            rejected=[r for r in kept if r.outcome == Outcome.REJECTED],
            preview=kept,
            layout=layout,
            warned=[r for r in kept if r.warnings and r.outcome != Outcome.REJECTED],
        )


def rejected_rows(columns: list[str], rejected: Iterable[tuple[list[str], str]]):
    """The rejected-rows sheet: the original header and cells, then the reason."""
    yield [*columns, _("Reason rejected")]
    for cells, reason in rejected:
        yield [*cells, reason]


def warned_rows(
    columns: list[str],
    mapping: list[str],
    warned: Callable[[], Iterable[tuple[list[str], list, str]]],
):
    """The warnings sheet: the original header and cells with each row's customer
    number (in the file's number column, else one added), then one column per
    field that had a warning, "⚠ Phone". Fixed and imported again, it updates those
    customers. `warned()` gives (cells, [[key, label, message]], number) and is
    read twice: once for the columns, once for the rows."""
    labels: dict[str, str] = {}
    for __, warnings, __number in warned():
        for key, label, __message in warnings:
            labels.setdefault(key, label)
    order = {key: index for index, key in reversed(list(enumerate(mapping)))}
    keys = sorted(labels, key=lambda key: order.get(key, len(mapping)))  # as the file's columns
    number_col = mapping.index("number") if "number" in mapping else None
    header = list(columns)
    if number_col is None:
        header.append(str(BY_KEY["number"].label))
    yield [*header, *(f"{WARNING_MARK} {labels[key]}" for key in keys)]
    for cells, warnings, number in warned():
        cells = list(cells) + [""] * (len(columns) - len(cells))
        if number_col is None:
            cells.append(number)
        elif not cells[number_col]:
            cells[number_col] = number
        by_key: dict[str, list[str]] = {}
        for key, __label, message in warnings:
            by_key.setdefault(key, []).append(message)
        yield [*cells, *("; ".join(by_key.get(key, [])) for key in keys)]


def warnings_json(warnings) -> list[list[str]]:
    """A row's warnings as stored: [[key, label, message], …]."""
    return [[w.key, field_label(w.key), w.message] for w in warnings]


def result_files_write(path, result: ImportResult) -> list[Path]:
    """FILE.rejected.xlsx and FILE.warnings.xlsx beside the imported file (for the
    commands), those that have rows; their paths."""
    out = []
    stem, columns = Path(path).stem, result.layout.columns
    if result.rejected:
        rejected = Path(path).with_name(f"{stem}.rejected.xlsx")
        width = len(columns)
        rows = rejected_rows(columns, ((r.texts(width), r.reason) for r in result.rejected))
        rejected.write_bytes(xlsx_bytes(rows))
        out.append(rejected)
    if result.warned:
        warned = Path(path).with_name(f"{stem}.warnings.xlsx")
        rows = warned_rows(
            columns,
            result.layout.mapping,
            lambda: (
                (r.texts(len(columns)), warnings_json(r.warnings), r.number) for r in result.warned
            ),
        )
        warned.write_bytes(xlsx_bytes(rows))
        out.append(warned)
    return out


def counts_line(counts: dict[str, int]) -> str:
    return _(
        "%(rows)d rows: %(created)d created, %(created_warned)d created with warnings, "
        "%(updated)d updated, %(updated_warned)d updated with warnings, %(merged)d merged, "
        "%(rejected)d rejected, %(skipped)d skipped"
    ) % {
        "rows": sum(counts.get(k, 0) for k in Outcome.ALL),
        **dict.fromkeys(Outcome.ALL, 0),
        **counts,
    }
