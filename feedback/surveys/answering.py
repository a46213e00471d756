"""Answering surveys: the public answer page finds the invitation by its token,
checks that it can still be answered (not answered, not expired, the survey
open) and notes when it was first opened. `survey_answer` takes a customer's
answers once, under a lock on the invitation, and writes the answers, the
feedback on the customer (channel "survey", with the first rating and NPS
scores) and any bonus points together, or nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from feedback.loyalty import points_expiry_date
from feedback.models import (
    Feedback,
    FeedbackChannel,
    PointsEntry,
    PointsKind,
    QuestionKind,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SurveyStatus,
)
from feedback.services import feedback_created_audit

MAX_ANSWER = 5_000
SCALES = {QuestionKind.RATING: (1, 5), QuestionKind.NPS: (0, 10)}


class InvitationClosed(Exception):
    """The link cannot be answered: `reason` is "answered", "expired" or "closed"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def invitation_for_token(token: str) -> SurveyInvitation | None:
    token = str(token or "")
    if not (16 <= len(token) <= 64):
        return None
    return (
        SurveyInvitation.objects.select_related("survey", "customer")
        .filter(token=token, customer__deleted_at__isnull=True)
        .first()
    )


def invitation_check(invitation: SurveyInvitation) -> None:
    if invitation.answered_at is not None:
        raise InvitationClosed("answered")
    if invitation.survey.status != SurveyStatus.OPEN:
        raise InvitationClosed("closed")
    if invitation.state() == "expired":
        raise InvitationClosed("expired")


def invitation_opened(invitation: SurveyInvitation) -> None:
    """Note the first time the link was opened (for the response-rate view)."""
    if invitation.opened_at is None:
        SurveyInvitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(
            opened_at=timezone.now()
        )


def _answer_values(questions: Sequence[SurveyQuestion], data: Mapping[str, Any]):
    errors: dict[str, list] = {}
    answers: list[tuple[SurveyQuestion, int | None, str]] = []
    for question in questions:
        name = f"q{question.pk}"
        raw = data.get(name)
        raw = "" if raw is None else str(raw).strip()
        if not raw:
            if question.required:
                errors[name] = [ValidationError(_("Please answer this question."), "required")]
            continue
        if question.kind == QuestionKind.TEXT:
            if len(raw) > MAX_ANSWER:
                errors[name] = [
                    ValidationError(
                        _("At most %(max)d characters, please.") % {"max": MAX_ANSWER}, "long"
                    )
                ]
                continue
            answers.append((question, None, raw))
            continue
        low, high = SCALES.get(question.kind, (0, len(question.choice_list()) - 1))
        number = int(raw) if raw.isascii() and raw.isdecimal() and len(raw) <= 3 else None
        if number is None or not low <= number <= high:
            message = (
                _("Choose one of the answers.")
                if question.kind == QuestionKind.CHOICE
                else _("Choose a number from %(low)d to %(high)d.") % {"low": low, "high": high}
            )
            errors[name] = [ValidationError(message, "out_of_range")]
            continue
        answers.append((question, number, ""))
    if errors:
        raise ValidationError(errors)
    return answers


def _feedback_text(answers) -> str:
    """The free-text answers, as the feedback's text (the scores and choices
    are the feedback's rating and NPS, and its survey answers)."""
    return "\n\n".join(text for question, __, text in answers if question.kind == QuestionKind.TEXT)


def survey_answer(*, token: str, data: Mapping[str, Any], request=None) -> SurveyInvitation:
    """Take a customer's answers, once: the invitation row is locked, so of two
    submissions of the same link exactly one counts. Writes the answers, the
    feedback on the customer and the bonus points together, or nothing."""
    with transaction.atomic():
        invitation = (
            SurveyInvitation.objects.select_for_update(of=("self",))
            .select_related("survey", "customer")
            .filter(token=str(token or ""), customer__deleted_at__isnull=True)
            .first()
        )
        if invitation is None:
            raise InvitationClosed("missing")
        invitation_check(invitation)
        survey = invitation.survey
        questions = list(survey.questions.all())
        answers = _answer_values(questions, data)
        if not answers:
            raise ValidationError(
                {"__all__": [ValidationError(_("Please answer at least one question."), "empty")]}
            )
        first: dict[str, int | None] = dict.fromkeys(SCALES)
        for question, number, __ in answers:
            if question.kind in first and first[question.kind] is None:
                first[question.kind] = number
        now = timezone.now()
        feedback = Feedback.objects.create(
            customer=invitation.customer, channel=FeedbackChannel.SURVEY,
            rating=first[QuestionKind.RATING], nps=first[QuestionKind.NPS],
            category=survey.category, text=_feedback_text(answers)[:20_000],
            created_at=now, updated_at=now,
        )  # fmt: skip
        SurveyAnswer.objects.bulk_create(
            SurveyAnswer(invitation=invitation, question=question, number=number, text=text)
            for question, number, text in answers
        )
        invitation.answered_at, invitation.feedback = now, feedback
        invitation.save(update_fields=["answered_at", "feedback"])
        feedback_created_audit(
            feedback,
            actor=None,
            actor_repr="survey",
            extra={"survey": survey.pk, "invitation": invitation.pk},
            request=request,
        )
        rewarded = PointsEntry.objects.filter(
            customer=invitation.customer, invitation__survey=survey
        ).exists()
        if survey.points_bonus and not rewarded:  # the bonus comes once per survey and customer
            PointsEntry.objects.create(
                customer=invitation.customer, kind=PointsKind.EARNED, points=survey.points_bonus,
                invitation=invitation, expires_on=points_expiry_date(now), created_at=now,
            )  # fmt: skip
    return invitation
