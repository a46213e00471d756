"""An admin works in Django admin under the strict Content-Security-Policy."""

import pytest
from playwright.sync_api import expect

from kehu.tests.fixtures import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_admin_edits_a_team_without_console_errors(page, live_server, admin_user, rep, shots):
    base = live_server.url
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page).to_have_url(f"{base}/admin/")
    page.goto(f"{base}/admin/crm/user/{rep.pk}/change/")
    expect(page.locator("#id_username")).to_have_value("rep1")
    page.screenshot(path=shots / "01-user-change.png", full_page=True)
    page.goto(f"{base}/admin/crm/team/{rep.team_id}/change/")
    page.fill("#id_name", "华东销售大组")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_be_visible()
    page.goto(f"{base}/admin/django_celery_beat/periodictask/")
    expect(page.locator("#result_list")).to_contain_text("crm.login_failures_prune")


def test_an_admin_reads_the_periodic_jobs_page_from_the_navigation(
    page, live_server, admin_user, shots
):
    from crm.jobs import job_run

    job_run("freshness_audit")
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#greeting")).to_be_visible()
    page.get_by_role("link", name="定时任务").first.click()
    expect(page).to_have_url(f"{base}/jobs/")
    jobs = page.locator("#jobs")
    expect(jobs).to_contain_text("recompute_metrics")
    expect(jobs).to_contain_text("02:15 Asia/Shanghai")
    expect(page.locator("#runs")).to_contain_text("tasks_created=0")
    expect(page.locator("#runs")).to_contain_text("已完成")
    page.screenshot(path=shots / "02-periodic-jobs.png", full_page=True)
