"""Every page as every role: log in as each demo person, open
every entry the navigation offers and a record of each kind found there; any
answer of 400 or more, console error or Content-Security-Policy violation fails.
The navigation offers each role only what it may open, so a 403 fails too."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from kehu.tests.fixtures import PASSWORD
from tests.conftest import watched_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROLES = ["rep1", "manager", "steward", "auditor", "service", "admin"]
# A record of each kind, found on the pages the role opened.
DETAILS = re.compile(
    r"^/(customers|sales/orders|sales/opportunities|sales/contracts|sales/products"
    r"|interactions|interactions/tickets|interactions/tasks|feedback|feedback/surveys"
    r"|customers/segments|people)/\d+/$"
)


def _open(page, url: str) -> None:
    """Open the page and wait for what htmx loads into it (charts, panels)."""
    page.goto(url)
    page.wait_for_function("!document.querySelector('.htmx-request')")


def _walk(browser, base: str, username: str) -> tuple[list[str], list[str]]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page, problems = watched_page(context)
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#greeting")
    entries = page.eval_on_selector_all(
        ".kehu-sidenav a[href^='/']", "links => links.map(a => a.getAttribute('href'))"
    )
    seen, details = [], {}
    for href in dict.fromkeys(entries):
        if href.startswith("/admin/"):
            continue  # Django's admin has its own browser test
        _open(page, base + href)
        seen.append(href)
        for link in page.eval_on_selector_all(
            "main a[href^='/']", "links => links.map(a => a.getAttribute('href'))"
        ):
            path = link.split("?")[0]
            match = DETAILS.match(path)
            if match and match.group(1) not in details:
                details[match.group(1)] = path
    for path in details.values():
        _open(page, base + path)
        seen.append(path)
    context.close()
    return seen, [f"{username}: {problem}" for problem in problems]


@pytest.mark.parametrize("username", ROLES)
def test_every_page_as_every_role_without_an_error(browser, live_server, username):
    call_command("seed_demo", customers=40, password=PASSWORD, force=True, verbosity=0)
    seen, problems = _walk(browser, live_server.url, username)
    assert not problems, problems
    assert len(seen) >= 8, seen
    if username == "service":  # the service agent has no segments or contracts
        assert not {"/customers/segments/", "/sales/contracts/"} & set(seen)
    if username in ("rep1", "manager"):
        assert any(DETAILS.match(path) for path in seen), seen


def test_the_whose_tasks_selector_and_the_progress_bar_work_under_the_csp(page, live_server):
    from playwright.sync_api import expect

    from tests.conftest import log_in

    call_command("seed_demo", customers=40, password=PASSWORD, force=True, verbosity=0)
    log_in(page, live_server.url, "manager")
    page.goto(f"{live_server.url}/interactions/tasks/")
    page.select_option("#person", "team")  # was an inline onchange the CSP blocked
    expect(page).to_have_url(re.compile(r"person=team"))
    expect(page.locator("#person")).to_have_value("team")
    # The last twelve months, for whoever of the manager's subjects has a target and
    # sales in them (which one depends on the demo's random draws).
    from crm.models import User
    from sales import performance as perf

    manager = User.objects.get(username="manager")
    first = (timezone.localdate().replace(day=1) - datetime.timedelta(days=330)).replace(day=1)
    end = perf.month_after(timezone.localdate().replace(day=1))
    shown = next(
        subject
        for subject in perf.performance_subjects(manager)
        for totals in [perf.performance(subject, first, end).totals]
        if totals.target and totals.revenue
    )
    page.goto(f"{live_server.url}/sales/performance/?who={shown.key}&from={first:%Y-%m}")
    bar = page.locator("[data-testid=kpi-revenue] [data-width]")
    expect(bar).to_have_count(1)
    wanted = min(100.0, float(bar.get_attribute("data-width")))
    assert wanted > 0
    # What the eye sees, once Bootstrap's width transition is over.
    page.wait_for_function(
        """([selector, wanted]) => {
            const bar = document.querySelector(selector);
            const shown = 100 * bar.getBoundingClientRect().width / bar.parentElement.clientWidth;
            return Math.abs(shown - wanted) < 1.5;
        }""",
        arg=["[data-testid=kpi-revenue] [data-width]", wanted],
        timeout=5000,
    )
