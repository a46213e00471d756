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
from crm.sheets.reader import Sheet, SheetError
from crm.sheets.writer import xlsx_bytes
from customers.imports.base import (
    PREVIEW_ROWS,
    ImportResult,
    Layout,
    Mode,
    Options,
    Outcome,
    RowResult,
)
from customers.imports.decide import _decide, import_read
from customers.imports.layout import cells_text, layout_detect, mapping_errors
from customers.imports.write import _write
from customers.selectors import assignable_owners

__all__ = [
    "PREVIEW_ROWS",
    "ImportResult",
    "Layout",
    "Mode",
    "Options",
    "Outcome",
    "RowResult",
    "counts_line",
    "customers_import",
    "import_read",
    "layout_detect",
    "mapping_errors",
    "rejected_file_write",
    "rejected_rows",
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
    with gc_paused():  # millions of small objects, alive until the end
        cleaned, skipped = import_read(
            sheet,
            layout,
            limit=preview or None,
            progress=(lambda f, n: progress(f * 0.6, n)) if progress else None,
        )
        results, entities = _decide(cleaned, actor, options)
        del cleaned  # the entities hold what is written; memory for the write phase
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


def rejected_rows(columns: list[str], rejected: Iterable[tuple[list[str], str]]):
    """The rejected-rows sheet: the original header and cells, then the reason."""
    yield [*columns, _("Reason rejected")]
    for cells, reason in rejected:
        yield [*cells, reason]


def rejected_file_write(path, result: ImportResult) -> Path | None:
    """FILE.rejected.xlsx beside the imported file (for the commands); its path."""
    if not result.rejected:
        return None
    out = Path(path).with_name(f"{Path(path).stem}.rejected.xlsx")
    rows = rejected_rows(result.layout.columns, ((r.cells, r.reason) for r in result.rejected))
    out.write_bytes(xlsx_bytes(rows))
    return out


def counts_line(counts: dict[str, int]) -> str:
    return _(
        "%(rows)d rows: %(created)d created, %(updated)d updated, %(merged)d merged, "
        "%(rejected)d rejected, %(skipped)d skipped"
    ) % {"rows": sum(counts.values()), **counts}
