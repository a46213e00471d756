"""Periodic jobs (DESIGN §6), all run one way.

A job is a service `work(as_of) -> {count name: number}` an app registers by
name in its AppConfig.ready() (`register_job`). `job_run(name, as_of)`:

- takes a PostgreSQL advisory lock on the job's name for the session, so a
  second run at the same time (another beat, a run by hand) finds it taken and
  is recorded as *skipped* instead of doing the work twice; a killed worker's
  connection ends and the lock goes with it;
- records a `JobRun` (started, finished, status, counts, error) that admins
  read in Django admin; runs a killed worker left *running* are marked failed
  ("interrupted") by the next run, which alone can hold the lock;
- leaves idempotency to the service: running a job twice in a row changes
  nothing the second time.

The Celery task (`crm.tasks.job_run_task`) is a thin wrapper with acks_late, a
time limit and retries with back-off on database and broker errors;
`python manage.py run_job NAME [--as-of DATE]` runs one by hand.
"""

from __future__ import annotations

import datetime
import json
import logging
import zlib
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import import_module

from django.db import DatabaseError, connection
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from crm.models import JobRun

log = logging.getLogger(__name__)

LOCK_SPACE = 7_301_963  # the first key of every job's advisory lock ("kehu" jobs)
# Stored as is, shown translated (JobRun.error_text).
INTERRUPTED = gettext_noop("Interrupted: the worker stopped before the end.")


@dataclass(frozen=True)
class Job:
    name: str
    service: str  # "module:function", imported when the job runs
    description: str
    # A job run every minute keeps no record of a run that did nothing.
    quiet: bool = False

    def work(self) -> Callable[[datetime.date], dict[str, int]]:
        module, function = self.service.split(":")
        return getattr(import_module(module), function)


# Every job, by name: each app registers its own in its AppConfig.ready().
JOBS: dict[str, Job] = {}


def register_job(job: Job) -> None:
    """Called from an app's AppConfig.ready(); a name is registered once. The
    schedule is a beat entry a data migration writes (crm.beat.job_entry)."""
    if JOBS.get(job.name, job) != job:
        raise ValueError(f"job {job.name!r} is registered twice")
    JOBS[job.name] = job


class JobUnknown(LookupError):
    pass


# The failures of single items (a person, a customer) of the run under way: the
# job goes on with the rest, and the run records them (item_failed).
_failures: ContextVar[list[str] | None] = ContextVar("job_failures", default=None)
FAILURES_KEPT = 20


def item_failed(item: str, error: BaseException) -> None:
    """Record that one item of the job failed, and why; the job goes on."""
    log.warning("job item %s failed: %s", item, error, exc_info=error)
    failures = _failures.get()
    if failures is not None:
        failures.append(f"{item}: {type(error).__name__}: {error}")


def _failures_text(failures: list[str]) -> str:
    text = "\n".join(failures[:FAILURES_KEPT])
    if len(failures) > FAILURES_KEPT:
        text += "\n" + gettext("… and %(count)s more.") % {"count": len(failures) - FAILURES_KEPT}
    return text[:4000]


def job_lock_key(name: str) -> int:
    """The second key of the job's advisory lock: a stable 31-bit hash of its name."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def job_run(
    name: str, as_of: datetime.date | None = None, *, trigger: str = JobRun.Trigger.SCHEDULE
) -> JobRun:
    """Run the job `name` at `as_of` (today) unless a run of it is under way;
    the run, done, failed (its error recorded, then raised) or skipped."""
    try:
        job = JOBS[name]
    except KeyError:
        raise JobUnknown(name) from None
    as_of = as_of or timezone.localdate()
    key = (LOCK_SPACE, job_lock_key(name))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        (locked,) = cursor.fetchone()
    if not locked:
        log.info("job %s skipped: a run of it is under way", name)
        if job.quiet:  # a minute's run waiting on the last: not worth a row
            return JobRun(job=name, as_of=as_of, trigger=trigger, status=JobRun.Status.SKIPPED)
        return JobRun.objects.create(
            job=name, as_of=as_of, trigger=trigger, status=JobRun.Status.SKIPPED,
            finished_at=timezone.now(),
        )  # fmt: skip
    try:
        JobRun.objects.filter(job=name, status=JobRun.Status.RUNNING).update(
            status=JobRun.Status.FAILED, error=INTERRUPTED, finished_at=timezone.now()
        )
        run = JobRun.objects.create(job=name, as_of=as_of, trigger=trigger)
        failures: list[str] = []
        token = _failures.set(failures)
        try:
            run.counts = dict(job.work()(as_of))
        except Exception as error:
            _failed(run, error)
            log.exception("job %s failed", name)
            raise
        finally:
            _failures.reset(token)
        run.status, run.finished_at = JobRun.Status.DONE, timezone.now()
        run.error = _failures_text(failures)
        if job.quiet and not failures and not any(run.counts.values()):
            JobRun.objects.filter(pk=run.pk).delete()  # nothing done: no row every minute
            return run
        run.save(update_fields=["status", "counts", "finished_at", "error"])
        log.info("job %s done: %s", name, run.counts_text())
        return run
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
        except DatabaseError:
            log.warning("job %s: the connection is gone, and the lock with it", name)


def _failed(run: JobRun, error: Exception) -> None:
    """Record the run's failure; on a new connection when the error took the
    old one with it (PostgreSQL restarted, the backend ended)."""
    run.status, run.error = JobRun.Status.FAILED, f"{type(error).__name__}: {error}"[:4000]
    run.finished_at = timezone.now()
    try:
        run.save(update_fields=["status", "error", "finished_at"])
    except DatabaseError:
        if connection.in_atomic_block:
            raise
        connection.close()
        run.save(update_fields=["status", "error", "finished_at"])


@dataclass(frozen=True)
class JobOverview:
    job: Job
    last: JobRun | None
    schedule: str  # the beat entries' times, "" when none is enabled


def jobs_overview() -> list[JobOverview]:
    """Each job with its latest run and when beat runs it (two queries)."""
    from django_celery_beat.models import PeriodicTask

    latest = {}
    for run in JobRun.objects.order_by("job", "-started_at", "-id").distinct("job"):
        latest[run.job] = run
    schedules: dict[str, list[str]] = {}
    entries = PeriodicTask.objects.filter(task="crm.job_run", enabled=True).select_related(
        "crontab"
    )
    for entry in entries:
        name = next(iter(json.loads(entry.args or "[]")), None)
        if entry.crontab is not None:
            schedules.setdefault(name, []).append(_crontab_text(entry.crontab))
    return [
        JobOverview(job, latest.get(name), ", ".join(schedules.get(name, [])))
        for name, job in JOBS.items()
    ]


def _crontab_text(crontab) -> str:
    """`02:15 Asia/Shanghai` for a daily entry, else the crontab's own fields."""
    every = "*"
    if (crontab.day_of_week, crontab.day_of_month, crontab.month_of_year) == (every,) * 3 and (
        crontab.minute.isdigit() and crontab.hour.isdigit()
    ):
        return f"{int(crontab.hour):02d}:{int(crontab.minute):02d} {crontab.timezone}"
    return (
        f"{crontab.minute} {crontab.hour} {crontab.day_of_month} {crontab.month_of_year} "
        f"{crontab.day_of_week} ({crontab.timezone})"
    )
