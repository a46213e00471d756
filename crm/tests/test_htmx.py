"""Pages that answer htmx with a part of themselves (crm.htmx): the part for
htmx, the whole page otherwise, and both say `Vary: HX-Request`, so a cache or
the back button never serves one for the other."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _pages(customer) -> list[str]:
    return [
        reverse("customers:list"),
        reverse("customers:pick") + "?next=" + reverse("sales:order_create"),
        reverse("customers:contact_create", args=[customer.pk]),
        reverse("interactions:log", args=[customer.pk]),
        reverse("interactions:ticket_list"),
        reverse("sales:order_list"),
        reverse("sales:pipeline"),
        reverse("sales:order_create") + f"?customer={customer.pk}",
    ]


def test_each_page_answers_htmx_with_its_part_and_varies_on_it(client, rep, own_customer):
    client.force_login(rep)
    for url in _pages(own_customer):
        page, part = client.get(url), client.get(url, **HTMX)
        assert (page.status_code, part.status_code) == (200, 200), url
        assert "HX-Request" in page["Vary"] and "HX-Request" in part["Vary"], url
        assert "<html" in page.content.decode(), url
        assert "<html" not in part.content.decode(), url
