"""`CsvSheet`, the CSV reader: the encoding told from the byte-order mark, from
the pattern of zero bytes (UTF-16 without a mark) or by decoding the whole file
(UTF-8, else Big5 when its bytes say so, else GBK/GB 18030; binary data
refused), the delimiter guessed from the first rows in linear time (not
csv.Sniffer, which backtracks on crafted quotes), and the rows streamed through
a text wrapper that counts the bytes read for the progress bar, a cell past
Excel's 32,767 characters, a malformed line or a quote never closed stopping the
read with a clear error. Stray NUL characters (some database exports write them)
are dropped: no text field can hold one."""

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


def _binary() -> SheetError:
    return SheetError(_("The file holds binary data, so it is not a CSV file."), "unknown_type")


# Control characters no text file holds (tab, line feed, form feed, carriage return aside).
_CONTROL = bytes([*range(0, 9), *range(14, 32)])


def _utf16_unmarked(head: bytes) -> str | None:
    """UTF-16 without a byte-order mark, from where its zero bytes fall: every ASCII
    character (digits, commas, line ends) has one, on the same side of each pair."""
    even, odd = head[0::2].count(0), head[1::2].count(0)
    pairs = len(head) // 2
    if odd >= max(pairs // 20, 4) and odd >= 5 * even:
        return "utf-16-le"
    if even >= max(pairs // 20, 4) and even >= 5 * odd:
        return "utf-16-be"
    return None


def _looks_big5(head: bytes) -> bool:
    """Big5 (traditional Chinese, Taiwan and Hong Kong) decodes as GBK too, into
    nonsense. Its lead bytes are 0xA1 or more and a good share of its second bytes
    fall in 0x40–0x7E; in GBK such pairs are rare characters, and simplified text
    keeps to pairs of bytes 0xA1 or more."""
    pairs = low = index = 0
    end = len(head) - 1
    while index < end:
        lead = head[index]
        if lead < 0x80:
            index += 1
            continue
        if lead < 0xA1 or lead == 0xFF:
            return False
        pairs += 1
        low += 0x40 <= head[index + 1] <= 0x7E
        index += 2
    return pairs >= 4 and low * 5 >= pairs


def _decodes(file: BinaryIO, encoding: str) -> tuple[bool, bool]:
    """Whether the whole file decodes, and whether it holds a NUL byte."""
    decoder = codecs.getincrementaldecoder(encoding)()
    nul = False
    file.seek(0)
    try:
        while chunk := file.read(CHUNK):
            nul = nul or b"\x00" in chunk
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False, nul
    finally:
        file.seek(0)
    return True, nul


def _encoding(file: BinaryIO) -> tuple[str, bool]:
    """The CSV's encoding, and whether it holds NUL characters: UTF-16 by its mark
    or its zero bytes, else UTF-8 if the whole file decodes as UTF-8, else Big5 if
    it looks like Big5 and decodes as Big5, else GBK (GB 18030). Read in chunks:
    memory stays small. Binary data (control characters in the first chunk) is
    refused; a few NUL characters in text are not."""
    head = file.read(CHUNK)
    file.seek(0)
    controls = sum(head.count(byte) for byte in _CONTROL)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates: tuple[str, ...] = ("utf-16",)
    elif unmarked := _utf16_unmarked(head):
        candidates = (unmarked,)
    elif controls > 8 and controls * 100 > len(head):
        raise _binary()
    elif _looks_big5(head):
        candidates = ("utf-8-sig", "cp950", "gb18030")
    else:
        candidates = ("utf-8-sig", "gb18030")
    for encoding in candidates:
        decodes, nul = _decodes(file, encoding)
        if decodes:
            return encoding, nul
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
        self.encoding, self.nul = _encoding(self.file)
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
        nul = self.nul
        last: list[str] = []
        started = ended = 0  # the lines the last row starts and ends on
        try:
            for number, row in enumerate(reader, start=1):
                last, started, ended = row, ended + 1, reader.line_num
                cells = {}
                for col, value in enumerate(row[:limit_cols], start=1):
                    if nul and "\x00" in value:
                        value = value.replace("\x00", "")
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
        if last and ("\n" in last[-1] or "\r" in last[-1]):
            self._quote_check(started)
        self.progress = 1.0

    def _quote_check(self, line: int) -> None:
        """A quote left open runs to the end of the file: the rows after it would
        arrive as one cell of the row it opens in. A last cell over several lines is
        that, unless the file ends with the quote that closes it."""
        self.file.seek(0)
        mark = self.file.read(2)
        encoding = self.encoding
        if encoding == "utf-16":  # the end of the file has no mark to tell the byte order
            encoding = "utf-16-be" if mark == codecs.BOM_UTF16_BE else "utf-16-le"
        self.file.seek(max(self.size - 64, 0))
        tail = self.file.read().decode(encoding, errors="ignore")
        self.file.seek(0)
        if not tail.rstrip("\r\n").endswith('"'):
            raise SheetError(
                _(
                    'Line %(line)s of the CSV file opens a quote (") that is never closed, '
                    "so every line after it would become one cell. Close the quote and "
                    "upload the file again."
                )
                % {"line": line},
                "csv_quote",
            )
