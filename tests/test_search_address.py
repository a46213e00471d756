"""What is typed in the top-bar search stays out of every address it leads to:
the results page and its "see all" link to the customer
list carry a key to the session's kept query, not the query."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.services.records import customer_create

pytestmark = pytest.mark.django_db


def test_see_all_opens_the_list_filtered_without_the_phone_in_its_address(client, rep):
    for n in range(21):
        customer_create(
            actor=rep, data={"name": f"客户{n}", "kind": "person", "phones": f"1380013{n:04d}"}
        )
    client.force_login(rep)
    # What is typed stays out of the address, whatever it is: here a name that
    # fills the section (a phone finds one customer and needs no "see all").
    results = client.get(client.post(reverse("search"), {"q": "客户"}).url)
    (more,) = [entry["more_url"] for entry in results.context["sections"] if entry["more_url"]]
    assert more.startswith(reverse("customers:list") + "?k=")
    assert "客户" not in more and "%E5" not in more
    assert f'href="{more}"' in results.content.decode()

    listed = client.get(more)
    assert listed.context["filter"].form["q"].value() == "客户"  # the box shows it
    numbers = {c.name for c in listed.context["object_list"]}
    assert len(numbers) == 21

    client.logout()
    client.force_login(rep)  # a new session: the key names nothing, the list is unfiltered
    assert client.get(more).context["filter"].form["q"].value() in (None, "")
