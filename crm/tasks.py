"""Thin Celery wrappers around core services."""

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from crm.jobs import job_run
from crm.services import login_failures_prune


@shared_task(name="crm.login_failures_prune", acks_late=True, ignore_result=True)
def login_failures_prune_task() -> int:
    """Forget failed log-ins older than a month (the audit log keeps them)."""

    return login_failures_prune(now=timezone.now())


@shared_task(
    name="crm.job_run",
    acks_late=True,
    ignore_result=True,
    time_limit=60 * 60,
    soft_time_limit=55 * 60,
    autoretry_for=(OperationalError, InterfaceError, BrokerError, ConnectionError),
    retry_backoff=30,
    retry_backoff_max=15 * 60,
    max_retries=5,
)
def job_run_task(name: str, as_of: str | None = None) -> int:
    """A periodic job by name (crm.jobs), at `as_of` (ISO date; default today)."""
    import datetime

    day = datetime.date.fromisoformat(as_of) if as_of else None
    return job_run(name, day).pk
