"""Fixtures shared by every app's tests: one user per role, on a real PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings

from crm import roles

PASSWORD = "kehu-test-pw-1"


def pytest_configure(config):
    # Tests share the developer's Redis; their keys and queue get their own names,
    # the keys a prefix of their own per run and process (rate limits counted in
    # an earlier run must not refuse this one).
    settings.CACHES["default"]["KEY_PREFIX"] = f"kehu-test-{uuid.uuid4().hex[:8]}"
    settings.CELERY_TASK_DEFAULT_QUEUE = "kehu-test"
    # Transactional tests empty the database with TRUNCATE, which the audit log's
    # guard refuses unless the connection says so (crm migration 0013).
    options = settings.DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = "-c kehu.audit_truncate=allow"


@pytest.fixture(autouse=True)
def _cache_emptied():
    """Each test starts with this process's cache keys gone (counts, kept figures):
    a test passes alone as in the whole suite."""
    from django.core.cache import cache

    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _language_default():
    """Each test starts in the default language (Chinese), as a new thread does: a
    request earlier in the thread leaves its reader's language active for code run
    outside a request (a service's message), and a test passes in any order."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Keep the serialized migration data reachable from every connection object.

    Once Playwright runs, its event loop makes Django hand this thread a new
    connection wrapper, which lacks the data serialized at set-up; a transactional
    test would then start from an empty database (no role groups, no schedules).
    """
    from django.db import connections

    with django_db_blocker.unblock():
        connection = connections["default"]
        contents = getattr(connection, "_test_serialized_contents", None)
        if contents is not None:
            type(connection)._test_serialized_contents = contents
    yield


@pytest.fixture
def make_user(db):
    from django.contrib.auth.models import Group

    from crm.models import User

    def make(username: str, role: str | None = None, team=None, **fields):
        user = User(username=username, team=team, email=f"{username}@kehu.test", **fields)
        user.set_password(PASSWORD)
        user.save()
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def team(db):
    from crm.models import Team

    return Team.objects.create(name="华东销售一组")


@pytest.fixture
def other_team(db):
    from crm.models import Team

    return Team.objects.create(name="华南销售二组")


@pytest.fixture
def rep(make_user, team):
    return make_user("rep1", roles.SALES_REP, team, last_name="李", first_name="娜")


@pytest.fixture
def other_rep(make_user, team):
    return make_user("rep2", roles.SALES_REP, team, last_name="张", first_name="伟")


@pytest.fixture
def far_rep(make_user, other_team):
    """A rep of another team."""
    return make_user("rep3", roles.SALES_REP, other_team, last_name="赵", first_name="敏")


@pytest.fixture
def manager(make_user, team):
    user = make_user("manager", roles.SALES_MANAGER, team, last_name="王", first_name="经理")
    team.manager = user
    team.save(update_fields=["manager"])
    return user


@pytest.fixture
def steward(make_user):
    return make_user("steward", roles.DATA_STEWARD)


@pytest.fixture
def auditor(make_user):
    return make_user("auditor", roles.AUDITOR)


@pytest.fixture
def agent(make_user):
    """A service agent (客服): every customer's service side, no profile edits."""
    return make_user("agent", roles.SERVICE_AGENT, last_name="周", first_name="婷")


@pytest.fixture
def admin_user(make_user):
    return make_user("admin", None, is_staff=True, is_superuser=True)


def celery_worker_start(queue: str, **env_extra: str):
    """A real Celery worker process (solo pool) on `queue`, against the test
    database; its output in `.stdout`."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.db import connection

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_QUEUE": queue,
        **env_extra,
    }
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "celery", "-A", "kehu", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=Path(__file__).resolve().parent, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    worker.queue = queue
    return worker


def celery_worker_stop(worker) -> None:
    import subprocess

    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=20)


@pytest.fixture
def celery_worker_queue(transactional_db):
    """A real Celery worker (a child process, solo pool) on a queue of its own;
    yields the worker (its queue name in `.queue`). Tasks sent there run against
    the test database."""
    import uuid

    worker = celery_worker_start(f"kehu-test-{uuid.uuid4().hex[:8]}")
    try:
        yield worker
    finally:
        celery_worker_stop(worker)
