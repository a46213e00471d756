"""What every sheet reader shares: the `Sheet` interface a reader yields rows
through (xlsx, CSV, and the worker's stored rows), the `SheetError` every failure
is raised as, with a translated message that says what to do, the upload's limits
from the settings (size, rows, zip directory) and the errors they give, and the
turning of any source (bytes, a path or a binary file) into a seekable file read
in chunks of `CHUNK`."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _

CHUNK = 256 * 1024
# Title and header rows above the data, not counted against IMPORT_MAX_ROWS.
HEADER_ALLOWANCE = 10
COMMAND_MAX_ROWS = 5_000_000  # a file imported on the server by its operator


class SheetError(Exception):
    """A file that cannot be read, with a message for the person who uploaded it."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


def upload_limits() -> dict[str, int]:
    return {
        "bytes": settings.IMPORT_MAX_BYTES,
        "rows": settings.IMPORT_MAX_ROWS,
        "unpacked": settings.IMPORT_MAX_UNPACKED_BYTES,
        "entries": settings.IMPORT_MAX_ZIP_ENTRIES,
        "ratio": settings.IMPORT_MAX_ZIP_RATIO,
    }


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.0f}"


def too_many_rows(limit: int) -> SheetError:
    return SheetError(
        _(
            "The sheet has more than %(max)s data rows, the most one import takes. "
            "Split it into several files."
        )
        % {"max": f"{limit:,}"},
        "too_many_rows",
    )


# The most columns a header may have: each is a choice on the wizard's mapping page.
MAX_COLUMNS = 500


def columns_check(count: int) -> None:
    """Refuse a header wider than MAX_COLUMNS (a sheet of 16,384 headings is no register)."""
    if count > MAX_COLUMNS:
        raise SheetError(
            _(
                "The header has %(count)s columns; Kehu imports at most %(max)s. Delete "
                "the columns the import does not need and upload the file again."
            )
            % {"count": f"{count:,}", "max": MAX_COLUMNS},
            "too_many_columns",
        )


Source = bytes | str | os.PathLike | BinaryIO


def binary_file(source: Source) -> BinaryIO:
    """The upload as a seekable binary file at its start."""
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(source)
    if isinstance(source, str | os.PathLike):
        return open(source, "rb")
    source.seek(0)
    return source


def file_size(file: BinaryIO) -> int:
    size = file.seek(0, os.SEEK_END)
    file.seek(0)
    return size


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
