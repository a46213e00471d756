"""The rules behind every customer write: locking, soft delete, audit, bulk work."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from crm.models import AuditAction, AuditEvent
from customers import ownership
from customers.models import Collaborator, CollaboratorAccess, Customer, Stage, StageChange, Tag
from customers.selectors import customer_history, visible_customers
from customers.services import contacts, lifecycle, records


def _events(customer, action=None):
    events = customer_history(customer).order_by("created_at", "pk")
    return list(events.filter(action=action) if action else events)


def test_creating_audits_the_fields_with_phones_masked(rep, steward):
    customer = records.customer_create(
        actor=rep,
        data={"name": "张三", "phones": "13800138000", "emails": "zs@example.com", "tags": "VIP"},
    )
    assert customer.owner == rep and customer.team == rep.team
    assert customer.number.startswith("KH") and customer.version == 1
    (event,) = _events(customer, AuditAction.CREATE)
    assert event.actor == rep
    assert event.changes["name"] == [None, "张三"]
    assert event.changes["phones"] == [None, ["138****8000"]]
    assert event.changes["emails"] == [None, ["z***@example.com"]]
    assert event.changes["tags"] == [None, ["VIP"]]
    assert "13800138000" not in str(event.changes)


def test_a_rep_cannot_give_the_customer_away_on_create(rep, other_rep):
    customer = records.customer_create(actor=rep, data={"name": "张三", "owner": other_rep})
    assert customer.owner == rep


def test_a_manager_may_create_into_the_pool(manager):
    customer = records.customer_create(actor=manager, data={"name": "张三", "owner": None})
    assert customer.in_pool and customer.team is None


def test_a_taken_customer_number_is_refused(rep, own_customer):
    with pytest.raises(ValidationError) as caught:
        records.customer_create(actor=rep, data={"name": "李四", "number": own_customer.number})
    assert caught.value.error_dict["number"][0].code == "duplicate_number"
    assert Customer.objects.filter(name="李四").count() == 0


def test_the_same_uscc_twice_is_refused(rep):
    data = {"name": "福州某公司", "kind": "company", "uscc": "91350100M000100Y43"}
    records.customer_create(actor=rep, data=data)
    with pytest.raises(ValidationError) as caught:
        records.customer_create(actor=rep, data={**data, "name": "另一家"})
    assert caught.value.error_dict["uscc"][0].code == "duplicate_uscc"


def test_the_second_of_two_edits_is_refused_and_told_what_changed(rep, manager, own_customer):
    opened_at = own_customer.version
    records.customer_update(
        actor=manager,
        customer_id=own_customer.pk,
        data={"needs": "年底采购", "industry": "it"},
        version=opened_at,
    )
    with pytest.raises(records.CustomerConflict) as caught:
        records.customer_update(
            actor=rep, customer_id=own_customer.pk, data={"needs": "试用"}, version=opened_at
        )
    conflict = caught.value
    assert conflict.code == "stale"
    assert set(conflict.changed) == {"needs", "industry"}
    assert conflict.changed["needs"] == ["王经理"]
    own_customer.refresh_from_db()
    assert own_customer.needs == "年底采购"  # the first save stands, nothing half-written
    # Saving again on the version the conflict showed goes through.
    records.customer_update(
        actor=rep,
        customer_id=own_customer.pk,
        data={"needs": "试用"},
        version=conflict.customer.version,
    )
    own_customer.refresh_from_db()
    assert own_customer.needs == "试用" and own_customer.version == opened_at + 2


def test_an_edit_that_changes_nothing_keeps_the_version(rep, own_customer):
    records.customer_update(
        actor=rep, customer_id=own_customer.pk, data={"name": "张三"}, version=1
    )
    own_customer.refresh_from_db()
    assert own_customer.version == 1
    assert _events(own_customer, AuditAction.UPDATE) == []


def test_a_bad_edit_writes_nothing(rep, own_customer):
    with pytest.raises(ValidationError):
        records.customer_update(
            actor=rep,
            customer_id=own_customer.pk,
            data={"needs": "新需求", "phones": "not a phone"},
            version=1,
        )
    own_customer.refresh_from_db()
    assert own_customer.needs == "" and own_customer.version == 1
    assert [p.number for p in own_customer.phones.all()] == ["+8613800138000"]


def test_the_stage_follows_the_purchases_and_cannot_be_typed(rep, own_customer):
    history = StageChange.objects.filter(customer=own_customer).count()
    records.customer_update(
        actor=rep, customer_id=own_customer.pk, data={"stage": Stage.AT_RISK}, version=1
    )
    own_customer.refresh_from_db()
    assert own_customer.stage == Stage.LEAD and own_customer.version == 1
    assert StageChange.objects.filter(customer=own_customer).count() == history


def test_renaming_keeps_the_search_columns_in_step(rep, own_customer):
    records.customer_update(
        actor=rep, customer_id=own_customer.pk, data={"name": "王芳"}, version=1
    )
    own_customer.refresh_from_db()
    assert own_customer.name_pinyin == "wangfang" and own_customer.name_initials == "wf"
    assert "王芳" in own_customer.search_grams and "张三" not in own_customer.search_grams


def test_updates_audit_changed_fields_only(rep, own_customer):
    records.customer_update(
        actor=rep,
        customer_id=own_customer.pk,
        data={"name": "张三", "phones": "13911112222", "needs": "报价"},
        version=1,
    )
    (event,) = _events(own_customer, AuditAction.UPDATE)
    assert set(event.changes) == {"phones", "needs"}
    assert event.changes["phones"] == [["138****8000"], ["139****2222"]]
    assert event.extra["version"] == 2


def test_soft_delete_hides_and_restore_brings_back(rep, steward, own_customer):
    lifecycle.customer_delete(actor=rep, customer_id=own_customer.pk)
    assert not visible_customers(rep).filter(pk=own_customer.pk).exists()
    assert not visible_customers(steward).filter(pk=own_customer.pk).exists()
    assert Customer.objects.filter(pk=own_customer.pk).exists()  # nothing erased
    with pytest.raises(ValidationError) as caught:
        lifecycle.customer_restore(actor=rep, customer_id=own_customer.pk)
    assert caught.value.code == "forbidden"
    lifecycle.customer_restore(actor=steward, customer_id=own_customer.pk)
    assert visible_customers(rep).filter(pk=own_customer.pk).exists()
    actions = [event.action for event in _events(own_customer)]
    assert actions == [AuditAction.CREATE, AuditAction.DELETE, AuditAction.RESTORE]


def test_a_deleted_customer_cannot_be_edited(rep, own_customer):
    lifecycle.customer_delete(actor=rep, customer_id=own_customer.pk)
    with pytest.raises(ValidationError) as caught:
        records.customer_update(
            actor=rep, customer_id=own_customer.pk, data={"needs": "x"}, version=2
        )
    assert caught.value.code == "forbidden"


def test_restoring_a_uscc_that_is_taken_again_is_refused(rep, steward):
    data = {"name": "福州某公司", "kind": "company", "uscc": "91350100M000100Y43"}
    first = records.customer_create(actor=rep, data=data)
    lifecycle.customer_delete(actor=rep, customer_id=first.pk)
    records.customer_create(actor=rep, data={**data, "name": "福州某公司（新）"})
    with pytest.raises(ValidationError) as caught:
        lifecycle.customer_restore(actor=steward, customer_id=first.pk)
    assert caught.value.error_dict["uscc"][0].code == "duplicate_uscc"


def test_reveal_is_audited_for_those_who_do_not_own(rep, manager, steward, colleague_customer):
    records.customer_reveal(actor=manager, customer=colleague_customer)
    (event,) = _events(colleague_customer, AuditAction.VIEW_SENSITIVE)
    assert event.actor == manager and event.extra["reason"] == "reveal"
    with pytest.raises(ValidationError):
        records.customer_reveal(actor=rep, customer=colleague_customer)


def test_the_owner_reading_their_own_customer_is_not_an_event(other_rep, colleague_customer):
    records.customer_reveal(actor=other_rep, customer=colleague_customer)
    assert _events(colleague_customer, AuditAction.VIEW_SENSITIVE) == []


def test_bulk_owner_change_is_all_or_nothing(
    manager, rep, own_customer, far_customer, pool_customer
):
    with pytest.raises(ValidationError) as caught:
        ownership.customers_assign(
            actor=manager, customer_ids=[pool_customer.pk, far_customer.pk], owner=rep
        )
    assert caught.value.code == "forbidden"
    pool_customer.refresh_from_db()
    assert pool_customer.in_pool  # nothing changed half
    count = ownership.customers_assign(
        actor=manager, customer_ids=[own_customer.pk, pool_customer.pk], owner=rep
    )
    assert count == 1  # own_customer already belonged to rep
    pool_customer.refresh_from_db()
    assert pool_customer.owner == rep and pool_customer.team == rep.team
    (event,) = _events(pool_customer, AuditAction.UPDATE)
    assert event.changes["owner"] == [None, f"{rep} ({rep.username})"]


def test_a_rep_cannot_reassign(rep, other_rep, own_customer):
    with pytest.raises(ValidationError) as caught:
        ownership.customers_assign(actor=rep, customer_ids=[own_customer.pk], owner=other_rep)
    assert caught.value.code == "forbidden"


def test_bulk_tagging_adds_and_removes(rep, own_customer, customer_make):
    second = customer_make(rep, name="李四")
    assert (
        records.customers_tag(
            actor=rep, customer_ids=[own_customer.pk, second.pk], tag_name="待回访"
        )
        == 2
    )
    tag = Tag.objects.get(name="待回访")
    assert set(tag.customers.all()) == {own_customer, second}
    assert (
        records.customers_tag(actor=rep, customer_ids=[second.pk], tag_name="待回访", remove=True)
        == 1
    )
    assert set(tag.customers.all()) == {own_customer}


def test_bulk_tagging_refuses_markup(rep, own_customer):
    with pytest.raises(ValidationError) as caught:
        records.customers_tag(actor=rep, customer_ids=[own_customer.pk], tag_name="<i>x</i>")
    assert caught.value.error_dict["tag"][0].code == "invalid_tag"
    assert not Tag.objects.exists()


def test_contacts_keep_one_primary(rep, customer_make):
    company = customer_make(rep, name="华为技术有限公司", kind="company")
    first = contacts.contact_save(
        actor=rep,
        customer_id=company.pk,
        data={"name": "李经理", "phones": "13800138001", "is_primary": True},
    )
    second = contacts.contact_save(
        actor=rep, customer_id=company.pk, data={"name": "王总", "is_primary": True}
    )
    first.refresh_from_db()
    assert not first.is_primary and second.is_primary
    assert [p.number for p in first.phones.all()] == ["+8613800138001"]


def test_a_read_collaborator_sees_but_cannot_edit(rep, other_rep, customer_make):
    customer = customer_make(rep, name="周杰")
    assert not visible_customers(other_rep).filter(pk=customer.pk).exists()
    contacts.collaborator_add(
        actor=rep, customer_id=customer.pk, user=other_rep, access=CollaboratorAccess.READ
    )
    assert visible_customers(other_rep).filter(pk=customer.pk).exists()
    with pytest.raises(ValidationError):
        records.customer_update(
            actor=other_rep, customer_id=customer.pk, data={"needs": "x"}, version=1
        )
    Collaborator.objects.filter(user=other_rep).update(access=CollaboratorAccess.EDIT)
    records.customer_update(
        actor=other_rep, customer_id=customer.pk, data={"needs": "x"}, version=1
    )
    assert AuditEvent.objects.filter(actor=other_rep, action=AuditAction.UPDATE).exists()


def test_collaborators_come_from_the_actors_own_people(rep, far_rep, own_customer):
    with pytest.raises(ValidationError) as caught:
        contacts.collaborator_add(actor=rep, customer_id=own_customer.pk, user=far_rep)
    assert "user" in caught.value.error_dict


def test_only_allowed_roles_set_the_financial_profile(rep, manager, own_customer):
    with pytest.raises(ValidationError) as caught:
        records.customer_update(
            actor=rep,
            customer_id=own_customer.pk,
            data={"financial_status": "sound"},
            version=1,
        )
    assert caught.value.code == "forbidden_financial"
    records.customer_update(
        actor=manager, customer_id=own_customer.pk, data={"financial_status": "sound"}, version=1
    )
    own_customer.refresh_from_db()
    assert own_customer.financial_status == "sound"
