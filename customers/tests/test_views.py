"""The customer pages as a user meets them: forms, errors, conflicts, bulk work."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, Tag
from customers.services import contacts, records
from kehu.tests.fixtures import edit_form_data

CREATE = reverse("customers:create")


def _create_data(**changes) -> dict:
    data = {"kind": "person", "name": "张三", "source": "website", "stage": "lead"}
    data.update(changes)
    return data


def test_a_rep_creates_a_customer_and_lands_on_its_page(client, rep):
    client.force_login(rep)
    response = client.post(
        CREATE, _create_data(phones="138-0013-8000", street="北京市朝阳区建国路88号", tags="VIP")
    )
    customer = Customer.objects.get()
    assert response.status_code == 302 and response.url == customer.get_absolute_url()
    assert customer.owner == rep and customer.city == "北京市" and customer.district == "朝阳区"
    page = client.get(response.url).content.decode()
    assert customer.number in page and "VIP" in page and "+86 138 0013 8000" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"phones": "1380013"}, "phones", "1380013"),
        ({"emails": "zhang@@example"}, "emails", "zhang@@example"),
        ({"birth_date": "2999-01-01"}, "birth_date", "A birth date cannot be in the future."),
        ({"name": "张" * 101}, "name", "at most 100 characters (it has 101)"),
        ({"tags": "<script>x</script>"}, "tags", "a tag is plain text"),
        ({"kind": "company", "uscc": "91350100M000100Y44"}, "uscc", "check"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_saved(
    client, rep, changes, field, message
):
    rep.language = "en"
    rep.save(update_fields=["language"])
    client.force_login(rep)
    response = client.post(CREATE, _create_data(**changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower()
    assert f'id="error_1_id_{field}"' in response.content.decode() or "invalid-feedback" in (
        response.content.decode()
    )
    assert not Customer.objects.exists()


def test_errors_come_in_chinese_for_a_chinese_user(client, rep):
    client.force_login(rep)
    response = client.post(CREATE, _create_data(birth_date="2999-01-01"))
    assert "出生日期" in " ".join(response.context["form"].errors["birth_date"])


def test_a_duplicate_customer_number_is_refused_on_its_field(client, steward, own_customer):
    client.force_login(steward)
    response = client.post(CREATE, _create_data(number=own_customer.number))
    assert "number" in response.context["form"].errors
    assert Customer.objects.count() == 1


def test_the_second_editor_sees_what_changed_and_keeps_their_input(
    client, rep, manager, own_customer
):
    client.force_login(rep)
    mine = edit_form_data(own_customer, needs="我的修改")
    # …meanwhile the manager saves the same customer.
    records.customer_update(
        actor=manager, customer_id=own_customer.pk, data={"needs": "经理的修改"}, version=1
    )
    response = client.post(reverse("customers:update", args=[own_customer.pk]), mine)
    assert response.status_code == 200
    page = response.content.decode()
    assert "经理的修改" in page and "我的修改" in page  # theirs beside mine
    assert "王经理" in page
    own_customer.refresh_from_db()
    assert own_customer.needs == "经理的修改"
    # Saving the form again applies the user's value on top.
    again = response.context["form"].data
    response = client.post(reverse("customers:update", args=[own_customer.pk]), again)
    assert response.status_code == 302
    own_customer.refresh_from_db()
    assert own_customer.needs == "我的修改" and own_customer.version == 3


def test_verify_stamps_the_record(client, rep, own_customer):
    client.force_login(rep)
    client.post(reverse("customers:verify", args=[own_customer.pk]))
    own_customer.refresh_from_db()
    assert own_customer.verified_by == rep
    assert timezone.now() - own_customer.verified_at < datetime.timedelta(minutes=1)


def test_a_steward_restores_from_recently_deleted(client, rep, steward, own_customer):
    client.force_login(rep)
    client.post(reverse("customers:delete", args=[own_customer.pk]))
    client.force_login(steward)
    page = client.get(reverse("customers:deleted")).content.decode()
    assert own_customer.number in page
    response = client.post(reverse("customers:restore", args=[own_customer.pk]))
    assert response.status_code == 302
    own_customer.refresh_from_db()
    assert not own_customer.is_deleted


def test_bulk_assign_and_tag_from_the_list(client, manager, rep, pool_customer, colleague_customer):
    client.force_login(manager)
    ids = [pool_customer.pk, colleague_customer.pk]
    response = client.post(
        reverse("customers:bulk"), {"ids": ids, "action": "assign", "owner": rep.pk}, follow=True
    )
    (message,) = response.context["messages"]
    assert "2" in str(message)
    assert set(Customer.objects.filter(pk__in=ids).values_list("owner", flat=True)) == {rep.pk}
    client.post(reverse("customers:bulk"), {"ids": ids, "action": "tag_add", "tag": "展会获客"})
    assert Tag.objects.get(name="展会获客").customers.count() == 2


def test_bulk_with_a_bad_tag_explains_and_changes_nothing(client, rep, own_customer):
    client.force_login(rep)
    response = client.post(
        reverse("customers:bulk"),
        {"ids": [own_customer.pk], "action": "tag_add", "tag": "<b>"},
        follow=True,
    )
    (message,) = response.context["messages"]
    assert "纯文本" in str(message)
    assert not Tag.objects.exists()


def test_a_contact_is_added_inline(client, rep, customer_make):
    company = customer_make(rep, name="华为技术有限公司", kind="company")
    client.force_login(rep)
    url = reverse("customers:contact_create", args=[company.pk])
    htmx = {"HX-Request": "true"}
    response = client.post(url, {"name": "", "phones": "123"}, headers=htmx)
    page = response.content.decode()
    assert response.status_code == 200 and "<html" not in page  # just the form, with errors
    assert 'id="error_1_id_name"' in page
    assert not company.contacts.exists()
    data = {"name": "李经理", "phones": "13800138001", "is_primary": "on"}
    response = client.post(url, data, headers=htmx)
    assert response["HX-Redirect"].endswith("#contacts")
    page = client.get(company.get_absolute_url()).content.decode()
    assert "李经理" in page and "+86 138 0013 8001" in page


def test_the_list_filters_by_owner_stage_and_tag(client, rep, own_customer, pool_customer):
    records.customers_tag(actor=rep, customer_ids=[own_customer.pk], tag_name="VIP")
    client.force_login(rep)

    def shown(**params):
        response = client.get(reverse("customers:list"), params)
        return [c.name for c in response.context["object_list"]]

    assert shown(owner="me") == ["张三"]
    assert shown(owner="pool") == ["王芳"]
    assert shown(tags=Tag.objects.get().pk) == ["张三"]
    assert shown(stage="active") == []
    assert shown(sort="-name") == ["张三", "王芳"]
    assert shown() == ["王芳", "张三"]  # pinyin order: wang before zhang


def test_the_list_answers_htmx_with_the_results_only(client, rep, own_customer):
    client.force_login(rep)
    response = client.get(reverse("customers:list"), {"q": "张"}, headers={"HX-Request": "true"})
    assert b"<html" not in response.content and own_customer.number.encode() in response.content


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def test_the_list_page_takes_a_fixed_handful_of_queries(client, manager, customer_make, rep):
    client.force_login(manager)
    customer_make(rep, name="甲", phones="13800000001", tags="VIP")
    client.get(reverse("customers:list"))  # warm the per-session caches
    few = _queries(client, reverse("customers:list"))
    for index in range(30):
        customer_make(rep, name=f"客户{index}", phones=f"1380000{index:04d}", tags="VIP, 老客户")
    many = _queries(client, reverse("customers:list"))
    # 2 of them the page's recycle clocks (the rules, the clock), 1 the source channels
    assert few == many < 18


def test_the_360_page_takes_the_same_queries_whatever_the_data(
    client, manager, rep, other_rep, customer_make, django_assert_max_num_queries
):
    small = customer_make(rep, name="小客户", kind="company")
    big = customer_make(rep, name="大客户", kind="company", phones="13800000001, 13800000002")
    for index in range(5):
        contacts.contact_save(
            actor=rep,
            customer_id=big.pk,
            data={"name": f"联系人{index}", "phones": f"1390000000{index}", "emails": "c@x.cn"},
        )
        records.customer_update(
            actor=rep, customer_id=big.pk, data={"needs": f"需求{index}"}, version=big.version
        )
        big.refresh_from_db()
    records.customers_tag(actor=rep, customer_ids=[big.pk], tag_name="VIP")
    contacts.collaborator_add(actor=rep, customer_id=big.pk, user=other_rep)
    client.force_login(manager)
    client.get(small.get_absolute_url())  # warm the per-session caches
    counted = _queries(client, small.get_absolute_url())
    assert _queries(client, big.get_absolute_url()) == counted
    # The customer and its people (about 12), purchases, orders, opportunities,
    # contracts, and the service side: the timeline (a union, then one query per
    # kind on the page), open tasks, tickets, the log form's contacts, the badge,
    # the points and coupons, the surveys sent, the churn alert; the ownership
    # ledger on the timeline (1), the recycle clock (2: the rules, the clock) and
    # the release reasons (1).
    with django_assert_max_num_queries(32):
        client.get(big.get_absolute_url())


def test_the_change_history_speaks_in_labels_not_codes(client, rep, own_customer):
    records.customer_update(
        actor=rep, customer_id=own_customer.pk, data={"industry": "it"}, version=1
    )
    client.force_login(rep)
    rep.language = "en"
    rep.save(update_fields=["language"])
    page = client.get(own_customer.get_absolute_url()).content.decode()
    history = page[page.index('id="history-heading"') :]
    assert "→ IT and software" in history and "→ it" not in history


def test_search_results_on_the_list_come_newest_first(client, rep, customer_make):
    older = customer_make(rep, name="王一")
    newer = customer_make(rep, name="王二")
    client.force_login(rep)
    response = client.get(reverse("customers:list"), {"q": "王"})
    assert list(response.context["object_list"]) == [newer, older]
    assert response.context["filter"].form["sort"].value() == ["-added"]  # shown as chosen
    response = client.get(reverse("customers:list"), {"q": "王", "sort": "name"})
    assert list(response.context["object_list"]) == [newer, older]  # 王二 wanger < 王一 wangyi


def test_saving_after_a_conflict_keeps_the_colleagues_other_changes(
    client, rep, manager, own_customer
):
    client.force_login(rep)
    mine = edit_form_data(own_customer, needs="我的修改")
    records.customer_update(
        actor=manager,
        customer_id=own_customer.pk,
        data={"industry": "it", "phones": "13911112222", "tags": "VIP"},
        version=1,
    )
    url = reverse("customers:update", args=[own_customer.pk])
    response = client.post(url, mine)
    page = response.content.decode()
    assert "+86 139 1111 2222" in page and "VIP" in page  # what the colleague saved
    response = client.post(url, response.context["form"].data)
    assert response.status_code == 302
    own_customer.refresh_from_db()
    assert own_customer.needs == "我的修改"
    assert own_customer.industry == "it"  # the colleague's changes stand
    assert [p.number for p in own_customer.phones.all()] == ["+8613911112222"]
    assert [t.name for t in own_customer.tags.all()] == ["VIP"]


def test_saving_never_moves_a_customer_whose_owner_has_left(
    client, manager, other_rep, colleague_customer
):
    other_rep.is_active = False  # left the company; no longer assignable
    other_rep.save(update_fields=["is_active"])
    client.force_login(manager)
    url = reverse("customers:update", args=[colleague_customer.pk])
    form = client.get(url).context["form"]
    assert form["owner"].value() == other_rep.pk
    assert other_rep in form.fields["owner"].queryset  # still shown, so still selected
    response = client.post(url, edit_form_data(colleague_customer, needs="补充需求"))
    assert response.status_code == 302
    colleague_customer.refresh_from_db()
    assert colleague_customer.owner == other_rep and colleague_customer.needs == "补充需求"
