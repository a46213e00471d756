"""The data-freshness audit (interactions.freshness_audit) on crafted records at an as-of
day: exactly who gets a verification task, never a second while one is open,
the stewards' digest once a day, verifying closes the task."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from crm import roles
from crm.jobs import job_run
from crm.models import Notification
from customers.models import Customer, FreshnessPolicy
from interactions.freshness_audit import freshness_audit
from interactions.models import Task, TaskSource
from kehu.tests.fixtures import owner_backdate

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 11, 30)


def _at(days_before: int) -> datetime.datetime:
    moment = datetime.datetime.combine(AS_OF, datetime.time(10))
    return timezone.make_aware(moment) - datetime.timedelta(days=days_before)


def _record(customer, *, created: int, verified: int | None = None, quality=None, **data):
    """Backdate the record: created and last verified so many days before AS_OF."""
    values = {
        "created_at": _at(created),
        "verified_at": None if verified is None else _at(verified),
    }
    if quality is not None:
        values["quality"] = quality
    owner = data.pop("owner", None)
    Customer.objects.filter(pk=customer.pk).update(**values, **data)
    if owner is not None:
        owner_backdate(customer, owner)
    return customer


def _tasks() -> dict[str, str]:
    """Open verification tasks: customer name → assignee's username."""
    open_ = Task.objects.filter(source=TaskSource.FRESHNESS, done_at__isnull=True)
    return dict(open_.values_list("customer__name", "assignee__username"))


@pytest.fixture
def book(customer_make, rep, other_rep, make_user):
    gone = make_user("gone", roles.SALES_REP, is_active=False)  # left the company
    serial = iter(range(10, 99))

    def complete(owner, name):
        """Name, phone, e-mail, province and city: a data quality of 60."""
        n = next(serial)
        return customer_make(
            owner,
            name=name,
            phones=f"138 0013 80{n}",
            emails=f"c{n}@example.com",
            province="浙江省",
            city="杭州市",
        )

    made = {
        "key_stale": _record(complete(rep, "甲大客户"), created=400, verified=100,
                             is_key_account=True),
        "key_fresh": _record(complete(rep, "乙大客户"), created=400, verified=80,
                             is_key_account=True),
        "other_stale": _record(complete(other_rep, "丙公司"), created=900, verified=400),
        "other_fresh": _record(complete(other_rep, "丁公司"), created=900, verified=300),
        "never_old": _record(complete(rep, "戊公司"), created=370),
        "never_new": _record(complete(rep, "己公司"), created=20),
        "poor": _record(customer_make(rep, name="庚公司"), created=10),  # a name only
        "pool": _record(complete(None, "辛公司"), created=500),
        "deleted": _record(complete(rep, "壬公司"), created=500, deleted_at=timezone.now()),
        "inactive_owner": _record(complete(rep, "癸公司"), created=500, owner=gone),
    }  # fmt: skip
    assert Customer.objects.get(pk=made["key_fresh"].pk).quality >= 60
    assert Customer.objects.get(pk=made["poor"].pk).quality < 60
    return made


def test_each_rule_finds_exactly_the_records_past_policy(book, rep, other_rep, steward):
    counts = freshness_audit(AS_OF)
    assert _tasks() == {
        "甲大客户": "rep1",  # a key account not verified within 92 days
        "丙公司": "rep2",  # another customer not within 365
        "戊公司": "rep1",  # never verified, created 370 days ago
        "庚公司": "rep1",  # new, but its key fields are incomplete
    }
    # Past policy: those four, the pool's and the inactive owner's (no one to ask).
    assert counts == {"past_policy": 6, "in_pool": 1, "tasks_created": 4, "digests": 1}
    task = Task.objects.get(customer=book["key_stale"])
    assert task.title == "核实客户信息" and task.priority == "normal"
    assert task.due_at.date() == AS_OF + datetime.timedelta(days=7)


def test_a_second_run_creates_nothing_and_sends_no_second_digest(book, steward):
    freshness_audit(AS_OF)
    assert freshness_audit(AS_OF) == {
        "past_policy": 6, "in_pool": 1, "tasks_created": 0, "digests": 0
    }  # fmt: skip
    assert Task.objects.filter(source=TaskSource.FRESHNESS).count() == 4
    digest = Notification.objects.get(recipient=steward)
    assert digest.text == "数据新鲜度：6 位客户超出核实周期（公海中 1 位），新建核实任务 4 个。"
    assert digest.link == reverse("customers:list") + "?o=verified"


def test_the_database_refuses_a_second_open_verification_task(book, rep):
    freshness_audit(AS_OF)
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(
            title="再核实一次", customer=book["key_stale"], assignee=rep,
            due_at=timezone.now(), source=TaskSource.FRESHNESS,
        )  # fmt: skip


def test_verifying_on_the_customer_page_closes_the_task_and_the_next_audit_leaves_it(
    book, client, rep
):
    freshness_audit(AS_OF)
    customer = book["key_stale"]
    client.force_login(rep)
    response = client.post(reverse("customers:verify", args=[customer.pk]))
    assert response.status_code == 302
    task = Task.objects.get(customer=customer)
    assert task.done_at is not None and task.done_by == rep
    customer.refresh_from_db()
    assert customer.verified_by == rep and customer.verified_at >= task.created_at
    freshness_audit(timezone.localdate())
    assert not Task.objects.filter(customer=customer, done_at__isnull=True).exists()


def test_the_policy_is_the_admins_and_an_english_owner_gets_an_english_task(
    book, rep, client, admin_user
):
    rep.language = "en"
    rep.save(update_fields=["language"])
    client.force_login(admin_user)
    url = reverse("admin:customers_freshnesspolicy_change", args=[1])
    response = client.post(
        url, {"key_account_days": 120, "other_days": 0, "min_quality": 60, "task_due_days": 7}
    )
    assert response.status_code == 200 and "other_days" in response.context["adminform"].errors
    assert FreshnessPolicy.current().other_days == 365  # nothing written
    client.post(
        url, {"key_account_days": 120, "other_days": 365, "min_quality": 60, "task_due_days": 3}
    )
    assert FreshnessPolicy.current().key_account_days == 120
    job_run("freshness_audit", AS_OF)
    assert "甲大客户" not in _tasks()  # 100 days: within 120 now
    task = Task.objects.get(customer=book["never_old"])
    assert task.title == "Verify customer information"
    assert task.due_at.date() == AS_OF + datetime.timedelta(days=3)


def test_the_quality_page_gives_the_share_within_policy_per_rep_and_team(
    client, book, steward, rep, other_rep
):
    # The ORM's condition and the audit's SQL agree on every customer.
    from customers.freshness import within_policy

    end = timezone.make_aware(datetime.datetime.combine(AS_OF, datetime.time.max))
    within = set(
        Customer.objects.alive()
        .filter(within_policy(FreshnessPolicy.current(), end))
        .values_list("name", flat=True)
    )
    freshness_audit(AS_OF)
    asked = set(
        Task.objects.filter(source=TaskSource.FRESHNESS).values_list("customer__name", flat=True)
    )
    alive = set(Customer.objects.alive().values_list("name", flat=True))
    assert within == alive - asked - {"辛公司", "癸公司"}  # the pool's, the leaver's: nobody asked
    assert within == {"乙大客户", "丁公司", "己公司"}
    # On the page (today: the records were backdated from AS_OF, days ago).
    client.force_login(steward)
    page = client.get(reverse("customers:quality")).content.decode()
    rows = {
        row.owner.username if row.owner else "pool": row.fresh_share
        for row in client.get(reverse("customers:quality")).context["rows"]
    }
    assert rows["rep1"] == 40 and rows["rep2"] == 50 and rows["pool"] == 0  # 2/5, 1/2, 0/1
    assert 'data-testid="team-fresh-share"' in page
    teams = {team.team_name: team.fresh_share for team in client.get(
        reverse("customers:quality")).context["teams"]}  # fmt: skip
    assert teams[rep.team.name] == round(100 * 3 / 7)
    assert teams[None] == 0  # the pool on its own; the leaver (no team) apart
    assert teams[""] == 0


def test_each_steward_reads_the_digest_in_their_own_language(book, steward):
    from django.utils import translation

    steward.language = "en"
    steward.save(update_fields=["language"])
    with translation.override("zh-hans"):
        freshness_audit(AS_OF)
    digest = Notification.objects.get(recipient=steward)
    assert digest.text == (
        "Data freshness: 6 customers past the policy (1 in the pool), 4 new verification tasks."
    )
