"""Reading uploaded registers safely and fast: xlsx (streamed from the zip) and CSV.

Why not openpyxl's read-only mode: on this machine it reads about 6,000 rows of
ten columns a second (a 100,000-row register takes 16 s before anything is
cleaned); the import must do 10,000 rows a second end to end. This reader drives
the C expat parser directly and keeps only the columns asked for, which reads
the same sheet in about 2 s.

Safety, checked before any sheet is parsed:
- the upload's size (IMPORT_MAX_BYTES);
- the file's real type from its first bytes, not its name: an old .xls, a
  password-protected workbook (an OLE2 container with an EncryptionInfo stream),
  a PDF or anything else renamed .xlsx is named as what it is;
- the zip directory: entry count, total unpacked size and per-entry compression
  ratio (a zip bomb is refused from the directory alone);
- XML with a DOCTYPE is refused outright, as defusedxml does, so entity bombs
  and external entities never expand (no xlsx part legitimately has one);
- the sheet's declared dimension is ignored; cells past `max_col` are skipped;
  a cell longer than Excel's 32,767 characters becomes `TOO_LONG`;
- formulas are never evaluated: a formula cell reads as its cached value, or as
  `FORMULA_WITHOUT_VALUE` when the file has none;
- more than IMPORT_MAX_ROWS rows stops the read with a clear error.

Every failure is a `SheetError` whose message is translated and says what to do.
"""

from __future__ import annotations

import array
import codecs
import csv
import datetime
import io
import mmap
import os
import posixpath
import re
import tempfile
import zipfile
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import BinaryIO
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

EXCEL_CELL_LIMIT = 32_767
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_OOXML = "EncryptionInfo".encode("utf-16-le")
# Date formats that the Chinese, Japanese and Korean builds of Excel number
# without a format code in styles.xml (yyyy"年"m"月"d"日" and friends).
_CJK_DATE_FORMAT_IDS = frozenset({*range(27, 37), *range(50, 59)})
_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def excel_unescape(text: str) -> str:
    """Excel writes characters XML cannot carry as _xHHHH_ (and a literal one as _x005F_…)."""
    if "_x" not in text:
        return text
    return _EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


_CHUNK = 256 * 1024
# Parts held in memory whole: the small ones (workbook, styles, relationships).
MAX_SMALL_PART = 16 * 1024 * 1024
# Shared strings kept in memory up to this many characters; past it they go to a
# temporary file, so a workbook of any text size reads in bounded memory.
SHARED_IN_MEMORY = 4 * 1024 * 1024
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?"')
_HYPERLINK_TAG = re.compile(rb"<(?:\w+:)?hyperlink\b([^>]*)>")
_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')
_CELL_REF = re.compile(rb"([A-Z]{1,3})(\d+)")
# Title and header rows above the data, not counted against IMPORT_MAX_ROWS.
HEADER_ALLOWANCE = 10


class SheetError(Exception):
    """A file that cannot be read, with a message for the person who uploaded it."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


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


def _formula_cell(formula: str, cached: object) -> object:
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


class SharedStrings:
    """A workbook's shared strings (every distinct text, looked up by number): in a
    list while small, else in a temporary file with an array of offsets."""

    def __init__(self):
        self._list: list | None = []
        self._chars = 0
        self._file = None
        self._offsets = array.array("q", [0])
        self._too_long: set[int] = set()
        self._map: mmap.mmap | bytes = b""

    def append(self, value) -> None:
        if self._list is not None:
            self._list.append(value)
            self._chars += len(value) if value is not TOO_LONG else 0
            if self._chars > SHARED_IN_MEMORY:
                self._spill()
            return
        if value is TOO_LONG:
            self._too_long.add(len(self._offsets) - 1)
            value = ""
        data = value.encode()
        self._file.write(data)
        self._offsets.append(self._offsets[-1] + len(data))

    def _spill(self) -> None:
        kept, self._list = self._list, None
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the sheet
        for value in kept:
            self.append(value)

    def finish(self) -> None:
        if self._file is not None:
            self._file.flush()
            size = self._offsets[-1]
            self._map = (
                mmap.mmap(self._file.fileno(), size, access=mmap.ACCESS_READ) if size else b""
            )

    def __getitem__(self, index: int):
        if self._list is not None:
            return self._list[index]
        if index < 0:
            raise IndexError(index)
        start, end = self._offsets[index], self._offsets[index + 1]
        if index in self._too_long:
            return TOO_LONG
        return self._map[start:end].decode()

    def __len__(self) -> int:
        return len(self._list) if self._list is not None else len(self._offsets) - 1


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


COMMAND_MAX_ROWS = 5_000_000  # a file imported on the server by its operator


def _limits() -> dict[str, int]:
    return {
        "bytes": settings.IMPORT_MAX_BYTES,
        "rows": settings.IMPORT_MAX_ROWS,
        "unpacked": settings.IMPORT_MAX_UNPACKED_BYTES,
        "entries": settings.IMPORT_MAX_ZIP_ENTRIES,
        "ratio": settings.IMPORT_MAX_ZIP_RATIO,
    }


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.0f}"


def _too_many_rows(limit: int) -> SheetError:
    return SheetError(
        _(
            "The sheet has more than %(max)s data rows, the most one import takes. "
            "Split it into several files."
        )
        % {"max": f"{limit:,}"},
        "too_many_rows",
    )


def _unreadable_xlsx() -> SheetError:
    return SheetError(
        _(
            "The workbook is damaged and cannot be read. Open it in Excel or WPS, "
            "save it again as .xlsx and upload that copy."
        ),
        "corrupt",
    )


def _forbid_doctype(*_args) -> None:
    raise SheetError(
        _("The workbook contains XML declarations that Kehu refuses for safety (a DOCTYPE)."),
        "xml_doctype",
    )


class _RowState:
    __slots__ = (
        "col", "collect", "count", "formula", "in_f", "in_is", "kind", "length", "row", "skip",
        "style",
    )  # fmt: skip

    def __init__(self):
        self.row = self.col = self.style = self.skip = self.count = self.length = 0
        self.kind = "n"
        self.formula = self.collect = self.in_is = self.in_f = False


def _expat_parser(*, namespaces: bool = True) -> expat.XMLParserType:
    """An expat parser that refuses DTDs and entities (defusedxml's rules)."""
    parser = expat.ParserCreate(namespace_separator="}" if namespaces else None)
    parser.StartDoctypeDeclHandler = _forbid_doctype
    parser.EntityDeclHandler = _forbid_doctype
    parser.UnparsedEntityDeclHandler = _forbid_doctype
    parser.ExternalEntityRefHandler = _forbid_doctype
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    parser.buffer_size = 65536
    return parser


def _local(name: str) -> str:
    return name.rpartition("}")[2]


def size_check(size: int) -> None:
    """Refuse an upload over IMPORT_MAX_BYTES (before it is read, where possible)."""
    limit = settings.IMPORT_MAX_BYTES
    if size > limit:
        raise SheetError(
            _("The file is %(size)s MB; the most Kehu takes is %(max)s MB.")
            % {"size": _megabytes(size), "max": _megabytes(limit)},
            "too_big",
        )


Source = bytes | str | os.PathLike | BinaryIO


def _binary(source: Source) -> BinaryIO:
    """The upload as a seekable binary file at its start."""
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(source)
    if isinstance(source, str | os.PathLike):
        return open(source, "rb")
    source.seek(0)
    return source


def _size(file: BinaryIO) -> int:
    size = file.seek(0, os.SEEK_END)
    file.seek(0)
    return size


def _contains(file: BinaryIO, needle: bytes) -> bool:
    """Whether the file holds `needle`, read in chunks (a needle across two chunks too)."""
    file.seek(0)
    tail = b""
    while chunk := file.read(_CHUNK):
        if needle in tail + chunk:
            file.seek(0)
            return True
        tail = chunk[-len(needle) :]
    file.seek(0)
    return False


def sniff_format(data: Source, name: str, *, check_size: bool = True) -> str:
    """'xlsx' or 'csv' from the first bytes; anything else is refused by name."""
    file = _binary(data)
    if check_size:
        size_check(_size(file))
    head = file.read(8)
    file.seek(0)
    if not head:
        raise SheetError(_("The file is empty."), "empty_file")
    if head.startswith(_OLE2_MAGIC):
        if _contains(file, _ENCRYPTED_OOXML):
            raise SheetError(
                _(
                    "The workbook is protected by a password. Open it, remove the "
                    "password (File → Info → Protect Workbook) and upload it again."
                ),
                "encrypted",
            )
        raise SheetError(
            _(
                "This is an old Excel file (.xls). Open it in Excel or WPS and save it "
                "as an Excel Workbook (.xlsx), then upload that."
            ),
            "xls",
        )
    if head.startswith(b"PK"):
        return "xlsx"
    if head.startswith(b"%PDF"):
        raise SheetError(
            _("This is a PDF, not a spreadsheet. Upload the register as .xlsx or .csv."),
            "pdf",
        )
    lowered = name.lower()
    if lowered.endswith((".csv", ".txt", ".tsv")):
        return "csv"
    raise SheetError(
        _("Kehu reads Excel workbooks (.xlsx) and CSV files; this file is neither."),
        "unknown_type",
    )


def upload_check(file: BinaryIO, name: str) -> str:
    """What the web process checks of an upload before storing it, without parsing a
    sheet (that is the worker's): its size, its real type, and for a workbook the
    zip directory (entry count, unpacked size, compression ratios). Returns the
    format; raises SheetError."""
    kind = sniff_format(file, name)
    if kind == "xlsx":
        _zip_open(file, _limits())
    file.seek(0)
    return kind


class Sheet:
    """An opened upload. `rows()` yields (row number, {column: value}) for rows with
    any value, column numbers from 1."""

    format: str = ""
    sheet_names: list[str]

    def rows(
        self, *, sheet: str | None = None, max_col: int | None = None
    ) -> Iterator[tuple[int, dict[int, object]]]:
        raise NotImplementedError

    def merges(self, sheet: str | None = None) -> list[tuple[int, int, int, int]]:
        """Merged ranges (first row, first column, last row, last column); none in CSV."""
        return []

    #: How much of the chosen sheet has been read, 0.0–1.0 (for progress bars).
    progress: float = 0.0
    #: The most data rows read before SheetError (None: IMPORT_MAX_ROWS).
    max_rows: int | None = None


def sheet_open(data: Source, *, name: str, server_file: bool = False) -> Sheet:
    """The upload (bytes, a path or a binary file) as a sheet. A `server_file` (one an
    operator imports on the server with a management command) may exceed the upload
    limits of size and rows, up to COMMAND_MAX_ROWS; the checks against zip bombs
    still hold."""
    file = _binary(data)
    kind = sniff_format(file, name, check_size=not server_file)
    sheet = XlsxSheet(file) if kind == "xlsx" else CsvSheet(file)
    if server_file:
        sheet.max_rows = COMMAND_MAX_ROWS
    return sheet


# --- xlsx --------------------------------------------------------------------


def _bomb(limits: dict[str, int]) -> SheetError:
    return SheetError(
        _(
            "The workbook would unpack to far more data than its size suggests "
            "(more than %(max)s MB); Kehu refuses it as a possible zip bomb."
        )
        % {"max": _megabytes(limits["unpacked"])},
        "zip_bomb",
    )


def _zip_open(file: BinaryIO, limits: dict[str, int]) -> zipfile.ZipFile:
    """The workbook's zip, its directory checked: entry count, unpacked size and each
    entry's compression ratio (a zip bomb is refused from the directory alone)."""
    try:
        archive = zipfile.ZipFile(file)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise _unreadable_xlsx() from None
    if len(infos) > limits["entries"]:
        raise SheetError(
            _("The workbook has %(count)s parts, more than any register needs.")
            % {"count": len(infos)},
            "zip_entries",
        )
    unpacked = 0
    for info in infos:
        unpacked += info.file_size
        ratio_guard = info.file_size > 1024 * 1024
        if ratio_guard and info.file_size > limits["ratio"] * max(info.compress_size, 1):
            raise _bomb(limits)
    if unpacked > limits["unpacked"]:
        raise _bomb(limits)
    return archive


class XlsxSheet(Sheet):
    format = "xlsx"

    def __init__(self, file: BinaryIO | bytes):
        limits = _limits()
        self._limits = limits
        self.zip = _zip_open(_binary(file), limits)
        self.infos = {info.filename: info for info in self.zip.infolist()}
        try:
            self._workbook()
        except SheetError:
            raise
        except DefusedXmlException:
            _forbid_doctype()
        except (KeyError, ValueError, IndexError, SafeET.ParseError, zipfile.BadZipFile):
            raise _unreadable_xlsx() from None
        self._shared: SharedStrings | None = None
        self._extras: dict[str, tuple[list, dict]] = {}

    def _bomb(self) -> SheetError:
        return _bomb(self._limits)

    def _xml(self, path: str):
        """A small part (workbook, styles, relationships), parsed whole."""
        info = self.infos[path]
        if info.file_size > MAX_SMALL_PART:
            raise _unreadable_xlsx()
        with self.zip.open(info) as part:
            return SafeET.fromstring(part.read(MAX_SMALL_PART + 1), forbid_dtd=True)

    def _rels(self, path: str) -> dict[str, str]:
        folder, base = posixpath.split(path)
        rels_path = posixpath.join(folder, "_rels", f"{base}.rels")
        if rels_path not in self.infos:
            return {}
        targets = {}
        for rel in self._xml(rels_path):
            target = rel.get("Target", "")
            if target.startswith("/"):
                resolved = target.lstrip("/")
            else:
                resolved = posixpath.normpath(posixpath.join(folder, target))
            targets[rel.get("Id")] = resolved
            targets["type:" + rel.get("Type", "").rpartition("/")[2]] = resolved
        return targets

    def _workbook(self) -> None:
        root_rels = self._rels("")
        workbook_path = root_rels.get("type:officeDocument", "xl/workbook.xml")
        if workbook_path not in self.infos:
            raise SheetError(
                _("Kehu reads Excel workbooks (.xlsx) and CSV files; this file is neither."),
                "not_xlsx",
            )
        workbook = self._xml(workbook_path)
        rels = self._rels(workbook_path)
        self.epoch = CALENDAR_WINDOWS_1900
        self.sheet_paths: dict[str, str] = {}
        for element in workbook.iter():
            tag = _local(element.tag)
            if tag == "workbookPr" and element.get("date1904") in {"1", "true"}:
                self.epoch = CALENDAR_MAC_1904
            elif tag == "sheet":
                rel_id = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
                path = rels.get(rel_id)
                if path in self.infos:
                    self.sheet_paths[element.get("name", "")] = path
        if not self.sheet_paths:
            raise SheetError(_("The workbook has no worksheet."), "no_sheet")
        self.sheet_names = list(self.sheet_paths)
        self.shared_path = rels.get("type:sharedStrings")
        styles_path = rels.get("type:styles")
        self.date_styles: set[int] = set()
        if styles_path in self.infos:
            self._styles(styles_path)

    def _styles(self, path: str) -> None:
        styles = self._xml(path)
        formats = {}
        cell_xfs = None
        for element in styles:
            tag = _local(element.tag)
            if tag == "numFmts":
                for fmt in element:
                    formats[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode", "")
            elif tag == "cellXfs":
                cell_xfs = element
        if cell_xfs is None:
            return
        for index, xf in enumerate(cell_xfs):
            fmt_id = int(xf.get("numFmtId", "0"))
            code = formats.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id, "")
            if fmt_id in _CJK_DATE_FORMAT_IDS or (code and is_date_format(code)):
                self.date_styles.add(index)

    def _shared_strings(self) -> SharedStrings:
        if self._shared is not None:
            return self._shared
        strings = SharedStrings()
        if self.shared_path and self.shared_path in self.infos:
            parser = _expat_parser()
            parts: list[str] = []
            state = {"depth_skip": 0, "in_t": False, "length": 0}

            def start(name, _attrs):
                tag = _local(name)
                if tag == "si":
                    parts.clear()
                    state["length"] = 0
                elif tag in {"rPh", "phoneticPr"}:
                    state["depth_skip"] += 1
                elif tag == "t" and not state["depth_skip"]:
                    state["in_t"] = True

            def end(name):
                tag = _local(name)
                if tag == "si":
                    if state["length"] > EXCEL_CELL_LIMIT:
                        strings.append(TOO_LONG)
                    else:
                        strings.append(excel_unescape("".join(parts)))
                elif tag in {"rPh", "phoneticPr"}:
                    state["depth_skip"] -= 1
                elif tag == "t":
                    state["in_t"] = False

            def text(data):
                if state["in_t"]:
                    state["length"] += len(data)
                    if state["length"] <= EXCEL_CELL_LIMIT:
                        parts.append(data)

            parser.StartElementHandler = start
            parser.EndElementHandler = end
            parser.CharacterDataHandler = text
            self._feed(parser, self.shared_path)
        strings.finish()
        self._shared = strings
        return strings

    def merges(self, sheet: str | None = None) -> list[tuple[int, int, int, int]]:
        """The sheet's merged ranges, (first row, first column, last row, last column)."""
        return self._sheet_extras(self._sheet_path(sheet))[0]

    def _sheet_path(self, sheet: str | None) -> str:
        path = self.sheet_paths.get(sheet) if sheet else next(iter(self.sheet_paths.values()))
        if path is None:
            raise SheetError(
                _("The workbook has no sheet named “%(name)s”.") % {"name": sheet}, "no_sheet"
            )
        return path

    def _sheet_extras(self, path: str) -> tuple[list, dict]:
        """Merged ranges and cell hyperlinks (mailto:, tel:) of a sheet. Both come after
        the cells in the sheet's XML, so one quick pass over its bytes finds them
        before the cells are read; memory stays small whatever the sheet's size."""
        if path in self._extras:
            return self._extras[path]
        merges: list[tuple[int, int, int, int]] = []
        link_ids: dict[tuple[int, int], str] = {}
        carry = b""
        done = 0
        try:
            with self.zip.open(self.infos[path]) as part:
                while chunk := part.read(_CHUNK):
                    done += len(chunk)
                    if done > self._limits["unpacked"]:
                        raise self._bomb()
                    buffer = carry + chunk
                    cut = buffer.rfind(b"<")
                    cut = len(buffer) if cut < 0 else cut
                    # Tags are short: what follows the last "<" waits for the next chunk
                    # (a long cell text after it is not needed).
                    carry = buffer[cut : cut + 4096]
                    self._extras_scan(buffer[:cut], merges, link_ids)
                self._extras_scan(carry, merges, link_ids)
        except SheetError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, ValueError):
            raise _unreadable_xlsx() from None
        links = {}
        if link_ids:
            targets = self._external_targets(path)
            for cell, rel_id in link_ids.items():
                target = targets.get(rel_id, "")
                if target.lower().startswith(("mailto:", "tel:")):
                    links[cell] = target
        self._extras[path] = (merges, links)
        return merges, links

    @staticmethod
    def _extras_scan(data: bytes, merges: list, link_ids: dict) -> None:
        if b"mergeCell" in data:
            for match in _MERGE.finditer(data):
                first_col, first_row, last_col, last_row = match.groups()
                if last_col:
                    merges.append((
                        int(first_row), column_index(first_col.decode()),
                        int(last_row), column_index(last_col.decode()),
                    ))  # fmt: skip
        if b"hyperlink" in data:
            for match in _HYPERLINK_TAG.finditer(data):
                attrs = {k.rpartition(b":")[2]: v for k, v in _ATTR.findall(match.group(1))}
                ref = _CELL_REF.fullmatch(attrs.get(b"ref", b""))
                if ref and attrs.get(b"id"):
                    cell = (int(ref.group(2)), column_index(ref.group(1).decode()))
                    link_ids[cell] = attrs[b"id"].decode()

    def _external_targets(self, path: str) -> dict[str, str]:
        folder, base = posixpath.split(path)
        rels_path = posixpath.join(folder, "_rels", f"{base}.rels")
        if rels_path not in self.infos:
            return {}
        return {rel.get("Id"): rel.get("Target", "") for rel in self._xml(rels_path)}

    def _feed(self, parser, path: str) -> None:
        """Parse one whole part in chunks, within the unpacked-size limit."""
        info = self.infos[path]
        done = 0
        try:
            with self.zip.open(info) as part:
                while True:
                    chunk = part.read(_CHUNK)
                    if not chunk:
                        parser.Parse(b"", True)
                        break
                    done += len(chunk)
                    if done > self._limits["unpacked"]:
                        raise self._bomb()
                    parser.Parse(chunk, False)
        except SheetError:
            raise
        except (expat.ExpatError, zipfile.BadZipFile, EOFError, OSError, ValueError, IndexError):
            raise _unreadable_xlsx() from None

    def rows(
        self, *, sheet: str | None = None, max_col: int | None = None
    ) -> Iterator[tuple[int, dict[int, object]]]:
        """Rows as the eye sees them: a value merged down several rows is in each of
        them (in the merge's first column); a mailto:/tel: link gives its target."""
        path = self._sheet_path(sheet)
        merges, links = self._sheet_extras(path)
        # Merges down several rows, by the row after their first: (column, last row).
        fills: dict[int, list[tuple[int, int, int]]] = {}
        for first_row, first_col, last_row, __last_col in merges:
            if last_row > first_row:
                fills.setdefault(first_row, []).append((first_col, first_row, last_row))
        shared = self._shared_strings()
        date_styles = self.date_styles
        epoch = self.epoch
        limit_cols = max_col or 16_384
        max_rows = self.max_rows or self._limits["rows"]
        # No namespace processing: element names arrive as written ("c", or "x:c"
        # in files that prefix the namespace), which is cheaper per event.
        parser = _expat_parser(namespaces=False)
        ready: list[tuple[int, dict[int, object]]] = []
        columns: dict[str, int] = {}
        local: dict[str, str] = {}
        st = _RowState()
        cells: dict[int, object] = {}
        text: list[str] = []
        formula: list[str] = []
        digits = "0123456789"

        def start(name, attrs):
            tag = local.get(name) or local.setdefault(name, name.rpartition(":")[2])
            if tag == "c":
                ref = attrs.get("r")
                if ref:
                    letters = ref.rstrip(digits)
                    col = columns.get(letters)
                    if col is None:
                        col = columns[letters] = column_index(letters)
                    st.col = col
                else:
                    st.col += 1
                st.kind = attrs.get("t", "n")
                style = attrs.get("s")
                st.style = int(style) if style else 0
                st.formula = False
                st.length = 0
                text.clear()
                formula.clear()
            elif tag == "v" or (tag == "t" and st.in_is and not st.skip):
                st.collect = True
            elif tag == "row":
                ref = attrs.get("r")
                st.row = int(ref) if ref else st.row + 1
                st.col = 0
                cells.clear()
            elif tag == "is":
                st.in_is = True
            elif tag == "f":
                st.formula = st.in_f = True
            elif tag == "rPh":
                st.skip += 1

        def end(name):
            tag = local.get(name) or local.setdefault(name, name.rpartition(":")[2])
            if tag == "c":
                if st.col <= limit_cols and (text or st.formula or st.kind == "inlineStr"):
                    value = _cell_value(
                        st.kind, st.style, text, st.formula, shared, date_styles, epoch
                    )
                    if formula:
                        value = _formula_cell("".join(formula), value)
                    if value is not None and value != "":
                        if links and (st.row, st.col) in links and value.__class__ is str:
                            value = Hyperlink(links[st.row, st.col], value)
                        cells[st.col] = value
            elif tag == "v" or tag == "t":
                st.collect = False
            elif tag == "row":
                if active:
                    active[:] = [fill for fill in active if fill[1] >= st.row]
                    if cells:
                        for col, __last, value in active:
                            cells.setdefault(col, value)
                for col, __first, last_row in fills.get(st.row, ()):
                    if col in cells:
                        active.append((col, last_row, cells[col]))
                if cells:
                    st.count += 1
                    if st.count > max_rows + HEADER_ALLOWANCE:
                        raise _too_many_rows(max_rows)
                    ready.append((st.row, dict(cells)))
            elif tag == "is":
                st.in_is = False
            elif tag == "f":
                st.in_f = False
            elif tag == "rPh":
                st.skip -= 1

        def chardata(data):
            if st.collect:
                if st.length <= EXCEL_CELL_LIMIT:  # past Excel's limit: TOO_LONG, not kept
                    text.append(data)
                st.length += len(data)
            elif st.in_f and len(formula) < 64:
                formula.append(data)

        active: list[tuple[int, int, object]] = []  # merges being filled: (column, last row, value)
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = chardata
        self.progress = 0.0
        pending: list[tuple[int, dict[int, object]]] = []

        def drain():
            pending.extend(ready)
            ready.clear()

        # expat is push-based: parse a chunk, hand out the rows it completed.
        info = self.infos[path]
        done = 0
        try:
            with self.zip.open(info) as part:
                while True:
                    chunk = part.read(_CHUNK)
                    final = not chunk
                    done += len(chunk)
                    if done > self._limits["unpacked"]:
                        raise self._bomb()
                    parser.Parse(chunk, final)
                    self.progress = 1.0 if final else min(done / max(info.file_size, 1), 0.99)
                    drain()
                    yield from pending
                    pending.clear()
                    if final:
                        break
        except SheetError:
            raise
        except (expat.ExpatError, zipfile.BadZipFile, EOFError, OSError, ValueError, IndexError):
            raise _unreadable_xlsx() from None


def _number(raw: str):
    if "." not in raw and "E" not in raw and "e" not in raw:
        try:
            return int(raw)
        except ValueError:
            pass
    try:
        return Decimal(raw)
    except InvalidOperation:
        return raw


def _cell_value(kind, style, text, formula, shared, date_styles, epoch):
    raw = "".join(text)
    if len(raw) > EXCEL_CELL_LIMIT:
        return TOO_LONG
    if kind == "inlineStr":
        return excel_unescape(raw)
    if raw == "":
        return FORMULA_WITHOUT_VALUE if formula else None
    if kind == "s":
        return shared[int(raw)]
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


# --- CSV ---------------------------------------------------------------------


def _not_decodable() -> SheetError:
    return SheetError(
        _(
            "The CSV file is in neither UTF-8 nor GBK encoding, so its characters "
            "cannot be read. Save it again as “CSV UTF-8” and upload that."
        ),
        "encoding",
    )


def _encoding(file: BinaryIO) -> str:
    """The CSV's encoding: UTF-16 or UTF-8 by their marks, else UTF-8 if the whole
    file decodes as UTF-8, else GBK (GB 18030). Read in chunks: memory stays small."""
    head = file.read(4)
    file.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8-sig", "gb18030")
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while chunk := file.read(_CHUNK):
                if encoding != "utf-16" and b"\x00" in chunk:
                    raise SheetError(
                        _("The file holds binary data, so it is not a CSV file."),
                        "unknown_type",
                    )
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            file.seek(0)
            continue
        file.seek(0)
        return encoding
    raise _not_decodable()


class _Shield(io.RawIOBase):
    """The upload seen through a text wrapper that must not close it, counting what
    was read (the progress bar)."""

    def __init__(self, file: BinaryIO):
        self.file = file
        self.done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.file.read(len(buffer))
        buffer[: len(data)] = data
        self.done += len(data)
        return len(data)


SNIFF_BYTES = 64 * 1024  # what the delimiter is guessed from
SNIFF_ROWS = 50
_DELIMITERS = (",", ";", "\t", "|")


def csv_delimiter(sample: str) -> str:
    """The delimiter the first rows agree on, in time linear in the sample (Python's
    csv.Sniffer backtracks: seconds of CPU on a few KB of crafted quotes)."""
    best, best_score = ",", 0
    for delimiter in _DELIMITERS:
        widths: dict[int, int] = {}
        try:
            for index, row in enumerate(csv.reader(io.StringIO(sample), delimiter=delimiter)):
                if index >= SNIFF_ROWS:
                    break
                if row:
                    widths[len(row)] = widths.get(len(row), 0) + 1
        except csv.Error:
            continue
        width, agree = max(widths.items(), key=lambda item: (item[1], item[0]), default=(1, 0))
        score = agree * (width > 1)
        if score > best_score:
            best, best_score = delimiter, score
    return best


class CsvSheet(Sheet):
    format = "csv"

    def __init__(self, file: BinaryIO | bytes):
        self.file = _binary(file)
        self.encoding = _encoding(self.file)
        self.size = max(_size(self.file), 1)
        sample = self.file.read(SNIFF_BYTES).decode(self.encoding, errors="ignore")
        self.file.seek(0)
        if sample.count("\n") > 1:  # the last line of a sample may be cut short
            sample = sample[: sample.rfind("\n")]
        self.delimiter = csv_delimiter(sample)
        self.sheet_names = [""]

    def rows(
        self, *, sheet: str | None = None, max_col: int | None = None
    ) -> Iterator[tuple[int, dict[int, object]]]:
        limit_cols = max_col or 16_384
        max_rows = self.max_rows or _limits()["rows"]
        self.file.seek(0)
        raw = _Shield(self.file)
        stream = io.TextIOWrapper(io.BufferedReader(raw, _CHUNK), self.encoding, newline="")
        reader = csv.reader(stream, delimiter=self.delimiter)
        count = 0
        self.progress = 0.0
        number = 0
        # A cell is read up to Excel's limit; a longer one stops the file (below).
        csv.field_size_limit(EXCEL_CELL_LIMIT)
        try:
            for number, row in enumerate(reader, start=1):
                cells = {}
                for col, value in enumerate(row[:limit_cols], start=1):
                    if value.strip():
                        cells[col] = value
                if not cells:
                    continue
                count += 1
                if count > max_rows + HEADER_ALLOWANCE:
                    raise _too_many_rows(max_rows)
                self.progress = min(raw.done / self.size, 1.0)
                yield number, cells
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise SheetError(
                    _(
                        "Line %(line)s of the CSV file holds a cell longer than 32,767 "
                        "characters, more than a spreadsheet cell holds. Shorten it and "
                        "upload the file again."
                    )
                    % {"line": number + 1},
                    "cell_too_long",
                ) from None
            raise SheetError(
                _("The CSV file is malformed near line %(line)s.") % {"line": number + 1},
                "csv_malformed",
            ) from None
        except UnicodeDecodeError:
            raise _not_decodable() from None
        finally:
            stream.detach()
        self.progress = 1.0
