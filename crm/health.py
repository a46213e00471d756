"""Is this site healthy? What a load balancer polls at /healthz.

Four parts, each named when it fails: the database answers, Redis answers, a
Celery worker on this site's queue is alive (it writes a heartbeat every
HEARTBEAT_SECONDS from a thread of its own, so a long task does not stop it),
and beat ticks (crm.beat.Scheduler stamps each tick). Heartbeats live in the
cache (Redis) under the queue's name, so two sites, or two test runs, sharing a
Redis do not answer for each other.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 20
# A worker whose heartbeat is older than this is taken for dead.
WORKER_SILENT_AFTER = 90
# Beat ticks at least every few seconds (django-celery-beat's scheduler); it is
# taken for dead after this long without one.
BEAT_SILENT_AFTER = 300
OK = "ok"


def _key(part: str) -> str:
    return f"health:{part}:{settings.CELERY_TASK_DEFAULT_QUEUE}"


def stamp(part: str) -> None:
    """Record that `part` ("worker" or "beat") is alive now; never raises (a
    Redis outage must not stop the worker or beat, /healthz reports it)."""
    try:
        cache.set(_key(part), {"at": time.time(), "host": socket.gethostname()}, timeout=3600)
    except Exception:  # any Redis or network error
        log.warning("could not record the %s heartbeat", part, exc_info=True)


def _heartbeat_age(part: str, silent_after: int) -> str:
    beat = cache.get(_key(part))
    if not beat:
        return "no heartbeat"
    age = time.time() - beat["at"]
    if age > silent_after:
        return f"last heartbeat {age:.0f} s ago on {beat['host']}"
    return OK


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return OK


def _redis() -> str:
    client = cache._cache.get_client(write=True)
    client.ping()
    return OK


def checks() -> dict[str, str]:
    """Each part → "ok" or why not, in words for the person reading the poll."""
    results: dict[str, str] = {}
    try:
        results["database"] = _database()
    except Exception as exc:  # whatever the driver raises is the answer
        results["database"] = _failure(exc)
    try:
        results["redis"] = _redis()
    except Exception as exc:
        results["redis"] = _failure(exc)
        results["worker"] = results["beat"] = "unknown: Redis does not answer"
        return results
    results["worker"] = _heartbeat_age("worker", WORKER_SILENT_AFTER)
    results["beat"] = _heartbeat_age("beat", BEAT_SILENT_AFTER)
    return results


def _failure(exc: BaseException) -> str:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first_line}"[:200]


class WorkerHeartbeat:
    """A daemon thread in the worker's main process that stamps the heartbeat
    until the worker shuts down (crm.signals starts and stops it)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kehu-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            stamp("worker")
            self._stop.wait(HEARTBEAT_SECONDS)
