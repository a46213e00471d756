"""Thin Celery wrappers around feedback services."""

from celery import shared_task

from feedback.surveys import sending  # which enqueues this: used as sending.x


@shared_task(
    name="feedback.survey_invitations_email",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(ConnectionError, OSError),
    retry_backoff=True,
    max_retries=5,
)
def survey_invitations_email_task(invitation_ids: list[int], base_url: str = "") -> int:
    return sending.survey_invitations_email(invitation_ids, base_url)
