"""Bulk inserts through PostgreSQL COPY, for demo and benchmark data, and
temporary tables of computed figures.

`bulk_create` spends most of its time building model instances and SQL; COPY
takes plain rows and is an order of magnitude faster, which is what lets
`seed_demo --customers 100000` finish in well under a minute. Rows are dicts of
attribute names (`owner_id`, not `owner`); a field left out takes its default,
and encrypted fields are encrypted here, so nothing personal reaches the table
in clear.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import io
import json
import queue
import threading
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import numpy as np
from django.contrib.postgres.fields import ArrayField
from django.db import connections, models
from django.utils import timezone

from crm.fields import BlindIndexField, EncryptedTextField, encrypt_text

NULL = "\\N"


def _escape(text: str) -> str:
    """COPY's text format: backslash, newline, carriage return and tab escaped.

    Four `replace` calls beat one `translate` with a table several times over on
    CJK text (translate looks every character up in a dict).
    """
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def _scalar(value: Any) -> str:
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return str(value)


def _array(values: Iterable[Any]) -> str:
    texts = [v if v.__class__ is str else _scalar(v) for v in values]
    probe = "".join(texts)
    if "\\" in probe or '"' in probe:
        texts = [t.replace("\\", "\\\\").replace('"', '\\"') for t in texts]
    joined = '","'.join(texts)
    return _escape('{"' + joined + '"}') if texts else "{}"


def _text(value: Any) -> str:
    return _escape(value if value.__class__ is str else _scalar(value))


def _formatter(field: models.Field) -> Callable[[Any], str]:
    """The COPY text cell for a non-NULL value of this field.

    Values that cannot hold a special character (numbers, keys, dates, booleans,
    Fernet tokens, hex blind indexes) skip the escaping: most cells of a wide
    row are those.
    """
    if isinstance(field, EncryptedTextField):
        return lambda value: encrypt_text(str(value))  # base64: nothing to escape
    if isinstance(field, BlindIndexField):
        return str  # hex
    if isinstance(field, models.JSONField):
        return _same_as_last(
            lambda value: _escape(json.dumps(value, ensure_ascii=False, default=str))
        )
    if isinstance(field, ArrayField):
        return _array
    if isinstance(field, models.BooleanField):  # text ("false") is PostgreSQL's to read
        return lambda value: _text(value) if value.__class__ is str else "t" if value else "f"
    if isinstance(field, models.DateField):  # and DateTimeField
        return _same_as_last(
            lambda value: _text(value) if value.__class__ is str else value.isoformat()
        )
    if isinstance(field, models.IntegerField | models.AutoField) or (
        isinstance(field, models.ForeignKey)
        and isinstance(field.target_field, models.IntegerField | models.AutoField)
    ):
        return lambda value: str(value) if value.__class__ is int else _text(value)
    if isinstance(field, models.DecimalField):
        return lambda value: str(value) if value.__class__ is Decimal else _text(value)
    return _text


def _same_as_last(format_cell: Callable[[Any], str]) -> Callable[[Any], str]:
    """Batches repeat one object down a column (the import's time stamp, its
    audit `extra`): format it once."""
    last: list = [object(), ""]

    def cached(value: Any) -> str:
        if value is not last[0]:
            last[0], last[1] = value, format_cell(value)
        return last[1]

    return cached


def _column_default(field: models.Field, now: datetime.datetime) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    if field.has_default():
        return field.get_default()
    return None if field.null else ""


def ids_reserve(model: type[models.Model], count: int, *, using: str = "default") -> list[int]:
    """Take `count` values from the table's id sequence."""
    if count <= 0:
        return []
    table = model._meta.db_table
    column = model._meta.pk.column
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def sequence_numbers(sequence: str, prefix: str, count: int, *, using: str = "default"):
    """`count` business numbers (SO00000001, HT…, TK…) from their own sequence."""
    if count <= 0:
        return []
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count]
        )
        return [f"{prefix}{value:08d}" for (value,) in cursor.fetchall()]


def _copy_statement(
    model: type[models.Model], rows: list[dict[str, Any]], *, ids: bool, using: str
) -> tuple[str, io.BytesIO]:
    """The COPY statement and its data (UTF-8) for the rows; ids must be set already."""
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if ids or not f.primary_key]
    defaults, positions = [], {}
    for position, field in enumerate(fields):
        format_cell = _formatter(field)
        default = None if field.primary_key else _column_default(field, now)
        # A column the row leaves out takes its default, formatted once for all rows.
        defaults.append(NULL if default is None else format_cell(default))
        positions[field.attname] = (position, format_cell)
    lines = []
    for row in rows:
        cells = defaults.copy()
        for attname, value in row.items():
            column = positions.get(attname)
            if column is not None:  # keys that are not columns are ignored
                cells[column[0]] = NULL if value is None else column[1](value)
        lines.append("\t".join(cells))
    lines.append("")
    ops = connections[using].ops
    table = ops.quote_name(model._meta.db_table)
    names = ", ".join(ops.quote_name(field.column) for field in fields)
    return f"COPY {table} ({names}) FROM STDIN", io.BytesIO("\n".join(lines).encode())


_READ_SIZE = 1 << 20


def copy_insert(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    ids: bool = True,
    using: str = "default",
) -> None:
    """Insert `rows` into the model's table with one COPY.

    With `ids` (the default) a row without an `id` gets one from the table's
    sequence, written back into the dict so callers can link children to it;
    `ids=False` leaves the ids to the column default (for rows nothing links to:
    one round trip fewer).
    """
    if not rows:
        return
    if ids:
        _ids_fill(model, rows, using=using)
    sql, data = _copy_statement(model, rows, ids=ids, using=using)
    with connections[using].cursor() as cursor:
        cursor.copy_expert(sql, data, _READ_SIZE)  # (sql, file, size)


_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no extension


def temp_table_copy_arrays(
    table: str, columns: dict[str, np.ndarray], *, using: str = "default"
) -> None:
    """Create the temporary table `table` with these columns (integer arrays as
    bigint, the others as float8; NaN stays NaN) and fill it by a binary COPY
    built by numpy: a million scores in tens of milliseconds, where formatting
    them as text in Python took seconds."""
    arrays = [np.asarray(values) for values in columns.values()]
    kinds = [(">i8", "bigint") if a.dtype.kind in "iu" else (">f8", "float8") for a in arrays]
    layout = [("fields", ">i2")]
    for position, (code, __) in enumerate(kinds):
        layout += [(f"size{position}", ">i4"), (f"value{position}", code)]
    rows = np.empty(len(arrays[0]) if arrays else 0, dtype=layout)
    rows["fields"] = len(arrays)
    for position, values in enumerate(arrays):
        rows[f"size{position}"] = 8
        rows[f"value{position}"] = values
    data = io.BytesIO(_BINARY_HEADER + rows.tobytes() + b"\xff\xff")
    definition = ", ".join(
        f"{name} {kind}" for name, (__, kind) in zip(columns, kinds, strict=True)
    )
    with connections[using].cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TEMP TABLE {table} ({definition}) ON COMMIT DROP")
        cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT binary)", data, _READ_SIZE)
        cursor.execute(f"ANALYZE {table}")


def table_rebuild(
    cursor, table: str, columns: str, select: str, params: dict, where: str = "true"
) -> None:
    """Replace a rollup's rows (those matching `where`, all by default) with what
    `select` gives. The rows are computed first into a temporary table, which
    PostgreSQL may fill with parallel workers (an INSERT … SELECT it runs on one
    core), then swapped in."""
    cursor.execute("DROP TABLE IF EXISTS kehu_rollup")
    cursor.execute(f"CREATE TEMP TABLE kehu_rollup ({columns}) AS {select}", params)
    # The table, columns and condition are the callers' constants, never input.
    cursor.execute(f"DELETE FROM {table} WHERE {where}", params)  # noqa: S608
    cursor.execute(f"INSERT INTO {table} ({columns}) SELECT * FROM kehu_rollup")  # noqa: S608
    cursor.execute("DROP TABLE kehu_rollup")


def _ids_fill(model: type[models.Model], rows: list[dict[str, Any]], *, using: str) -> None:
    missing = [row for row in rows if "id" not in row]
    for row, pk in zip(missing, ids_reserve(model, len(missing), using=using), strict=True):
        row["id"] = pk


class CopyPipeline:
    """COPY batches sent from a second thread while the caller prepares the next.

    PostgreSQL parses and indexes one batch on one core while Python formats the
    next on the other. The batches go over the caller's own connection, so they
    belong to its transaction; the caller must not use that connection until
    `finish()` returns (ids are therefore reserved beforehand: rows must carry
    their `id`, or be sent with `ids=False`). The queue is short, so memory holds
    at most a few batches. A failure in a COPY is raised by the next `send` or by
    `finish`, as Django's own database exception.
    """

    def __init__(self, *, using: str = "default", depth: int = 2):
        self.using = using
        self.wrapper = connections[using]
        self.wrapper.ensure_connection()
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None  # the first failure; it stays
        self.cancelled = False  # the caller failed: the batches left are dropped
        self.closed = False
        # While COPY data flows, a query from this thread would interleave with it on
        # the wire (psycopg2 locks the connection per statement, not per COPY).
        self._guard = self.wrapper.execute_wrapper(self._refuse)
        self._guard.__enter__()
        self.thread = threading.Thread(target=self._run, name="copy-pipeline", daemon=True)
        self.thread.start()

    @staticmethod
    def _refuse(*_args, **_kwargs):
        raise RuntimeError("The connection is busy with a COPY pipeline until finish().")

    def _run(self) -> None:
        raw = self.wrapper.connection
        while (item := self.queue.get()) is not None:
            if self.error is not None or self.cancelled:
                continue  # the transaction is lost anyway: drain the queue
            try:
                with raw.cursor() as cursor:
                    cursor.copy_expert(*item, size=_READ_SIZE)
            except BaseException as exc:  # handed to the caller's thread
                self.error = exc

    def _raise(self) -> None:
        if self.error is not None:
            with self.wrapper.wrap_database_errors:
                raise self.error

    def send(self, model: type[models.Model], rows: list[dict[str, Any]], *, ids: bool = True):
        if self.closed:
            raise RuntimeError("The COPY pipeline is finished.")
        self._raise()
        if rows:
            if ids and any("id" not in row for row in rows):
                raise ValueError("CopyPipeline rows need their ids reserved beforehand.")
            self.queue.put(_copy_statement(model, rows, ids=ids, using=self.using))

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put(None)
            self.thread.join()
            self._guard.__exit__(None, None, None)

    def finish(self) -> None:
        """Wait for every batch; raises the first failure."""
        self._close()
        self._raise()

    def __enter__(self) -> CopyPipeline:
        return self

    def __exit__(self, *exc_info) -> None:
        if exc_info[0] is None:
            self.finish()
        else:  # the caller failed: drop what is queued, keep the caller's exception
            self.cancelled = True
            self._close()


@contextlib.contextmanager
def gc_paused():
    """No cyclic garbage collection while a bulk job builds millions of small
    objects that live until it ends: each full collection would walk them all
    (a third of an import's time at a million rows). Reference counting still
    frees what is dropped; collection resumes, and runs once, afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect()
