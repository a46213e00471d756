"""CSAT and NPS on hand-computed sets, in Python and in PostgreSQL alike."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

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


CORPUS = [
    "物流太慢了，等了一个星期才到。",
    "物流很快，包装也很好。",
    "包装破损，客服态度很好，给我补发了。",
    "客服回复太慢，物流信息也不更新。",
    "The delivery was late and the packaging was damaged.",
    "Great service, fast delivery!",
    "Delivery on time; the price is too high though.",
]


def test_themes_count_texts_not_repeats_and_leave_stop_words_out():
    from feedback.themes import terms, themes

    assert terms("物流物流物流太慢了") == {"物流", "太慢"}  # once per text; 了 is a stop word
    assert terms("The DELIVERY was late, the delivery!") == {"delivery", "late"}
    # Most texts first, ties in code-point order (Latin before Chinese).
    assert themes(CORPUS, top=5) == [
        ("delivery", 3), ("物流", 3), ("包装", 2), ("太慢", 2), ("客服", 2),
    ]  # fmt: skip
    assert "though" not in terms(CORPUS[6]) and "price" in terms(CORPUS[6])
    assert themes(CORPUS, minimum=4) == []


@pytest.mark.django_db
def test_the_analysis_page_breaks_down_scoped_feedback_and_links_themes(
    client, rep, far_rep, manager, own_customer, far_customer, feedback_make
):
    from django.urls import reverse

    feedback_make(rep, own_customer, rating=5, nps=10, text="物流很快，包装很好")
    feedback_make(rep, own_customer, rating=2, nps=3, text="物流太慢，包装破损", channel="email")
    feedback_make(far_rep, far_customer, rating=1, nps=0, text="物流太慢")
    client.force_login(rep)
    response = client.get(reverse("feedback:analysis"))
    assert response.status_code == 200
    overall = response.context["overall"]
    assert (overall.responses, overall.csat, overall.nps) == (2, Decimal("50.0"), Decimal("0.0"))
    channels = {label: row.responses for label, row in response.context["by_channel"]}
    assert channels == {"电话": 1, "邮件": 1}
    assert response.context["themes"] == [("包装", 2), ("物流", 2)]  # the far team's is not here
    assert [f.text for f in response.context["unhappy"]] == ["物流太慢，包装破损"]
    page = response.content.decode()
    assert 'data-theme="物流"' in page and "q=%E7%89%A9%E6%B5%81" in page
    theme_link = reverse("feedback:list") + "?q=物流太慢"
    listed = client.get(theme_link)
    assert [f.text for f in listed.context["page_obj"]] == ["物流太慢，包装破损"]
    by_channel = client.get(reverse("feedback:analysis") + "?channel=email")
    assert by_channel.context["overall"].responses == 1
    assert response.context["trend_step"] == "month"  # the last year by default
    recent = client.get(reverse("feedback:analysis") + "?received_after=" + str(
        timezone.localdate() - datetime.timedelta(days=30)
    ))  # fmt: skip
    assert recent.context["trend_step"] == "week"
    assert sum(row.responses for __, row in recent.context["trend"]) == 2
