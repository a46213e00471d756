"""A manager writes and opens a survey; rep1 sends it from a customer's page and
copies the link. The customer opens the link on a phone, first forgets a
question (told so next to it), then answers; the thank-you page shows the
bonus. Back at the desk, rep1 sees the answer as feedback in the customer's
timeline (markup shown as text), the points, and the link marked answered."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crm import roles
from customers.services.records import customer_create
from feedback.surveys.building import survey_save, survey_status_set
from tests.conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def setting(make_user, team):
    rep = make_user("rep1", roles.SALES_REP, team, last_name="李", first_name="娜")
    manager = make_user("manager1", roles.SALES_MANAGER, team)
    team.manager = manager
    team.save()
    customer = customer_create(
        actor=rep, data={"name": "陈晓明", "kind": "person", "owner": rep, "phones": "13912345678"}
    )
    survey = survey_save(
        actor=manager,
        data={"title_zh": "售后满意度调查", "title_en": "After-sales survey",
              "intro_zh": "只需一分钟。", "link_days": 14, "points_bonus": 30},
        questions=[
            {"kind": "rating", "text_zh": "您对这次服务满意吗？", "required": True},
            {"kind": "nps", "text_zh": "您有多大可能向朋友推荐我们？", "required": True},
            {"kind": "choice", "text_zh": "您最看重什么？", "choices_zh": "价格\n质量\n服务",
             "required": False},
            {"kind": "text", "text_zh": "还有什么想告诉我们的？", "required": False},
        ],
    )  # fmt: skip
    survey_status_set(actor=manager, survey_id=survey.pk, status="open")
    return customer


def test_a_survey_link_answered_on_a_phone_becomes_feedback_on_the_customer_page(
    browser, live_server, setting, shots
):
    base = live_server.url
    customer = setting
    desk = browser.new_context(viewport={"width": 1440, "height": 900})
    page = desk.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, base, "rep1")
    page.goto(f"{base}{customer.get_absolute_url()}")
    page.click("#send-survey")
    page.click("#send-survey")  # the send page's button: 生成链接
    expect(page.locator("#surveys")).to_contain_text("等待回答")
    link = page.get_by_test_id("invitation-link").input_value()
    assert link.startswith(base + "/s/")
    page.screenshot(path=shots / "01-customer-with-survey-link.png", full_page=True)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True, locale="zh-CN")  # fmt: skip
    mobile = phone.new_page()
    mobile.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    mobile.goto(link)
    expect(mobile.locator("h1")).to_have_text("售后满意度调查")
    width = mobile.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    mobile.locator("label", has_text="3").nth(1).tap()  # NPS 3, the rating forgotten
    mobile.get_by_role("textbox").fill("<b>送货</b>太慢了，包装也破了")
    mobile.locator("#survey-submit").tap()
    expect(mobile.locator("fieldset").first).to_contain_text("请回答此问题。")
    expect(mobile.get_by_role("textbox")).to_have_value("<b>送货</b>太慢了，包装也破了")
    mobile.screenshot(path=shots / "02-phone-missing-answer.png", full_page=True)
    mobile.locator("fieldset").first.locator("label", has_text="2").tap()
    mobile.locator("label", has_text="质量").tap()
    mobile.locator("#survey-submit").tap()
    expect(mobile.get_by_test_id("survey-thanks")).to_have_text("感谢您的回答！")
    expect(mobile.get_by_test_id("survey-bonus")).to_contain_text("30")
    mobile.screenshot(path=shots / "03-phone-thanks.png", full_page=True)
    mobile.goto(link)  # once only: the link now thanks again
    expect(mobile.get_by_test_id("survey-thanks")).to_be_visible()
    phone.close()

    page.reload()
    timeline = page.get_by_test_id("timeline")
    first = timeline.locator("li").first
    expect(first).to_contain_text("<b>送货</b>太慢了")  # shown as text, not markup
    expect(first).to_contain_text("问卷")  # the survey channel
    expect(page.locator("#surveys")).to_contain_text("已回答")
    expect(page.get_by_test_id("points-balance")).to_have_text("30")
    page.screenshot(path=shots / "04-customer-after-answer.png", full_page=True)
    desk.close()
    assert not errors, errors
