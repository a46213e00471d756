"""rep1 enters an order with two lines from a customer's page (lines added in place,
totals shown as they type), marks it paid, and sees it with the purchase summary
on the customer's page; on a phone the order page still reads."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crm import roles
from customers.services.records import customer_create
from sales.services.products import product_save
from tests.conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def setup(make_user, team):
    rep = make_user("rep1", roles.SALES_REP, team, last_name="李", first_name="娜")
    manager = make_user("manager", roles.SALES_MANAGER, team, last_name="王", first_name="经理")
    customer = customer_create(actor=rep, data={"name": "陈晓明", "phones": "13800138000"})
    product_save(
        actor=manager,
        data={"sku": "EAR-01", "name": "无线耳机", "list_price": "299.00", "category": "数码"},
    )
    product_save(
        actor=manager,
        data={"sku": "KET-02", "name": "电水壶", "list_price": "89.90", "category": "家电"},
    )
    return customer


def test_rep_enters_an_order_with_two_lines_and_sees_it_on_the_customer_page(
    browser, live_server, setup, shots
):
    customer = setup
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, base, "rep1")
    page.goto(f"{base}{customer.get_absolute_url()}")
    expect(page.get_by_test_id("purchase-summary")).to_contain_text("暂无购买")
    page.click("#new-order")

    lines = page.get_by_test_id("order-line")
    expect(lines).to_have_count(1)
    page.select_option("#id_lines-0-product", label="无线耳机 (EAR-01)")
    page.fill("#id_lines-0-quantity", "2")
    page.press("#id_lines-0-quantity", "Tab")  # a change re-renders the lines in place
    expect(page.get_by_test_id("order-total")).to_have_text("¥598.00")
    expect(page.locator("#id_lines-0-unit_price")).to_have_value("299.00")

    page.click("#add-line")
    expect(lines).to_have_count(2)
    page.select_option("#id_lines-1-product", label="电水壶 (KET-02)")
    page.fill("#id_lines-1-quantity", "3")
    page.fill("#id_lines-1-discount_percent", "10")
    page.press("#id_lines-1-discount_percent", "Tab")
    # 2 × 299 + 3 × 89.90 × 0.9 = 598 + 242.73
    expect(page.get_by_test_id("order-total")).to_have_text("¥840.73")
    page.screenshot(path=shots / "01-order-entry.png", full_page=True)

    page.fill("#id_lines-1-unit_price", "89.999")
    page.click("#save-order")
    expect(page.locator("#id_lines-1-unit_price")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#order-lines")).to_contain_text("小数")
    page.screenshot(path=shots / "02-line-error.png", full_page=True)
    page.fill("#id_lines-1-unit_price", "89.90")
    page.click("#save-order")

    expect(page.get_by_test_id("order-status")).to_have_text("待付款")
    expect(page.get_by_test_id("order-total")).to_have_text("¥840.73")
    page.click("button[data-status=paid]")
    expect(page.get_by_test_id("order-status")).to_have_text("已付款")
    page.screenshot(path=shots / "03-order-paid.png", full_page=True)

    page.get_by_role("link", name="陈晓明").first.click()
    expect(page.get_by_test_id("customer-orders")).to_contain_text("¥840.73")
    summary = page.get_by_test_id("purchase-summary")
    expect(summary.get_by_test_id("metric-orders")).to_have_text("1")
    expect(summary.get_by_test_id("metric-spent")).to_have_text("¥840.73")
    page.screenshot(path=shots / "04-customer-orders.png", full_page=True)
    context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    log_in(page, base, "rep1")
    page.goto(f"{base}/sales/orders/")
    page.get_by_test_id("order-table").get_by_role("link").first.click()
    expect(page.get_by_test_id("order-total")).to_have_text("¥840.73")
    page.screenshot(path=shots / "05-order-phone.png", full_page=True)
    phone.close()
    assert not errors, errors
