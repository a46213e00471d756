"""Finding the header of a register and mapping its columns."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from crm.sheets.sheet import Sheet, SheetError, columns_check
from crm.sheets.values import (
    TOO_LONG,
    CellError,
    Formula,
    Hyperlink,
    column_letters,
)
from customers.columns import BY_KEY, IGNORE, NOTES, column_for_header, header_key, is_derived
from customers.imports.base import CELLS_SEP, SCAN_ROWS, WARNING_MARK, Layout

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
        if not value.is_finite():
            return str(value)
        try:
            if value == value.to_integral_value():
                return str(value.quantize(Decimal(1)))
        except InvalidOperation:  # more digits than the context holds: 1E+29
            pass
        return format(value.normalize(), "f")
    if isinstance(value, Formula):
        return f"={value.text.lstrip('=')}" if value.text else "=?"
    if isinstance(value, Hyperlink):
        return str(value)
    if value is TOO_LONG:
        return ""
    if isinstance(value, CellError):
        return value.code
    return str(value)


SKIP_SECTION = "skipped_section"  # a label merged across the table ("华东区")
SKIP_HEADER = "skipped_header"  # the header again, inside the data


def data_rows(sheet: Sheet, layout: Layout, skipped: list[int], reasons: dict | None = None):
    """(row number, cells) of each data row under the header. Rows that hold no
    customer are counted into `skipped[0]`, and by why into `reasons`: blank rows
    between them (the sheet leaves those out), section labels merged across the
    table, and the header repeated inside the data (a register pasted together)."""
    previous = max(layout.header_rows)
    width = len(layout.columns)
    sections = _section_rows(sheet.merges(layout.sheet or None), previous, layout)
    headers = [header_key(text) for text in layout.columns]
    reasons = {} if reasons is None else reasons
    for row_number, cells in sheet.rows(sheet=layout.sheet or None, max_col=width):
        if row_number <= previous:
            continue
        skipped[0] += row_number - previous - 1
        previous = row_number
        why = ""
        if all(isinstance(v, str) and not v.strip() for v in cells.values()):
            why = "blank"
        elif row_number in sections and len(cells) == 1:
            why = SKIP_SECTION
        elif _repeats_header(cells, headers, layout.mapping):
            why = SKIP_HEADER
        if why:
            skipped[0] += 1
            if why != "blank":
                reasons[why] = reasons.get(why, 0) + 1
            continue
        yield row_number, cells


def _section_rows(merges, header_end: int, layout: Layout) -> set[int]:
    """Rows under the header covered by a merge across (nearly) the whole table."""
    used = [col for col, key in enumerate(layout.mapping, start=1) if key]
    if not used:
        return set()
    first, last = used[0], used[-1]
    span = last - first + 1
    rows: set[int] = set()
    for first_row, first_col, last_row, last_col in merges:
        covered = min(last_col, last) - max(first_col, first) + 1
        if last_row > header_end and covered >= max(2, span * 0.8):
            rows.update(range(max(first_row, header_end + 1), last_row + 1))
    return rows


def _repeats_header(cells: dict[int, object], headers: list[str], mapping: list[str]) -> bool:
    """Every value of the row names its own column (two at least), in either of the
    header's languages."""
    if len(cells) < 2:
        return False
    for col, value in cells.items():
        if value.__class__ is not str or col > len(headers):
            return False
        if header_key(value) != headers[col - 1] and (
            column_for_header(value) is None or column_for_header(value) != mapping[col - 1]
        ):
            return False
    return True


def cell_where(header: str, col: int, row_number: int) -> str:
    return f"{header} ({column_letters(col)}{row_number})"


_READABLE = frozenset({str, int, float, Decimal, bool, datetime.date, datetime.datetime, Hyperlink})


def cell_problem(value: object, header: str, col: int, row_number: int) -> str:
    """Why a cell cannot be imported at all (a formula without its result, an
    Excel error, text past Excel's limit), or "" when it can be read."""
    if value.__class__ in _READABLE:
        return ""
    where = cell_where(header, col, row_number)
    if isinstance(value, Formula):
        return _(
            "%(cell)s holds a formula without a saved result; Kehu never runs "
            "formulas. Open the file in Excel or WPS, save it, and import again "
            "(or paste the values)."
        ) % {"cell": where}
    if value is TOO_LONG:
        return _("%(cell)s is longer than Excel's limit of 32,767 characters.") % {"cell": where}
    if isinstance(value, CellError):
        return _("%(cell)s holds the Excel error %(error)s.") % {"cell": where, "error": value.code}
    return ""


def cells_pack(cells: dict[int, object], width: int) -> str | tuple[str, ...]:
    """A row's cells as the text a person would see, packed into one string: a
    large import holds every row until it is decided, and one string costs a
    fraction of ten (a tuple when a cell holds the separator itself)."""
    texts = [
        "" if (value := cells.get(col)) is None else
        value if value.__class__ is str else _cell_text(value)
        for col in range(1, width + 1)
    ]  # fmt: skip
    joined = CELLS_SEP.join(texts)
    return joined if joined.count(CELLS_SEP) == width - 1 else tuple(texts)


def _header_score(cells: dict[int, object]) -> int:
    return sum(1 for value in cells.values() if column_for_header(_cell_text(value)))


def _is_header_like(cells: dict[int, object]) -> bool:
    texts = [v for v in cells.values() if isinstance(v, str)]
    return bool(texts) and _header_score(cells) * 2 >= len(cells)


def _same_headings(header: dict[int, object], row: dict[int, object]) -> bool:
    """A row under the header is a second header row (the template's English one)
    only when it names the same fields in the same columns; a data row whose
    values happen to be headings (“公司”, “phone”) is not."""
    if not row or any(not isinstance(v, str) for v in row.values()):
        return False
    for col, value in row.items():
        key = column_for_header(value)
        if key is None or key != column_for_header(_cell_text(header.get(col))):
            return False
    return True


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
    while end + 1 < len(top) and _same_headings(top[best][1], top[end + 1][1]):
        end += 1
    block = top[start : end + 1]
    width = max(max(cells) for _, cells in block)
    columns_check(width)
    columns, mapping = [], []
    for col in range(1, width + 1):
        texts = [_cell_text(cells.get(col)).strip() for _, cells in block]
        recognised = [t for t in texts if t and column_for_header(t)]
        present = [t for t in texts if t]
        name = (recognised or present or [""])[-1]
        columns.append(name or column_letters(col))
        key = column_for_header(name) if name else None
        if is_derived(key) or name.startswith(WARNING_MARK):  # what Kehu wrote: ignored
            mapping.append(IGNORE)
        else:
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
