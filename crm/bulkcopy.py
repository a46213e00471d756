"""Bulk inserts through PostgreSQL COPY, for demo and benchmark data.

`bulk_create` spends most of its time building model instances and SQL; COPY
takes plain rows and is an order of magnitude faster, which is what lets
`seed_demo --customers 100000` finish in well under a minute. Rows are dicts of
attribute names (`owner_id`, not `owner`); a field left out takes its default,
and encrypted fields are encrypted here, so nothing personal reaches the table
in clear.
"""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import connections, models
from django.utils import timezone

from crm.fields import EncryptedTextField, encrypt_text

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
NULL = "\\N"


def _scalar(value: Any) -> str:
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return str(value)


def _array(values: Iterable[Any]) -> str:
    items = []
    for value in values:
        text = _scalar(value).replace("\\", "\\\\").replace('"', '\\"')
        items.append(f'"{text}"')
    return "{" + ",".join(items) + "}"


def _formatter(field: models.Field) -> Callable[[Any], str]:
    """The COPY text cell for a value of this field: escaped, or NULL."""
    if isinstance(field, EncryptedTextField):
        as_text = lambda value: encrypt_text(str(value))  # noqa: E731
    elif isinstance(field, models.JSONField):
        as_text = lambda value: json.dumps(value, ensure_ascii=False, default=str)  # noqa: E731
    elif isinstance(field, ArrayField):
        as_text = _array
    else:

        def as_text(value: Any) -> str:
            # Most cells are text already: skip the conversion for them.
            return value if value.__class__ is str else _scalar(value)

    escapes = _COPY_ESCAPES
    return lambda value: NULL if value is None else as_text(value).translate(escapes)


def _column_default(field: models.Field, now: datetime.datetime) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    if field.has_default():
        return field.get_default()
    return None if field.null else ""


def _ids_reserve(model: type[models.Model], count: int, *, using: str = "default") -> list[int]:
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


def copy_insert(
    model: type[models.Model], rows: list[dict[str, Any]], *, using: str = "default"
) -> None:
    """Insert `rows` into the model's table with one COPY.

    A row without an `id` gets one from the table's sequence (written back into
    the dict, so callers can link children to it).
    """
    if not rows:
        return
    missing = [row for row in rows if "id" not in row]
    for row, pk in zip(missing, _ids_reserve(model, len(missing), using=using), strict=True):
        row["id"] = pk
    now = timezone.now()
    fields = list(model._meta.concrete_fields)
    columns = []
    missing_value = object()
    for field in fields:
        format_cell = _formatter(field)
        default = None if field.primary_key else _column_default(field, now)
        # A column the row leaves out takes its default, formatted once for all rows.
        columns.append((field.attname, format_cell, format_cell(default)))
    buffer = io.StringIO()
    write = buffer.write
    for row in rows:
        get = row.get
        cells = []
        for attname, format_cell, default_text in columns:
            value = get(attname, missing_value)
            cells.append(default_text if value is missing_value else format_cell(value))
        write("\t".join(cells))
        write("\n")
    buffer.seek(0)
    table = connections[using].ops.quote_name(model._meta.db_table)
    names = ", ".join(connections[using].ops.quote_name(field.column) for field in fields)
    with connections[using].cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({names}) FROM STDIN", buffer)
