"""Customers in Django admin: found the CRM's way, personal fields masked, tags audited."""

from __future__ import annotations

from django.urls import reverse

from crm.models import AuditAction, AuditEvent
from customers.models import Tag


def test_admin_finds_customers_by_phone_or_pinyin_and_masks_them(
    admin_client, own_customer, pool_customer
):
    url = reverse("admin:customers_customer_changelist")
    page = admin_client.get(url, {"q": "138 0013 8000"}).content.decode()
    assert own_customer.number in page and pool_customer.number not in page
    assert "138****8000" in page and "13800138000" not in page
    page = admin_client.get(url, {"q": "wf"}).content.decode()
    assert pool_customer.number in page and own_customer.number not in page


def test_the_admin_customer_page_is_read_only_and_masked(admin_client, own_customer):
    page = admin_client.get(
        reverse("admin:customers_customer_change", args=[own_customer.pk])
    ).content.decode()
    assert "138****8000" in page and "z***@example.com" in page
    assert "zhangsan@example.com" not in page and "+8613800138000" not in page
    assert 'name="_save"' not in page
    assert own_customer.get_absolute_url() in page
    response = admin_client.post(
        reverse("admin:customers_customer_change", args=[own_customer.pk]), {"name": "改名"}
    )
    assert response.status_code == 403
    own_customer.refresh_from_db()
    assert own_customer.name == "张三"


def test_tags_are_edited_in_admin_cleanly_and_audited(admin_client, admin_user):
    add = reverse("admin:customers_tag_add")
    response = admin_client.post(add, {"name": "<b>VIP</b>", "colour": "warning"})
    assert response.status_code == 200 and not Tag.objects.exists()
    assert "errorlist" in response.content.decode()
    admin_client.post(add, {"name": "  VIP  ", "colour": "warning"})
    tag = Tag.objects.get()
    assert tag.name == "VIP"
    response = admin_client.post(add, {"name": "vip", "colour": "danger"})
    assert Tag.objects.count() == 1  # case-insensitively the same tag
    event = AuditEvent.objects.get(action=AuditAction.CREATE, target_id=str(tag.pk))
    assert event.actor == admin_user
