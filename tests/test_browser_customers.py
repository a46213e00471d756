"""rep1 creates a customer, finds it from the top bar by the phone typed another
way, and rep2 sees a pool customer's phone masked."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crm import roles
from customers.services.records import customer_create
from tests.conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def reps(make_user, team):
    return (
        make_user("rep1", roles.SALES_REP, team, last_name="李", first_name="娜"),
        make_user("rep2", roles.SALES_REP, team, last_name="张", first_name="伟"),
    )


@pytest.fixture
def pool_customer(make_user, reps):
    steward = make_user("steward", roles.DATA_STEWARD)
    return customer_create(
        actor=steward,
        data={"name": "王芳", "owner": None, "phones": "139 1234 5678", "emails": "wf@example.com"},
    )


def test_rep_creates_finds_by_phone_and_a_colleague_sees_the_pool_masked(
    browser, live_server, reps, pool_customer, shots
):
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, base, "rep1")

    page.goto(f"{base}/customers/new/")
    page.fill("#id_name", "陈晓明")
    page.fill("#id_phones", "138-0013-8000")
    page.fill("#id_emails", "ChenXM@Example.com")
    page.fill("#id_street", "广东省深圳市南山区科苑路15号")
    page.fill("#id_birth_date", "2999-01-01")
    page.click("#save-customer")
    # Bad input: the message stands next to the field, nothing is saved.
    expect(page.locator("#error_1_id_birth_date")).to_contain_text("出生日期")
    page.screenshot(path=shots / "01-create-error.png", full_page=True)
    page.fill("#id_birth_date", "1988-06-01")
    page.click("#save-customer")

    expect(page.locator("h1")).to_contain_text("陈晓明")
    expect(page.get_by_test_id("customer-number")).to_contain_text("KH")
    expect(page.locator("#contact-details")).to_contain_text("+86 138 0013 8000")
    expect(page.locator("#contact-details")).to_contain_text("chenxm@example.com")
    expect(page.locator("#contact-details")).to_contain_text("深圳市")
    page.screenshot(path=shots / "02-customer-360.png", full_page=True)

    page.goto(f"{base}/")
    page.fill("#global-search", "+86 13800138000")
    page.press("#global-search", "Enter")
    results = page.get_by_test_id("customers-results")
    expect(results).to_contain_text("陈晓明")
    page.screenshot(path=shots / "03-search-by-phone.png", full_page=True)
    results.get_by_role("link", name="陈晓明").click()
    expect(page.locator("h1")).to_contain_text("陈晓明")

    page.fill("#global-search", "cxm")
    page.press("#global-search", "Enter")
    expect(page.get_by_test_id("customers-results")).to_contain_text("陈晓明")
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, base, "rep2")
    page.goto(f"{base}/customers/")
    rows = page.locator("#results")
    expect(rows).to_contain_text("王芳")
    expect(rows).to_contain_text("139****5678")
    expect(rows).not_to_contain_text("陈晓明")  # rep1's own customer is not rep2's to see
    page.screenshot(path=shots / "04-list-rep2.png", full_page=True)
    rows.get_by_role("link", name="王芳").click()
    details = page.locator("#contact-details")
    expect(details).to_contain_text("139****5678")
    expect(details).to_contain_text("w***@example.com")
    expect(details).not_to_contain_text("1234 5678")
    expect(page.locator("#reveal")).to_have_count(0)
    page.screenshot(path=shots / "05-pool-masked.png", full_page=True)
    context.close()
