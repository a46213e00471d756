"""The satisfaction figures, defined once (the analysis page and its tests use
these): CSAT is the share of ratings of 4 or 5; NPS is the share of promoters
(9–10) less the share of detractors (0–6), from −100 to 100; the average rating
is to one decimal. Each is None when there is nothing to measure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone


def _share(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def csat(ratings: Iterable[int]) -> Decimal | None:
    ratings = [r for r in ratings if r is not None]
    return _share(sum(1 for r in ratings if r >= 4), len(ratings))


def nps(scores: Iterable[int]) -> Decimal | None:
    scores = [s for s in scores if s is not None]
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return _share(promoters - detractors, len(scores))


@dataclass(frozen=True)
class Satisfaction:
    responses: int
    ratings: int
    csat: Decimal | None
    average: Decimal | None
    scores: int
    nps: Decimal | None


def _measures(*, distinct: bool = False) -> dict:
    """The aggregates behind the figures; `distinct` where a join repeats a
    feedback's row (one per order line)."""
    count = "id"
    return {
        "responses": Count(count, distinct=distinct),
        "ratings": Count(count, filter=Q(rating__isnull=False), distinct=distinct),
        "happy": Count(count, filter=Q(rating__gte=4), distinct=distinct),
        "average": Avg("rating"),
        "scores": Count(count, filter=Q(nps__isnull=False), distinct=distinct),
        "promoters": Count(count, filter=Q(nps__gte=9), distinct=distinct),
        "detractors": Count(count, filter=Q(nps__lte=6), distinct=distinct),
    }


def satisfaction(feedback: QuerySet) -> Satisfaction:
    """The figures of a set of feedback, counted in PostgreSQL in one query."""
    return _satisfaction_of(feedback.aggregate(**_measures()))


def _satisfaction_of(row: dict) -> Satisfaction:
    average = row["average"]
    return Satisfaction(
        responses=row["responses"],
        ratings=row["ratings"],
        csat=_share(row["happy"], row["ratings"]),
        average=None
        if average is None
        else Decimal(str(average)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
        scores=row["scores"],
        nps=_share(row["promoters"] - row["detractors"], row["scores"]),
    )


def breakdown(feedback: QuerySet, key: str) -> list[tuple[object, Satisfaction]]:
    """The figures per value of `key` (a field or a lookup such as
    "customer__owner"), in one grouped query, most responses first."""
    rows = (
        feedback.order_by()
        .values(key)
        .annotate(**_measures(distinct="lines" in key))
        .order_by("-responses")
    )
    return [(row[key], _satisfaction_of(row)) for row in rows]


def trend(feedback: QuerySet, *, by: str = "month") -> list[tuple[object, Satisfaction]]:
    """The figures per local month (or week), oldest first."""
    trunc = {"month": TruncMonth, "week": TruncWeek}[by]
    rows = (
        feedback.order_by()
        .annotate(period=trunc("created_at", tzinfo=timezone.get_current_timezone()))
        .values("period")
        .annotate(**_measures())
        .order_by("period")
    )
    return [(row["period"], _satisfaction_of(row)) for row in rows]
