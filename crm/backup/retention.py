"""Which backup files to keep: the newest of each of the last N days, of each of
the last M ISO weeks and of each of the last K months (the union), counting
only the days, weeks and months that have a backup (as restic's --keep-daily
does). Counting calendar days instead would, after a week of failed runs,
delete every daily backup; this way the newest backup is always kept and a
run that fails deletes nothing (pruning follows a successful run only).

A file is a backup when its name is the one `backup_create` gives; nothing
else in the folder is ever deleted."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable
from pathlib import Path

SUFFIX = ".kehubackup"
NAME = re.compile(r"^kehu-(\d{8})-(\d{6})(?:-(\d+))?\.kehubackup$")


def backup_name(moment: datetime.datetime, number: int = 0) -> str:
    """`kehu-YYYYMMDD-HHMMSS.kehubackup` (local time); `-N` before the suffix
    when two runs start in the same second."""
    suffix = f"-{number}" if number else ""
    return f"kehu-{moment:%Y%m%d-%H%M%S}{suffix}{SUFFIX}"


def backup_moment(name: str) -> tuple[datetime.datetime, int] | None:
    """The moment (naive, local) and number a backup's name holds; None for any
    other name."""
    match = NAME.match(name)
    if not match:
        return None
    try:
        moment = datetime.datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S")  # noqa: DTZ007
    except ValueError:
        return None
    return moment, int(match[3] or 0)


def _newest_per_period(
    names: list[str], period: Callable[[datetime.datetime], object], count: int
) -> set[str]:
    """The newest name in each of the `count` latest periods that have one;
    `names` come newest first."""
    kept: dict[object, str] = {}
    for name in names:
        key = period(backup_moment(name)[0])
        if key not in kept:
            if len(kept) == count:
                break
            kept[key] = name
    return set(kept.values())


def retention_keep(names: Iterable[str], *, daily: int, weekly: int, monthly: int) -> set[str]:
    """The backup names of `names` to keep (names that are not backups' are left
    out: they are never deleted either)."""
    backups = sorted((n for n in names if backup_moment(n)), key=backup_moment, reverse=True)
    return (
        _newest_per_period(backups, lambda m: m.date(), max(daily, 0))
        | _newest_per_period(backups, lambda m: m.isocalendar()[:2], max(weekly, 0))
        | _newest_per_period(backups, lambda m: (m.year, m.month), max(monthly, 0))
        | set(backups[:1])  # the newest, whatever the settings
    )


def backups_prune(directory: Path, *, daily: int, weekly: int, monthly: int) -> list[str]:
    """Delete the backups in `directory` that retention does not keep; their
    names, oldest first."""
    names = [path.name for path in directory.iterdir() if path.is_file()]
    keep = retention_keep(names, daily=daily, weekly=weekly, monthly=monthly)
    deleted = sorted((n for n in names if backup_moment(n) and n not in keep), key=backup_moment)
    for name in deleted:
        (directory / name).unlink(missing_ok=True)
    return deleted
