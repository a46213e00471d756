"""seed_demo, unlock_login and the housekeeping task run as a real Celery job."""

import datetime
import io
import time

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from crm import roles
from crm.models import LoginFailure, User


@pytest.fixture(autouse=True)
def _debug_on(settings):
    settings.DEBUG = True  # seed_demo is a development command


@pytest.mark.django_db
def test_seed_demo_creates_one_user_per_role_and_prints_them():
    out = io.StringIO()
    call_command("seed_demo", "--customers", "0", stdout=out)
    for username in ("admin", "manager", "rep1", "rep2", "steward", "auditor", "service"):
        assert username in out.getvalue()
        assert User.objects.get(username=username).check_password("kehu-demo")
    assert User.objects.get(username="rep1").groups.get().name == roles.SALES_REP
    assert User.objects.get(username="service").groups.get().name == roles.SERVICE_AGENT
    assert User.objects.get(username="admin").is_superuser
    manager = User.objects.get(username="manager")
    assert manager.managed_teams.get() == User.objects.get(username="rep1").team
    client = Client()
    assert client.login(username="rep2", password="kehu-demo")


@pytest.mark.django_db
def test_seed_demo_takes_a_password_and_is_repeatable():
    call_command("seed_demo", "--password", "another-Pw-2026", stdout=io.StringIO())
    call_command("seed_demo", "--password", "another-Pw-2026", stdout=io.StringIO())
    assert User.objects.filter(username="rep1").count() == 1
    assert User.objects.get(username="rep1").check_password("another-Pw-2026")


@pytest.mark.django_db
def test_seed_demo_if_empty_leaves_an_existing_database_alone(rep):
    out = io.StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert not User.objects.filter(username="admin").exists()


@pytest.mark.django_db
def test_seed_demo_refuses_with_debug_off_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", "--force", stdout=io.StringIO())
    assert User.objects.filter(username="auditor").exists()


@pytest.mark.django_db
def test_unlock_login_command_lifts_the_lock(rep):
    for _ in range(5):
        LoginFailure.objects.create(username="rep1", ip_address="10.0.0.1")
    call_command("unlock_login", "rep1", stdout=io.StringIO())
    assert not LoginFailure.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_runs_the_prune_task_sent_through_redis(celery_worker_queue):
    from crm.tasks import login_failures_prune_task

    old = LoginFailure.objects.create(username="old", ip_address="10.0.0.1")
    LoginFailure.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=40)
    )
    fresh = LoginFailure.objects.create(username="fresh", ip_address="10.0.0.1")
    worker = celery_worker_queue
    login_failures_prune_task.apply_async(queue=worker.queue)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and LoginFailure.objects.filter(pk=old.pk).exists():
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.3)
    assert not LoginFailure.objects.filter(pk=old.pk).exists(), "the worker did not run the task"
    assert LoginFailure.objects.filter(pk=fresh.pk).exists()
