"""Finding the header row of an order file, mapping its columns to the order
fields, and checking a mapping (chosen or corrected in the import wizard)
before anything is read: one column per field, and enough columns to find the
customer, the order date and the money."""

from __future__ import annotations

from collections import defaultdict

from django.utils.translation import gettext as _

from crm.sheets.sheet import Sheet, SheetError, columns_check
from customers.imports.base import SCAN_ROWS, Layout
from customers.imports.layout import _cell_text
from sales.imports.base import BY_KEY, CUSTOMER_KEYS, MONEY_KEYS, column_for_order_header


def orders_layout_detect(sheet: Sheet, *, sheet_name: str = "") -> Layout:
    """The header row (the row among the first ones naming most order fields) and
    what each column holds; a second column for one field is ignored."""
    best: tuple[int, int, dict[int, object]] | None = None
    for scanned, (row_number, cells) in enumerate(sheet.rows(sheet=sheet_name or None)):
        score = sum(1 for value in cells.values() if column_for_order_header(_cell_text(value)))
        if score and (best is None or score > best[0]):
            best = (score, row_number, cells)
        if scanned + 1 >= SCAN_ROWS:
            break
    if best is None:
        raise SheetError(
            _(
                "No column heading names an order field. Put the headings in the first "
                "row, e.g. 客户编号 / Customer number, 下单日期 / Order date, 产品 / Product, "
                "数量 / Quantity and 金额 / Amount."
            ),
            "no_headers",
        )
    _score, header_row, cells = best
    columns_check(max(cells))
    columns, mapping, seen = [], [], set()
    for col in range(1, max(cells) + 1):
        name = _cell_text(cells.get(col)).strip()
        key = column_for_order_header(name) if name else None
        columns.append(name or f"#{col}")
        mapping.append(key if key and key not in seen else "")
        seen.add(key)
    return Layout(
        sheet=sheet_name or sheet.sheet_names[0],
        header_rows=[header_row],
        columns=columns,
        mapping=mapping,
    )


def orders_mapping_errors(layout: Layout) -> list[str]:
    errors = []
    chosen: dict[str, list[str]] = defaultdict(list)
    for key, header in zip(layout.mapping, layout.columns, strict=True):
        if key:
            if key not in BY_KEY:
                errors.append(_("“%(column)s” is mapped to an unknown field.") % {"column": header})
                continue
            chosen[key].append(header)
    for key, headers in chosen.items():
        if len(headers) > 1:
            errors.append(
                _("%(field)s comes from more than one column (%(columns)s); choose one.")
                % {"field": BY_KEY[key].label, "columns": "、".join(headers)}
            )
    if not any(key in chosen for key in CUSTOMER_KEYS):
        errors.append(
            _("Choose the column that finds the customer: customer number, phone or e-mail.")
        )
    if "ordered_at" not in chosen:
        errors.append(_("Choose the column that holds the order date."))
    if not any(key in chosen for key in MONEY_KEYS):
        errors.append(_("Choose the column with the amount, the unit price or the product."))
    return errors
