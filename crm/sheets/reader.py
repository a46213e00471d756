"""Reading uploaded registers safely and fast: the entry point that opens any
sheet. `sheet_open` tells an upload's real type from its first bytes and opens it
with the xlsx reader (`crm.sheets.xlsx_sheet`, streamed from the zip) or the CSV
reader (`crm.sheets.csv_sheet`); `upload_check` is what the web process checks of
an upload before storing it, without parsing a sheet; `size_check` and
`sniff_format` are those checks' steps.

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

from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _

from crm.sheets.csv_sheet import CsvSheet
from crm.sheets.sheet import (
    CHUNK,
    COMMAND_MAX_ROWS,
    Sheet,
    SheetError,
    Source,
    binary_file,
    file_size,
    megabytes,
    upload_limits,
)
from crm.sheets.xlsx_parts import zip_open
from crm.sheets.xlsx_sheet import XlsxSheet

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_OOXML = "EncryptionInfo".encode("utf-16-le")


def size_check(size: int) -> None:
    """Refuse an upload over IMPORT_MAX_BYTES (before it is read, where possible)."""
    limit = settings.IMPORT_MAX_BYTES
    if size > limit:
        raise SheetError(
            _("The file is %(size)s MB; the most Kehu takes is %(max)s MB.")
            % {"size": megabytes(size), "max": megabytes(limit)},
            "too_big",
        )


def _contains(file: BinaryIO, needle: bytes) -> bool:
    """Whether the file holds `needle`, read in chunks (a needle across two chunks too)."""
    file.seek(0)
    tail = b""
    while chunk := file.read(CHUNK):
        if needle in tail + chunk:
            file.seek(0)
            return True
        tail = chunk[-len(needle) :]
    file.seek(0)
    return False


def sniff_format(data: Source, name: str, *, check_size: bool = True) -> str:
    """'xlsx' or 'csv' from the first bytes; anything else is refused by name."""
    file = binary_file(data)
    if check_size:
        size_check(file_size(file))
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
        zip_open(file, upload_limits())
    file.seek(0)
    return kind


def sheet_open(data: Source, *, name: str, server_file: bool = False) -> Sheet:
    """The upload (bytes, a path or a binary file) as a sheet. A `server_file` (one an
    operator imports on the server with a management command) may exceed the upload
    limits of size and rows, up to COMMAND_MAX_ROWS; the checks against zip bombs
    still hold."""
    file = binary_file(data)
    kind = sniff_format(file, name, check_size=not server_file)
    sheet = XlsxSheet(file) if kind == "xlsx" else CsvSheet(file)
    if server_file:
        sheet.max_rows = COMMAND_MAX_ROWS
    return sheet
