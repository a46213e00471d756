"""The satisfaction figures, defined once (the analysis page and its tests use
these): CSAT is the share of ratings of 4 or 5; NPS is the share of promoters
(9–10) less the share of detractors (0–6), from −100 to 100; the average rating
is to one decimal. Each is None when there is nothing to measure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Q, QuerySet


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


def satisfaction(feedback: QuerySet) -> Satisfaction:
    """The figures of a set of feedback, counted in PostgreSQL in one query."""
    row = feedback.aggregate(
        responses=Count("id"),
        ratings=Count("rating"),
        happy=Count("id", filter=Q(rating__gte=4)),
        average=Avg("rating"),
        scores=Count("nps"),
        promoters=Count("id", filter=Q(nps__gte=9)),
        detractors=Count("id", filter=Q(nps__lte=6)),
    )
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
