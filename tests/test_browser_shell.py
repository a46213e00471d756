"""A sales rep logs in, sees the shell in Chinese, switches to English and back,
and logs out; the same shell works on a phone-sized screen."""

import re

import pytest
from playwright.sync_api import expect

from crm import roles
from kehu.tests.fixtures import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def rep1(make_user, team):
    return make_user("rep1", roles.SALES_REP, team, last_name="李", first_name="娜")


def _log_in(page, base_url, username="rep1"):
    page.goto(f"{base_url}/")
    expect(page).to_have_url(f"{base_url}/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")


def test_rep_logs_in_switches_language_and_logs_out(page, live_server, rep1, shots):
    base = live_server.url
    page.goto(f"{base}/login/")
    # Chinese first, even for a browser that asks for English.
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("h1")).to_have_text("登录")
    page.screenshot(path=shots / "01-login-zh.png")

    _log_in(page, base)
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("#greeting")).to_contain_text("李娜")
    expect(page.get_by_test_id("roles")).to_have_text("销售代表")
    expect(page.get_by_test_id("team")).to_have_text("华东销售一组")
    expect(page.locator(".kehu-sidenav")).to_contain_text("工作台")
    page.screenshot(path=shots / "02-home-zh.png", full_page=True)

    page.click("button[data-language='en']")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("roles")).to_have_text("Sales rep")
    expect(page.locator("#greeting")).to_contain_text("Hello")
    expect(page.locator(".kehu-sidenav")).to_contain_text("Home")
    page.screenshot(path=shots / "03-home-en.png", full_page=True)

    # The choice is the user's: it survives a new log-in on another browser.
    rep1.refresh_from_db()
    assert rep1.language == "en"

    page.click("button[data-language='zh-hans']")
    expect(page.get_by_test_id("roles")).to_have_text("销售代表")

    page.click("#user-menu")
    page.click("#logout")
    expect(page).to_have_url(f"{base}/login/")
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/login/?next=/")


def test_wrong_password_shows_a_translated_message_next_to_the_form(page, live_server, rep1):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "rep1")
    page.fill("#id_password", "not-the-password")
    page.click("#login-submit")
    expect(page.locator(".alert-danger, .invalid-feedback").first).to_contain_text("用户名")


def test_shell_works_on_a_phone(browser, live_server, rep1, shots):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        _log_in(page, live_server.url)
        expect(page.locator("#greeting")).to_contain_text("李娜")
        sidenav = page.locator("#sidenav")
        expect(sidenav).to_be_hidden()
        page.screenshot(path=shots / "01-phone-home.png", full_page=True)
        page.click("button[aria-controls='sidenav']")
        expect(sidenav).to_have_class(re.compile(r"\bshow\b"))
        page.wait_for_function("!document.querySelector('#sidenav').classList.contains('showing')")
        expect(sidenav).to_be_visible()
        expect(sidenav).to_contain_text("成员")
        page.screenshot(path=shots / "02-phone-menu.png")
    finally:
        context.close()
