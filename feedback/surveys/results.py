"""Survey results for the team: invitations sent, opened and answered per
survey, and per question the number of answers, the average score, the count
per score or choice and the latest free-text answers. Every figure is counted
among the invitations the reader may see, which the caller passes in."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q

from feedback.models import QuestionKind, Survey, SurveyAnswer, SurveyQuestion
from feedback.surveys.answering import SCALES


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
