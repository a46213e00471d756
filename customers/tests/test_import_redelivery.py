"""A commit whose worker was killed (SIGKILL, the OOM killer) is delivered again
(`task_reject_on_worker_lost` with `acks_late`): the job left "running" then runs
once, and a delivery after it finished changes nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import ImportJob, ImportStatus
from crm.sheets.writer import xlsx_bytes
from customers.import_jobs import import_job_run
from customers.models import Customer
from customers.tasks import import_job_run_task
from customers.tests.test_transfer_views import _login, _upload
from kehu.celery import app

pytestmark = pytest.mark.django_db

ROWS = [["姓名", "手机"], ["甲", "13900001111"], ["乙", "13900002222"], ["丙", "13900003333"]]


def _queued_job(client, steward) -> ImportJob:
    _login(client, steward)
    _upload(client, xlsx_bytes(ROWS))
    job = ImportJob.objects.latest("pk")
    client.post(reverse("customers:import_mapping", args=[job.pk]), {
        **{f"col_{i}": key for i, key in enumerate(job.mapping)}, "owner": "self", "mode": "fill"
    })  # fmt: skip
    client.post(reverse("customers:import_preview", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED
    return job


def test_a_task_of_a_killed_worker_goes_back_to_the_queue():
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.task_acks_late is True
    assert import_job_run_task.acks_late is True


def test_a_job_left_running_by_a_killed_worker_runs_once_when_delivered_again(client, steward):
    job = _queued_job(client, steward)
    # The killed worker had marked it running; its customers rolled back with it.
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    import_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.SUCCEEDED, job.error
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["丙", "乙", "甲"]
    counts = dict(job.counts)

    import_job_run(job.pk)  # the same message once more
    job.refresh_from_db()
    assert job.status == ImportStatus.SUCCEEDED and job.counts == counts
    assert Customer.objects.count() == 3
