"""The sales pages as users meet them: scoping, order entry, errors, refunds, export."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from kehu.tests.fixtures import days_ago
from sales.models import Order, OrderStatus, Product

pytestmark = pytest.mark.django_db
ORDERS = reverse("sales:order_list")


def _new_order_url(customer) -> str:
    return reverse("sales:order_create") + f"?customer={customer.pk}"


def _order_post(lines, **fields) -> dict:
    data = {
        "ordered_at": "2026-11-20T10:30",
        "status": "pending",
        "currency": "CNY",
        "exchange_rate": "",
        "notes": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        **fields,
    }
    for index, line in enumerate(lines):
        for name, value in line.items():
            data[f"lines-{index}-{name}"] = value
    return data


# --- scoping -------------------------------------------------------------------


def test_every_role_sees_exactly_the_orders_of_customers_it_may_see(
    client, rep, other_rep, far_rep, manager, steward, auditor, order_make,
    own_customer, colleague_customer, far_customer, pool_customer, headphones,
):  # fmt: skip
    mine = order_make(own_customer, [(headphones, 1, "100", 0)])
    colleague = order_make(colleague_customer, [(headphones, 1, "200", 0)])
    far = order_make(far_customer, [(headphones, 1, "300", 0)])
    pool = order_make(pool_customer, [(headphones, 1, "400", 0)])
    expected = {
        rep: {mine, pool},
        other_rep: {colleague, pool},
        far_rep: {far, pool},
        manager: {mine, colleague, pool},
        steward: {mine, colleague, far, pool},
        auditor: {mine, colleague, far, pool},
    }
    for user, orders in expected.items():
        client.force_login(user)
        listed = set(client.get(ORDERS).context["page_obj"].object_list)
        assert listed == orders, user
        for order in (mine, colleague, far, pool):
            status = client.get(order.get_absolute_url()).status_code
            assert status == (200 if order in orders else 404), (user, order)


def test_a_rep_gets_404_on_another_reps_order_pages(
    client, rep, order_make, colleague_customer, headphones
):
    order = order_make(colleague_customer, [(headphones, 1, "100", 0)], status="pending")
    client.force_login(rep)
    for url in (
        order.get_absolute_url(),
        reverse("sales:order_update", args=[order.pk]),
    ):
        assert client.get(url).status_code == 404
    assert (
        client.post(reverse("sales:order_status", args=[order.pk]), {"status": "paid"}).status_code
        == 404
    )
    assert client.get(_new_order_url(colleague_customer)).status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_order_list_filters_by_salesperson_and_month_in_few_queries(
    client, manager, rep, order_make, own_customer, customer_make, headphones,
    django_assert_max_num_queries,
):  # fmt: skip
    managers_own = customer_make(manager, name="经理的客户")
    november = order_make(own_customer, [(headphones, 1, "100", 0)], ordered_at=days_ago(0))
    month = november.ordered_at.astimezone().strftime("%Y-%m")
    order_make(own_customer, [(headphones, 1, "100", 0)], ordered_at=days_ago(60))
    order_make(managers_own, [(headphones, 1, "100", 0)], ordered_at=days_ago(0))
    for _ in range(20):
        order_make(own_customer, [(headphones, 1, "5", 0)], ordered_at=days_ago(0))
    client.force_login(manager)
    with django_assert_max_num_queries(12):
        response = client.get(ORDERS, {"salesperson": str(rep.pk), "month": month})
    rows = list(response.context["page_obj"].object_list)
    assert len(rows) == 21 and all(o.salesperson == rep for o in rows)
    assert all(o.ordered_at.astimezone().strftime("%Y-%m") == month for o in rows)
    mine = client.get(ORDERS, {"salesperson": "me"}).context["page_obj"].object_list
    assert [o.customer for o in mine] == [managers_own]


# --- order entry ---------------------------------------------------------------


def test_a_rep_enters_an_order_with_two_lines(client, rep, own_customer, headphones, kettle):
    client.force_login(rep)
    page = client.get(_new_order_url(own_customer))
    assert page.status_code == 200
    response = client.post(
        _new_order_url(own_customer),
        _order_post(
            [
                {
                    "product": headphones.pk,
                    "quantity": "2",
                    "unit_price": "",
                    "discount_percent": "10",
                },
                {"product": "", "description": "上门安装", "quantity": "1", "unit_price": "50"},
            ]
        ),
    )
    order = Order.objects.get()
    assert response.status_code == 302 and response.url == order.get_absolute_url()
    assert order.total == Decimal("588.20")  # 2 × 299 × 0.9 + 50
    assert order.salesperson == rep and order.customer == own_customer
    detail = client.get(order.get_absolute_url()).content.decode()
    assert "上门安装" in detail and "¥588.20" in detail


def test_add_line_and_changes_rerender_the_lines_with_totals_without_saving(
    client, rep, own_customer, headphones
):
    client.force_login(rep)
    data = _order_post([{"product": headphones.pk, "quantity": "3", "unit_price": ""}])
    response = client.post(
        _new_order_url(own_customer), {**data, "add_line": "1"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'id="order-lines"' in html and "<html" not in html
    assert html.count('data-testid="order-line"') == 2
    assert "¥897.00" in html  # 3 × the list price, filled in
    removed = client.post(
        _new_order_url(own_customer), {**data, "remove_line": "0"}, HTTP_HX_REQUEST="true"
    )
    assert removed.content.decode().count('data-testid="order-line"') == 0
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("line", "field", "code_text"),
    [
        ({"quantity": "-1", "unit_price": "10"}, "quantity", "more than zero"),
        ({"quantity": "1", "unit_price": "12.345"}, "unit_price", "2 decimal places"),
        (
            {"quantity": "1", "unit_price": "10", "discount_percent": "150"},
            "discount_percent",
            "0 and 100",
        ),
    ],
)
def test_bad_lines_show_their_error_next_to_the_field(
    client, rep, own_customer, headphones, line, field, code_text
):
    rep.language = "en"
    rep.save(update_fields=["language"])
    client.force_login(rep)
    response = client.post(
        _new_order_url(own_customer),
        _order_post(
            [
                {"product": headphones.pk, "quantity": "1", "unit_price": "1"},
                {"product": headphones.pk, **line},
            ]
        ),
    )
    assert response.status_code == 200
    forms = response.context["formset"].forms
    assert not forms[0].errors
    assert code_text in " ".join(forms[1].errors[field])
    assert not Order.objects.exists()


def test_a_future_order_date_is_refused_next_to_the_date(client, rep, own_customer, headphones):
    client.force_login(rep)
    response = client.post(
        _new_order_url(own_customer),
        _order_post([{"product": headphones.pk, "quantity": "1"}], ordered_at="2099-01-01T10:00"),
    )
    assert "ordered_at" in response.context["form"].errors
    assert not Order.objects.exists()


def test_editing_a_pending_order_replaces_its_lines(
    client, rep, order_make, own_customer, headphones
):
    order = order_make(own_customer, [(headphones, 1, "100", 0)], status="pending")
    client.force_login(rep)
    url = reverse("sales:order_update", args=[order.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        _order_post(
            [{"product": headphones.pk, "quantity": "4", "unit_price": "100"}],
            version=str(order.version),
        ),
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.total == Decimal("400.00") and order.lines.count() == 1


def test_status_buttons_and_refund_form(client, manager, order_make, own_customer, headphones):
    order = order_make(own_customer, [(headphones, 2, "150", 0)], status="pending")
    client.force_login(manager)
    client.post(reverse("sales:order_status", args=[order.pk]), {"status": "paid"})
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    bad = client.post(
        reverse("sales:refund_create", args=[order.pk]), {"amount": "500", "reason": "x"}
    )
    assert bad.status_code == 200 and "amount" in bad.context["refund_form"].errors
    client.post(
        reverse("sales:refund_create", args=[order.pk]), {"amount": "300", "reason": "退货"}
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.refunds.count() == 1


# --- the customer page and the export ------------------------------------------


def test_customer_page_shows_orders_and_the_purchase_summary(
    client, rep, order_make, own_customer, headphones, django_assert_max_num_queries
):
    for days in (30, 20, 10):
        order_make(own_customer, [(headphones, 1, "100.50", 0)], ordered_at=days_ago(days))
    client.force_login(rep)
    # 4 of them the pool's: the ledger on the timeline, the recycle clock (2), the
    # release reasons.
    with django_assert_max_num_queries(34):
        response = client.get(own_customer.get_absolute_url())
    html = response.content.decode()
    context = response.context
    assert len(context["orders"]) == 3 and context["profile"].metrics.orders_count == 3
    assert "¥301.50" in html and "¥100.50" in html  # total spent, average
    assert 'id="new-order"' in html


def test_auditor_sees_orders_but_has_no_new_order_button(
    client, auditor, order_make, own_customer, headphones
):
    order_make(own_customer, [(headphones, 1, "10", 0)])
    client.force_login(auditor)
    html = client.get(own_customer.get_absolute_url()).content.decode()
    assert 'data-testid="customer-orders"' in html and 'id="new-order"' not in html
    assert client.get(_new_order_url(own_customer)).status_code == 403


def test_export_has_the_purchase_columns(client, manager, order_make, own_customer, headphones):
    order_make(own_customer, [(headphones, 2, "100.25", 0)], ordered_at=days_ago(3))
    manager.language = "en"
    manager.save(update_fields=["language"])
    client.force_login(manager)
    response = client.get(reverse("customers:export"))
    rows = list(
        openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values
    )
    header = rows[0]
    assert header[19:23] == ("Orders", "Total spent", "First purchase", "Last purchase")
    row = dict(zip(header, rows[1], strict=True))
    assert row["Orders"] == 1 and Decimal(str(row["Total spent"])) == Decimal("200.50")
    assert row["Last purchase"].date() == days_ago(3).date()


# --- products ------------------------------------------------------------------


def test_managers_keep_the_catalogue_and_reps_read_it(client, manager, rep):
    client.force_login(manager)
    response = client.post(
        reverse("sales:product_create"),
        {
            "sku": "tv-55",
            "name": "55 寸电视",
            "list_price": "3999",
            "currency": "CNY",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    product = Product.objects.get()
    assert product.sku == "TV-55"
    client.force_login(rep)
    assert "55 寸电视" in client.get(reverse("sales:product_list")).content.decode()
    assert client.get(reverse("sales:product_update", args=[product.pk])).status_code == 403


def test_a_product_price_with_three_decimals_is_refused_on_the_form(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("sales:product_create"),
        {"sku": "A", "name": "A", "list_price": "1.005", "currency": "CNY"},
    )
    assert "list_price" in response.context["form"].errors
    assert not Product.objects.exists()
