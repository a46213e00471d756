"""Duplicates: found with the reason, merged keeping every record, undone by a steward."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from crm.models import AuditAction, AuditEvent
from customers.merge import customers_merge, customers_unmerge, duplicate_pairs
from customers.models import Contact, Customer, CustomerMerge, StageChange
from customers.services.contacts import contact_save
from customers.services.records import customer_update
from kehu.tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(customer_make, rep, other_rep):
    first = customer_make(
        rep, name="张伟", phones="13800138000", company="", tags="VIP", needs="报价单"
    )
    second = customer_make(
        other_rep,
        kind="company",
        name="张伟",
        phones="+86 138-0013-8000; 13900001111",
        emails="zw@example.com",
        company="云帆贸易",
        tags="华东",
        street="世纪大道100号",
    )
    return first, second


def test_finder_lists_the_pair_with_its_reason(steward, twins, customer_make):
    customer_make(None, name="无关", phones="13700000000")
    with translation.override("en"):
        pairs = duplicate_pairs(steward)
    assert [(p.first.pk, p.second.pk) for p in pairs] == [(twins[0].pk, twins[1].pk)]
    assert pairs[0].reasons == ["same phone"]


def test_only_stewards_merge(rep, twins):
    with pytest.raises(ValidationError):
        customers_merge(actor=rep, survivor_id=twins[0].pk, merged_id=twins[1].pk)


def test_merge_keeps_every_record_and_undo_restores_both(steward, twins):
    keep, other = twins
    contact_save(actor=steward, customer_id=other.pk, data={"name": "王秘书"})
    stages_before = StageChange.objects.filter(customer=other).count()
    record = customers_merge(
        actor=steward, survivor_id=keep.pk, merged_id=other.pk, take={"company": True}
    )
    keep.refresh_from_db()
    other.refresh_from_db()
    assert other.deleted_at is not None and other.merged_into == keep
    assert keep.company == "云帆贸易" and keep.street == "世纪大道100号"  # filled
    assert keep.needs == "报价单"
    assert sorted(t.name for t in keep.tags.all()) == ["VIP", "华东"]
    # The shared phone stays once; the other phone, the e-mail and the contact move.
    assert sorted(p.number for p in keep.phones.all()) == ["+8613800138000", "+8613900001111"]
    assert [e.address for e in keep.emails.all()] == ["zw@example.com"]
    assert Contact.objects.get(name="王秘书").customer == keep
    assert StageChange.objects.filter(customer=keep).count() == 1 + stages_before
    assert AuditEvent.objects.filter(action=AuditAction.MERGE).count() == 2
    assert duplicate_pairs(steward) == []

    customers_unmerge(actor=steward, merge_id=record.pk)
    keep.refresh_from_db()
    other.refresh_from_db()
    assert other.deleted_at is None and other.merged_into is None
    assert keep.company == "" and keep.street == ""
    assert sorted(t.name for t in keep.tags.all()) == ["VIP"]
    assert [p.number for p in keep.phones.all()] == ["+8613800138000"]
    assert sorted(p.number for p in other.phones.all()) == ["+8613800138000", "+8613900001111"]
    assert Contact.objects.get(name="王秘书").customer == other
    assert AuditEvent.objects.filter(action=AuditAction.UNMERGE).count() == 2
    record.refresh_from_db()
    assert record.undone_by == steward
    with pytest.raises(ValidationError):
        customers_unmerge(actor=steward, merge_id=record.pk)


def test_undo_keeps_a_change_made_after_the_merge(steward, twins):
    keep, other = twins
    record = customers_merge(actor=steward, survivor_id=keep.pk, merged_id=other.pk)
    keep.refresh_from_db()
    customer_update(
        actor=steward, customer_id=keep.pk, data={"company": "新公司"}, version=keep.version
    )
    customers_unmerge(actor=steward, merge_id=record.pk)
    keep.refresh_from_db()
    assert keep.company == "新公司"


def test_merge_pages_for_a_steward(client, steward, twins):
    keep, other = twins
    assert client.login(username="steward", password=PASSWORD)
    page = client.get(reverse("customers:duplicates"))
    assert "duplicate-pairs" in page.content.decode()
    assert len(page.context["pairs"]) == 1
    form = client.get(reverse("customers:merge"), {"keep": keep.pk, "other": other.pk})
    assert form.status_code == 200
    response = client.post(
        reverse("customers:merge"),
        {"keep": keep.pk, "other": other.pk, "take_company": "other"},
    )
    assert response.status_code == 302
    assert Customer.objects.get(pk=other.pk).merged_into_id == keep.pk
    record = CustomerMerge.objects.get()
    client.post(reverse("customers:unmerge", args=[record.pk]))
    assert Customer.objects.alive().filter(pk=other.pk).exists()
    client.post(reverse("customers:dismiss"), {"first": keep.pk, "second": other.pk})
    assert client.get(reverse("customers:duplicates")).context["pairs"] == []


def test_reps_do_not_reach_the_duplicate_pages(client, rep, twins):
    assert client.login(username="rep1", password=PASSWORD)
    assert client.get(reverse("customers:duplicates")).status_code == 403


def test_quality_page_and_list_filter(client, steward, customer_make, rep):
    full = customer_make(
        rep, name="周全", phones="13800138000", emails="a@example.com", province="上海市",
        city="上海市", district="浦东新区", street="世纪大道1号", gender="male",
        birth_date="1990-01-01", source="website", company="云帆",
    )  # fmt: skip
    thin = customer_make(rep, name="张三")
    full.refresh_from_db()
    thin.refresh_from_db()
    assert full.quality == 100 and thin.quality == 15
    assert client.login(username="steward", password=PASSWORD)
    page = client.get(reverse("customers:quality"))
    row = page.context["rows"][0]
    assert row.customers == 2 and row.poor == 1 and row.good == 1
    listed = client.get(reverse("customers:list"), {"quality": "poor"})
    assert [c.pk for c in listed.context["object_list"]] == [thin.pk]
    detail = client.get(reverse("customers:detail", args=[thin.pk]))
    assert "quality-missing" in detail.content.decode()


def test_undo_after_the_survivors_phones_were_edited(steward, twins):
    keep, other = twins
    record = customers_merge(actor=steward, survivor_id=keep.pk, merged_id=other.pk)
    keep.refresh_from_db()
    # The edit form replaces the phone rows (new ids), keeping both numbers.
    customer_update(
        actor=steward,
        customer_id=keep.pk,
        data={"phones": "13800138000; 13900001111; 13700002222"},
        version=keep.version,
    )
    customers_unmerge(actor=steward, merge_id=record.pk)
    back = Customer.objects.get(pk=other.pk)
    assert sorted(p.number for p in back.phones.all()) == ["+8613800138000", "+8613900001111"]
    assert sorted(p.number for p in keep.phones.all()) == ["+8613700002222", "+8613800138000"]


def test_two_companies_with_primary_contacts_merge_and_undo(steward, customer_make):
    first = customer_make(None, kind="company", name="云帆贸易", phones="13800138000")
    second = customer_make(None, kind="company", name="云帆贸易有限公司", phones="13800138000")
    contact_save(actor=steward, customer_id=first.pk, data={"name": "甲", "is_primary": True})
    contact_save(actor=steward, customer_id=second.pk, data={"name": "乙", "is_primary": True})
    record = customers_merge(actor=steward, survivor_id=first.pk, merged_id=second.pk)
    assert list(first.contacts.filter(is_primary=True).values_list("name", flat=True)) == ["甲"]
    assert first.contacts.count() == 2
    customers_unmerge(actor=steward, merge_id=record.pk)
    assert (
        Contact.objects.get(name="乙").is_primary
        and Contact.objects.get(name="乙").customer == second
    )
