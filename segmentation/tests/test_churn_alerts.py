"""Churn alerts (segmentation.churn) on crafted histories: exactly who is alerted and
how, once per episode, an episode ending when the customer buys again or is
marked lost, the managers' digest, the reasons in words in both languages (the
same as the customer page's), the page and "mark lost"."""

from __future__ import annotations

import datetime
import io
import socket
import subprocess
import time
import uuid
from contextlib import contextmanager

import psycopg2
import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from crm.jobs import INTERRUPTED, job_run
from crm.models import JobRun, Notification
from customers.models import Customer
from interactions.models import Interaction, Task, TaskSource
from kehu.tests.fixtures import celery_worker_start, celery_worker_stop, days_ago, owner_backdate
from segmentation.churn import ALERT, TASK_HINT, churn_alerts, churn_mark_lost, churn_reasons
from segmentation.models import ChurnEpisode, MetricsRun
from segmentation.outlook import sentences
from segmentation.runs import metrics_recompute
from segmentation.scoring import segments_refresh

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
    owner_backdate(made["orphan"], gone)  # who has left since
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
    assert digest.link == reverse("segmentation:churn")


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
    _the_model_says(typical_interval_days="30.5")
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
                      "usually buy again within 31 days",
                      "No contact for"):  # fmt: skip
            assert piece in notes


def test_the_page_lists_the_alerts_in_reach_and_marks_one_lost(client, book, rep, other_rep):
    churn_alerts(today())
    rep.language = "en"
    rep.save(update_fields=["language"])
    client.force_login(rep)
    page = client.get(reverse("segmentation:churn")).content.decode()
    assert (
        "十天一买已五十天" in page and "Usually buys every 10 days; last purchase 50 days" in page
    )
    assert "十天一买已二十天" not in page  # the colleague's customer
    url = reverse("segmentation:mark_lost", args=[book["churned"].pk])
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    assert ChurnEpisode.objects.get(customer=book["churned"]).is_open
    done = client.post(url, {"reason": "Moved to a competitor"}, follow=True)
    body = done.content.decode()
    assert "The customer is marked lost" in body and "Moved to a competitor" in body
    assert 'data-testid="churn-alert"' in body
    lost = client.get(reverse("segmentation:churn") + "?state=lost").content.decode()
    assert "十天一买已五十天" in lost and "Marked lost" in lost


def test_the_job_runs_from_the_command_and_prints_its_counts(book):
    out = io.StringIO()
    call_command("run_job", "churn_alerts", stdout=out)
    assert "alerts=2" in out.getvalue().splitlines()[-1]
    assert job_run("churn_alerts").counts["alerts"] == 0


# --- a real worker, killed, and PostgreSQL and Redis going away mid-run -------------


@contextmanager
def table_locked(table: str):
    """Another session holds `table` locked: a job that writes to it waits."""
    db = connection.settings_dict
    locker = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"])
    try:
        with locker.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield locker
    finally:
        locker.rollback()
        locker.close()


def _backend(query: str, params: list, wanted, seconds: float = 60):
    """Poll pg_stat_activity with `query` until its row is `wanted`."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(query, params)
            row = cursor.fetchone()
            if wanted(row):
                return row
            time.sleep(0.2)
    raise AssertionError(f"no backend as wanted after {seconds} s")


def _blocked_backend() -> int:
    """The pid of the worker's backend waiting on the lock."""
    return _backend(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
        [connection.settings_dict["NAME"]],
        lambda row: row is not None,
    )[0]


def _gone(pid: int) -> None:
    _backend(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
        [pid],
        lambda row: row[0] == 0,
    )


def _wait_done(worker, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not JobRun.objects.filter(job="churn_alerts", status="done").exists():
        assert worker.poll() is None, worker.stdout.read()
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.3)


def _alerted_once() -> None:
    assert _open_alerts() == {"十天一买已五十天": "rep1", "十天一买已二十天": "rep2"}
    assert Task.objects.filter(source=TaskSource.CHURN).count() == 2
    assert Notification.objects.filter(key__startswith="churn:").count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_in_the_middle_of_the_scan_leaves_nothing_and_the_job_completes(book):
    from crm.tasks import job_run_task

    queue = f"kehu-test-{uuid.uuid4().hex[:8]}"
    # Unacknowledged work goes back to the queue after 3 s, not two hours.
    worker = celery_worker_start(queue, CELERY_VISIBILITY_TIMEOUT="3")
    try:
        with table_locked("customers_churnepisode"):
            job_run_task.apply_async(args=["churn_alerts"], queue=queue)
            pid = _blocked_backend()  # in the middle of the scan, its transaction open
            assert JobRun.objects.get(job="churn_alerts").status == "running"
            worker.kill()
            worker.wait(timeout=20)
        _gone(pid)  # its transaction rolled back with the connection
        assert not ChurnEpisode.objects.exists()
        assert not Task.objects.filter(source=TaskSource.CHURN).exists()
        worker = celery_worker_start(queue, CELERY_VISIBILITY_TIMEOUT="3")
        _wait_done(worker)
    finally:
        celery_worker_stop(worker)
    runs = dict(JobRun.objects.filter(job="churn_alerts").values_list("status", "error"))
    assert runs == {"failed": INTERRUPTED, "done": ""}
    _alerted_once()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postgresql_dropping_the_connection_mid_run_fails_the_run_and_the_retry_completes(
    book, celery_worker_queue
):
    from crm.tasks import job_run_task

    worker = celery_worker_queue
    with table_locked("customers_churnepisode") as locker:
        job_run_task.apply_async(args=["churn_alerts"], queue=worker.queue)
        pid = _blocked_backend()
        with locker.cursor() as cursor:  # as a restart does to each session
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    _wait_done(worker)
    failed = JobRun.objects.get(job="churn_alerts", status="failed")
    assert failed.error.startswith("OperationalError: server closed the connection")
    _alerted_once()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_redis_restarting_mid_run_loses_nothing_and_doubles_nothing(book):
    """The broker of this test alone, restarted while the job runs: the run ends
    done, alerts once, and the worker takes the next task from the new broker."""
    from crm.tasks import job_run_task
    from kehu.celery import app

    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    broker = _redis(port)
    queue = f"kehu-test-{uuid.uuid4().hex[:8]}"
    worker = celery_worker_start(queue, REDIS_URL=url)
    try:
        with table_locked("customers_churnepisode"):
            with app.connection_for_write(url) as conn:
                job_run_task.apply_async(args=["churn_alerts"], queue=queue, connection=conn)
            _blocked_backend()
            broker.kill()
            broker.wait(timeout=20)
            broker = _redis(port)  # empty: it keeps nothing on disk
        _wait_done(worker)
        _alerted_once()
        with app.connection_for_write(url) as conn:
            job_run_task.apply_async(args=["churn_alerts"], queue=queue, connection=conn)
        deadline = time.monotonic() + 60
        while JobRun.objects.filter(job="churn_alerts", status="done").count() < 2:
            assert worker.poll() is None, worker.stdout.read()
            assert time.monotonic() < deadline, "the worker did not take the next task"
            time.sleep(0.3)
    finally:
        celery_worker_stop(worker)
        broker.kill()
        broker.wait(timeout=20)
    assert JobRun.objects.filter(job="churn_alerts").exclude(status="done").count() == 0
    _alerted_once()


def test_each_manager_reads_the_digest_in_their_own_language(book, manager):
    manager.language = "en"
    manager.save(update_fields=["language"])
    with translation.override("zh-hans"):  # whatever the worker speaks
        churn_alerts(today())
    digest = Notification.objects.get(recipient=manager, key__startswith="churn-digest:")
    assert digest.text.startswith(f"Churn alerts on {today():%Y-%m-%d}: 2 customers of your team")
