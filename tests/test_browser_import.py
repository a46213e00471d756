"""A steward imports a messy register through the wizard, watches the progress bar
while a real Celery worker runs the job, downloads the rows imported with warnings and
finds what was left out in the customer's import remarks."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from crm import roles
from customers.models import Customer
from customers.tests.test_imports import messy_register
from kehu.tests.fixtures import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_steward_imports_a_register_through_the_wizard(
    browser, live_server, make_user, celery_worker_queue, monkeypatch, tmp_path, shots
):
    from customers.tasks import import_job_analyse_task, import_job_run_task

    make_user("steward", roles.DATA_STEWARD, language="en")
    worker = celery_worker_queue
    for task in (import_job_analyse_task, import_job_run_task):
        monkeypatch.setattr(
            task, "delay", lambda pk, task=task: task.apply_async((pk,), queue=worker.queue)
        )
    register = tmp_path / "客户管理簿.xlsx"
    register.write_bytes(messy_register())

    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", "steward")
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#greeting")).to_be_visible()

    page.goto(f"{base}/customers/")
    page.click("#import-customers")
    with page.expect_download() as template:
        page.click("#template-download")
    assert template.value.suggested_filename.endswith(".xlsx")
    page.set_input_files("#id_file", str(register))
    page.click("#import-upload button[type=submit]")

    # The worker reads the file; the page moves on to the columns by itself.
    # Columns: recognised from Chinese headers under a title and merged headings.
    expect(page.locator("#import-mapping")).to_be_visible(timeout=30_000)
    expect(page.locator("#id_col_3")).to_have_value("phones")
    expect(page.locator("#id_col_7")).to_have_value("+notes")
    page.screenshot(path=shots / "mapping.png", full_page=True)
    page.click("#import-mapping button[type=submit]")

    # Values: each value of the gender and source columns, counted, with what it becomes.
    expect(page.locator("#import-values")).to_be_visible()
    expect(page.get_by_test_id("values-gender")).to_contain_text("Female")
    expect(page.get_by_test_id("values-source")).to_contain_text("展会")
    page.screenshot(path=shots / "values.png", full_page=True)
    page.click("#import-values button[type=submit]")

    # Preview: the rows with problems are marked with what will be left out; nothing
    # written yet.
    expect(page.locator("#preview-rows")).to_contain_text("12345")
    page.screenshot(path=shots / "preview.png", full_page=True)
    assert not Customer.objects.exists()
    page.click("#import-commit button[type=submit]")

    # The job page polls until the worker is done, then shows the counts.
    expect(page.locator("#count-created")).to_have_text("4", timeout=60_000)
    expect(page.locator("#count-created-warned")).to_have_text("2")
    expect(page.locator("#count-merged")).to_have_text("1")
    expect(page.locator("#count-rejected")).to_have_text("0")
    expect(page.locator("#count-skipped")).to_have_text("3")
    page.screenshot(path=shots / "done.png", full_page=True)
    with page.expect_download() as warned:
        page.click("#warnings-download")
    data = Path(warned.value.path()).read_bytes()
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    rows = list(workbook.active.values)
    assert [row[0] for row in rows[1:]] == ["王芳", "赵敏"]
    assert Customer.objects.count() == 6

    # The customer keeps what the file held that could not be used.
    wang = Customer.objects.get(name="王芳")
    page.goto(f"{base}{wang.get_absolute_url()}")
    expect(page.get_by_test_id("import-remarks")).to_contain_text("12345")
    page.screenshot(path=shots / "remarks.png", full_page=True)
    context.close()


def test_steward_merges_two_duplicates_and_undoes_it(browser, live_server, make_user, shots):
    from customers.services.records import customer_create

    steward = make_user("steward", roles.DATA_STEWARD, language="en")
    rep = make_user("rep1", roles.SALES_REP)
    keep = customer_create(
        actor=steward, data={"name": "张伟", "owner": rep, "phones": "13800138000"}
    )
    other = customer_create(
        actor=steward,
        data={"name": "张伟", "owner": None, "phones": "138-0013-8000", "company": "云帆贸易"},
    )
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", "steward")
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#greeting")).to_be_visible()

    page.goto(f"{base}/customers/duplicates/")
    expect(page.locator("#duplicate-pairs")).to_contain_text("same phone")
    page.screenshot(path=shots / "duplicates.png", full_page=True)
    page.click("#duplicate-pairs a.btn-primary")
    expect(page.locator("#merge-form")).to_contain_text("云帆贸易")
    page.screenshot(path=shots / "merge.png", full_page=True)
    page.click("#merge-form button[type=submit]")
    expect(page.locator("[data-testid=customer-header]")).to_contain_text("张伟")
    keep.refresh_from_db()
    other.refresh_from_db()
    assert keep.company == "云帆贸易" and other.merged_into_id == keep.pk

    page.goto(f"{base}/customers/duplicates/")
    page.click("#recent-merges button[type=submit]")
    expect(page.locator("#recent-merges")).to_contain_text("Undone by")
    other.refresh_from_db()
    keep.refresh_from_db()
    assert other.deleted_at is None and keep.company == ""
    context.close()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_steward_maps_a_registers_own_words_and_adds_a_source(
    page, live_server, make_user, celery_worker_queue, monkeypatch, tmp_path, shots, language
):
    """The value-mapping step on a real register (the generator's, 200 rows), in both
    languages: the team's words recognised, 抖音 added as a new source channel."""
    from customers.models import SourceChannel
    from customers.tasks import import_job_analyse_task, import_job_run_task
    from customers.tests.registers import register_build, register_xlsx
    from tests.conftest import log_in

    make_user("steward", roles.DATA_STEWARD, language=language)
    worker = celery_worker_queue
    for task in (import_job_analyse_task, import_job_run_task):
        monkeypatch.setattr(
            task, "delay", lambda pk, task=task: task.apply_async((pk,), queue=worker.queue)
        )
    register = tmp_path / "客户管理簿.xlsx"
    built = register_build(rows=200)
    register.write_bytes(register_xlsx(built))
    base = live_server.url
    log_in(page, base, "steward")
    page.goto(f"{base}/customers/import/")
    page.set_input_files("#id_file", str(register))
    page.click("#import-upload button[type=submit]")
    expect(page.locator("#import-mapping")).to_be_visible(timeout=30_000)
    page.click("#import-mapping button[type=submit]")

    sources = page.get_by_test_id("values-source")
    expect(sources).to_contain_text("朋友介绍")
    douyin = sources.locator("tr", has_text="抖音").locator("select")
    douyin.select_option("+new")
    page.screenshot(path=shots / f"values-{language}.png", full_page=True)
    page.click("#import-values button[type=submit]")
    expect(page.locator("#preview-rows")).to_be_visible()
    page.click("#import-commit button[type=submit]")
    expect(page.locator("#import-summary")).to_be_visible(timeout=60_000)
    channel = SourceChannel.objects.get(name_zh="抖音")
    expected = sum(1 for row in built.rows if row[6] == "抖音")  # each a customer of its own
    assert expected and Customer.objects.filter(source=channel.code).count() == expected
