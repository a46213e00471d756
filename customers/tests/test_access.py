"""The scoping matrix: each role × list, detail, edit, delete and search.

Four customers: rep1's own, one in the shared pool, one of rep2 (same team as
rep1, managed by `manager`) and one of rep3 (another team). What a user may not
see answers 404, never 403: the page does not tell that the customer exists.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from kehu.tests.fixtures import edit_form_data

SEES = {
    "rep": {"own", "pool"},
    "manager": {"own", "pool", "colleague"},
    "steward": {"own", "pool", "colleague", "far"},
    "auditor": {"own", "pool", "colleague", "far"},
    "admin_user": {"own", "pool", "colleague", "far"},
}
EDITS = {
    "rep": {"own"},
    "manager": {"own", "pool", "colleague"},
    "steward": {"own", "pool", "colleague", "far"},
    "auditor": set(),
    "admin_user": {"own", "pool", "colleague", "far"},
}
ROLES = list(SEES)
CUSTOMERS = ("own", "pool", "colleague", "far")


@pytest.fixture
def world(own_customer, pool_customer, colleague_customer, far_customer, manager):
    return {
        "own": own_customer,
        "pool": pool_customer,
        "colleague": colleague_customer,
        "far": far_customer,
    }


def _login(client, request, role):
    user = request.getfixturevalue(role)
    client.force_login(user)
    return user


@pytest.mark.parametrize("role", ROLES)
def test_list_shows_exactly_the_scope(client, request, world, role):
    _login(client, request, role)
    response = client.get(reverse("customers:list"))
    assert response.status_code == 200
    shown = {customer.pk for customer in response.context["object_list"]}
    assert shown == {world[key].pk for key in SEES[role]}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", CUSTOMERS)
def test_detail_is_404_outside_the_scope(client, request, world, role, key):
    _login(client, request, role)
    response = client.get(reverse("customers:detail", args=[world[key].pk]))
    assert response.status_code == (200 if key in SEES[role] else 404)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", CUSTOMERS)
def test_edit_is_404_unless_editable(client, request, world, role, key):
    _login(client, request, role)
    customer = world[key]
    url = reverse("customers:update", args=[customer.pk])
    assert client.get(url).status_code == (200 if key in EDITS[role] else 404)
    response = client.post(url, edit_form_data(customer, name="改名"))
    customer.refresh_from_db()
    if key in EDITS[role]:
        assert response.status_code == 302 and customer.name == "改名"
    else:
        assert response.status_code == 404 and customer.name != "改名"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", CUSTOMERS)
def test_delete_is_404_unless_allowed(client, request, world, role, key):
    _login(client, request, role)
    customer = world[key]
    url = reverse("customers:delete", args=[customer.pk])
    assert client.get(url).status_code == (200 if key in EDITS[role] else 404)
    response = client.post(url)
    customer.refresh_from_db()
    assert (response.status_code == 302) == (key in EDITS[role])
    assert customer.is_deleted == (key in EDITS[role])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", CUSTOMERS)
def test_search_finds_only_the_scope(client, request, world, role, key):
    _login(client, request, role)
    customer = world[key]
    for query in (customer.number, customer.name, customer.phones.first().number):
        response = client.get(reverse("search"), {"q": query})
        found = {e["section"].key: e["results"] for e in response.context["sections"]}
        assert (customer in found["customers"]) == (key in SEES[role]), query


def test_the_deleted_page_is_for_stewards(client, rep, steward, own_customer):
    client.force_login(rep)
    assert client.get(reverse("customers:deleted")).status_code == 403
    assert client.post(reverse("customers:restore", args=[own_customer.pk])).status_code == 403
    client.force_login(steward)
    assert client.get(reverse("customers:deleted")).status_code == 200


def test_contacts_of_a_customer_out_of_scope_are_404(client, rep, customer_make, far_rep):
    company = customer_make(far_rep, name="远方公司", kind="company")
    client.force_login(rep)
    url = reverse("customers:contact_create", args=[company.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "李经理"}).status_code == 404
    assert not company.contacts.exists()


# Models keyed to customers that do not follow one customer: the customer's own
# "merged into" (the customer itself), and the steward's records of a pair.
NOT_FOLLOWING_ONE_CUSTOMER = {"customers.Customer", "customers.CustomerMerge",
                              "customers.DuplicateDismissal"}  # fmt: skip


def test_every_model_keyed_to_a_customer_has_a_scoping_selector():
    """A new model with a customer key must say who sees its rows (crm.access);
    reading it through `scoped` otherwise fails."""
    from django.apps import apps

    from crm.access import registered_models
    from customers.models import Customer

    registered = set(registered_models())
    keyed = {
        model._meta.label
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is Customer
    }
    missing = keyed - NOT_FOLLOWING_ONE_CUSTOMER - {m._meta.label for m in registered}
    assert "customers.Contact" in keyed and "segmentation.ChurnEpisode" in keyed
    assert not missing, f"no scoping selector for {sorted(missing)}"


def test_a_customers_parts_follow_it(rep, own_customer, far_customer):
    """Who sees the customer sees its phones (as its orders, points…); another
    team's customer's are not there (one rule: visible_through_customer)."""
    from crm.access import scoped
    from customers.models import CustomerPhone

    everyone = set(CustomerPhone.objects.values_list("customer_id", flat=True))
    assert everyone == {own_customer.pk, far_customer.pk}
    phones = scoped(CustomerPhone, rep)
    assert set(phones.values_list("customer_id", flat=True)) == {own_customer.pk}
