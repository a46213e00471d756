"""The one ownership service (claims, transfers, releases, locks and the bad input):
every path writes the ledger, the rules hold, and nothing else may move an owner."""

from __future__ import annotations

import datetime
import io
import re
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.utils import timezone

from crm.models import AuditAction, AuditEvent
from customers import ownership, pool_lock, pool_rules
from customers.merge import customers_merge, customers_unmerge
from customers.models import (
    Customer,
    OwnershipChange,
    OwnershipKind,
    PoolRule,
    Stage,
)
from kehu.tests.fixtures import pool_rules as rules

pytestmark = pytest.mark.django_db


def ledger(customer) -> list[tuple]:
    return [
        (c.kind, c.from_user_id, c.to_user_id, c.actor_id)
        for c in OwnershipChange.objects.filter(customer=customer).order_by("at", "id")
    ]


def code_of(caught) -> str:
    error = caught.value
    if hasattr(error, "error_dict"):
        return next(iter(error.error_dict.values()))[0].code
    return error.code


# --- every path writes the ledger ---------------------------------------------------


def test_creating_with_an_owner_starts_the_ledger_and_the_clock(own_customer, rep, steward):
    assert ledger(own_customer) == [(OwnershipKind.CREATE, None, rep.pk, steward.pk)]
    assert own_customer.owner_since is not None


def test_a_claim_takes_the_customer_and_a_second_claim_is_refused(pool_customer, rep, other_rep):
    assert ownership.customers_claim(actor=rep, customer_ids=[pool_customer.pk]) == 1
    with pytest.raises(ValidationError) as caught:
        ownership.customers_claim(actor=other_rep, customer_ids=[pool_customer.pk])
    assert caught.value.code == "taken"
    pool_customer.refresh_from_db()
    assert pool_customer.owner == rep and pool_customer.team == rep.team
    assert pool_customer.owner_since is not None and pool_customer.pool_since is None
    assert ledger(pool_customer) == [(OwnershipKind.CLAIM, None, rep.pk, rep.pk)]
    # A repeat click by the winner changes nothing.
    assert ownership.customers_claim(actor=rep, customer_ids=[pool_customer.pk]) == 0


def test_a_release_needs_a_reason_and_the_pool_remembers_who_held_it(own_customer, rep, reason):
    with pytest.raises(ValidationError) as caught:
        ownership.customers_release(actor=rep, customer_ids=[own_customer.pk], release_reason=None)
    assert code_of(caught) == "reason"
    own_customer.refresh_from_db()
    assert own_customer.owner == rep
    ownership.customers_release(
        actor=rep, customer_ids=[own_customer.pk], release_reason=reason, note="搬家了"
    )
    own_customer.refresh_from_db()
    assert own_customer.owner is None and own_customer.owner_since is None
    entry = own_customer.pool_entry
    assert (entry.kind, entry.from_user, entry.release_reason) == ("release", rep, reason)
    assert own_customer.pool_since == entry.at  # the pool page's order
    assert entry.reason_display() == f"{reason.name_zh} · 搬家了"
    (event,) = AuditEvent.objects.filter(target_id=str(own_customer.pk), extra__ownership="release")
    assert event.changes["owner"] == [f"{rep} ({rep.username})", None]


def test_nobody_releases_someone_elses_customer(colleague_customer, rep, reason):
    with pytest.raises(ValidationError) as caught:
        ownership.customers_release(
            actor=rep, customer_ids=[colleague_customer.pk], release_reason=reason
        )
    assert caught.value.code == "not_owner"
    colleague_customer.refresh_from_db()
    assert colleague_customer.owner is not None


def test_a_manager_assigns_and_transfers_with_a_note_recording_both_sides(
    manager, rep, other_rep, own_customer, pool_customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        moved = ownership.customers_assign(
            actor=manager,
            customer_ids=[own_customer.pk, pool_customer.pk],
            owner=other_rep,
            note="客户投诉后调整",
        )
    assert moved == 2
    assert ledger(pool_customer)[-1] == (OwnershipKind.ASSIGN, None, other_rep.pk, manager.pk)
    assert ledger(own_customer)[-1] == (OwnershipKind.TRANSFER, rep.pk, other_rep.pk, manager.pk)
    assert OwnershipChange.objects.filter(note="客户投诉后调整").count() == 2
    # The new owner hears of it.
    assert other_rep.notifications.filter(link=reverse_list()).exists()


def reverse_list() -> str:
    from django.urls import reverse

    return reverse("customers:list")


def test_a_transfer_to_a_deactivated_account_changes_nothing(manager, other_rep, own_customer):
    other_rep.is_active = False
    other_rep.save(update_fields=["is_active"])
    with pytest.raises(ValidationError) as caught:
        ownership.customers_assign(actor=manager, customer_ids=[own_customer.pk], owner=other_rep)
    assert code_of(caught) == "inactive"
    own_customer.refresh_from_db()
    assert own_customer.owner_id != other_rep.pk


def test_a_rep_may_not_assign(rep, other_rep, own_customer):
    with pytest.raises(ValidationError) as caught:
        ownership.customers_assign(actor=rep, customer_ids=[own_customer.pk], owner=other_rep)
    assert caught.value.code == "forbidden"


def test_the_edit_form_path_goes_through_the_service(manager, rep, other_rep, own_customer):
    from customers.services.records import customer_update

    customer_update(
        actor=manager,
        customer_id=own_customer.pk,
        data={"owner": other_rep, "owner_note": "轮岗", "name": "张三丰"},
        version=own_customer.version,
    )
    own_customer.refresh_from_db()
    assert own_customer.owner == other_rep and own_customer.name == "张三丰"
    assert ledger(own_customer)[-1] == (OwnershipKind.TRANSFER, rep.pk, other_rep.pk, manager.pk)
    with pytest.raises(ValidationError) as caught:  # to the pool needs a reason
        customer_update(
            actor=manager, customer_id=own_customer.pk, data={"owner": None},
            version=own_customer.version,
        )  # fmt: skip
    assert code_of(caught) == "reason"


def test_an_import_with_an_owner_writes_one_ledger_row_per_customer(admin_user, rep, tmp_path):
    path = Path(tmp_path) / "register.csv"
    path.write_text("姓名,手机\n钱七,13800001234\n孙八,13800005678\n", encoding="utf-8")
    call_command("import_customers", str(path), "--owner", rep.username, stdout=io.StringIO())
    imported = Customer.objects.filter(name__in=["钱七", "孙八"])
    assert imported.count() == 2
    for customer in imported:
        assert customer.owner == rep and customer.owner_since is not None
        assert ledger(customer) == [(OwnershipKind.IMPORT, None, rep.pk, admin_user.pk)]


def test_an_import_above_the_owners_cap_is_refused_whole(admin_user, rep, own_customer, tmp_path):
    rules(max_customers=2)
    path = Path(tmp_path) / "register.csv"
    path.write_text("姓名,手机\n钱七,13800001234\n孙八,13800005678\n", encoding="utf-8")
    with pytest.raises(CommandError, match="2"):
        call_command("import_customers", str(path), "--owner", rep.username, stdout=io.StringIO())
    assert not Customer.objects.filter(name__in=["钱七", "孙八"]).exists()


def test_a_merge_gives_a_pool_survivor_the_merged_records_owner_and_undo_returns_it(
    steward, rep, pool_customer, customer_make
):
    twin = customer_make(rep, name="王芳", emails="wf2@example.com")
    record = customers_merge(actor=steward, survivor_id=pool_customer.pk, merged_id=twin.pk)
    pool_customer.refresh_from_db()
    assert pool_customer.owner == rep
    assert ledger(pool_customer)[-1] == (OwnershipKind.MERGE, None, rep.pk, steward.pk)
    customers_unmerge(actor=steward, merge_id=record.pk)
    pool_customer.refresh_from_db()
    assert pool_customer.owner is None
    assert ledger(pool_customer)[-1] == (OwnershipKind.MERGE, rep.pk, None, steward.pk)


# --- the rules ----------------------------------------------------------------------


def test_the_cap_counts_won_customers_only_when_the_switch_says_so(
    rep, own_customer, pool_customer
):
    rules(max_customers=1, count_won=True)
    with pytest.raises(ValidationError) as caught:
        ownership.customers_claim(actor=rep, customer_ids=[pool_customer.pk])
    assert caught.value.code == "cap"
    Customer.objects.filter(pk=own_customer.pk).update(stage=Stage.ACTIVE)  # has bought
    rules(count_won=False)
    assert ownership.customers_claim(actor=rep, customer_ids=[pool_customer.pk]) == 1


def test_an_importance_row_caps_the_customers_of_its_level(rep, customer_make):
    PoolRule.objects.create(key_account=True, max_customers=1)
    customer_make(rep, name="大客户甲", is_key_account=True)
    ordinary = customer_make(None, name="普通乙")
    key = customer_make(None, name="大客户丙", is_key_account=True)
    assert ownership.customers_claim(actor=rep, customer_ids=[ordinary.pk]) == 1
    with pytest.raises(ValidationError) as caught:
        ownership.customers_claim(actor=rep, customer_ids=[key.pk])
    assert caught.value.code == "cap"


def test_a_team_row_overrides_the_company_default(rep, far_rep, customer_make, other_team):
    rules(max_customers=5)
    PoolRule.objects.create(team=other_team, max_customers=0)  # no limit for that team
    book = pool_rules.RuleBook()
    assert book.rules(rep.team_id, False).max_customers == 5
    assert book.rules(other_team.pk, False).max_customers == 0
    assert book.rules(other_team.pk, True).cooldown_days == 30  # the rest from the default


def test_the_daily_quota_holds_and_a_batch_is_all_or_nothing(rep, customer_make):
    rules(max_claims_per_day=1)
    first, second, third = (customer_make(None, name=n) for n in ("甲", "乙", "丙"))
    with pytest.raises(ValidationError) as caught:
        ownership.customers_claim(actor=rep, customer_ids=[first.pk, second.pk])
    assert caught.value.code == "quota"
    assert not Customer.objects.filter(owner=rep).exists()
    ownership.customers_claim(actor=rep, customer_ids=[first.pk])
    with pytest.raises(ValidationError) as caught:
        ownership.customers_claim(actor=rep, customer_ids=[third.pk])
    assert caught.value.code == "quota"


def test_the_previous_owner_waits_out_the_cool_down_even_through_a_manager(
    rep, other_rep, manager, own_customer, reason
):
    rules(cooldown_days=7)
    ownership.customers_release(actor=rep, customer_ids=[own_customer.pk], release_reason=reason)
    with pytest.raises(ValidationError) as caught:
        ownership.customers_claim(actor=rep, customer_ids=[own_customer.pk])
    assert caught.value.code == "cooldown"
    with pytest.raises(ValidationError) as caught:
        ownership.customers_assign(actor=manager, customer_ids=[own_customer.pk], owner=rep)
    assert caught.value.code == "cooldown"
    assert ownership.customers_claim(actor=other_rep, customer_ids=[own_customer.pk]) == 1
    # Eight days on, the cool-down is over.
    OwnershipChange.objects.filter(customer=own_customer).update(
        at=timezone.now() - datetime.timedelta(days=8)
    )
    assert ownership.customers_assign(actor=manager, customer_ids=[own_customer.pk], owner=rep)


def test_locking_has_its_own_cap(rep, other_rep, customer_make):
    rules(max_locked=1)
    first, second = customer_make(rep, name="甲"), customer_make(rep, name="乙")
    pool_lock.customer_lock(actor=rep, customer_id=first.pk)
    with pytest.raises(ValidationError) as caught:
        pool_lock.customer_lock(actor=rep, customer_id=second.pk)
    assert caught.value.code == "lock_cap"
    with pytest.raises(ValidationError) as caught:  # not the colleague's to lock
        pool_lock.customer_lock(actor=other_rep, customer_id=first.pk)
    assert caught.value.code == "forbidden"
    pool_lock.customer_lock(actor=rep, customer_id=first.pk, locked=False)
    pool_lock.customer_lock(actor=rep, customer_id=second.pk)
    second.refresh_from_db()
    assert second.locked_at is not None and second.locked_by == rep


@pytest.mark.parametrize("name", ["no_interaction_days", "cooldown_days", "warn_days"])
def test_a_rule_with_negative_days_is_refused(name):
    rule = PoolRule(team=None, key_account=True, **{name: -3})
    with pytest.raises(ValidationError) as caught:
        rule.full_clean()
    assert name in caught.value.error_dict


def test_the_company_default_needs_every_value_and_a_sane_protection():
    rule = PoolRule.objects.get(team=None, key_account=None)
    rule.warn_days = None
    with pytest.raises(ValidationError) as caught:
        rule.full_clean(validate_unique=False)
    assert "warn_days" in caught.value.error_dict
    rule.warn_days, rule.protection_days, rule.protection_max_days = 3, 10, 5
    with pytest.raises(ValidationError) as caught:
        rule.full_clean(validate_unique=False)
    assert "protection_max_days" in caught.value.error_dict


# --- nothing else moves an owner ------------------------------------------------------


def test_the_database_refuses_an_owner_change_from_anywhere_else(own_customer, other_rep):
    with pytest.raises(DatabaseError), transaction.atomic():
        Customer.objects.filter(pk=own_customer.pk).update(owner=other_rep)
    own_customer.refresh_from_db()
    assert own_customer.owner_id != other_rep.pk
    # Other columns stay writable as before.
    Customer.objects.filter(pk=own_customer.pk).update(notes="ok")


APPS = ("crm", "customers", "sales", "interactions", "feedback", "dashboards")
# Writing the owner: an assignment to it, an update() or a constructor naming it,
# an UPDATE … SET of the column, or a row of a bulk COPY that names it.
OWNER_WRITES = re.compile(
    r"""(\.owner(_id)?\s*=[^=])|(SET\s+owner_id)|(["']owner_id["']\s*:)"""
    r"""|((update|Customer|create)\([^)]*\bowner(_id)?\s*=[^=])"""
)


def test_no_code_but_the_ownership_service_writes_a_customers_owner():
    root = Path(__file__).resolve().parents[2]
    allowed = {root / "customers" / "ownership.py"}
    # Owners of other records that the function also mentions customers near.
    others = {
        ("sales/seed_pipeline.py", '"owner_id": owner_id,'),  # opportunities
        ("sales/seed_pipeline.py", '"owner_id": row["owner_id"],'),  # contracts
    }
    offenders = []
    for app in APPS:
        for path in (root / app).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts or path in allowed:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                where = str(path.relative_to(root))
                if (where, line.strip()) in others:
                    continue
                if OWNER_WRITES.search(code) and "Customer" in _context(path, number):
                    offenders.append(f"{where}:{number}: {line.strip()}")
    assert offenders == []


def _context(path: Path, number: int) -> str:
    """The function around a line: owner writes of other models (opportunities,
    contracts, segments) do not name Customer there."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = number - 1
    while start > 0 and not lines[start].startswith(("def ", "class ", "@")):
        start -= 1
    end = number
    while end < len(lines) and not lines[end].startswith(("def ", "class ", "@")):
        end += 1
    return "\n".join(lines[start:end])


# --- races on real PostgreSQL ------------------------------------------------------


def _at_once(*calls) -> list:
    """Run each call in its own thread and connection, released together."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except ValidationError as exc:
            results[index] = exc.code
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_reps_claiming_one_customer_at_once_leave_one_winner(rep, other_rep, customer_make):
    for round_ in range(5):
        customer = customer_make(None, name=f"抢手客户{round_}")
        results = _at_once(
            lambda c=customer: ownership.customers_claim(actor=rep, customer_ids=[c.pk]),
            lambda c=customer: ownership.customers_claim(actor=other_rep, customer_ids=[c.pk]),
        )
        assert sorted(results, key=str) == [1, "taken"]
        assert OwnershipChange.objects.filter(customer=customer, kind="claim").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_claims_cannot_pass_the_cap_or_the_quota(rep, customer_make):
    rules(max_customers=2)
    customers = [customer_make(None, name=f"客户{i}") for i in range(4)]
    results = _at_once(
        *(lambda c=c: ownership.customers_claim(actor=rep, customer_ids=[c.pk]) for c in customers)
    )
    assert sorted(results, key=str) == [1, 1, "cap", "cap"]
    assert Customer.objects.filter(owner=rep).count() == 2
    rules(max_customers=0, max_claims_per_day=3)  # two claimed today already
    more = [customer_make(None, name=f"新客户{i}") for i in range(3)]
    results = _at_once(
        *(lambda c=c: ownership.customers_claim(actor=rep, customer_ids=[c.pk]) for c in more)
    )
    assert sorted(results, key=str) == [1, "quota", "quota"]


def test_audit_events_name_each_path(own_customer, manager, other_rep):
    ownership.customers_assign(actor=manager, customer_ids=[own_customer.pk], owner=other_rep)
    event = AuditEvent.objects.filter(
        target_id=str(own_customer.pk), action=AuditAction.UPDATE
    ).latest("id")
    assert event.extra["ownership"] == "transfer"
