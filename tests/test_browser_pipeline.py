"""rep1 opens an opportunity from a customer's page, drags its card along the
pipeline board, wins it from the card's menu and creates its order; then files the
signed contract (a renamed program is refused next to the field) and reads the
performance page. The manager sets the month's targets."""

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

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def setup(make_user, team, settings, tmp_path):
    settings.PRIVATE_FILES_ROOT = tmp_path / "private"
    rep = make_user("rep1", roles.SALES_REP, team, last_name="李", first_name="娜")
    manager = make_user("manager", roles.SALES_MANAGER, team, last_name="王", first_name="经理")
    team.manager = manager
    team.save(update_fields=["manager"])
    return customer_create(actor=rep, data={"name": "星河贸易", "kind": "company"})


def test_an_opportunity_moves_along_the_board_to_its_order_and_contract(
    browser, live_server, setup, shots, tmp_path
):
    customer = setup
    base = live_server.url
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, base, "rep1")
    page.goto(f"{base}{customer.get_absolute_url()}")
    page.click("#new-opportunity")
    page.fill("#id_title", "门店收银系统升级")
    page.fill("#id_amount", "-10")
    page.click("#opportunity-form button[type=submit]")
    expect(page.locator("#id_amount")).to_have_attribute("aria-invalid", "true")
    page.fill("#id_amount", "86,000")
    page.click("#opportunity-form button[type=submit]")
    expect(page.get_by_test_id("opportunity-header")).to_contain_text("资格确认")

    page.goto(f"{base}/sales/pipeline/")
    card = page.locator(".kehu-card", has_text="门店收银系统升级")
    expect(page.get_by_test_id("count-qualification")).to_have_text("1")
    card.drag_to(page.locator(".kehu-column[data-stage=proposal]"))
    expect(page.get_by_test_id("count-proposal")).to_have_text("1")
    expect(page.get_by_test_id("count-qualification")).to_have_text("0")
    page.screenshot(path=shots / "01-board-after-drag.png", full_page=True)

    card = page.locator(".kehu-card", has_text="门店收银系统升级")
    card.locator("select[name=stage]").select_option("won")
    expect(page.get_by_test_id("count-won")).to_have_text("1")
    page.locator(".kehu-column[data-stage=won] .kehu-card a").first.click()
    history = page.locator("#stage-history li")
    expect(history).to_have_count(3)  # opened, proposal, won
    page.screenshot(path=shots / "02-opportunity-won.png", full_page=True)

    page.click("#create-order")
    expect(page.locator("#from-opportunity")).to_contain_text("门店收银系统升级")
    expect(page.locator("#id_lines-0-unit_price")).to_have_value("86000.00")
    page.click("#save-order")
    expect(page.get_by_test_id("order-total")).to_have_text("¥86,000.00")

    page.goto(f"{base}{customer.get_absolute_url()}")
    page.click("#new-contract")
    page.fill("#id_title", "收银系统升级合同")
    program = tmp_path / "合同.pdf"
    program.write_bytes(b"MZ\x90\x00" + b"\0" * 100)
    page.set_input_files("#id_signed_file", str(program))
    page.click("#contract-form button[type=submit]")
    expect(page.locator("#contract-form")).to_contain_text("Windows 程序")
    page.screenshot(path=shots / "03-contract-refused.png", full_page=True)
    signed = tmp_path / "签字版.pdf"
    signed.write_bytes(PDF)
    page.set_input_files("#id_signed_file", str(signed))
    page.click("#contract-form button[type=submit]")
    expect(page.get_by_test_id("contract-header")).to_contain_text("草稿")
    page.click("button[data-status=active]")
    expect(page.get_by_test_id("contract-header")).to_contain_text("生效中")
    with page.expect_download() as download:
        page.click("#signed-file")
    assert download.value.suggested_filename == "签字版.pdf"
    page.screenshot(path=shots / "04-contract.png", full_page=True)

    page.goto(f"{base}/sales/performance/")
    expect(page.locator("#win-rate")).to_have_text("100 %")
    page.screenshot(path=shots / "05-performance.png", full_page=True)
    context.close()

    manager = browser.new_context(viewport={"width": 1280, "height": 900})
    page = manager.new_page()
    log_in(page, base, "manager")
    page.goto(f"{base}/sales/targets/")
    page.locator("input[name^=target-user]").first.fill("120000")
    page.click("#targets-form button[type=submit]")
    expect(page.locator(".kehu-messages")).to_contain_text("目标已保存")
    page.goto(f"{base}/sales/performance/")
    page.select_option("#who", index=1)  # the team, with each member
    page.click("#performance-form button[type=submit]")
    expect(page.get_by_test_id("performance-members")).to_contain_text("李娜")
    page.screenshot(path=shots / "06-team-performance.png", full_page=True)
    manager.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    log_in(page, base, "rep1")
    page.goto(f"{base}/sales/pipeline/")
    expect(page.get_by_test_id("count-won")).to_have_text("1")
    page.screenshot(path=shots / "07-board-phone.png", full_page=True)
    phone.close()
    assert not errors, errors
