"""The workbench in a browser: a rep ticks a task off where it is shown, and each
role's page renders in both languages without an error."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from kehu.tests.fixtures import PASSWORD
from tests.conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_rep_ticks_off_a_task_on_the_workbench(page, live_server, shots):
    from crm.models import User
    from interactions.models import Task

    call_command("seed_demo", customers=40, password=PASSWORD, force=True, verbosity=0)
    rep = User.objects.get(username="rep1")
    task = Task.objects.create(
        title="给张总回电话", assignee=rep, created_by=rep, due_at=timezone.now()
    )
    log_in(page, live_server.url, "rep1")
    expect(page.locator("h2#block-tasks")).to_have_text("逾期和今天的任务")
    row = page.locator(f"#task-{task.pk}")
    expect(row).to_contain_text("给张总回电话")
    for key in ("target", "deals_closing", "churn", "pool_soon", "birthdays", "buying_soon"):
        expect(page.locator(f"[data-block={key}]")).to_be_visible()
    page.screenshot(path=shots / "01-workbench-rep-zh.png", full_page=True)
    row.get_by_test_id("task-done").click()
    expect(page.locator(f"#task-{task.pk} .text-decoration-line-through")).to_be_visible()
    task.refresh_from_db()
    assert task.done_at is not None
    page.goto(f"{live_server.url}/")
    expect(page.locator(f"#task-{task.pk}")).to_have_count(0)  # done: off today's list


@pytest.mark.parametrize("username", ["manager", "steward", "service"])
def test_each_role_workbench_in_both_languages(page, live_server, shots, username):
    from crm.models import User

    call_command("seed_demo", customers=40, password=PASSWORD, force=True, verbosity=0)
    log_in(page, live_server.url, username)
    expect(page.locator("#workbench .kehu-block").first).to_be_visible()
    page.screenshot(path=shots / f"01-workbench-{username}-zh.png", full_page=True)
    User.objects.filter(username=username).update(language="en")
    page.goto(f"{live_server.url}/")
    expect(page.locator("h1#greeting")).to_contain_text("Hello")
    page.screenshot(path=shots / f"02-workbench-{username}-en.png", full_page=True)
