"""rep1 logs a call with a follow-up from a customer's page, in place; the call
heads the timeline and the follow-up is in "my tasks" with the badge counting it;
completing it in place clears the badge. Then a service ticket is opened, moved
and resolved, and the timeline filters by kind. Also on a phone-sized screen."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm import roles
from customers.services.records import customer_create
from tests.conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def customer(make_user, team):
    rep = make_user("rep1", roles.SALES_REP, team, last_name="李", first_name="娜")
    return customer_create(
        actor=rep, data={"name": "陈晓明", "kind": "person", "owner": rep, "phones": "13912345678"}
    )


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_a_call_with_a_follow_up_becomes_a_task_that_is_completed(
    browser, live_server, customer, shots
):
    base = live_server.url
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, base, "rep1")
    page.goto(f"{base}{customer.get_absolute_url()}")
    expect(page.get_by_test_id("last-contact")).to_contain_text("尚无联系记录")
    page.click("#open-log")
    form = page.locator("#interaction-form")
    expect(form).to_be_visible()
    # A follow-up in the past is refused next to its field, and nothing is logged.
    form.locator("#id_subject").fill("<b>回访</b>满意度")
    form.locator("#id_follow_up_at").fill(_local(timezone.now() - datetime.timedelta(days=1)))
    page.click("#log-interaction")
    expect(page.locator("#id_follow_up_at")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#interaction-form")).to_contain_text("这个时间已经过去")
    tomorrow = timezone.localtime() + datetime.timedelta(days=1)
    page.locator("#id_follow_up_at").fill(_local(tomorrow.replace(hour=10, minute=0)))
    page.locator("#id_notes").fill("客户很满意，想了解新款。")
    page.locator("#id_next_step").fill("寄送新款样品")
    page.click("#log-interaction")
    timeline = page.get_by_test_id("timeline")
    # The newest interaction (the customer's ownership row may be newer than its time).
    expect(timeline.locator("li[data-kind=interaction]").first).to_contain_text(
        "<b>回访</b>满意度"
    )  # escaped
    expect(page.locator("#interaction-form #id_subject")).to_have_value("")  # a fresh form
    expect(page.get_by_test_id("logged")).to_contain_text("跟进任务已加入您的任务列表")
    expect(page.get_by_test_id("last-contact")).to_contain_text("最近联系：今天，李娜，电话联系")
    # The open-tasks panel shows the follow-up without a reload.
    expect(page.get_by_test_id("customer-tasks")).to_contain_text("寄送新款样品")
    page.screenshot(path=shots / "01-customer-after-logging.png", full_page=True)

    page.goto(f"{base}/interactions/tasks/")
    upcoming = page.get_by_test_id("tasks-upcoming")
    expect(upcoming.get_by_test_id("task")).to_contain_text("寄送新款样品")
    expect(page.get_by_test_id("task-badge")).to_have_count(0)  # due tomorrow, not today
    page.screenshot(path=shots / "02-my-tasks.png", full_page=True)
    upcoming.get_by_test_id("task-done").click()
    expect(upcoming.get_by_test_id("task")).to_have_class(
        "list-group-item d-flex gap-2 align-items-start text-body-secondary"
    )
    page.reload()
    expect(page.get_by_test_id("tasks-done").get_by_test_id("task")).to_contain_text("寄送新款样品")
    expect(page.get_by_test_id("tasks-upcoming").get_by_test_id("task")).to_have_count(0)

    # A ticket: opened from the customer page, moved, resolved.
    page.goto(f"{base}{customer.get_absolute_url()}")
    page.click("#new-ticket")
    page.fill("#id_subject", "热水器漏水")
    page.select_option("#id_category", "repair")
    page.select_option("#id_priority", "urgent")
    page.click("#ticket-form button[type=submit]")
    expect(page.get_by_test_id("ticket-status")).to_have_text("待处理")
    expect(page.get_by_test_id("sla")).to_contain_text("4 小时")
    page.click("[data-status=in_progress]")
    expect(page.get_by_test_id("ticket-status")).to_have_text("处理中")
    page.click("#resolve-form button[type=submit]")
    expect(page.locator("#id_resolution")).to_have_attribute("aria-invalid", "true")
    page.fill("#id_resolution", "更换密封圈")
    page.click("#resolve-form button[type=submit]")
    expect(page.get_by_test_id("ticket-status")).to_have_text("已解决")
    expect(page.get_by_test_id("thread").locator("li")).to_have_count(3)
    page.screenshot(path=shots / "03-ticket-resolved.png", full_page=True)

    page.goto(f"{base}{customer.get_absolute_url()}")
    expect(page.get_by_test_id("last-contact")).to_contain_text("最近联系：今天")
    expect(timeline.locator("li[data-kind]")).to_have_count(3)  # with the ownership row
    page.get_by_test_id("timeline-kinds").locator("[data-kind=ticket]").click()
    expect(page.get_by_test_id("timeline").locator("li[data-kind]")).to_have_count(1)
    expect(page.get_by_test_id("timeline")).to_contain_text("热水器漏水")

    # Feedback recorded from the customer page lands in its timeline, escaped.
    page.click("#new-feedback")
    page.select_option("#id_channel", "review")
    page.fill("#id_nps", "11")
    page.click("#feedback-form button[type=submit]")
    expect(page.locator("#id_nps")).to_have_attribute("aria-invalid", "true")
    page.fill("#id_nps", "3")
    page.select_option("#id_rating", "2")
    page.fill("#id_text", "<i>漏水</i>两次了")
    page.click("#feedback-form button[type=submit]")
    expect(page.get_by_test_id("timeline").locator("li").first).to_contain_text("<i>漏水</i>两次了")
    page.screenshot(path=shots / "04-feedback-in-timeline.png", full_page=True)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    mobile = phone.new_page()
    log_in(mobile, base, "rep1")
    mobile.goto(f"{base}{customer.get_absolute_url()}")
    expect(mobile.get_by_test_id("timeline").locator("li[data-kind]")).to_have_count(4)
    mobile.screenshot(path=shots / "05-phone-customer.png", full_page=True)
    phone.close()
    context.close()
    assert not errors, errors
