"""Cells as JSON, types kept: the worker reads an upload once and stores what the
wizard shows (the first rows, each column's values), so the web process never
parses a file. `cells_dump` and `cells_load` round-trip every value a Sheet yields."""

from __future__ import annotations

import datetime
from decimal import Decimal

from crm.sheets.sheet import Sheet
from crm.sheets.values import TOO_LONG, CellError, Formula, Hyperlink


def cell_dump(value: object) -> list:
    if value.__class__ is str:
        return ["s", value]
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", value]
    if isinstance(value, Decimal | float):
        return ["n", str(value)]
    if isinstance(value, datetime.datetime):
        return ["t", value.isoformat()]
    if isinstance(value, datetime.date):
        return ["d", value.isoformat()]
    if isinstance(value, Formula):
        return ["f", value.text]
    if isinstance(value, Hyperlink):
        return ["h", value.target, value.text]
    if isinstance(value, CellError):
        return ["e", value.code]
    if value is TOO_LONG:
        return ["L"]
    return ["s", str(value)]


def cell_load(item: list) -> object:
    kind = item[0]
    if kind == "s":
        return item[1]
    if kind == "b":
        return bool(item[1])
    if kind == "i":
        return int(item[1])
    if kind == "n":
        return Decimal(item[1])
    if kind == "t":
        return datetime.datetime.fromisoformat(item[1])
    if kind == "d":
        return datetime.date.fromisoformat(item[1])
    if kind == "f":
        return Formula(item[1])
    if kind == "h":
        return Hyperlink(item[1], item[2])
    if kind == "e":
        return CellError(item[1])
    return TOO_LONG


def cells_dump(cells: dict[int, object]) -> dict[str, list]:
    return {str(col): cell_dump(value) for col, value in cells.items()}


def cells_load(data: dict[str, list]) -> dict[int, object]:
    return {int(col): cell_load(item) for col, item in data.items()}


class StoredSheet(Sheet):
    """Rows a worker read and stored (`cells_dump`), read back as a sheet: the
    wizard's preview runs on them without the file."""

    format = "stored"

    def __init__(self, rows: list[list]):
        self._rows = [(int(number), cells_load(cells)) for number, cells in rows]
        self.sheet_names = [""]

    def rows(self, *, sheet: str | None = None, max_col: int | None = None):
        for number, cells in self._rows:
            yield number, {c: v for c, v in cells.items() if max_col is None or c <= max_col}
