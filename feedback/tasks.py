"""Thin Celery wrappers around feedback services."""

from celery import shared_task


@shared_task(
    name="feedback.survey_invitations_email",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(ConnectionError, OSError),
    retry_backoff=True,
    max_retries=5,
)
def survey_invitations_email_task(invitation_ids: list[int], base_url: str = "") -> int:
    from feedback.surveys.sending import survey_invitations_email

    return survey_invitations_email(invitation_ids, base_url)
