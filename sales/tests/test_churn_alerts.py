"""Churn alerts (customers.churn) on crafted histories: exactly who is alerted and
how, once per episode, an episode ending when the customer buys again or is
marked lost, the managers' digest, the reasons in words in both languages (the
same as the customer page's), the page and "mark lost"."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation

from crm.jobs import job_run
from crm.models import Notification
from customers.churn import ALERT, TASK_HINT, churn_alerts, churn_mark_lost, churn_reasons
from customers.models import ChurnEpisode, Customer, MetricsRun
from customers.segmentation import metrics_recompute, segments_refresh, sentences
from interactions.models import Interaction, Task, TaskSource
from sales.tests.conftest import days_ago

pytestmark = pytest.mark.django_db


def today() -> datetime.date:
    return timezone.localdate()


def later(days: int) -> datetime.date:
    return today() + datetime.timedelta(days=days)


@pytest.fixture
def buy(order_make, headphones):
    def make(customer, ago, amount="100.00"):
        return order_make(customer, [(headphones, 1, amount, None)], ordered_at=days_ago(ago))

    return make


@pytest.fixture
def book(customer_make, buy, rep, other_rep, make_user):
    """Customers of the team: who buys when (days ago)."""
    gone = make_user("gone", "sales_rep", is_active=False)

    def history(owner, name, *agos, **data):
        customer = customer_make(owner, name=name, **data)
        for ago in agos:
            buy(customer, ago)
        return customer

    made = {
        "churned": history(rep, "十天一买已五十天", 80, 70, 60, 50),  # 5 intervals: churned
        "late": history(other_rep, "十天一买已二十天", 60, 50, 40, 30, 20),  # 2: at risk
        "steady": history(rep, "百天一买", 220, 120, 20),
        "once_recent": history(rep, "十天前买过一次", 10),
        "pool": history(None, "公海客户", 80, 70, 60, 50),
        "deleted": history(rep, "已删除客户", 80, 70, 60, 50),
        "orphan": history(rep, "离职员工的客户", 80, 70, 60, 50),
    }
    Customer.objects.filter(pk=made["deleted"].pk).update(deleted_at=timezone.now())
    Customer.objects.filter(pk=made["orphan"].pk).update(owner=gone)  # who has left since
    metrics_recompute()
    return made


def _open_alerts() -> dict[str, str]:
    """Open episodes: customer name → owner alerted."""
    rows = ChurnEpisode.objects.filter(ended_at__isnull=True)
    return dict(rows.values_list("customer__name", "owner__username"))


def _win_back_tasks() -> dict[str, tuple[str, bool]]:
    rows = Task.objects.filter(source=TaskSource.CHURN)
    return {
        name: (assignee, done is not None)
        for name, assignee, done in rows.values_list(
            "customer__name", "assignee__username", "done_at"
        )
    }


def test_each_customer_newly_at_risk_gets_one_alert_for_its_owner(book, rep, other_rep, manager):
    counts = churn_alerts(today())
    assert _open_alerts() == {"十天一买已五十天": "rep1", "十天一买已二十天": "rep2"}
    assert counts == {
        "crossed": 4, "in_pool": 1, "alerts": 2, "tasks": 2, "notifications": 2,
        "ended_bought": 0, "ended_gone": 0, "digests": 1, "open": 2,
    }  # fmt: skip  # crossed: the two, the pool's and the orphan's (a deleted one is not)
    assert _win_back_tasks() == {
        "十天一买已五十天": ("rep1", False),
        "十天一买已二十天": ("rep2", False),
    }
    alert = Notification.objects.get(recipient=rep, key__startswith="churn:")
    assert alert.kind == "alert"
    assert alert.link == reverse("customers:detail", args=[book["churned"].pk])
    # The owner's language (Chinese by default), the reasons in words.
    assert alert.text == (
        "流失预警 — 十天一买已五十天：通常每 10 天购买一次；上次购买在 50 天前。从未联系过。"
    )
    task = Task.objects.get(customer=book["churned"])
    assert task.title == "挽回客户" and task.priority == "normal"
    assert task.notes.startswith("通常每 10 天购买一次；上次购买在 50 天前。从未联系过。\n\n")


def test_a_second_run_alerts_nobody_again(book, manager):
    churn_alerts(today())
    before = (Task.objects.count(), Notification.objects.count())
    counts = churn_alerts(today())
    assert (counts["alerts"], counts["tasks"], counts["notifications"], counts["digests"]) == (
        0, 0, 0, 0,
    )  # fmt: skip
    assert (Task.objects.count(), Notification.objects.count()) == before


def test_no_second_alert_while_the_episode_lasts_a_new_one_after_a_purchase(book, buy, rep):
    customer = book["churned"]
    churn_alerts(today())
    # Ten days on, still churned: the same episode, no new alert (the one-time
    # buyer of ten days ago is at risk by now, and alerted).
    metrics_recompute(later(10))
    assert churn_alerts(later(10))["alerts"] == 1
    assert _open_alerts()["十天前买过一次"] == "rep1"
    assert ChurnEpisode.objects.filter(customer=customer).count() == 1
    # The rep wins the customer back: the episode ends, the task is closed.
    buy(customer, 0)
    counts = churn_alerts(today())
    assert counts["ended_bought"] == 1 and "十天一买已五十天" not in _open_alerts()
    assert _win_back_tasks()["十天一买已五十天"] == ("rep1", True)
    episode = ChurnEpisode.objects.get(customer=customer)
    assert episode.outcome == "bought" and episode.ended_at is not None
    # Forty days later they have stopped again: a new episode, a new alert.
    metrics_recompute(later(40))
    assert churn_alerts(later(40))["alerts"] >= 1
    assert ChurnEpisode.objects.filter(customer=customer).count() == 2
    page = reverse("customers:detail", args=[customer.pk])
    assert Notification.objects.filter(recipient=rep, link=page).count() == 2


def test_a_customer_marked_lost_is_not_alerted_again_until_they_buy(book, buy, rep):
    customer = book["churned"]
    churn_alerts(today())
    episode = churn_mark_lost(actor=rep, customer_id=customer.pk, reason="转投竞争对手")
    assert (episode.outcome, episode.ended_by, episode.lost_reason) == ("lost", rep, "转投竞争对手")
    assert _win_back_tasks()["十天一买已五十天"] == ("rep1", True)
    metrics_recompute(later(30))
    churn_alerts(later(30))
    assert "十天一买已五十天" not in _open_alerts()  # still churned, still lost
    buy(customer, 0)  # back after all
    metrics_recompute(later(60))  # ... and gone quiet again
    churn_alerts(later(60))
    assert _open_alerts()["十天一买已五十天"] == "rep1"


def test_marking_lost_needs_a_reason_an_open_alert_and_the_right_to_edit(book, rep, far_rep):
    from django.core.exceptions import ValidationError

    churn_alerts(today())
    customer = book["churned"]
    with pytest.raises(ValidationError) as empty:
        churn_mark_lost(actor=rep, customer_id=customer.pk, reason="  ")
    assert empty.value.message_dict == {"reason": ["请说明客户流失的原因。"]}
    with pytest.raises(ValidationError):
        churn_mark_lost(actor=far_rep, customer_id=customer.pk, reason="不是我的客户")
    with pytest.raises(ValidationError) as none_open:
        churn_mark_lost(actor=rep, customer_id=book["steady"].pk, reason="没有预警")
    assert none_open.value.code == "no_episode"
    assert ChurnEpisode.objects.get(customer=customer).is_open


def test_a_deleted_customers_episode_ends_and_its_task_closes(book):
    churn_alerts(today())
    Customer.objects.filter(pk=book["late"].pk).update(deleted_at=timezone.now())
    assert churn_alerts(today())["ended_gone"] == 1
    assert ChurnEpisode.objects.get(customer=book["late"]).outcome == "gone"
    assert _win_back_tasks()["十天一买已二十天"] == ("rep2", True)


def test_the_team_manager_gets_one_digest_a_day(book, manager):
    churn_alerts(today())
    churn_alerts(today())
    digest = Notification.objects.get(recipient=manager, key__startswith="churn-digest:")
    assert digest.text == (
        f"{today():%Y-%m-%d} 流失预警：本团队新增 2 位有流失风险的客户（其中已流失 1 位），"
        "0 位已重新购买；未结束的预警共 2 条。"
    )
    assert digest.link == reverse("customers:churn")


def test_only_one_open_episode_per_customer_whatever_writes_it(book):
    churn_alerts(today())
    episode = ChurnEpisode.objects.get(customer=book["churned"])
    episode.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        episode.save()


def _the_model_says(**params) -> MetricsRun:
    """A run whose fitted model gives few a chance of buying again (a = 10, b = 1)."""
    return MetricsRun.objects.create(
        as_of=today(), status=MetricsRun.Status.DONE, bgnbd_ok=True, breakpoints={},
        r=1.0, alpha=10.0, a=10.0, b=1.0, **params,
    )  # fmt: skip


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_alert_gives_the_same_reasons_as_the_customer_page(
    language, customer_make, buy, rep, other_rep
):
    """SQL writes the alert's words; the customer page's stage_reasons, Python: in
    each language, for every sentence, singular and plural, they agree."""
    rep.language = language
    rep.save(update_fields=["language"])
    made = []

    def history(name, *agos, contacts=()):
        customer = customer_make(rep, name=name)
        for ago in agos:
            buy(customer, ago)
        for ago in contacts:
            Interaction.objects.create(
                customer=customer, user=rep, channel="phone", occurred_at=days_ago(ago),
                subject="回访",
            )  # fmt: skip
        made.append(customer)
        return customer

    history("按时购买的老客户", 31, 21, 11, 1)  # on time, but the model gives little chance
    history("很久前买过一次", 200)
    history("少联系的客户", 120, 90, 60, 31, contacts=(300, 260, 220, 180, 140, 100))
    history("一次联系", 120, 90, 60, 31, contacts=(*range(95, 370, 30), 1))
    metrics_recompute()
    _the_model_says(typical_interval_days="29.5")
    segments_refresh([c.pk for c in made])
    churn_alerts(today())
    episodes = ChurnEpisode.objects.filter(customer__in=made).select_related("task", "customer")
    assert episodes.count() == 4
    with translation.override(language):
        for episode in episodes:
            words = sentences(churn_reasons(episode))
            assert words, episode.customer.name
            assert episode.task.notes == f"{words}\n\n{translation.gettext(TASK_HINT)}"
            alert = Notification.objects.get(key=f"churn:{episode.pk}")
            expected = translation.gettext(ALERT) % {"customer": episode.customer.name,
                                                     "reasons": words}  # fmt: skip
            assert alert.text == expected
    notes = " ".join(e.task.notes for e in episodes)
    if language == "en":
        for piece in ("chance that the customer still buys", "last purchase 1 day ago.",
                      "interactions in the last 90 days",
                      "1 interaction in the last 90 days", "Bought once, 200 days ago",
                      "No contact for"):  # fmt: skip
            assert piece in notes


def test_the_page_lists_the_alerts_in_reach_and_marks_one_lost(client, book, rep, other_rep):
    churn_alerts(today())
    rep.language = "en"
    rep.save(update_fields=["language"])
    client.force_login(rep)
    page = client.get(reverse("customers:churn")).content.decode()
    assert (
        "十天一买已五十天" in page and "Usually buys every 10 days; last purchase 50 days" in page
    )
    assert "十天一买已二十天" not in page  # the colleague's customer
    url = reverse("customers:mark_lost", args=[book["churned"].pk])
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    assert ChurnEpisode.objects.get(customer=book["churned"]).is_open
    done = client.post(url, {"reason": "Moved to a competitor"}, follow=True)
    body = done.content.decode()
    assert "The customer is marked lost" in body and "Moved to a competitor" in body
    assert 'data-testid="churn-alert"' in body
    lost = client.get(reverse("customers:churn") + "?state=lost").content.decode()
    assert "十天一买已五十天" in lost and "Marked lost" in lost


def test_the_job_runs_from_the_command_and_prints_its_counts(book):
    out = io.StringIO()
    call_command("run_job", "churn_alerts", stdout=out)
    assert "alerts=2" in out.getvalue().splitlines()[-1]
    assert job_run("churn_alerts").counts["alerts"] == 0
