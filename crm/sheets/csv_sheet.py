"""`CsvSheet`, the CSV reader: the encoding told from the byte-order mark or by
decoding the whole file (UTF-16, UTF-8, else GBK/GB 18030; binary data refused),
the delimiter guessed from the first rows in linear time (not csv.Sniffer, which
backtracks on crafted quotes), and the rows streamed through a text wrapper that
counts the bytes read for the progress bar, a cell past Excel's 32,767
characters or a malformed line stopping the read with a clear error."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

from django.utils.translation import gettext as _

from crm.sheets.sheet import (
    CHUNK,
    HEADER_ALLOWANCE,
    Sheet,
    SheetError,
    binary_file,
    file_size,
    too_many_rows,
    upload_limits,
)
from crm.sheets.values import EXCEL_CELL_LIMIT


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
            while chunk := file.read(CHUNK):
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
        self.file = binary_file(file)
        self.encoding = _encoding(self.file)
        self.size = max(file_size(self.file), 1)
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
        max_rows = self.max_rows or upload_limits()["rows"]
        self.file.seek(0)
        raw = _Shield(self.file)
        stream = io.TextIOWrapper(io.BufferedReader(raw, CHUNK), self.encoding, newline="")
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
                    raise too_many_rows(max_rows)
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
