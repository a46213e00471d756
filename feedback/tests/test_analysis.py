"""CSAT and NPS on hand-computed sets, in Python and in PostgreSQL alike."""

from __future__ import annotations

from decimal import Decimal

import pytest

from feedback.analysis import csat, nps, satisfaction
from feedback.models import Feedback


def test_csat_is_the_share_of_fours_and_fives():
    # 5, 4, 4 of eight ratings are satisfied: 3 / 8 = 37.5 %.
    assert csat([5, 4, 4, 3, 2, 1, 3, 2]) == Decimal("37.5")
    assert csat([5, 5]) == Decimal("100.0")
    assert csat([]) is None


def test_nps_is_promoters_less_detractors():
    # Ten answers: promoters 10, 9, 9 (3); passives 8, 7 (2); detractors 6, 5, 3, 0, 6 (5).
    # (3 − 5) / 10 = −20.
    assert nps([10, 9, 9, 8, 7, 6, 5, 3, 0, 6]) == Decimal("-20.0")
    assert nps([9, 10, 8]) == Decimal("66.7")  # 2 / 3, rounded half up
    assert nps([7, 8]) == Decimal("0.0")
    assert nps([None]) is None


@pytest.mark.django_db
def test_the_database_figures_match(rep, own_customer):
    rows = [(5, 10), (4, 9), (2, 3), (None, 6), (3, None), (1, 8)]
    Feedback.objects.bulk_create(
        Feedback(customer=own_customer, channel="phone", rating=r, nps=s, created_by=rep)
        for r, s in rows
    )
    figures = satisfaction(Feedback.objects.all())
    assert (figures.responses, figures.ratings, figures.scores) == (6, 5, 5)
    assert figures.csat == csat([r for r, _s in rows]) == Decimal("40.0")  # 2 of 5
    assert figures.nps == nps([s for _r, s in rows]) == Decimal("0.0")  # (2 − 2) / 5
    assert figures.average == Decimal("3.0")  # 15 / 5
    assert satisfaction(Feedback.objects.none()).csat is None
