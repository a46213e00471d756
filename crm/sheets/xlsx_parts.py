"""The safe handling of a workbook's container and XML, below the worksheet
reader: the zip directory check that refuses a zip bomb from the directory alone
(entry count, unpacked size, per-entry compression ratio), the expat parser that
refuses a DOCTYPE and entities as defusedxml does, the error for a damaged
workbook, and `SharedStrings`, the workbook's shared texts held in a list while
small and in a temporary file past `SHARED_IN_MEMORY` characters."""

from __future__ import annotations

import array
import mmap
import tempfile
import zipfile
from typing import BinaryIO
from xml.parsers import expat

from django.utils.translation import gettext as _

from crm.sheets.sheet import SheetError, megabytes
from crm.sheets.values import TOO_LONG

# Shared strings kept in memory up to this many characters; past it they go to a
# temporary file, so a workbook of any text size reads in bounded memory.
SHARED_IN_MEMORY = 4 * 1024 * 1024


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


def unreadable_xlsx() -> SheetError:
    return SheetError(
        _(
            "The workbook is damaged and cannot be read. Open it in Excel or WPS, "
            "save it again as .xlsx and upload that copy."
        ),
        "corrupt",
    )


def forbid_doctype(*_args) -> None:
    raise SheetError(
        _("The workbook contains XML declarations that Kehu refuses for safety (a DOCTYPE)."),
        "xml_doctype",
    )


def expat_parser(*, namespaces: bool = True) -> expat.XMLParserType:
    """An expat parser that refuses DTDs and entities (defusedxml's rules)."""
    parser = expat.ParserCreate(namespace_separator="}" if namespaces else None)
    parser.StartDoctypeDeclHandler = forbid_doctype
    parser.EntityDeclHandler = forbid_doctype
    parser.UnparsedEntityDeclHandler = forbid_doctype
    parser.ExternalEntityRefHandler = forbid_doctype
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    parser.buffer_size = 65536
    return parser


def local_name(name: str) -> str:
    return name.rpartition("}")[2]


def zip_bomb(limits: dict[str, int]) -> SheetError:
    return SheetError(
        _(
            "The workbook would unpack to far more data than its size suggests "
            "(more than %(max)s MB); Kehu refuses it as a possible zip bomb."
        )
        % {"max": megabytes(limits["unpacked"])},
        "zip_bomb",
    )


def zip_open(file: BinaryIO, limits: dict[str, int]) -> zipfile.ZipFile:
    """The workbook's zip, its directory checked: entry count, unpacked size and each
    entry's compression ratio (a zip bomb is refused from the directory alone)."""
    try:
        archive = zipfile.ZipFile(file)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise unreadable_xlsx() from None
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
            raise zip_bomb(limits)
    if unpacked > limits["unpacked"]:
        raise zip_bomb(limits)
    return archive
