"""Personal data: encrypted at rest, masked for those who do not own it, and every
full view by a non-owner written to the audit log."""

from __future__ import annotations

from django.db import connection
from django.urls import reverse

from crm.models import AuditAction, AuditEvent
from customers.services import records


def _raw_rows(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return repr(cursor.fetchall())


def test_plain_sql_shows_no_phone_email_street_or_finances(manager):
    customer = records.customer_create(
        actor=manager,
        data={
            "name": "张三",
            "phones": "138 0013 8000",
            "emails": "zhangsan@example.com",
            "street": "广东省深圳市南山区科苑路15号",
            "financial_status": "sound",
            "risk_preference": "aggressive",
        },
    )
    dump = "".join(
        _raw_rows(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
        for table in ("customers_customer", "customers_customerphone", "customers_customeremail")
    )
    dump += _raw_rows("SELECT changes::text, extra::text FROM crm_auditevent")
    for secret in ("13800138000", "0013", "zhangsan@", "科苑路", "sound", "aggressive"):
        assert secret not in dump, secret
    customer.refresh_from_db()  # …yet the application reads them back
    assert customer.street == "科苑路15号" and customer.financial_status == "sound"
    assert [p.number for p in customer.phones.all()] == ["+8613800138000"]


def test_the_owner_sees_full_values_others_see_masks(
    client, rep, other_rep, manager, own_customer, pool_customer
):
    client.force_login(rep)
    page = client.get(own_customer.get_absolute_url()).content.decode()
    assert "+86 138 0013 8000" in page and "zhangsan@example.com" in page
    page = client.get(pool_customer.get_absolute_url()).content.decode()
    assert "139****5678" in page and "w***@example.com" in page
    assert "13912345678" not in page and "wangfang@" not in page
    assert 'id="reveal"' not in page  # a rep may not reveal

    client.force_login(manager)
    page = client.get(own_customer.get_absolute_url()).content.decode()
    assert "138****8000" in page and "13800138000" not in page
    assert 'id="reveal"' in page


def test_list_rows_mask_phones_the_user_does_not_own(client, rep, own_customer, pool_customer):
    client.force_login(rep)
    page = client.get(reverse("customers:list")).content.decode()
    assert "+86 138 0013 8000" in page
    assert "139****5678" in page and "1391234" not in page


def test_revealing_shows_the_values_and_writes_a_view_sensitive_event(
    client, manager, own_customer
):
    client.force_login(manager)
    response = client.post(
        reverse("customers:reveal", args=[own_customer.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "+86 138 0013 8000" in response.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.VIEW_SENSITIVE)
    assert event.actor == manager and event.target_id == str(own_customer.pk)


def test_a_rep_cannot_reveal_by_posting(client, rep, pool_customer):
    client.force_login(rep)
    response = client.post(reverse("customers:reveal", args=[pool_customer.pk]))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW_SENSITIVE).exists()


def test_opening_the_edit_form_of_someone_elses_customer_is_a_reveal(
    client, manager, colleague_customer
):
    client.force_login(manager)
    page = client.get(reverse("customers:update", args=[colleague_customer.pk])).content.decode()
    assert "+86 137 0000 1111" in page
    event = AuditEvent.objects.get(action=AuditAction.VIEW_SENSITIVE)
    assert event.extra["reason"] == "edit"


def test_the_financial_profile_is_for_the_narrow_permission(client, rep, manager, own_customer):
    records.customer_update(
        actor=manager, customer_id=own_customer.pk, data={"financial_status": "strained"}, version=1
    )
    client.force_login(rep)
    page = client.get(own_customer.get_absolute_url()).content.decode()
    assert 'data-testid="financial"' not in page
    form_page = client.get(reverse("customers:update", args=[own_customer.pk])).content.decode()
    assert 'name="financial_status"' not in form_page
    client.force_login(manager)
    page = client.get(own_customer.get_absolute_url()).content.decode()
    assert 'data-testid="financial"' in page
