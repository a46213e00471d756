"""Thin Celery wrappers around customer services."""

from celery import shared_task
from django.utils import timezone

from customers import import_jobs  # which enqueues these: used as import_jobs.x


@shared_task(
    name="customers.import_job_run",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
)
def import_job_run_task(job_id: int) -> None:
    import_jobs.import_job_run(job_id)


@shared_task(
    name="customers.import_job_analyse",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
)
def import_job_analyse_task(job_id: int) -> None:
    """Read an upload for the wizard: its header, first rows and column values."""
    import_jobs.import_job_analyse(job_id)


@shared_task(name="customers.import_jobs_purge", acks_late=True, ignore_result=True)
def import_jobs_purge_task() -> int:
    """Forget abandoned uploads and old rejected rows (personal data kept no longer than needed)."""
    return import_jobs.import_jobs_purge(now=timezone.now())
