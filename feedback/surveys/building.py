"""Building surveys: the survey's wording, link lifetime, bonus and feedback
category, and its questions (rating, NPS, single choice or free text, each in
Chinese and English) are checked and saved together, audited. Once customers
have answered, an answered question keeps its kind and stays, and a choice
question's choices may be reworded or added to but not removed; a survey is
opened for answers, or closed, by `survey_status_set`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_record, diff, snapshot
from crm.models import AuditAction, User
from crm.normalise import length_check
from feedback.models import (
    FeedbackCategory,
    QuestionKind,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyStatus,
)

MAX_QUESTIONS = 30
MAX_CHOICES = 12
MAX_BONUS = 100_000


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
