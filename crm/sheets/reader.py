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

import codecs
import csv
import datetime
import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
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
# Parts held in memory whole: the small ones, and the shared strings (every
# distinct text of the workbook; 200,000 rows of registers stay well under it).
MAX_SMALL_PART = 16 * 1024 * 1024
MAX_SHARED_STRINGS = 128 * 1024 * 1024
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
        "col", "collect", "count", "formula", "in_f", "in_is", "kind", "row", "skip", "style",
    )  # fmt: skip

    def __init__(self):
        self.row = self.col = self.style = self.skip = self.count = 0
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


def sniff_format(data: bytes, name: str, *, check_size: bool = True) -> str:
    """'xlsx' or 'csv' from the first bytes; anything else is refused by name."""
    if check_size:
        size_check(len(data))
    if not data:
        raise SheetError(_("The file is empty."), "empty_file")
    if data.startswith(_OLE2_MAGIC):
        if _ENCRYPTED_OOXML in data:
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
    if data.startswith(b"PK"):
        return "xlsx"
    if data.startswith(b"%PDF"):
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


class Sheet:
    """An opened upload. `rows()` yields (row number, {column: value}) for rows with
    any value, column numbers from 1."""

    format: str = ""
    sheet_names: list[str]

    def rows(
        self, *, sheet: str | None = None, max_col: int | None = None
    ) -> Iterator[tuple[int, dict[int, object]]]:
        raise NotImplementedError

    #: How much of the chosen sheet has been read, 0.0–1.0 (for progress bars).
    progress: float = 0.0
    #: The most data rows read before SheetError (None: IMPORT_MAX_ROWS).
    max_rows: int | None = None


def sheet_open(data: bytes, *, name: str, server_file: bool = False) -> Sheet:
    """The upload as a sheet. A `server_file` (one an operator imports on the server
    with a management command) may exceed the upload limits of size and rows, up to
    COMMAND_MAX_ROWS; the checks against zip bombs still hold."""
    kind = sniff_format(data, name, check_size=not server_file)
    sheet = XlsxSheet(data) if kind == "xlsx" else CsvSheet(data)
    if server_file:
        sheet.max_rows = COMMAND_MAX_ROWS
    return sheet


# --- xlsx --------------------------------------------------------------------


class XlsxSheet(Sheet):
    format = "xlsx"

    def __init__(self, data: bytes):
        limits = _limits()
        self._limits = limits
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
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
                raise self._bomb()
        if unpacked > limits["unpacked"]:
            raise self._bomb()
        self.infos = {info.filename: info for info in infos}
        try:
            self._workbook()
        except SheetError:
            raise
        except DefusedXmlException:
            _forbid_doctype()
        except (KeyError, ValueError, IndexError, SafeET.ParseError, zipfile.BadZipFile):
            raise _unreadable_xlsx() from None
        self._shared: list | None = None

    def _bomb(self) -> SheetError:
        return SheetError(
            _(
                "The workbook would unpack to far more data than its size suggests "
                "(more than %(max)s MB); Kehu refuses it as a possible zip bomb."
            )
            % {"max": _megabytes(self._limits["unpacked"])},
            "zip_bomb",
        )

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

    def _shared_strings(self) -> list:
        if self._shared is not None:
            return self._shared
        strings: list = []
        if self.shared_path and self.shared_path in self.infos:
            if self.infos[self.shared_path].file_size > MAX_SHARED_STRINGS:
                raise SheetError(
                    _(
                        "The workbook holds more text than one import reads (over %(max)s MB "
                        "unpacked). Split it into several files."
                    )
                    % {"max": _megabytes(MAX_SHARED_STRINGS)},
                    "too_much_text",
                )
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
        self._shared = strings
        return strings

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
        path = self.sheet_paths.get(sheet) if sheet else next(iter(self.sheet_paths.values()))
        if path is None:
            raise SheetError(
                _("The workbook has no sheet named “%(name)s”.") % {"name": sheet}, "no_sheet"
            )
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
                        cells[st.col] = value
            elif tag == "v" or tag == "t":
                st.collect = False
            elif tag == "row":
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
                text.append(data)
            elif st.in_f and len(formula) < 64:
                formula.append(data)

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


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SheetError(
        _(
            "The CSV file is in neither UTF-8 nor GBK encoding, so its characters "
            "cannot be read. Save it again as “CSV UTF-8” and upload that."
        ),
        "encoding",
    )


class CsvSheet(Sheet):
    format = "csv"

    def __init__(self, data: bytes):
        self.text = _decode(data)
        if "\x00" in self.text:
            raise SheetError(
                _("The file holds binary data, so it is not a CSV file."), "unknown_type"
            )
        sample = self.text[:8192]
        try:
            self.dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            self.dialect = csv.excel
        self.sheet_names = [""]

    def rows(
        self, *, sheet: str | None = None, max_col: int | None = None
    ) -> Iterator[tuple[int, dict[int, object]]]:
        limit_cols = max_col or 16_384
        max_rows = self.max_rows or _limits()["rows"]
        total = max(len(self.text), 1)
        stream = io.StringIO(self.text)
        reader = csv.reader(stream, self.dialect)
        count = 0
        self.progress = 0.0
        number = 0
        # An over-long cell is read whole (the upload's size bounds it), then refused.
        csv.field_size_limit(max(settings.IMPORT_MAX_BYTES, 131072))
        try:
            for number, row in enumerate(reader, start=1):
                cells = {}
                for col, value in enumerate(row[:limit_cols], start=1):
                    if len(value) > EXCEL_CELL_LIMIT:
                        cells[col] = TOO_LONG
                    elif value.strip():
                        cells[col] = value
                if not cells:
                    continue
                count += 1
                if count > max_rows + HEADER_ALLOWANCE:
                    raise _too_many_rows(max_rows)
                self.progress = min(stream.tell() / total, 1.0)
                yield number, cells
        except csv.Error:
            raise SheetError(
                _("The CSV file is malformed near line %(line)s.") % {"line": number + 1},
                "csv_malformed",
            ) from None
        self.progress = 1.0
