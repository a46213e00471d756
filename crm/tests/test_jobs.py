"""The job framework (crm.jobs): one run at a time under an advisory lock, every
run recorded, failures kept with their error, the command and the real worker."""

from __future__ import annotations

import datetime
import io
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from crm import jobs
from crm.jobs import LOCK_SPACE, Job, job_lock_key, job_run
from crm.models import JobRun
from customers.models import Customer
from segmentation.models import MetricsRun

pytestmark = pytest.mark.django_db


def _held_elsewhere(name: str):
    """Hold the job's lock from another connection until the returned event is set."""
    taken, release = threading.Event(), threading.Event()

    def hold():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_SPACE, job_lock_key(name)])
                taken.set()
                release.wait(30)
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", [LOCK_SPACE, job_lock_key(name)]
                )
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(10)
    return release, thread


def test_a_job_run_records_its_counts_and_the_command_prints_them_last():
    Customer.objects.create(number="C00001", name="甲公司", kind="company")
    out = io.StringIO()
    call_command("run_job", "recompute_metrics", "--as-of", "2026-11-30", stdout=out)
    run = JobRun.objects.get()
    assert (run.job, run.status, run.trigger) == ("recompute_metrics", "done", "hand")
    assert run.as_of == datetime.date(2026, 11, 30) and run.finished_at >= run.started_at
    assert run.counts["customers"] == 1 and run.counts["buyers"] == 0
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("recompute_metrics at 2026-11-30 done in ")
    printed = dict(pair.split("=") for pair in last.split(": ", 1)[1].split())
    assert printed == {name: str(value) for name, value in run.counts.items()}
    assert last.endswith("customers=1 buyers=0 read_again=1 rows_changed=1 stage_changes=0")
    assert MetricsRun.objects.filter(as_of=datetime.date(2026, 11, 30)).count() == 1


def test_the_list_names_every_job_and_an_unknown_one_is_refused():
    out = io.StringIO()
    call_command("run_job", "--list", stdout=out)
    assert [line.split("\t")[0] for line in out.getvalue().splitlines()] == list(jobs.JOBS)
    assert {"recompute_metrics", "freshness_audit", "churn_alerts", "reminders"} <= set(jobs.JOBS)
    names = ", ".join(jobs.JOBS)
    with pytest.raises(CommandError, match=f"no job 'nightly'; the jobs are: {names}$"):
        call_command("run_job", "nightly")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("run_job", "recompute_metrics", "--as-of", "30/11/2026")


def test_a_second_run_while_one_is_under_way_is_skipped_and_does_nothing():
    release, thread = _held_elsewhere("recompute_metrics")
    try:
        run = job_run("recompute_metrics")
        with pytest.raises(CommandError, match="skipped: a run of it is under way"):
            call_command("run_job", "recompute_metrics", stdout=io.StringIO())
    finally:
        release.set()
        thread.join()
    assert run.status == JobRun.Status.SKIPPED and run.finished_at is not None
    assert not MetricsRun.objects.exists()  # the work was not done twice
    assert job_run("recompute_metrics").status == JobRun.Status.DONE  # free again


def test_a_failing_job_keeps_its_error_and_frees_the_lock(monkeypatch):
    def broken(as_of):
        raise RuntimeError("the service broke")

    monkeypatch.setitem(jobs.JOBS, "broken", Job("broken", "x:y", "broken"))
    monkeypatch.setattr(Job, "work", lambda self: broken)
    with pytest.raises(RuntimeError):
        job_run("broken")
    run = JobRun.objects.get(job="broken")
    assert (run.status, run.error) == ("failed", "RuntimeError: the service broke")
    with connection.cursor() as cursor:  # released: another session can take it
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_SPACE, job_lock_key("broken")])
        assert cursor.fetchone()[0]
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_SPACE, job_lock_key("broken")])


def test_a_run_a_killed_worker_left_running_is_marked_interrupted_by_the_next():
    left = JobRun.objects.create(job="recompute_metrics")
    job_run("recompute_metrics")
    left.refresh_from_db()
    assert (left.status, left.error) == ("failed", jobs.INTERRUPTED)
    assert left.finished_at is not None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_runs_the_nightly_job_through_the_schedule_entry(celery_worker_queue):
    from django_celery_beat.models import PeriodicTask

    from crm.tasks import job_run_task

    entry = PeriodicTask.objects.get(name="customers.metrics_recompute")
    assert (entry.task, entry.args) == ("crm.job_run", '["recompute_metrics"]')
    worker = celery_worker_queue
    job_run_task.apply_async(args=["recompute_metrics"], queue=worker.queue)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not JobRun.objects.filter(status="done").exists():
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.3)
    run = JobRun.objects.get(job="recompute_metrics")
    assert (run.status, run.as_of) == ("done", timezone.localdate())
    assert MetricsRun.objects.filter(status="done", as_of=timezone.localdate()).exists()


def test_admins_read_every_job_with_its_schedule_and_runs_on_a_page(client, admin_user, rep):
    job_run("recompute_metrics", datetime.date(2026, 11, 30))
    JobRun.objects.create(job="freshness_audit", status="failed", error="OperationalError: gone")
    JobRun.objects.create(job="freshness_audit", status="failed", error=jobs.INTERRUPTED)
    client.force_login(admin_user)
    page = client.get(reverse("job_runs")).content.decode()
    assert "recompute_metrics" in page and "02:15 Asia/Shanghai" in page
    assert "06:00 Asia/Shanghai" in page  # the freshness audit's morning
    assert "OperationalError: gone" in page and "失败" in page
    assert "已中断：任务进程在运行结束前停止。" in page  # ours, translated
    listed = client.get(reverse("admin:crm_jobrun_changelist")).content.decode()
    assert "customers=0" in listed and "OperationalError" not in listed  # the error: on the run
    only = client.get(reverse("job_runs"), {"job": "freshness_audit"}).content.decode()
    assert only.count("<code>recompute_metrics</code>") == 1  # in the jobs table only
    client.force_login(rep)
    assert client.get(reverse("job_runs")).status_code == 403
