"""The conflict check (查冲突): the answer per case, the audit of
each look-up, and the refusal to create a customer someone else holds."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crm.models import AuditAction, AuditEvent
from customers import ownership
from customers.conflict import conflict_check
from customers.models import Customer, OwnershipChange
from customers.services.records import customer_create

pytestmark = pytest.mark.django_db

CHECK = reverse("customers:check")


def states(matches) -> list[tuple[str, str]]:
    return [(m.state, m.number) for m in matches]


def test_each_case_gets_its_answer(rep, own_customer, pool_customer, colleague_customer):
    assert states(conflict_check(actor=rep, query="+86 137-0000-1111")) == [
        ("colleague", colleague_customer.number)
    ]
    (held,) = conflict_check(actor=rep, query="13700001111")
    assert held.owner == str(colleague_customer.owner) and held.name == "李＊"
    assert held.phones == ["137****1111"] and not held.visible
    assert states(conflict_check(actor=rep, query="WangFang@Example.com")) == [
        ("pool", pool_customer.number)
    ]
    assert states(conflict_check(actor=rep, query="张三")) == [("yours", own_customer.number)]
    assert conflict_check(actor=rep, query="没有这个人") == []


def test_a_company_is_found_by_its_name_in_any_case(rep, customer_make, far_rep):
    company = customer_make(far_rep, name="Acme Trading", kind="company")
    (match,) = conflict_check(actor=rep, query="  acme   trading ")
    assert (match.state, match.name, match.number) == ("colleague", "Acme Trading", company.number)
    assert match.team == str(far_rep.team)


def test_every_look_up_is_audited_without_the_raw_phone(rep, colleague_customer):
    conflict_check(actor=rep, query="13700001111")
    conflict_check(actor=rep, query="无此客户")
    first, second = AuditEvent.objects.filter(action=AuditAction.CONFLICT_CHECK).order_by("id")
    assert first.extra["query"] == "137****1111" and "13700001111" not in str(first.extra)
    assert first.extra["held_by_others"] == [colleague_customer.pk]
    assert (second.extra["query"], second.extra["matches"]) == ("无此客户", [])


def test_a_too_short_query_is_refused_next_to_the_field(client, rep):
    client.force_login(rep)
    response = client.post(CHECK, {"q": "a"})
    assert response.status_code == 200
    assert "q" in response.context["form"].errors
    assert not AuditEvent.objects.filter(action=AuditAction.CONFLICT_CHECK).exists()


def test_the_page_shows_a_colleagues_customer_masked_and_a_pool_one_with_a_claim_button(
    client, rep, colleague_customer, pool_customer
):
    client.force_login(rep)
    page = client.post(CHECK, {"q": "13700001111"}).content.decode()
    card = page.split('data-testid="conflict-result"', 1)[1].split("</form>")[0]
    assert 'data-state="colleague"' in card and str(colleague_customer.owner) in card
    assert "137****1111" in card and "13700001111" not in card  # only what was typed
    assert "李雷" not in page
    assert reverse("customers:detail", args=[colleague_customer.pk]) not in page
    page = client.post(CHECK, {"q": "13912345678"}).content.decode()
    assert 'data-state="pool"' in page and 'data-testid="conflict-claim"' in page
    page = client.post(CHECK, {"q": "没有这个人"}).content.decode()
    assert 'data-testid="conflict-none"' in page and reverse("customers:create") in page


def test_creating_a_colleagues_or_a_pool_customer_again_is_refused(
    rep, colleague_customer, pool_customer
):
    with pytest.raises(ValidationError) as caught:
        customer_create(actor=rep, data={"name": "李雷雷", "phones": "137 0000 1111"})
    assert caught.value.error_dict["phones"][0].code == "held"
    with pytest.raises(ValidationError) as caught:
        customer_create(actor=rep, data={"name": "王芳", "emails": "wangfang@example.com"})
    assert caught.value.error_dict["emails"][0].code == "in_pool"
    assert Customer.objects.count() == 2
    # Something nobody has is created as usual.
    assert customer_create(actor=rep, data={"name": "新客户", "phones": "13511112222"})


def test_the_form_shows_the_refusal_next_to_the_phone(client, rep, colleague_customer):
    client.force_login(rep)
    response = client.post(
        reverse("customers:create"), {"kind": "person", "name": "李雷", "phones": "13700001111",
                                       "source": "other"},
    )  # fmt: skip
    assert response.status_code == 200
    assert [e.code for e in response.context["form"].errors.as_data()["phones"]] == ["held"]


def test_a_manager_settles_a_dispute_by_transfer_recording_both_sides(
    manager, rep, other_rep, colleague_customer
):
    ownership.customers_assign(
        actor=manager, customer_ids=[colleague_customer.pk], owner=rep, note="查冲突：归李娜"
    )
    change = OwnershipChange.objects.filter(customer=colleague_customer).latest("id")
    assert (change.kind, change.from_user, change.to_user, change.note) == (
        "transfer", other_rep, rep, "查冲突：归李娜",
    )  # fmt: skip


def test_the_check_is_posted_so_a_phone_never_travels_in_the_address(
    client, rep, colleague_customer
):
    client.force_login(rep)
    page = client.get(CHECK, {"q": "13700001111"})
    assert page.context["matches"] is None  # a query in the address is not run
    assert not AuditEvent.objects.filter(action=AuditAction.CONFLICT_CHECK).exists()
    assert 'method="post"' in page.content.decode()


def test_a_rep_entering_one_of_their_own_customers_is_warned_and_offered_it(
    client, rep, own_customer
):
    client.force_login(rep)
    data = {"kind": "person", "name": "张三丰", "phones": "138 0013 8000", "source": "other"}
    response = client.post(reverse("customers:create"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert [m.customer_id for m in response.context["own_duplicates"]] == [own_customer.pk]
    assert reverse("customers:detail", args=[own_customer.pk]) in page
    assert "create_anyway" in page and Customer.objects.count() == 1
    created = client.post(reverse("customers:create"), {**data, "create_anyway": "on"})
    assert created.status_code == 302 and Customer.objects.count() == 2
