"""COPY writes: awkward values arrive intact, the pipeline belongs to the caller's
transaction and reports a failed batch, and blind indexes carry one plain index."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from crm.bulkcopy import CopyPipeline, copy_insert, ids_reserve
from crm.fields import blind_index
from crm.models import AuditAction, AuditEvent
from customers.models import Customer, CustomerPhone, StageChange

pytestmark = pytest.mark.django_db

BRAND = 't\tb\\s"q"\n{x},y'
AWKWARD = 'tab\there, new\nline, cr\r, back\\slash, "quoted", 引号「」, {brace}, a,b'


def test_awkward_text_arrays_json_dates_and_encrypted_values_arrive_intact(steward):
    now = timezone.now()
    row = {
        "number": "KHCOPY0001",
        "name": AWKWARD,
        "name_pinyin": "awkward",
        "name_initials": "a",
        "search_grams": ["\\", '"', "a,b", "{", "王"],
        "preferred_brands": [BRAND, ""],
        "birth_date": datetime.date(1990, 3, 5),
        "street": AWKWARD,  # encrypted at rest
        "is_key_account": True,
        "created_by_id": steward.pk,
        "created_at": now,
        "updated_at": now,
        "stage_changed_at": now,
        "verified_at": None,
    }
    copy_insert(Customer, [row])
    customer = Customer.objects.get(pk=row["id"])
    assert customer.name == AWKWARD
    assert customer.search_grams == ["\\", '"', "a,b", "{", "王"]
    assert customer.preferred_brands == [BRAND, ""]
    assert customer.birth_date == datetime.date(1990, 3, 5)
    assert customer.street == AWKWARD
    assert customer.is_key_account is True
    assert customer.verified_at is None
    assert customer.created_at == now
    with connection.cursor() as cursor:
        cursor.execute("SELECT street FROM customers_customer WHERE id = %s", [customer.pk])
        assert "back" not in cursor.fetchone()[0]  # ciphertext in the table

    copy_insert(
        AuditEvent,
        [
            {"actor_id": steward.pk, "actor_repr": "steward", "action": AuditAction.CREATE,
             "target_id": str(customer.pk), "target_repr": AWKWARD,
             "changes": {"name": [None, AWKWARD]}, "extra": {"n": 1}, "created_at": now}
        ],
        ids=False,
    )  # fmt: skip
    event = AuditEvent.objects.get(target_id=str(customer.pk))
    assert event.changes == {"name": [None, AWKWARD]}
    assert event.target_repr == AWKWARD


def _customer(number: str, user) -> dict:
    now = timezone.now()
    return {"number": number, "name": number, "created_by_id": user.pk, "created_at": now,
            "updated_at": now, "stage_changed_at": now}  # fmt: skip


def test_pipeline_writes_inside_the_callers_transaction(steward):
    rows = [_customer(f"KHPIPE{i:04d}", steward) for i in range(3)]
    for row, pk in zip(rows, ids_reserve(Customer, len(rows)), strict=True):
        row["id"] = pk
    with transaction.atomic():
        with CopyPipeline() as pipeline:
            pipeline.send(Customer, rows)
            pipeline.send(
                StageChange,
                [{"customer_id": r["id"], "to_stage": "lead", "changed_at": timezone.now()}
                 for r in rows],
                ids=False,
            )  # fmt: skip
        assert Customer.objects.filter(number__startswith="KHPIPE").count() == 3
        transaction.set_rollback(True)
    assert not Customer.objects.filter(number__startswith="KHPIPE").exists()


def test_a_failed_batch_is_raised_as_a_database_error_and_nothing_stays(steward):
    first, clash = _customer("KHDUP0001", steward), _customer("KHDUP0001", steward)
    for row, pk in zip((first, clash), ids_reserve(Customer, 2), strict=True):
        row["id"] = pk
    with pytest.raises(IntegrityError), transaction.atomic(), CopyPipeline() as pipeline:
        pipeline.send(Customer, [first])
        pipeline.send(Customer, [clash])  # the same number: refused by PostgreSQL
    assert not Customer.objects.filter(number="KHDUP0001").exists()
    assert Customer.objects.count() == 0  # and the connection is usable again


def test_while_the_pipeline_runs_the_connection_refuses_other_queries(steward):
    row = _customer("KHBUSY", steward)
    row["id"] = ids_reserve(Customer, 1)[0]
    with transaction.atomic():
        pipeline = CopyPipeline()
        pipeline.send(Customer, [row])
        with pytest.raises(RuntimeError, match="busy"):
            Customer.objects.count()  # would interleave with the COPY on the wire
        pipeline.finish()
        assert Customer.objects.filter(number="KHBUSY").exists()  # free again
        with pytest.raises(RuntimeError, match="finished"):
            pipeline.send(Customer, [row])
        transaction.set_rollback(True)


def test_a_failure_stays_and_the_rest_of_the_queue_is_dropped(steward):
    rows = [_customer("KHSTICKY", steward) for _ in range(3)]  # the same number thrice
    for row, pk in zip(rows, ids_reserve(Customer, 3), strict=True):
        row["id"] = pk
    with transaction.atomic():
        pipeline = CopyPipeline()
        pipeline.send(Customer, rows[:1])
        pipeline.send(Customer, rows[1:2])
        with pytest.raises(IntegrityError):
            pipeline.finish()
        with pytest.raises(IntegrityError):  # the same failure again, not another one
            pipeline.finish()
        transaction.set_rollback(True)


def test_pipeline_refuses_rows_without_reserved_ids(steward):
    with transaction.atomic(), CopyPipeline() as pipeline, pytest.raises(ValueError):
        pipeline.send(Customer, [_customer("KHNOID", steward)])


def test_blind_indexes_have_one_plain_index_and_no_like_twin(steward):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
            "AND indexdef ~ '\\((number_index|address_index|mobile_index)'",
            [["customers_customerphone", "customers_customeremail", "crm_user"]],
        )
        found = cursor.fetchall()
    assert sorted(table for table, _ in found) == [
        "crm_user", "customers_customeremail", "customers_customerphone"
    ]  # fmt: skip
    assert not any("pattern_ops" in definition for _, definition in found)
    # and the exact-match lookups still use it
    customer = Customer.objects.create(number="KHIDX1", name="x", created_by=steward)
    CustomerPhone.objects.create(
        customer=customer, number="+8613800138000", number_index=blind_index("+8613800138000")
    )
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM customers_customerphone WHERE number_index = %s",
            [blind_index("+8613800138000")],
        )
        plan = " ".join(line for (line,) in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "customers_phone_index_idx" in plan
