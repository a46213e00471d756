"""The workbench (工作台): the home page as the day's work of whoever signs in.

Blocks come from the apps above (tasks from interactions, deals from sales…), so
they register here in their `AppConfig.ready()` and the platform never imports
them (DESIGN §2). A block says whom it is for and loads its rows with a fixed
number of queries, a few rows shown and the rest counted, each linking to its
full list; it shows nothing when it has nothing to say (an empty workbench says
so once).
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.functional import Promise
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from crm import roles

# Everyone who sells or oversees selling; admins see the manager's and the
# steward's blocks.
SHOWN = 6  # rows a block lists; the rest are counted
CACHE_DOWN = (RedisConnectionError, RedisTimeoutError)


@dataclass(frozen=True)
class Day:
    """What a block is asked about: who, and when."""

    user: Any
    now: datetime.datetime
    roles: frozenset[str]

    @property
    def today(self) -> datetime.date:
        return timezone.localdate(self.now)

    @property
    def tomorrow(self) -> datetime.datetime:
        day = self.today + datetime.timedelta(days=1)
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))

    @property
    def month_start(self) -> datetime.date:
        return self.today.replace(day=1)

    @property
    def month_end(self) -> datetime.date:
        """The first day of next month."""
        return (self.month_start + datetime.timedelta(days=32)).replace(day=1)

    @property
    def month_elapsed(self) -> float:
        """The share of this month gone by the end of today (the pace a target needs)."""
        days = (self.month_end - self.month_start).days
        return (self.today.day) / days


@dataclass(frozen=True)
class Block:
    key: str
    title: Promise
    icon: str
    template: str
    load: Callable[[Day], dict | None]  # None: nothing to show
    roles: frozenset[str]  # the role groups it is for
    order: int = 500
    wide: bool = False
    permissions: tuple[str, ...] = field(default=())
    # Kept this many seconds per user (0: read on every visit): for blocks that read
    # a whole book of customers, whose figures move by the day (the block says
    # "as of" when: its content's "at").
    keep_seconds: int = 0


_BLOCKS: dict[str, Block] = {}


def register_block(block: Block) -> None:
    _BLOCKS[block.key] = block


def user_roles(user) -> frozenset[str]:
    names = set(user.groups.values_list("name", flat=True))
    if user.is_superuser:
        names |= {roles.SALES_MANAGER, roles.DATA_STEWARD}
    return frozenset(names)


def registered_blocks() -> list[Block]:
    return sorted(_BLOCKS.values(), key=lambda b: (b.order, b.key))


def kept_key(block_key: str, user) -> str:
    """The cache key of a kept block's content (per database: tests, bench)."""
    return f"workbench:kept:{block_key}:{connection.settings_dict['NAME']}:{user.pk}"


def _kept(block: Block, day: Day) -> dict | None:
    """The block's content as kept, or read now (and kept). With the cache down
    the page still answers: the block is read every time."""
    key = kept_key(block.key, day.user)
    try:
        kept = cache.get(key)
    except CACHE_DOWN:
        return block.load(day)
    if not (isinstance(kept, dict) and "content" in kept):  # none, or another release's
        content = block.load(day)
        kept = {"content": None if content is None else {**content, "at": day.now}}
        with contextlib.suppress(*CACHE_DOWN):
            cache.set(key, kept, block.keep_seconds)
    return kept["content"]


def workbench_for(user, now: datetime.datetime | None = None) -> list[tuple[Block, dict]]:
    """The blocks for this user with what they hold, in order."""
    day = Day(user=user, now=now or timezone.now(), roles=user_roles(user))
    shown = []
    for block in registered_blocks():
        if not block.roles & day.roles or not user.has_perms(block.permissions):
            continue
        content = _kept(block, day) if block.keep_seconds else block.load(day)
        if content is not None:
            shown.append((block, content))
    return shown


def shown_and_more(queryset, limit: int = SHOWN) -> tuple[list, int]:
    """The first `limit` rows and the count of all (one query more only when full)."""
    rows = list(queryset[: limit + 1])
    if len(rows) <= limit:
        return rows, len(rows)
    return rows[:limit], queryset.count()


def listed(queryset, more_url: str = "", *, limit: int = SHOWN, **extra) -> dict:
    """A block's usual content: the first rows, the count of all, its full list."""
    rows, count = shown_and_more(queryset, limit)
    return {"rows": rows, "count": count, "more_url": more_url, **extra}
