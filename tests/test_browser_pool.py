"""The shared pool in a real browser: rep1 claims a pool customer and
sees the full phone; rep2, who had the pool open, cannot claim it any more, and
the conflict check tells rep2 that rep1 holds it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_rep1_claims_rep2_is_refused_and_the_conflict_check_names_rep1(
    browser, live_server, pool_customer, rep, other_rep, shots
):
    base = live_server.url
    second = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(second, base, other_rep.username)
    second.goto(f"{base}/customers/pool/")  # rep2 has the pool open first
    expect(second.locator("[data-testid=pool-table]")).to_contain_text("王芳")

    first = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(first, base, rep.username)
    first.goto(f"{base}/customers/pool/")
    row = first.locator("[data-testid=pool-table] tr", has_text="王芳")
    expect(row.locator("[data-testid=pool-phone]")).to_have_text("139****5678")
    first.screenshot(path=shots / "01-pool-masked.png", full_page=True)
    row.locator("[data-testid=claim-one]").click()
    expect(first.locator(".alert-success")).to_be_visible()
    expect(first.locator("[data-testid=phones]")).to_contain_text("139 1234 5678")
    expect(first.locator("[data-testid=timeline]")).to_contain_text("从公海领取")
    first.screenshot(path=shots / "02-claimed-full-phone.png", full_page=True)

    second.locator("[data-testid=pool-table] tr", has_text="王芳").locator(
        "[data-testid=claim-one]"
    ).click()
    expect(second.locator(".alert-danger, .alert-warning")).to_contain_text(str(rep))
    expect(second.locator("[data-testid=pool-table]")).not_to_contain_text("王芳")
    second.goto(f"{base}/customers/check/")
    second.fill("#conflict-form input[name=q]", "139 1234 5678")
    second.click("#conflict-go")
    result = second.locator("[data-testid=conflict-result]")
    expect(result).to_have_attribute("data-state", "colleague")
    expect(result).to_contain_text(str(rep))
    expect(result).to_contain_text("139****5678")
    expect(result).not_to_contain_text("王芳")
    second.screenshot(path=shots / "03-conflict-check.png", full_page=True)
