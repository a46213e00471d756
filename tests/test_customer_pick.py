"""A *New* order or ticket from its list starts by choosing the customer,
instead of answering 404 without `?customer=`."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db
PICK = reverse("customers:pick")


def test_a_new_order_without_a_customer_asks_for_one_then_opens_for_it(
    client, rep, own_customer, colleague_customer
):
    client.force_login(rep)
    page = client.get(reverse("sales:order_list")).content.decode()
    assert f'href="{reverse("sales:order_create")}"' in page  # the list's New button
    response = client.get(reverse("sales:order_create"))
    assert response.status_code == 302
    target = urlsplit(response.url)
    assert target.path == PICK
    assert parse_qs(target.query)["next"] == [reverse("sales:order_create")]
    picker = client.get(response.url)
    assert picker.context["title"] == "新建订单"
    assert [c.pk for c in picker.context["customers"]] == [own_customer.pk]  # mine first
    found = client.get(PICK, {"next": reverse("sales:order_create"), "q": "张三"})
    assert [c.pk for c in found.context["customers"]] == [own_customer.pk]
    # A colleague's customer is not offered: an order needs a customer one may edit.
    theirs = client.get(PICK, {"next": reverse("sales:order_create"), "q": "李雷"})
    assert theirs.context["customers"] == []
    link = f"{reverse('sales:order_create')}?customer={own_customer.pk}"
    assert link in found.content.decode()
    assert client.get(link).status_code == 200
    partial = client.get(
        PICK, {"next": reverse("sales:order_create"), "q": "张"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert partial.lstrip().startswith('<div id="results">')


def test_a_new_ticket_offers_every_customer_the_agent_serves(client, agent, colleague_customer):
    client.force_login(agent)
    response = client.get(reverse("interactions:ticket_create"))
    picker = client.get(response.url + "&q=李雷")
    assert [c.pk for c in picker.context["customers"]] == [colleague_customer.pk]


@pytest.mark.parametrize("target", ["/customers/", "https://evil.example/sales/orders/new/", ""])
def test_the_picker_only_serves_pages_that_pick_a_customer(client, rep, target):
    client.force_login(rep)
    assert client.get(PICK, {"next": target}).status_code == 404


def test_the_picker_checks_the_pages_permission(client, agent):
    client.force_login(agent)  # a service agent takes no orders
    assert client.get(PICK, {"next": reverse("sales:order_create")}).status_code == 403


@pytest.mark.parametrize(
    "name",
    ["sales:order_create", "sales:opportunity_create", "sales:contract_create",
     "interactions:ticket_create"],
)  # fmt: skip
def test_a_visitor_not_signed_in_is_sent_to_log_in_whatever_the_method(client, name):
    for response in (client.get(reverse(name)), client.post(reverse(name), {})):
        assert response.status_code == 302
        assert urlsplit(response.url).path == reverse("login")
