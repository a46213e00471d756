"""Arguments the management commands share."""

from __future__ import annotations

import datetime

from django.core.management.base import CommandError


def as_of_day(value: str) -> datetime.date:
    """An `--as-of` day, as YYYY-MM-DD."""
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--as-of wants a date as YYYY-MM-DD, not {value!r}") from error
