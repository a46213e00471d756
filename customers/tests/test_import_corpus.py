"""Every bad upload of the corpus (customers.tests.badfiles) goes the way a data
steward's file goes: the upload page in this process, then a real Celery worker
reads it and, when it can be read, imports it. Whatever the file, no page answers
with a server error, a refused file says why in words the catalogue translates,
a refused or failed file writes no customer, an imported one writes exactly its
customers, and the worker stays under 512 MB."""

from __future__ import annotations

import ast
import csv
import io
import re
import time
import uuid
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils.html import escape

from crm import roles
from crm.models import ImportJob, ImportRejectedRow, ImportStatus
from customers.models import Customer
from customers.tests import badfiles
from customers.tests.badfiles import CASES, FAMILIES, IMPORTED, READ, UPLOAD, BadFile
from kehu.tests.fixtures import celery_worker_start, celery_worker_stop

ROOT = Path(__file__).resolve().parents[2]
WORKER_LIMIT_MB = 512
WAIT_SECONDS = 120
CASE_SECONDS = 60  # the slowest case, a million rows, takes a few seconds


def _peak_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


@pytest.fixture(scope="module")
def corpus_worker(django_db_setup, django_db_blocker):
    """One real worker for the whole corpus (a worker per case would cost seconds each)."""
    with django_db_blocker.unblock():
        worker = celery_worker_start(f"kehu-test-{uuid.uuid4().hex[:8]}")
    try:
        yield worker
    finally:
        celery_worker_stop(worker)


@pytest.fixture
def wizard(client, make_user, corpus_worker, monkeypatch):
    """The steward's client (English), with the wizard's tasks sent to the worker."""
    from customers.tasks import import_job_analyse_task, import_job_run_task

    for task in (import_job_analyse_task, import_job_run_task):
        monkeypatch.setattr(
            task,
            "delay",
            lambda pk, task=task: task.apply_async((pk,), queue=corpus_worker.queue),
        )
    client.force_login(make_user("steward", roles.DATA_STEWARD, language="en"))
    return client


class Steps:
    """The pages a case goes through, each answer checked for a server error."""

    def __init__(self, client, worker, case: BadFile):
        self.client, self.worker, self.case = client, worker, case

    def check(self, response, what: str):
        assert response.status_code < 500, (
            f"{self.case.name}: {what} answered {response.status_code}"
        )
        return response

    def get(self, url: str, what: str, **headers):
        return self.check(self.client.get(url, **headers), what)

    def post(self, url: str, data: dict, what: str):
        return self.check(self.client.post(url, data), what)

    def wait(self, job: ImportJob, done) -> ImportJob:
        page = reverse("customers:import_job", args=[job.pk])
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if done(job):
                return job
            assert self.worker.poll() is None, f"{self.case.name}: the worker died"
            self.get(page, "the job page (polled)", HTTP_HX_REQUEST="true")
            time.sleep(0.1)
        raise AssertionError(f"{self.case.name}: the job stays {job.status}")


def _case_run(client, worker, case: BadFile) -> None:
    name = case.name
    steps = Steps(client, worker, case)
    customers_before = Customer.objects.count()
    jobs_before = ImportJob.objects.count()
    data = case.make()
    response = steps.post(
        reverse("customers:import"),
        {"kind": "customers", "file": SimpleUploadedFile(case.filename, data)},
        "the upload",
    )
    if case.outcome == UPLOAD:
        assert response.status_code == 200, f"{name}: the upload was taken"
        errors = response.context["form"].errors.get("file", [])
        assert any(case.message in error for error in errors), f"{name}: {errors}"
        assert escape(case.message) in response.content.decode(), f"{name}: not on the page"
        assert ImportJob.objects.count() == jobs_before, f"{name}: a job was made"
        assert Customer.objects.count() == customers_before, f"{name}: customers written"
        return
    assert response.status_code == 302, f"{name}: the upload was refused: {response.context}"
    job = ImportJob.objects.latest("pk")
    job = steps.wait(job, lambda job: job.status != ImportStatus.ANALYSING)
    page = reverse("customers:import_job", args=[job.pk])
    if case.outcome == READ:
        assert job.status == ImportStatus.FAILED, f"{name}: {job.status}, not failed"
        assert case.message in job.error, f"{name}: the job says {job.error!r}"
        html = steps.get(page, "the failed job's page").content.decode()
        assert escape(case.message) in html, f"{name}: the job page does not say why"
        assert not job.chunks.exists(), f"{name}: the upload is still kept"
        assert Customer.objects.count() == customers_before, f"{name}: customers written"
        return
    assert case.outcome == IMPORTED
    assert job.status == ImportStatus.UPLOADED, f"{name}: the worker refused it: {job.error}"
    mapping = reverse("customers:import_mapping", args=[job.pk])
    steps.get(mapping, "the mapping page")
    answer = steps.post(
        mapping,
        {**{f"col_{i}": key for i, key in enumerate(job.mapping)}, "owner": "self", "mode": "fill"},
        "the mapping",
    )
    preview = reverse("customers:import_preview", args=[job.pk])
    assert answer.status_code == 302 and answer.url == preview, f"{name}: mapping {answer}"
    steps.get(preview, "the preview")
    steps.post(preview, {}, "the start")
    job = steps.wait(job, lambda job: job.is_finished)
    assert job.status == ImportStatus.SUCCEEDED, f"{name}: the import failed: {job.error}"
    counts = {key: job.counts.get(key, 0) for key in case.counts}
    assert counts == case.counts, f"{name}: counts {job.counts}"
    created = Customer.objects.count() - customers_before
    assert created == case.customers, f"{name}: {created} customers, not {case.customers}"
    steps.get(page, "the finished job's page")
    if case.reason:
        kept = ImportRejectedRow.objects.filter(job=job)
        said = " ".join(f"{row.reason} {row.warnings}" for row in kept)
        assert case.reason in said, f"{name}: no row says {case.reason!r}: {said[:500]}"
    if job.counts.get("rejected"):
        steps.get(reverse("customers:import_rejected", args=[job.pk]), "the rejected rows")
    if job.counts.get("created_warned") or job.counts.get("updated_warned"):
        steps.get(reverse("customers:import_warned", args=[job.pk]), "the warned rows")


def _customers_forget() -> None:
    """The customers of the case before (and all that hangs off them), so that the
    next case's rows create customers rather than match them."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE customers_customer CASCADE")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("family", FAMILIES)
def test_a_bad_file_is_refused_or_imported_with_a_clear_message(wizard, corpus_worker, family):
    """A family's cases one after the other (a fresh database per case costs seconds);
    every case that goes wrong is named."""
    failures = []
    for case in (case for case in CASES if case.family == family):
        started = time.monotonic()
        try:
            _case_run(wizard, corpus_worker, case)
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
        peak = _peak_mb(corpus_worker.pid)
        if peak >= WORKER_LIMIT_MB:
            failures.append(f"{case.name}: the worker peaked at {peak:.0f} MB")
        if time.monotonic() - started > CASE_SECONDS:
            failures.append(f"{case.name}: took {time.monotonic() - started:.0f} s")
        if Customer.objects.exists():
            _customers_forget()
    assert not failures, "\n".join(failures)


def test_the_corpus_covers_every_family_with_forty_cases_or_more():
    names = " ".join(case.name for case in CASES)
    assert len(CASES) >= 40 and len(FAMILIES) >= 8
    for family in (
        "zip-bomb", "xxe", "laughs", "dimension", "1048576-rows", "16384", "png", "encrypted",
        "xls", "xlsm", "utf16", "gbk", "big5", "nul", "10mb-cell", "formulas", "injection",
    ):  # fmt: skip
        assert family in names, family
    assert {UPLOAD, READ, IMPORTED} == {case.outcome for case in CASES}


def _translatable_texts() -> list[str]:
    """The literal first argument of every gettext call in the import's code: the
    messages `make messages` puts in the catalogues."""
    texts = []
    for folder in ("crm/sheets", "customers/imports", "customers/import_jobs.py"):
        paths = [ROOT / folder] if folder.endswith(".py") else (ROOT / folder).glob("*.py")
        for path in paths:
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in {"_", "gettext", "gettext_lazy"}
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    texts.append(node.args[0].value)
    return texts


def test_every_message_of_the_corpus_goes_through_gettext():
    """Each expected message is (part of) a literal that gettext translates, so the
    Chinese catalogue has it after `make messages`."""
    texts = _translatable_texts()
    for case in CASES:
        if not case.message or case.message == badfiles.EMPTY_UPLOAD:  # Django's own
            continue
        assert any(case.message in text for text in texts), f"{case.name}: {case.message!r}"


@pytest.mark.django_db
def test_formula_like_text_is_kept_as_text_and_exported_neutralised(client, make_user):
    """=1+1, +王五, @SUM(…), -2+3 and =cmd|… are names and companies as typed; an
    export never hands them to a spreadsheet as formulas."""
    from crm.sheets.reader import sheet_open
    from customers.imports import customers_import, layout_detect

    steward = make_user("steward", roles.DATA_STEWARD, language="en")
    sheet = sheet_open(badfiles.BY_NAME["csv-injection-csv"].make(), name="inject.csv")
    result = customers_import(actor=steward, sheet=sheet, layout=layout_detect(sheet))
    assert result.counts["created"] == 2
    assert set(Customer.objects.values_list("name", flat=True)) == {"=1+1", "+王五"}
    client.force_login(steward)
    response = client.get(reverse("customers:export"), {"format": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    cells = {cell for row in csv.reader(io.StringIO(text)) for cell in row}
    assert {"'=1+1", "'+王五", "'@SUM(A1:A9)", "'-2+3"} <= cells
    assert not any(cell.startswith(("=", "+", "@", "-")) for cell in cells if cell)
    response = client.get(reverse("customers:export"), {"format": "xlsx"})
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.worksheets[0]
    formula_cells = [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formula_cells == []
    names = [c for row in sheet.iter_rows() for c in row if c.value in {"=1+1", "+王五"}]
    assert len(names) == 2 and all(c.quotePrefix for c in names)
