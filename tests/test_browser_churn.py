"""rep1 hears of a customer slipping away, reads why on the churn alerts page,
opens the customer and marks them lost; the profile chooses e-mail by digest."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kehu.tests.fixtures import days_ago
from segmentation.churn import churn_alerts
from segmentation.runs import metrics_recompute
from tests.conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def slipping(customer_make, order_make, headphones, rep):
    customer = customer_make(rep, name="十天一买的老客户", phones="138 0013 8000")
    for ago in (80, 70, 60, 50):
        order_make(customer, [(headphones, 1, "299.00", None)], ordered_at=days_ago(ago))
    metrics_recompute()
    churn_alerts(timezone.localdate())
    return customer


def test_a_rep_reads_the_churn_alert_and_marks_the_customer_lost(
    browser, live_server, slipping, rep, shots
):
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, base, rep.username)
    page.goto(f"{base}/notifications/")
    expect(page.get_by_text("流失预警 — 十天一买的老客户")).to_be_visible()
    page.get_by_role("link", name="流失预警").first.click()
    expect(page.locator("[data-testid=churn-table]")).to_contain_text(
        "通常每 10 天购买一次；上次购买在 50 天前。"
    )
    page.screenshot(path=shots / "01-churn-alerts.png", full_page=True)
    page.get_by_role("link", name="十天一买的老客户").click()
    alert = page.locator("[data-testid=churn-alert]")
    expect(alert).to_contain_text("流失预警")
    page.screenshot(path=shots / "02-customer-churn-alert.png", full_page=True)
    page.fill("#mark-lost input[name=reason]", "公司已迁往外地，转投竞争对手")
    page.click("#mark-lost button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("已将客户标记为已流失")
    expect(alert).to_contain_text("公司已迁往外地，转投竞争对手")
    expect(page.locator("[data-testid=history]")).to_contain_text("流失预警: — → 已标记流失")
    page.screenshot(path=shots / "03-marked-lost.png", full_page=True)
    # On a phone the page reads too.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    small = phone.new_page()
    log_in(small, base, rep.username)
    small.goto(f"{base}/customers/churn/?state=lost")
    expect(small.locator("[data-testid=outcome]")).to_have_text("已标记流失")
    small.screenshot(path=shots / "04-phone-lost.png", full_page=True)
    phone.close()
    # My profile: how the notifications come by e-mail.
    page.goto(f"{base}/account/")
    page.select_option("#id_notify_by", "immediate")
    page.click("main form button[type=submit]")
    expect(page.locator(".alert-success")).to_be_visible()
    rep.refresh_from_db()
    assert rep.notify_by == "immediate"
    page.screenshot(path=shots / "05-profile.png", full_page=True)
    context.close()
