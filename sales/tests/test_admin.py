"""Sales in Django admin: products checked like on the catalogue page and audited;
orders read-only; nothing of the sales history deleted."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from crm.models import AuditAction, AuditEvent
from sales.models import Product

pytestmark = pytest.mark.django_db


def _product_post(**changes) -> dict:
    data = {"sku": " ear 01 ", "name": "无线耳机", "list_price": "299", "currency": "CNY"}
    data.update(changes)
    data.setdefault("is_active", "on")
    return data


def test_admin_adds_a_product_with_the_services_checks_and_audit(admin_client):
    add = reverse("admin:sales_product_add")
    bad = admin_client.post(add, _product_post(list_price="9.999"))
    assert bad.status_code == 200 and "list_price" in bad.context["adminform"].form.errors
    assert admin_client.post(add, _product_post()).status_code == 302
    product = Product.objects.get()
    assert (product.sku, product.list_price) == ("EAR01", Decimal("299.00"))
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, target_id=str(product.pk)).exists()
    clash = admin_client.post(add, _product_post(sku="ear01", name="另一个"))
    assert clash.status_code == 200 and Product.objects.count() == 1
    delete = reverse("admin:sales_product_delete", args=[product.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403


def test_orders_are_read_only_in_admin(admin_client, order_make, own_customer, headphones):
    order = order_make(own_customer, [(headphones, 1, "100", 0)])
    change = reverse("admin:sales_order_change", args=[order.pk])
    page = admin_client.get(change).content.decode()
    assert order.number in page and 'name="_save"' not in page
    assert admin_client.post(change, {"status": "cancelled"}).status_code == 403
    assert admin_client.get(reverse("admin:sales_order_changelist")).status_code == 200
