"""Importing orders (销售记录): one row per line or per order, every row accounted for.

The file speaks of lines. Rows with the same order number form one order; a row
without an order number is an order of its own. Each row ends as:

- **created**: the first row of a new order;
- **merged**: a further line of an order begun on an earlier row;
- **rejected**: with the reason. A row that cannot be imported takes the rest of
  its order with it (each of those rows says so): an order is never written with
  some of its lines missing;
- **skipped**: a blank row.

The customer is found by customer number, phone or e-mail (through the blind
indexes), among the customers the importer may record orders for; anyone else's
customer is reported exactly like an unknown one. Products are found by SKU,
then by name; a product Kehu does not know becomes an inactive placeholder
(reported in the counts) for a steward to complete. Zero amounts and repeated
identical lines are real purchases and are kept. Order numbers already imported
are refused, so importing a file twice records nothing twice.

Like the customer import: all reading and deciding first, then one transaction
of COPY batches; a dry run or a preview stops before writing. The steps live
in `base` (the columns), `layout`, `read`, `lookups`, `decide` and `write`;
this module runs them and offers the import to the wizard (`import_kind`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.bulkcopy import gc_paused
from crm.models import User
from crm.sheets.sheet import Sheet, SheetError
from customers.import_jobs import JobKind
from customers.imports.base import ImportResult, Layout, Outcome, cells_text
from sales.imports.base import COUNTED, PRODUCTS, order_targets
from sales.imports.decide import orders_decide
from sales.imports.layout import orders_layout_detect, orders_mapping_errors
from sales.imports.read import orders_read
from sales.imports.write import _orders_write
from sales.models import OrderStatus


def orders_import(
    *,
    actor: User,
    sheet: Sheet,
    layout: Layout,
    dry_run: bool = False,
    preview: int = 0,
    progress: Callable[[float, int], None] | None = None,
    source: str = "",
    default_status: str = OrderStatus.COMPLETED,
) -> ImportResult:
    """Import the sheet's orders as `actor`. Raises SheetError for a file or mapping
    that cannot be used; every row is created, merged or rejected with its reason."""
    if not actor.has_perm("sales.add_order"):
        raise SheetError(_("You may not import orders."), "forbidden")
    errors = orders_mapping_errors(layout)
    if errors:
        raise SheetError(" ".join(errors), "mapping")
    with gc_paused():
        return _orders_import(
            actor, sheet, layout, dry_run, preview, progress, source, default_status
        )


def _orders_import(actor, sheet, layout, dry_run, preview, progress, source, default_status):
    rows, skipped = orders_read(
        sheet,
        layout,
        limit=preview or None,
        progress=(lambda f, n: progress(f * 0.5, n)) if progress else None,
    )
    results, orders = orders_decide(rows, actor, default_status=default_status)
    del rows
    counts = dict.fromkeys(COUNTED, 0)
    counts[Outcome.SKIPPED] = skipped
    placeholders = {
        id(line["placeholder"]): line["placeholder"]
        for order in orders
        for line in order.lines
        if line["placeholder"] is not None
    }
    counts[PRODUCTS] = len(placeholders)
    width = len(layout.columns)
    for index, result in enumerate(results):
        counts[result.outcome] += 1
        keep = result.outcome == Outcome.REJECTED or index < preview
        result.cells = cells_text(result.cells, width) if keep else []
    if not dry_run and not preview:
        try:
            with transaction.atomic():
                products = list(placeholders.values())
                _orders_write(actor, orders, products, source or "import", counts, progress)
        except IntegrityError:  # another import took the same order numbers meanwhile
            raise SheetError(
                _(
                    "Another import recorded some of these orders at the same moment, so "
                    "nothing of this file was imported. Import it again: the orders "
                    "already in Kehu will be reported as such."
                ),
                "conflict",
            ) from None
    return ImportResult(
        counts=counts,
        rejected=[r for r in results if r.outcome == Outcome.REJECTED],
        preview=results[:preview] if preview else [],
        layout=layout,
    )


def orders_counts_line(counts: dict[str, int]) -> str:
    rows = sum(counts.get(key, 0) for key in COUNTED)
    return _(
        "%(rows)d rows: %(created)d orders created, %(merged)d rows merged into an order, "
        "%(rejected)d rejected, %(skipped)d skipped; %(products)d placeholder products created"
    ) % {"rows": rows, **{key: counts.get(key, 0) for key in (*COUNTED, PRODUCTS)}}


def _job_run(job, **arguments) -> ImportResult:
    return orders_import(actor=job.created_by, **arguments)


def import_kind() -> JobKind:
    """The order import as the import wizard offers it (registered in SalesConfig)."""
    return JobKind(
        permission="sales.add_order",
        refused=lambda: _("You may not import orders."),
        detect=orders_layout_detect,
        mapping_errors=orders_mapping_errors,
        run=_job_run,
        targets=order_targets,
        counts_line=orders_counts_line,
    )
