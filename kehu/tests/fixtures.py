"""The fixtures every app's tests share, in one pytest plugin (the root conftest
loads it): one user per role on a real PostgreSQL, and customers, products,
orders, interactions, tickets and feedback made through the services, as the
pages make them; with the helpers the tests import from here."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from crm import roles
from customers.models import PoolRule, ReleaseReason
from customers.services.records import customer_create
from feedback.services import feedback_record
from interactions.services.interactions import interaction_log
from interactions.services.tickets import ticket_open
from sales.services.lines import LineInput
from sales.services.orders import order_create
from sales.services.products import product_save

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


def pytest_collection_modifyitems(config, items):
    """A test that commits (transaction=True) must also restore the migrations'
    rows (serialized_rollback=True). Without it, its TRUNCATE at the end lets
    post_migrate make the content types again under other ids, and the next
    test that restores the rows fails on a duplicate (admin, logentry) — a
    test breaking its neighbours, depending on the order."""
    wrong = []
    for item in items:
        marker = item.get_closest_marker("django_db")
        commits = "transactional_db" in getattr(item, "fixturenames", ()) or (
            marker is not None and marker.kwargs.get("transaction")
        )
        restores = marker is not None and marker.kwargs.get("serialized_rollback")
        if commits and not restores:
            wrong.append(item.nodeid)
    if wrong:
        raise pytest.UsageError(
            "Mark tests that commit with "
            "@pytest.mark.django_db(transaction=True, serialized_rollback=True): "
            + ", ".join(wrong)
        )


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
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kehu", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=Path(__file__).resolve().parents[2], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    worker.queue = queue
    return worker


def process_stop(process) -> None:
    """Terminate a child process; kill it when it has not ended within 30 s."""
    import subprocess

    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


celery_worker_stop = process_stop


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


# --- customers ------------------------------------------------------------


@pytest.fixture
def customer_make(db, steward):
    """customer_make(owner, **data): a customer owned by `owner` (None: the pool)."""

    def make(owner=None, **data):
        data.setdefault("name", "张三")
        data.setdefault("kind", "person")
        return customer_create(actor=steward, data={"owner": owner, **data})

    return make


@pytest.fixture
def own_customer(customer_make, rep):
    return customer_make(rep, name="张三", phones="138 0013 8000", emails="zhangsan@example.com")


@pytest.fixture
def pool_customer(customer_make):
    return customer_make(None, name="王芳", phones="13912345678", emails="wangfang@example.com")


@pytest.fixture
def colleague_customer(customer_make, other_rep):
    """Owned by another rep of the same team."""
    return customer_make(other_rep, name="李雷", phones="13700001111")


@pytest.fixture
def far_customer(customer_make, far_rep):
    """Owned by a rep of another team."""
    return customer_make(far_rep, name="赵六", phones="13600002222")


def edit_form_data(customer, **changes) -> dict:
    """What the edit page posts when the user changes `changes` and nothing else."""
    from customers.forms import CustomerForm

    customer.refresh_from_db()
    initial = CustomerForm.initial_for(customer)
    data = {**initial, **changes}
    return {
        name: "" if value is None else value
        for name, value in data.items()
        if value is not False  # an unticked checkbox is not posted
    }


def pool_rules(**values) -> PoolRule:
    """Change the company default pool rule (customers.ownership)."""
    rule = PoolRule.objects.get(team=None, key_account=None)
    for name, value in values.items():
        setattr(rule, name, value)
    rule.save()
    return rule


@pytest.fixture
def reason(db) -> ReleaseReason:
    """A release reason from the list a new site starts with."""
    return ReleaseReason.objects.filter(is_active=True).first()


def owner_backdate(customer, owner) -> None:
    """Test data only: make `owner` the customer's owner as if they had held it all
    along (someone who has left since), past the database's guard on the column
    that customers.ownership alone opens."""
    from django.db import connection, transaction

    from customers.models import Customer

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('kehu.ownership', 'on', true)")
        Customer.objects.filter(pk=customer.pk).update(owner=owner)
        cursor.execute("SELECT set_config('kehu.ownership', '', true)")


# --- sales ----------------------------------------------------------------


@pytest.fixture
def product_make(db, manager):
    def make(sku="P-001", name="无线耳机", price="299.00", **data):
        return product_save(
            actor=manager, data={"sku": sku, "name": name, "list_price": price, **data}
        )

    return make


@pytest.fixture
def headphones(product_make):
    return product_make("EAR-01", "无线耳机", "299.00", category="数码", brand="华为")


@pytest.fixture
def kettle(product_make):
    return product_make("KET-02", "电水壶", "89.90", category="家电", brand="美的")


def days_ago(days: int, hour: int = 10) -> datetime.datetime:
    """That day at `hour` local time; today at the latest a minute ago."""
    now = timezone.localtime()
    moment = (now - datetime.timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )
    return min(moment, now - datetime.timedelta(minutes=1))


@pytest.fixture
def order_make(db, steward):
    """order_make(customer, lines=[(product, qty, price, discount)], **data)."""

    def make(customer, lines, actor=None, **data):
        data.setdefault("status", "paid")
        inputs = [
            LineInput(
                product=product,
                quantity=Decimal(str(qty)),
                unit_price=None if price is None else Decimal(str(price)),
                discount_percent=Decimal(str(discount)) if discount else None,
            )
            for product, qty, price, discount in lines
        ]
        return order_create(
            actor=actor or steward, customer_id=customer.pk, data=data, lines=inputs
        )

    return make


# --- interactions ---------------------------------------------------------


def hours_ago(hours: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(hours=hours)


def hours_ahead(hours: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(hours=hours)


@pytest.fixture
def log(db):
    """log(actor, customer, **data): an interaction logged through the service."""

    def make(actor, customer, **data):
        data.setdefault("channel", "phone")
        data.setdefault("subject", "电话回访")
        return interaction_log(actor=actor, customer_id=customer.pk, data=data)

    return make


@pytest.fixture
def ticket_make(db):
    def make(actor, customer, **data):
        data.setdefault("subject", "空调不制冷")
        data.setdefault("category", "repair")
        data.setdefault("priority", "normal")
        return ticket_open(actor=actor, customer_id=customer.pk, data=data)

    return make


# --- feedback -------------------------------------------------------------


@pytest.fixture
def feedback_make(db):
    def make(actor, customer, **data):
        data.setdefault("channel", "phone")
        return feedback_record(actor=actor, customer_id=customer.pk, data=data)

    return make
