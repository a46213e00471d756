"""A fixed-window counter in the cache (Redis): how often one key (an address,
say) did something in the current window. Shared by every process, so a flood
is counted once however many workers answer it."""

from __future__ import annotations

import time

from django.core.cache import cache


def _name(scope: str, key: str, window: int) -> str:
    return f"ratelimit:{scope}:{key}:{int(time.time() // window)}"


def rate_limit_reset(scope: str, key: str, *, window: int) -> None:
    """Forget `key`'s hits in this window (an admin lifting a limit; tests)."""
    cache.delete(_name(scope, key, window))


def rate_limit_hit(scope: str, key: str, *, limit: int, window: int) -> bool:
    """Count one hit for `key` in `scope`; True when it is over `limit` hits in
    this window of `window` seconds (the hit that crosses the limit is refused)."""
    name = _name(scope, key, window)
    if cache.add(name, 1, timeout=window + 5):
        count = 1
    else:
        try:
            count = cache.incr(name)
        except ValueError:  # expired between add and incr
            cache.add(name, 1, timeout=window + 5)
            count = 1
    return count > limit
