"""Saved segments (customers.segments): the filters that build them against
hand-built sets, dynamic and scoped membership, saving, sharing, and a task for
every member."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from customers.models import Segment
from customers.segments import segment_members, segment_save
from interactions.models import Interaction, Task
from interactions.segment_tasks import segment_tasks_create
from kehu.tests.fixtures import days_ago
from segmentation.runs import metrics_recompute

pytestmark = pytest.mark.django_db


@pytest.fixture
def buy(order_make):
    def make(customer, product, ago, amount="100.00", **data):
        return order_make(customer, [(product, 1, amount, None)], ordered_at=days_ago(ago), **data)

    return make


@pytest.fixture
def shop(customer_make, buy, rep, other_rep, headphones, kettle):
    """Five customers of `rep` and one of `other_rep`, each with a known history."""
    made = {
        "耳机常客": customer_make(rep, name="耳机常客", tags="VIP"),
        "水壶新客": customer_make(rep, name="水壶新客"),
        "大单客户": customer_make(rep, name="大单客户", is_key_account=True),
        "从未购买": customer_make(rep, name="从未购买"),
        "久未联系": customer_make(rep, name="久未联系"),
        "同事的客户": customer_make(other_rep, name="同事的客户"),
    }
    for ago in (200, 100, 10):
        buy(made["耳机常客"], headphones, ago, "300.00")
    buy(made["水壶新客"], kettle, 5, "89.90")
    buy(made["大单客户"], headphones, 40, "5000.00")
    buy(made["大单客户"], kettle, 400, "100.00")
    buy(made["久未联系"], kettle, 400, "89.90")
    buy(made["同事的客户"], headphones, 20, "299.00")
    Interaction.objects.create(
        customer=made["耳机常客"],
        user=rep,
        channel="phone",
        occurred_at=days_ago(3),
        subject="回访",
    )
    Interaction.objects.create(
        customer=made["久未联系"],
        user=rep,
        channel="visit",
        occurred_at=days_ago(120),
        subject="拜访",
    )
    metrics_recompute()
    return made


def members(user, query: str) -> set[str]:
    segment = Segment(owner=user, name="test", query=query)
    return set(segment_members(segment, user).values_list("name", flat=True))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("bought_category=家电", {"水壶新客", "大单客户", "久未联系"}),
        ("bought_product=ear-01", {"耳机常客", "大单客户"}),
        ("bought_product=耳机", {"耳机常客", "大单客户"}),
        ("bought_category=家电&bought_after={recent}", {"水壶新客"}),
        ("spent_min=1000", {"大单客户"}),
        ("bought_product=耳机&spent_min=800", {"耳机常客", "大单客户"}),
        ("bought_product=耳机&bought_after={recent}&spent_min=400", {"大单客户"}),
        ("contacted_within=7", {"耳机常客"}),
        ("not_contacted_for=90", {"水壶新客", "大单客户", "从未购买", "久未联系"}),
        ("stage=lead", {"从未购买"}),
        ("tags={vip}", {"耳机常客"}),
        ("is_key_account=true&spent_min=1000", {"大单客户"}),
        ("frequency_tier=none", {"从未购买", "久未联系"}),
    ],
)
def test_each_filter_finds_exactly_the_hand_built_set(shop, rep, query, expected):
    from customers.models import Tag

    recent = (timezone.localdate() - datetime.timedelta(days=60)).isoformat()
    query = query.format(recent=recent, vip=Tag.objects.get(name="VIP").pk)
    assert members(rep, query) == expected


def test_the_churn_filter_reads_the_model_probability(shop, rep):
    from customers.models import CustomerMetrics

    CustomerMetrics.objects.filter(customer=shop["久未联系"]).update(p_alive=Decimal("0.1500"))
    CustomerMetrics.objects.filter(customer=shop["耳机常客"]).update(p_alive=Decimal("0.9000"))
    assert members(rep, "churn_min=80") == {"久未联系"}
    assert members(rep, "churn_min=5") == {"久未联系", "耳机常客"}


def test_membership_is_dynamic_and_scoped_to_who_asks(shop, rep, manager, buy, kettle):
    segment = segment_save(
        actor=manager, data={"name": "家电买家", "shared": True, "query": "bought_category=家电"}
    )
    assert set(segment_members(segment, rep).values_list("name", flat=True)) == {
        "水壶新客", "大单客户", "久未联系"
    }  # fmt: skip
    buy(shop["同事的客户"], kettle, 1)  # a new purchase makes a new member at once
    seen_by_manager = set(segment_members(segment, manager).values_list("name", flat=True))
    assert "同事的客户" in seen_by_manager
    assert "同事的客户" not in set(segment_members(segment, rep).values_list("name", flat=True))


def test_saving_checks_the_name_the_filter_and_who_may_share(rep, manager):
    with pytest.raises(ValidationError) as refused:
        segment_save(actor=rep, data={"name": " ", "shared": True, "query": "churn_min=150"})
    assert set(refused.value.message_dict) == {"name", "shared", "query"}
    segment_save(actor=rep, data={"name": "我的客户", "query": "owner=me&page=3&segment=9"})
    assert Segment.objects.get(owner=rep).query == "owner=me"  # where the list was: not kept
    with pytest.raises(ValidationError) as twice:
        segment_save(actor=rep, data={"name": "我的客户", "query": ""})
    assert twice.value.message_dict["name"] == ["您已经有一个同名的客户分群。"]
    shared = segment_save(actor=manager, data={"name": "我的客户", "shared": True, "query": ""})
    assert shared.shared  # another owner may use the same name


def test_the_pages_save_list_count_and_open_a_segment(client, shop, rep):
    rep.language = "en"
    rep.save(update_fields=["language"])
    client.force_login(rep)
    form = client.get(reverse("customers:segment_create") + "?bought_category=家电&page=2")
    assert "Bought in category: 家电" in form.content.decode()
    bad = client.post(
        reverse("customers:segment_create"), {"name": "", "query": "bought_category=家电"}
    )
    assert bad.status_code == 200 and "This field is required." in bad.content.decode()
    saved = client.post(
        reverse("customers:segment_create"), {"name": "家电买家", "query": "bought_category=家电"}
    )
    segment = Segment.objects.get()
    assert saved.status_code == 302 and saved["Location"] == segment.get_absolute_url()
    page = client.get(saved["Location"]).content.decode()
    assert "Segment: 家电买家" in page and "水壶新客" in page and "耳机常客" not in page
    listing = client.get(reverse("customers:segment_list")).content.decode()
    assert "家电买家" in listing and "Bought in category: 家电" in listing
    count = client.get(reverse("customers:segment_count", args=[segment.pk])).content.decode()
    assert '<span data-testid="members">3</span>' in count


def test_a_private_segment_is_its_owners_alone(client, shop, rep, other_rep):
    segment = segment_save(actor=rep, data={"name": "私人", "query": ""})
    client.force_login(other_rep)
    assert client.get(reverse("customers:segment_count", args=[segment.pk])).status_code == 404
    assert "私人" not in client.get(reverse("customers:segment_list")).content.decode()
    client.post(reverse("customers:segment_delete", args=[segment.pk]))
    assert Segment.objects.filter(pk=segment.pk).exists()


def test_every_member_gets_a_task_for_its_owner_at_once(shop, manager, rep, other_rep):
    segment = segment_save(
        actor=manager, data={"name": "耳机买家", "shared": True, "query": "bought_product=耳机"}
    )
    due = timezone.now() + datetime.timedelta(days=2)
    created, skipped = segment_tasks_create(
        actor=manager, segment_id=segment.pk,
        data={"title": "推荐新款耳机", "due_at": due, "priority": "normal", "notes": ""},
    )  # fmt: skip
    assert (created, skipped) == (3, 0)
    assert set(Task.objects.values_list("customer__name", "assignee__username")) == {
        ("耳机常客", rep.username), ("大单客户", rep.username),
        ("同事的客户", other_rep.username),
    }  # fmt: skip
    with pytest.raises(ValidationError):  # a due date in the past: nothing written
        segment_tasks_create(
            actor=manager, segment_id=segment.pk,
            data={"title": "过期", "due_at": timezone.now() - datetime.timedelta(days=1)},
        )  # fmt: skip
    assert Task.objects.count() == 3


def test_a_shared_segment_whose_filter_does_not_apply_to_a_colleague_finds_nobody(
    client, shop, admin_user, rep, other_team
):
    # The admin may pick any team; rep only their own: for rep the filter does not
    # hold, and leaving it out would show rep every customer of their own.
    segment = segment_save(
        actor=admin_user,
        data={"name": "二组客户", "shared": True, "query": f"team={other_team.pk}"},
    )
    assert not segment_members(segment, rep).exists()
    with pytest.raises(ValidationError):
        segment_tasks_create(
            actor=rep, segment_id=segment.pk,
            data={"title": "回访", "due_at": timezone.now() + datetime.timedelta(days=1)},
        )  # fmt: skip
    assert not Task.objects.exists()
    client.force_login(rep)
    listing = client.get(reverse("customers:segment_list")).content.decode()
    assert 'data-testid="segment-stale"' in listing


@pytest.mark.parametrize(
    "query",
    ["contacted_within=999999", "not_contacted_for=99999999", "bought_before=9999-12-31",
     "bought_after=0001-01-01&bought_before=9999-12-31", "segment=²",
     "segment=99999999999999999999", "churn_min=abc"],
)  # fmt: skip
def test_odd_filter_values_get_a_page_not_an_error(client, shop, rep, query):
    client.force_login(rep)
    assert client.get(f"{reverse('customers:list')}?{query}").status_code == 200


def test_a_filter_value_out_of_range_is_refused_when_saving(rep):
    with pytest.raises(ValidationError) as refused:
        segment_save(actor=rep, data={"name": "太久", "query": "contacted_within=999999"})
    assert "query" in refused.value.message_dict
