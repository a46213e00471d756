"""Thin Celery wrappers around core services."""

from celery import shared_task
from django.utils import timezone


@shared_task(name="crm.login_failures_prune", acks_late=True, ignore_result=True)
def login_failures_prune_task() -> int:
    """Forget failed log-ins older than a month (the audit log keeps them)."""
    from crm.services import login_failures_prune

    return login_failures_prune(now=timezone.now())
