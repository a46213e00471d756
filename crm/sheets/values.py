"""What a cell of a sheet can hold besides text, numbers and dates, and how an
xlsx cell's raw text becomes a value: the markers `TOO_LONG` (past Excel's 32,767
characters) and `FORMULA_WITHOUT_VALUE`, `Formula` (never evaluated),
`Hyperlink` (=HYPERLINK(…) or a mailto:/tel: link) and `CellError` (#N/A…),
Excel's `_xHHHH_` escapes, column letters and numbers, and `cell_value`, which
types a cell from its kind, style and text (shared strings, booleans, errors,
ISO and serial dates in either calendar)."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation

from openpyxl.utils.datetime import from_excel

EXCEL_CELL_LIMIT = 32_767
_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescaped(match: re.Match) -> str:
    code = int(match.group(1), 16)
    return chr(code) if code else ""  # NUL: no text field (nor PostgreSQL) holds one


def excel_unescape(text: str) -> str:
    """Excel writes characters XML cannot carry as _xHHHH_ (and a literal one as
    _x005F_…); a NUL is dropped."""
    if "_x" not in text:
        return text
    return _EXCEL_ESCAPE.sub(_unescaped, text)


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


class Formula:
    """A formula whose value cannot be used: the file saved no result for it (a
    workbook written by a program, not by Excel or WPS), or it is TODAY() or NOW(),
    whose saved result is only the day the file was last saved. Never evaluated."""

    __slots__ = ("text",)

    def __init__(self, text: str = ""):
        self.text = text

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"


class Hyperlink:
    """A cell written as =HYPERLINK("mailto:…", "text"): its target and its text."""

    __slots__ = ("target", "text")

    def __init__(self, target: str, text: str = ""):
        self.target = target
        self.text = text

    def __repr__(self) -> str:
        return f"Hyperlink({self.target!r}, {self.text!r})"

    def __str__(self) -> str:
        return self.text or self.target


# A formula cell whose text the file does not give (a shared formula's followers).
FORMULA_WITHOUT_VALUE = Formula()
# A cell longer than Excel's limit (32,767 characters).
TOO_LONG = _Marker("TOO_LONG")
_STRING = r'"((?:[^"]|"")*)"'
_HYPERLINK = re.compile(
    rf"=?\s*(?:_xlfn\.)?HYPERLINK\(\s*{_STRING}\s*(?:[,;]\s*{_STRING}\s*)?\)\s*", re.IGNORECASE
)
VOLATILE = re.compile(r"=?\s*(?:TODAY|NOW)\(\s*\)\s*", re.IGNORECASE)
FORMULA_TEXT_LIMIT = 2_000  # what is kept of a formula's text


def hyperlink_parse(text: str) -> Hyperlink | None:
    """=HYPERLINK("target", "text") with literal arguments, else None."""
    match = _HYPERLINK.fullmatch(text)
    if match is None:
        return None
    target, shown = (part.replace('""', '"') if part else "" for part in match.groups())
    return Hyperlink(target.strip(), shown.strip())


def formula_cell(formula: str, cached: object) -> object:
    """What a formula cell holds: a HYPERLINK's target and text, the cached result,
    or the formula itself when there is no usable result."""
    link = hyperlink_parse(formula)
    if link is not None:
        if not link.text and isinstance(cached, str):
            link.text = cached
        return link
    if cached is None or isinstance(cached, Formula) or VOLATILE.fullmatch(formula):
        return Formula(formula[:FORMULA_TEXT_LIMIT])
    return cached


class CellError:
    """An Excel error value (#N/A, #DIV/0!…) cached for a formula."""

    def __init__(self, code: str):
        self.code = code

    def __repr__(self) -> str:
        return f"CellError({self.code})"


def column_index(letters: str) -> int:
    """ "A" → 1, "AA" → 27."""
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index


def column_letters(index: int) -> str:
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _number(raw: str):
    if "." not in raw and "E" not in raw and "e" not in raw:
        try:
            return int(raw)
        except ValueError:
            pass
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return raw
    # NaN and Infinity are no number Excel writes: a forged file's text, kept as text.
    return number if number.is_finite() else raw


def cell_value(kind, style, text, formula, shared, date_styles, epoch):
    raw = "".join(text)
    if len(raw) > EXCEL_CELL_LIMIT:
        return TOO_LONG
    if kind == "inlineStr":
        return excel_unescape(raw)
    if raw == "":
        return FORMULA_WITHOUT_VALUE if formula else None
    if kind == "s":
        index = int(raw)
        if index < 0:  # a list would count it from the end: a wrong text, silently
            raise IndexError(index)
        return shared[index]
    if kind == "str":
        return excel_unescape(raw)
    if kind == "b":
        return raw in {"1", "true"}
    if kind == "e":
        return CellError(raw)
    if kind == "d":
        try:
            return datetime.datetime.fromisoformat(raw.replace("Z", ""))
        except ValueError:
            return raw
    value = _number(raw)
    if style in date_styles and isinstance(value, int | Decimal):
        try:
            moment = from_excel(float(value), epoch)
        except (ValueError, OverflowError):
            return value
        if isinstance(moment, datetime.datetime) and moment.time() == datetime.time(0):
            return moment.date()
        return moment
    return value
