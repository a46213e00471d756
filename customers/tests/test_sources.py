"""Source channels are the company's own list: admins edit it, forms offer it,
filters and exports read it, and a retired channel stays on its customers."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from crm.models import AuditAction, AuditEvent
from customers.forms import CustomerForm
from customers.models import Customer, SourceChannel
from kehu.tests.fixtures import edit_form_data

pytestmark = pytest.mark.django_db


def _add(admin_client, **values):
    data = {"code": "", "name_zh": "", "name_en": "", "synonyms": "", "position": 5}
    data.update(is_active="on", **values)
    return admin_client.post(reverse("admin:customers_sourcechannel_add"), data)


def test_an_admin_adds_a_channel_with_synonyms_and_it_is_audited(admin_client, admin_user):
    response = _add(
        admin_client,
        code="douyin",
        name_zh="抖音",
        name_en="Douyin",
        synonyms="抖音直播，短视频、 快手",
    )
    assert response.status_code == 302
    channel = SourceChannel.objects.get(code="douyin")
    assert channel.synonyms == ["抖音直播", "短视频", "快手"]
    event = AuditEvent.objects.get(action=AuditAction.CREATE, target_id=str(channel.pk))
    assert event.actor == admin_user


def test_a_word_that_names_another_channel_is_refused(admin_client):
    response = _add(admin_client, code="friends", name_zh="朋友", synonyms="朋友介绍")
    assert response.status_code == 200
    assert "转介绍" in response.content.decode()  # the channel that already has the word
    assert not SourceChannel.objects.filter(code="friends").exists()


def test_the_default_and_import_channels_stay_offered(admin_client):
    other = SourceChannel.objects.get(code="other")
    url = reverse("admin:customers_sourcechannel_change", args=[other.pk])
    response = admin_client.post(
        url, {"name_zh": "其他", "name_en": "Other", "synonyms": "其它", "position": 90}
    )
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    other.refresh_from_db()
    assert other.is_active


def test_the_form_offers_the_list_and_keeps_a_retired_channel_on_its_customer(
    client, rep, customer_make
):
    SourceChannel.objects.create(code="douyin", name_zh="抖音", name_en="Douyin", position=95)
    customer = customer_make(rep, name="钱七", source="exhibition")
    SourceChannel.objects.filter(code="exhibition").update(is_active=False)
    with translation.override("en"):
        offered = dict(CustomerForm(user=rep).fields["source"].choices)
        assert offered["douyin"] == "Douyin" and "exhibition" not in offered
        own = dict(CustomerForm(user=rep, customer=customer).fields["source"].choices)
        assert own["exhibition"] == "Trade show"
    client.force_login(rep)
    data = edit_form_data(customer, needs="再次询价")
    response = client.post(reverse("customers:update", args=[customer.pk]), data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.source_id, customer.needs) == ("exhibition", "再次询价")
    page = client.get(customer.get_absolute_url()).content.decode()
    assert "展会" in page  # the 360 page names it in the reader's language


def test_the_list_filters_by_a_channel_of_the_companys_own(client, rep, customer_make):
    SourceChannel.objects.create(code="douyin", name_zh="抖音", name_en="Douyin")
    customer_make(rep, name="抖音来的", source="douyin")
    customer_make(rep, name="展会来的", source="exhibition")
    client.force_login(rep)
    page = client.get(reverse("customers:list"), {"source": "douyin"}).content.decode()
    assert "抖音来的" in page and "展会来的" not in page
    assert Customer.objects.filter(source="douyin").count() == 1
