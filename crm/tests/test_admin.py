"""Django admin: every page an admin needs opens; passwords are Argon2."""

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import BackupRun
from crm.services import notify

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    "admin:crm_user_changelist",
    "admin:crm_user_add",
    "admin:crm_team_changelist",
    "admin:crm_team_add",
    "admin:auth_group_changelist",
    "admin:crm_auditevent_changelist",
    "admin:crm_notification_changelist",
    "admin:crm_loginfailure_changelist",
    "admin:crm_importjob_changelist",
    "admin:crm_backuprun_changelist",
    "admin:django_celery_beat_periodictask_changelist",
    "admin:django_celery_beat_crontabschedule_changelist",
]


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_admin_page_opens(admin_client, rep, name):
    notify(recipient=rep, text="hello")
    assert admin_client.get(reverse(name)).status_code == 200


def test_user_change_page_opens_and_hides_the_blind_index(admin_client, rep):
    response = admin_client.get(reverse("admin:crm_user_change", args=[rep.pk]))
    assert response.status_code == 200
    assert "mobile_index" not in response.content.decode()


def test_housekeeping_schedule_is_created_by_migration():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="crm.login_failures_prune")
    assert task.task == "crm.login_failures_prune"
    assert task.enabled


def test_passwords_are_hashed_with_argon2(rep):
    assert rep.password.startswith("argon2")


def test_import_job_opens_read_only_without_the_upload(admin_client, steward):
    from crm.models import ImportJob

    job = ImportJob.objects.create(
        kind="customers", created_by=steward, file_name="r.xlsx", analysis='{"rows": "secret"}'
    )
    job.chunks.create(position=0, data=b"secret")
    response = admin_client.get(reverse("admin:crm_importjob_change", args=[job.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "field-counts" in html and "field-file_name" in html
    assert "field-analysis" not in html and "secret" not in html


@pytest.mark.parametrize(("language", "words"), [("en", "Succeeded"), ("zh-hans", "成功")])
def test_a_backup_run_reads_in_the_admin_s_language(admin_client, admin_user, language, words):
    run = BackupRun.objects.create(
        status=BackupRun.Status.OK, finished_at=timezone.now(), path="/srv/b/kehu-1.kehubackup",
        size=1234, table_count=80, row_count=5000, counts={"customers_customer": 40},
    )  # fmt: skip
    admin_user.language = language
    admin_user.save(update_fields=["language"])
    listing = admin_client.get(reverse("admin:crm_backuprun_changelist")).content.decode()
    assert words in listing and "kehu-1.kehubackup" in listing
    page = admin_client.get(reverse("admin:crm_backuprun_change", args=[run.pk]))
    assert page.status_code == 200 and "customers_customer" in page.content.decode()
