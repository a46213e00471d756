"""Surveys: building them, sending personal links, and taking the answers.

A survey is written once (questions in Chinese and English) and sent as
invitations: one random token per customer and survey, answered once, until it
expires. The answer page needs no account; each answer becomes feedback on the
customer (channel "survey") and, if the survey says so, bonus points.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.audit import audit_record, diff, snapshot
from crm.models import AuditAction, User
from crm.normalise import length_check
from customers.models import Customer
from feedback.models import (
    SURVEY_LANGUAGES,
    Feedback,
    FeedbackCategory,
    FeedbackChannel,
    PointsEntry,
    PointsKind,
    QuestionKind,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SurveyStatus,
)
from feedback.services import feedback_created_audit
from interactions.selectors import servable_customers

logger = logging.getLogger(__name__)

MAX_QUESTIONS = 30
MAX_CHOICES = 12
MAX_ANSWER = 5_000
MAX_INVITATIONS = 5_000  # per send; a bigger list is cut into several sends
MAX_BONUS = 100_000
SCALES = {QuestionKind.RATING: (1, 5), QuestionKind.NPS: (0, 10)}


# --- building ------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]


def _question_values(index: int, data: Mapping[str, Any], errors: dict) -> dict[str, Any]:
    def note(name: str, message: str, code: str) -> None:
        errors.setdefault(f"questions-{index}-{name}", []).append(ValidationError(message, code))

    kind = data.get("kind") or ""
    if kind not in QuestionKind.values:
        note("kind", _("Choose from the list."), "invalid")
    text_zh = str(data.get("text_zh") or "").strip()
    text_en = str(data.get("text_en") or "").strip()
    if not (text_zh or text_en):
        note("text_zh", _("Write the question in Chinese, English or both."), "required")
    for name, value in (("text_zh", text_zh), ("text_en", text_en)):
        length_check(errors, f"questions-{index}-{name}", value, 300)
    choices_zh, choices_en = _lines(data.get("choices_zh")), _lines(data.get("choices_en"))
    if kind == QuestionKind.CHOICE:
        count = max(len(choices_zh), len(choices_en))
        if count < 2:
            note("choices_zh", _("Give at least two choices, one per line."), "too_few")
        elif count > MAX_CHOICES:
            note("choices_zh", _("At most %(max)d choices.") % {"max": MAX_CHOICES}, "too_many")
        elif choices_zh and choices_en and len(choices_zh) != len(choices_en):
            note(
                "choices_en",
                _("Give as many English choices as Chinese ones, in the same order."),
                "mismatch",
            )
    else:
        choices_zh = choices_en = []
    return {
        "kind": kind,
        "text_zh": text_zh,
        "text_en": text_en,
        "choices_zh": "\n".join(choices_zh),
        "choices_en": "\n".join(choices_en),
        "required": bool(data.get("required")),
    }


def _fewer_choices(question: SurveyQuestion, values: Mapping[str, Any]) -> bool:
    """Whether new choices would drop one of an answered question's (answers
    keep the position of their choice, so choices may only be added)."""
    for name in ("choices_zh", "choices_en"):
        if len(_lines(values[name])) < len(_lines(getattr(question, name))):
            return True
    return False


def _survey_values(data: Mapping[str, Any], errors: dict) -> dict[str, Any]:
    values = {
        name: str(data.get(name) or "").strip()
        for name in ("title_zh", "title_en", "intro_zh", "intro_en")
    }
    if not (values["title_zh"] or values["title_en"]):
        errors["title_zh"] = [
            ValidationError(_("Give the survey a title in Chinese, English or both."), "required")
        ]
    for name in ("title_zh", "title_en"):
        length_check(errors, name, values[name], 120)
    for name in ("intro_zh", "intro_en"):
        length_check(errors, name, values[name], 2_000)
    for name, low, high in (("link_days", 1, 365), ("points_bonus", 0, MAX_BONUS)):
        try:
            values[name] = int(str(data.get(name)).strip())
        except (TypeError, ValueError):
            values[name] = None
        if values[name] is None or not low <= values[name] <= high:
            errors[name] = [
                ValidationError(
                    _("Give a whole number from %(low)d to %(high)d.") % {"low": low, "high": high},
                    "out_of_range",
                )
            ]
    category = data.get("category")
    if category is not None and not (isinstance(category, FeedbackCategory) and category.is_active):
        errors["category"] = [ValidationError(_("Choose from the list."), "invalid")]
    values["category"] = category
    return values


@transaction.atomic
def survey_save(
    *,
    actor: User,
    data: Mapping[str, Any],
    questions: Sequence[Mapping[str, Any]],
    survey_id: int | None = None,
    version: int | None = None,
    request=None,
) -> Survey:
    """Create or change a survey and its questions (in the order given; a
    question given with `delete` goes). Once a survey has answers, its answered
    questions keep their kind and stay; their wording may still be improved."""
    if not actor.has_perm("feedback.add_survey" if survey_id is None else "feedback.change_survey"):
        raise ValidationError(_("You may not write surveys."), code="forbidden")
    survey = None
    if survey_id is not None:
        survey = Survey.objects.select_for_update().filter(pk=survey_id).first()
        if survey is None:
            raise ValidationError(_("This survey no longer exists."), code="missing")
        if version is not None and survey.version != version:
            raise ValidationError(
                _("Someone else changed this survey while you were editing. Reload it first."),
                code="stale",
            )
    errors: dict[str, list] = {}
    values = _survey_values(data, errors)
    existing = {q.pk: q for q in survey.questions.all()} if survey else {}
    answered = set(
        SurveyAnswer.objects.filter(question__in=list(existing)).values_list(
            "question_id", flat=True
        )
    )
    kept: list[tuple[SurveyQuestion | None, dict]] = []
    for index, item in enumerate(questions):
        question = existing.get(item.get("id")) if item.get("id") else None
        if item.get("delete"):
            if question is not None and question.pk in answered:
                errors.setdefault(f"questions-{index}-delete", []).append(
                    ValidationError(
                        _("Customers answered this question; it cannot be removed."), "answered"
                    )
                )
            continue
        question_values = _question_values(index, item, errors)
        if question is not None and question.pk in answered:
            if question.kind != item.get("kind"):
                errors.setdefault(f"questions-{index}-kind", []).append(
                    ValidationError(
                        _("Customers answered this question; its kind cannot change."), "answered"
                    )
                )
            elif question.kind == QuestionKind.CHOICE and _fewer_choices(question, question_values):
                errors.setdefault(f"questions-{index}-choices_zh", []).append(
                    ValidationError(
                        _(
                            "Customers answered this question: its choices may be reworded or "
                            "added at the end, not removed."
                        ),
                        "answered",
                    )
                )
        kept.append((question, question_values))
    given = {question.pk for question, __ in kept if question is not None}
    given |= {item.get("id") for item in questions if item.get("delete")}
    if answered - given:  # an answered question left out of the form is a removal too
        errors.setdefault("__all__", []).append(
            ValidationError(
                _("Customers answered this question; it cannot be removed."), "answered"
            )
        )
    if not kept:
        errors.setdefault("__all__", []).append(
            ValidationError(_("Add at least one question."), "no_questions")
        )
    elif len(kept) > MAX_QUESTIONS:
        errors.setdefault("__all__", []).append(
            ValidationError(_("At most %(max)d questions.") % {"max": MAX_QUESTIONS}, "too_many")
        )
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    fields = ["title_zh", "title_en", "intro_zh", "intro_en", "link_days", "points_bonus"]
    if survey is None:
        survey = Survey.objects.create(created_by=actor, created_at=now, updated_at=now, **values)
        action, changes = AuditAction.CREATE, {name: (None, values[name]) for name in fields}
    else:
        before = snapshot(survey, fields)
        for name, value in values.items():
            setattr(survey, name, value)
        changes = diff(before, snapshot(survey, fields))
        survey.version += 1
        survey.updated_at = now
        survey.save()
        action = AuditAction.UPDATE
    keep_ids = {question.pk for question, __ in kept if question is not None}
    SurveyQuestion.objects.filter(survey=survey).exclude(pk__in=keep_ids).delete()
    for position, (question, question_values) in enumerate(kept):
        if question is None:
            SurveyQuestion.objects.create(survey=survey, position=position, **question_values)
        else:
            for name, value in question_values.items():
                setattr(question, name, value)
            question.position = position
            question.save()
    audit_record(
        actor=actor,
        action=action,
        target=survey,
        changes=changes,
        extra={"questions": len(kept), "version": survey.version},
        request=request,
    )
    return survey


@transaction.atomic
def survey_status_set(*, actor: User, survey_id: int, status: str, request=None) -> Survey:
    """Open a survey for answers (links can then be sent), or close it (its
    links then say the survey has ended); a closed survey may open again."""
    if not actor.has_perm("feedback.change_survey"):
        raise ValidationError(_("You may not change surveys."), code="forbidden")
    survey = Survey.objects.select_for_update().filter(pk=survey_id).first()
    if survey is None:
        raise ValidationError(_("This survey no longer exists."), code="missing")
    if status not in (SurveyStatus.OPEN, SurveyStatus.CLOSED):
        raise ValidationError(_("Choose from the list."), code="invalid")
    if status == survey.status:
        return survey
    old = survey.status
    survey.status, survey.updated_at = status, timezone.now()
    survey.version += 1
    survey.save(update_fields=["status", "updated_at", "version"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target=survey,
        changes={"status": (old, status)},
        request=request,
    )
    return survey


# --- sending -------------------------------------------------------------------


def _token() -> str:
    return secrets.token_urlsafe(24)  # 32 characters, 192 random bits


@dataclass
class InviteResult:
    invitations: list[SurveyInvitation] = field(default_factory=list)
    created: int = 0
    already_open: int = 0
    skipped: int = 0

    def summary(self) -> str:
        parts = [
            ngettext(
                "%(count)d invitation created.", "%(count)d invitations created.", self.created
            )
            % {"count": self.created}
        ]
        if self.already_open:
            parts.append(
                ngettext(
                    "%(count)d customer already had an open link; it was kept.",
                    "%(count)d customers already had an open link; it was kept.",
                    self.already_open,
                )
                % {"count": self.already_open}
            )
        if self.skipped:
            parts.append(
                ngettext(
                    "%(count)d customer you do not serve was left out.",
                    "%(count)d customers you do not serve were left out.",
                    self.skipped,
                )
                % {"count": self.skipped}
            )
        return " ".join(parts)


@transaction.atomic
def survey_invite(
    *,
    actor: User,
    survey_id: int,
    customer_ids: Iterable[int],
    language: str = "zh-hans",
    email: bool = False,
    base_url: str = "",
    skip_others: bool = False,
    request=None,
) -> InviteResult:
    """Personal links to an open survey for customers the actor serves (with
    `skip_others`, customers of a list the actor does not serve are left out
    and counted; otherwise the send is refused). A customer with an open
    (unanswered, unexpired) link to this survey keeps it rather than getting a
    second. With `email`, the links go out by e-mail once this transaction
    commits."""
    if not actor.has_perm("feedback.add_surveyinvitation"):
        raise ValidationError(_("You may not send surveys."), code="forbidden")
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None or survey.status != SurveyStatus.OPEN:
        raise ValidationError(
            {"survey": ValidationError(_("Choose a survey that is open."), "not_open")}
        )
    if language not in dict(SURVEY_LANGUAGES):
        raise ValidationError({"language": ValidationError(_("Choose from the list."), "invalid")})
    wanted = sorted(set(customer_ids))
    if not wanted:
        raise ValidationError(_("No customers to send the survey to."), code="empty")
    if len(wanted) > MAX_INVITATIONS:
        raise ValidationError(
            _("At most %(max)d customers at a time; narrow the list first.")
            % {"max": MAX_INVITATIONS},
            code="too_many",
        )
    allowed = list(
        servable_customers(actor).filter(pk__in=wanted).order_by("pk").values_list("pk", flat=True)
    )
    if not allowed or (len(allowed) != len(wanted) and not skip_others):
        raise ValidationError(
            _("You may not send surveys to some of these customers."), code="forbidden"
        )
    now = timezone.now()
    existing = {
        invitation.customer_id: invitation
        for invitation in SurveyInvitation.objects.filter(
            survey=survey, customer_id__in=allowed, answered_at__isnull=True, expires_at__gt=now
        )
    }
    expires = now + datetime.timedelta(days=survey.link_days)
    new = SurveyInvitation.objects.bulk_create(
        [
            SurveyInvitation(
                survey=survey,
                customer_id=pk,
                token=_token(),
                language=language,
                sent_by=actor,
                created_at=now,
                expires_at=expires,
            )
            for pk in allowed
            if pk not in existing
        ]
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target=survey,
        changes={},
        extra={"invitations": len(new), "customers": len(allowed), "email": email},
        request=request,
    )
    result = InviteResult(
        invitations=[*existing.values(), *new],
        created=len(new),
        already_open=len(existing),
        skipped=len(wanted) - len(allowed),
    )
    if email:
        ids = [invitation.pk for invitation in result.invitations]
        from feedback.tasks import survey_invitations_email_task

        transaction.on_commit(lambda: survey_invitations_email_task.delay(ids, base_url))
    return result


def public_url(invitation: SurveyInvitation, base_url: str = "") -> str:
    base = (getattr(settings, "SITE_URL", "") or base_url).rstrip("/")
    return base + invitation.get_public_url()


def _customer_email(customer: Customer) -> str:
    """The customer's own first e-mail, else its first contact's."""
    emails = sorted(customer.emails.all(), key=lambda e: (e.contact_id is not None, e.position))
    return emails[0].address if emails else ""


def survey_invitations_email(invitation_ids: Sequence[int], base_url: str = "") -> int:
    """E-mail the links (each in its invitation's language) to the customers who
    have an address; an invitation already e-mailed, answered or expired is left
    alone, so a retried task sends nothing twice. Returns how many were sent."""
    sent = 0
    now = timezone.now()
    invitations = (
        SurveyInvitation.objects.filter(
            pk__in=list(invitation_ids),
            emailed_at__isnull=True,
            answered_at__isnull=True,
            expires_at__gt=now,
        )
        .select_related("survey", "customer")
        .prefetch_related("customer__emails")
    )
    for invitation in invitations:
        address = _customer_email(invitation.customer)
        if not address:
            continue
        with translation.override(invitation.language):
            context = {
                "invitation": invitation,
                "survey": invitation.survey,
                "url": public_url(invitation, base_url),
                "customer": invitation.customer,
            }
            subject = " ".join(
                render_to_string("feedback/email/invitation_subject.txt", context).split()
            )
            body = render_to_string("feedback/email/invitation.txt", context)
            html = render_to_string("feedback/email/invitation.html", context)
        message = EmailMultiAlternatives(subject, body, to=[address])
        message.attach_alternative(html, "text/html")
        message.send()
        # Stamped one by one: a failure half-way leaves the rest for the retry.
        SurveyInvitation.objects.filter(pk=invitation.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


# --- answering -----------------------------------------------------------------


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
            from feedback.loyalty import points_expiry_date

            PointsEntry.objects.create(
                customer=invitation.customer, kind=PointsKind.EARNED, points=survey.points_bonus,
                invitation=invitation, expires_on=points_expiry_date(now), created_at=now,
            )  # fmt: skip
    return invitation


# --- reading -------------------------------------------------------------------


def survey_counts(surveys, invitations) -> dict[int, dict[str, int]]:
    """Invitations sent, opened and answered per survey among `invitations`
    (those the reader may see), in one query."""
    rows = (
        invitations.filter(survey__in=surveys)
        .values("survey_id")
        .annotate(
            sent=Count("id"),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            answered=Count("id", filter=Q(answered_at__isnull=False)),
        )
    )
    return {row.pop("survey_id"): row for row in rows}


@dataclass
class QuestionResult:
    question: SurveyQuestion
    answers: int
    average: float | None = None
    counts: list[tuple[str, int]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


def survey_results(survey: Survey, invitations, *, texts: int = 20) -> list[QuestionResult]:
    """Per question: how many answered, the average score, the count per
    choice or score, and the latest free-text answers, among `invitations`
    (the invitations the reader may see)."""
    answers = SurveyAnswer.objects.filter(invitation__in=invitations, question__survey=survey)
    counted: dict[int, dict[int, int]] = {}
    for row in (
        answers.filter(number__isnull=False).values("question_id", "number").annotate(n=Count("id"))
    ):
        counted.setdefault(row["question_id"], {})[row["number"]] = row["n"]
    totals = dict(
        answers.values("question_id").annotate(n=Count("id")).values_list("question_id", "n")
    )
    results = []
    for question in survey.questions.all():
        result = QuestionResult(question, totals.get(question.pk, 0))
        numbers = counted.get(question.pk, {})
        if question.kind in SCALES:
            low, high = SCALES[question.kind]
            result.counts = [(str(n), numbers.get(n, 0)) for n in range(low, high + 1)]
            scored = sum(numbers.values())
            if scored:
                result.average = round(sum(n * c for n, c in numbers.items()) / scored, 1)
        elif question.kind == QuestionKind.CHOICE:
            result.counts = [
                (label, numbers.get(n, 0)) for n, label in enumerate(question.choice_list())
            ]
        else:
            result.texts = list(
                answers.filter(question=question)
                .order_by("-invitation__answered_at")
                .values_list("text", flat=True)[:texts]
            )
        results.append(result)
    return results
