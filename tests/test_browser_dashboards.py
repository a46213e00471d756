"""A manager opens the dashboard and sees every chart drawn, downloads one as
xlsx, and rep1 sees their own next actions."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from crm import roles
from customers.services.records import customer_create
from interactions.services.tasks import task_create
from sales.models import Product
from sales.services.lines import LineInput
from sales.services.orders import order_create
from segmentation.runs import metrics_recompute
from tests.conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def team_book(make_user, team):
    from django.utils import timezone

    rep = make_user("rep1", roles.SALES_REP, team, last_name="李", first_name="娜")
    manager = make_user("manager1", roles.SALES_MANAGER, team)
    team.manager = manager
    team.save()
    product = Product.objects.create(
        sku="EAR-01", name="无线耳机", list_price=Decimal("299.00"), category="数码"
    )
    now = timezone.now()
    for n in range(8):
        customer = customer_create(
            actor=rep, data={"name": f"客户{n}", "kind": "person", "owner": rep}
        )
        line = LineInput(product=product, quantity=Decimal(1), unit_price=Decimal("299.00"))
        for ago in range(n % 3 + 1):
            moment = now - datetime.timedelta(days=20 + 30 * ago + n)
            order_create(
                actor=rep, customer_id=customer.pk,
                data={"status": "paid", "ordered_at": moment}, lines=[line],
            )  # fmt: skip
    task_create(
        actor=rep,
        data={
            "title": "回访客户0",
            "due_at": now + datetime.timedelta(days=1),
            "customer": customer,
        },
    )
    metrics_recompute()
    return rep, manager


def test_the_manager_sees_the_charts_drawn_and_the_rep_their_next_actions(
    browser, live_server, team_book, shots
):
    rep, manager = team_book
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    log_in(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator("#scope-label")).to_contain_text(rep.team.name)
    # Ten charts: drawn, or saying there is nothing to draw yet (this book has no
    # open opportunities, so the pipeline has none).
    assert page.locator("canvas[data-chart], [data-testid^=empty-]").count() == 10
    empty = page.locator("[data-testid^=empty-]")
    assert [empty.nth(i).get_attribute("data-testid") for i in range(empty.count())] == [
        "empty-pipeline"
    ]
    expect(empty.first).to_contain_text("暂无数据")
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('canvas[data-chart]')].map(c => {
            const chart = window.Chart.getChart(c);
            return [c.dataset.chart, !!chart && c.width > 0 && chart.data.datasets.length > 0];
        })"""
    )
    assert all(ok for __, ok in drawn), drawn
    expect(page.get_by_test_id("tile-revenue")).to_contain_text("¥")
    page.screenshot(path=shots / "01-manager-dashboard.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_test_id("download-rfm").click()
    assert download.value.suggested_filename.startswith("rfm-")
    context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    mobile = phone.new_page()
    log_in(mobile, live_server.url, rep.username)
    mobile.goto(f"{live_server.url}/dashboard/")
    expect(mobile.get_by_test_id("my-tasks")).to_contain_text("回访客户0")
    mobile.screenshot(path=shots / "02-rep-dashboard-phone.png", full_page=True)
    phone.close()
