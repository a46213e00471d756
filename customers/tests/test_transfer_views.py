"""The import wizard, the template download and the export, as users meet them."""

from __future__ import annotations

import csv
import io
import time

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import AuditAction, AuditEvent, ImportJob, ImportStatus
from crm.sheets.writer import xlsx_bytes
from customers.import_jobs import import_job_analyse, import_job_run
from customers.models import Customer
from customers.tests.test_imports import messy_register
from kehu.tests.fixtures import PASSWORD


def _login(client, user, language="en"):
    user.language = language
    user.save(update_fields=["language"])
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _upload(client, data: bytes, name="register.xlsx", *, read=True):
    """Upload through the page; then what the worker does with it, unless `read` is off."""
    response = client.post(
        reverse("customers:import"), {"file": SimpleUploadedFile(name, data)}, follow=False
    )
    if read and response.status_code == 302:
        import_job_analyse(ImportJob.objects.latest("pk").pk)
    return response


@pytest.mark.django_db
def test_template_has_both_header_rows_lists_and_instructions(client, rep):
    _login(client, rep, language="zh-hans")
    response = client.get(reverse("customers:template"))
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = wb.worksheets[0]
    assert sheet["A1"].value == "客户编号" and sheet["A2"].value == "Customer number"
    assert sheet["B1"].value == "姓名*" and sheet["E2"].value == "Phone"
    validations = {str(v.sqref).split(":")[0] for v in sheet.data_validations.dataValidation}
    assert {"C3", "Q3", "T3"} <= validations  # gender, source, key account (yes/no)
    assert len(wb.sheetnames) == 3
    # The template imports as it is: its example row becomes one customer.
    from crm.sheets.reader import sheet_open
    from customers.imports import customers_import, layout_detect

    upload = sheet_open(response.content, name="t.xlsx")
    layout = layout_detect(upload)
    assert layout.header_rows == [1, 2]
    result = customers_import(actor=rep, sheet=upload, layout=layout, dry_run=True)
    # Its grey example row, left in by mistake, is skipped rather than imported.
    assert result.counts == {
        "created": 0, "created_warned": 0, "updated": 0, "updated_warned": 0, "merged": 0,
        "rejected": 0, "skipped": 1,
    }  # fmt: skip


@pytest.mark.django_db
def test_wizard_upload_mapping_preview_then_commit(client, steward):
    _login(client, steward)
    response = _upload(client, messy_register(), read=False)
    job = ImportJob.objects.get()
    assert response.status_code == 302  # to the job page, while a worker reads the file
    assert response["Location"] == reverse("customers:import_job", args=[job.pk])
    assert job.status == ImportStatus.ANALYSING and job.chunks.exists()
    page = client.get(response["Location"]).content.decode()
    assert "import-reading" in page
    import_job_analyse(job.pk)  # what the worker does (a real worker: test below)
    response = client.get(reverse("customers:import_job", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("customers:import_mapping", args=[job.pk])
    page = client.get(reverse("customers:import_mapping", args=[job.pk]))
    assert "微信号" in page.content.decode()
    assert "zw1985" in page.content.decode()  # an example of the column's values
    job.refresh_from_db()
    # Map the WeChat column to nothing, and the company column to the title.
    mapping = {f"col_{i}": key for i, key in enumerate(job.mapping)}
    mapping["col_7"] = ""
    response = client.post(
        reverse("customers:import_mapping", args=[job.pk]),
        {**mapping, "owner": "self", "mode": "fill"},
    )
    # On to the values of the choice columns: 性别 and 来源.
    assert response["Location"] == reverse("customers:import_values", args=[job.pk])
    page = client.get(response["Location"])
    groups = {g["key"]: g for g in page.context["form"].groups}
    assert set(groups) == {"gender", "source"}
    assert {r["text"]: r["count"] for r in groups["gender"]["rows"]} == {
        "女": 2, "男": 2, "Female": 1,
    }  # fmt: skip
    response = client.post(response["Location"], {
        name: page.context["form"][name].value() for name in page.context["form"].fields
    })  # fmt: skip
    assert response["Location"] == reverse("customers:import_preview", args=[job.pk])
    preview = client.get(reverse("customers:import_preview", args=[job.pk]))
    text = preview.content.decode()
    assert "12345" in text and preview.context["result"].counts["created_warned"] == 2
    assert "New customer, with warnings" in text
    assert not Customer.objects.exists()  # the preview writes nothing
    response = client.post(reverse("customers:import_preview", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED
    import_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.SUCCEEDED
    assert not job.chunks.exists() and job.analysis == ""  # the upload is not kept
    assert job.counts == {
        "created": 4, "created_warned": 2, "updated": 0, "updated_warned": 0, "merged": 1,
        "rejected": 0, "skipped": 3,
    }  # fmt: skip
    assert not Customer.objects.filter(notes__contains="微信号").exists()
    page = client.get(reverse("customers:import_job", args=[job.pk])).content.decode()
    assert "warnings-download" in page and "rejected-download" not in page
    warned = client.get(reverse("customers:import_warned", args=[job.pk]))
    sheet = openpyxl.load_workbook(io.BytesIO(warned.content)).active
    assert sheet.title == "Imported with warnings"  # not "Sheet1"
    rows = list(sheet.values)
    assert [row[0] for row in rows[1:]] == ["王芳", "赵敏"]
    assert rows[0][-2:] == ("⚠ Birth date", "⚠ Phone")  # the fields, in the job's language
    wang = Customer.objects.get(name="王芳")
    assert wang.number in rows[1] and "12345" in rows[1][-1]  # the number, then why


@pytest.mark.django_db
def test_the_mapping_step_names_each_column_once_in_the_readers_language(client, steward):
    _login(client, steward, language="zh-hans")
    _upload(client, messy_register())
    job = ImportJob.objects.get()
    page = client.get(reverse("customers:import_mapping", args=[job.pk])).content.decode()
    table = page[page.index("<tbody>") : page.index("</tbody>")]
    assert table.count(">微信号<") == 1  # the header labels its row once, not again above the list
    assert '<option value="phones" selected>电话</option>' in table
    assert ">Phone<" not in table and ">— ignore —<" not in table


@pytest.mark.django_db
def test_mapping_without_a_name_column_is_refused_next_to_the_form(client, steward):
    _login(client, steward)
    _upload(client, messy_register())
    job = ImportJob.objects.get()
    mapping = {f"col_{i}": key for i, key in enumerate(job.mapping)}
    mapping["col_0"] = ""
    response = client.post(
        reverse("customers:import_mapping", args=[job.pk]),
        {**mapping, "owner": "self", "mode": "fill"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Choose the column that holds the customer" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"%PDF-1.4", "scan.xlsx", "PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "old.xls", ".xls"),
        (b"PK\x03\x04 not really a zip", "broken.xlsx", "damaged"),
    ],
    ids=["pdf", "xls", "broken-zip"],
)
def test_bad_uploads_get_a_message_next_to_the_field(client, steward, data, name, message):
    _login(client, steward)
    response = client.post(
        reverse("customers:import"),
        {"file": SimpleUploadedFile(name, data)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert message in response.context["form"].errors["file"][0]
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (xlsx_bytes([["随便写写"], ["x"]]), "No column heading"),
        (xlsx_bytes([]), "empty"),
        ("姓名,备注\n张三,".encode() + b"\x80\xff", "neither UTF-8 nor GBK"),
    ],
    ids=["no-headers", "empty-sheet", "not-decodable"],
)
def test_a_file_the_worker_cannot_read_says_why_on_its_page(client, steward, data, message):
    _login(client, steward)
    name = "r.csv" if message.startswith("neither") else "r.xlsx"
    _upload(client, data, name=name)
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED and not job.chunks.exists()
    page = client.get(reverse("customers:import_job", args=[job.pk])).content.decode()
    assert message in page


@pytest.mark.django_db
def test_other_users_import_jobs_are_not_found(client, steward, rep):
    _login(client, steward)
    _upload(client, messy_register())
    job = ImportJob.objects.get()
    client.logout()
    _login(client, rep)
    assert client.get(reverse("customers:import_job", args=[job.pk])).status_code == 404
    assert client.get(reverse("customers:import_rejected", args=[job.pk])).status_code == 404


@pytest.mark.django_db
def test_auditor_may_not_import(client, auditor):
    _login(client, auditor)
    assert client.get(reverse("customers:import")).status_code == 403


@pytest.mark.django_db
def test_export_masks_per_role_neutralises_formulas_and_is_audited(
    client, manager, customer_make, rep, other_rep
):
    mine = customer_make(manager, name='=HYPERLINK("x")', phones="13800138000")
    customer_make(rep, name="团队客户", phones="13900001111", emails="team@example.com")
    _login(client, manager)
    response = client.get(reverse("customers:export"), {"q": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(wb.active.values)
    header = rows[0]
    assert header[:6] == ("Customer number", "Name", "Gender", "Birth date", "Phone", "E-mail")
    by_name = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert by_name[mine.name]["Phone"] == "+8613800138000"  # own customer: full
    assert by_name["团队客户"]["Phone"] != "+8613900001111"  # the team's: masked
    assert "****" in by_name["团队客户"]["Phone"]
    assert wb.active["B2"].quotePrefix or wb.active["B3"].quotePrefix
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.extra["rows"] == 2 and event.extra["format"] == "xlsx"

    csv_response = client.get(reverse("customers:export"), {"format": "csv", "q": "团队"})
    text = b"".join(csv_response.streaming_content).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert len(lines) == 2 and lines[1][1] == "团队客户"
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).order_by("-id").first().extra[
        "filters"
    ] == {"q": ["团队"]}


@pytest.mark.django_db
def test_reps_may_not_export_by_default(client, rep):
    _login(client, rep)
    assert client.get(reverse("customers:export")).status_code == 403


@pytest.mark.django_db
def test_export_command_writes_full_values_with_the_english_header(
    admin_user, customer_make, rep, tmp_path
):
    from django.core.management import call_command

    customer_make(rep, name="张三", phones="+86 138 0013 8000; 010-8888 8888", tags="VIP")
    path = tmp_path / "all.xlsx"
    out = io.StringIO()
    call_command("export_customers", str(path), "--lang", "en", stdout=out)
    assert out.getvalue().startswith("1 customers written")
    rows = list(openpyxl.load_workbook(path).active.values)
    assert rows[0][:19] == (
        "Customer number", "Name", "Gender", "Birth date", "Phone", "E-mail", "Company",
        "Title", "Province", "City", "District", "Address", "Source", "Owner", "Tags",
        "Lifecycle stage", "Created", "Verified", "Data quality",
    )  # fmt: skip
    assert rows[1][4] == "+8613800138000; +861088888888"
    assert rows[1][14] == "VIP"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_runs_the_import_job(client, steward, celery_worker_queue, monkeypatch):
    from customers.tasks import import_job_analyse_task, import_job_run_task

    worker = celery_worker_queue
    # The pages enqueue on commit; here the tasks go to the test worker's queue.
    for task in (import_job_analyse_task, import_job_run_task):
        monkeypatch.setattr(
            task, "delay", lambda pk, task=task: task.apply_async((pk,), queue=worker.queue)
        )

    def until(done) -> ImportJob:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = ImportJob.objects.get()
            if done(job):
                return job
            assert worker.poll() is None, worker.stdout.read()
            page = client.get(
                reverse("customers:import_job", args=[job.pk]), HTTP_HX_REQUEST="true"
            )
            assert page.status_code == 200
            time.sleep(0.3)
        raise AssertionError(f"the job stays {job.status}")

    _login(client, steward)
    _upload(client, messy_register(), read=False)
    job = until(lambda job: job.status != ImportStatus.ANALYSING)  # the worker read it
    assert job.status == ImportStatus.UPLOADED and job.mapping[0] == "name"
    client.post(reverse("customers:import_mapping", args=[job.pk]), {
        **{f"col_{i}": key for i, key in enumerate(job.mapping)}, "owner": "self", "mode": "fill"
    })  # fmt: skip
    client.post(reverse("customers:import_preview", args=[job.pk]))
    job = until(lambda job: job.is_finished)
    assert job.status == ImportStatus.SUCCEEDED, job.error
    assert Customer.objects.count() == 6  # two of them with warnings


@pytest.mark.django_db
def test_nightly_purge_forgets_abandoned_uploads_and_old_rejected_rows(steward):
    import datetime

    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    from crm.models import ImportRejectedRow
    from customers.import_jobs import import_jobs_purge

    now = timezone.now()
    abandoned = ImportJob.objects.create(kind="customers", created_by=steward, file_name="a.xlsx")
    fresh = ImportJob.objects.create(kind="customers", created_by=steward, file_name="b.xlsx")
    old = ImportJob.objects.create(
        kind="customers", created_by=steward, file_name="c.xlsx", status="succeeded",
        finished_at=now - datetime.timedelta(days=31),
    )  # fmt: skip
    recent = ImportJob.objects.create(
        kind="customers", created_by=steward, file_name="d.xlsx", status="succeeded",
        finished_at=now - datetime.timedelta(days=2),
    )  # fmt: skip
    for job in (old, recent):
        ImportRejectedRow.objects.create(job=job, row_number=2, cells="[]", reason="x")
    ImportJob.objects.filter(pk=abandoned.pk).update(created_at=now - datetime.timedelta(days=2))
    assert import_jobs_purge(now=now) == 2
    assert set(ImportJob.objects.values_list("pk", flat=True)) == {fresh.pk, old.pk, recent.pk}
    assert list(ImportRejectedRow.objects.values_list("job_id", flat=True)) == [recent.pk]
    assert PeriodicTask.objects.get(name="customers.import_jobs_purge").enabled
