"""The import wizard's job: upload → (worker reads it) → columns → values → preview
→ commit in Celery.

The web process never parses a file: the upload request checks the container
(size, real type, the zip's directory) and stores it encrypted, a piece at a
time (crm.ImportUploadChunk), so any worker on any machine can read it; a worker
finds the header and keeps what the wizard shows (the first rows, each column's
values) encrypted on the job. The upload is dropped when the job ends. The
commit is all-or-nothing (see `customers.imports`): a failed job has imported
nothing and says why; a worker killed mid-run leaves the job to be redelivered
(acks_late) and run again from the start, which is safe because nothing of the
first attempt was kept. Progress lives in the cache (Redis) while a job runs, so
the page can poll it.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.fields import field_cipher, primary_fernet
from crm.models import (
    ImportJob,
    ImportKind,
    ImportRejectedRow,
    ImportStatus,
    ImportUploadChunk,
    User,
)
from crm.sheets.cells import StoredSheet, cell_load
from crm.sheets.reader import sheet_open, upload_check
from crm.sheets.sheet import Sheet, SheetError
from customers import tasks  # the wrappers import this module back: use it as tasks.x
from customers.columns import COLUMNS, NOTES
from customers.imports import (
    PREVIEW_ROWS,
    ImportResult,
    Layout,
    Mode,
    Options,
    Outcome,
    cell_text,
    counts_line,
    customers_import,
    layout_detect,
    mapping_errors,
    warnings_json,
)
from customers.imports.values import choice_columns, mappings_remember, sheet_analyse
from customers.selectors import assignable_owners
from customers.sources import SourceLookup

logger = logging.getLogger(__name__)
PROGRESS_TTL = 24 * 3600
CHUNK_BYTES = 1024 * 1024  # an upload is stored and read back a megabyte at a time
OWNER_SELF = "self"
OWNER_POOL = "pool"


@dataclass(frozen=True)
class JobKind:
    """What the wizard needs of one kind of import (customers, orders…)."""

    permission: str
    refused: Callable[[], str]  # the message for someone without the permission
    detect: Callable[[Sheet], Layout]
    mapping_errors: Callable[[Layout], list[str]]
    # run(job, sheet=, layout=, preview=, progress=, source=) -> ImportResult
    run: Callable[..., ImportResult]
    targets: Callable[[], list[tuple[str, str]]]  # what a column may be imported as
    counts_line: Callable[[dict[str, int]], str]
    owner_options: bool = False  # the customer import's owner and update mode
    value_mapping: bool = False  # the step that maps choice columns' values


KINDS: dict[str, JobKind] = {}


def import_kind_register(kind: str, spec: JobKind) -> None:
    KINDS[kind] = spec


def import_kinds_for(user: User) -> list[str]:
    return [kind for kind, spec in KINDS.items() if user.has_perm(spec.permission)]


def import_jobs_visible(user: User):
    jobs = ImportJob.objects.select_related("created_by")
    return jobs if user.is_superuser else jobs.filter(created_by=user)


@contextlib.contextmanager
def _upload_file(job: ImportJob) -> Iterator[BinaryIO]:
    """The upload, decrypted a piece at a time into a temporary file."""
    cipher = field_cipher()
    with tempfile.TemporaryFile() as file:
        pieces = ImportUploadChunk.objects.filter(job=job).order_by("position")
        found = False
        for data in pieces.values_list("data", flat=True).iterator(chunk_size=4):
            file.write(cipher.decrypt(bytes(data)))
            found = True
        if not found:
            raise SheetError(_("The upload of this import is no longer kept."), "gone")
        file.seek(0)
        yield file


def analysis_of(job: ImportJob) -> dict:
    """What a worker read of the upload: {"rows": […], "values": {…}}."""
    return json.loads(job.analysis) if job.analysis else {"rows": [], "values": {}}


def import_job_layout(job: ImportJob) -> Layout:
    return Layout(
        sheet=job.sheet_name,
        header_rows=list(job.header_rows),
        columns=list(job.columns),
        mapping=list(job.mapping),
    )


def import_job_create(
    *, actor: User, name: str, file: BinaryIO, kind: str = ImportKind.CUSTOMERS
) -> ImportJob:
    """Check the upload's container and store it; a worker reads it (import_job_analyse).
    Raises SheetError with what is wrong. Reads the file a piece at a time."""
    spec = KINDS.get(kind)
    if spec is None or not actor.has_perm(spec.permission):
        raise SheetError(spec.refused() if spec else _("Choose what to import."), "forbidden")
    upload_check(file, name)

    fernet = primary_fernet()
    with transaction.atomic():
        job = ImportJob.objects.create(
            kind=kind,
            created_by=actor,
            language=translation.get_language() or "zh-hans",
            file_name=name[:255],
            status=ImportStatus.ANALYSING,
            options={"owner": OWNER_SELF, "mode": Mode.FILL} if spec.owner_options else {},
        )
        size, position = 0, 0
        file.seek(0)
        table = ImportUploadChunk._meta.db_table
        with connection.cursor() as cursor:
            # psycopg2's own cursor: with DEBUG on, Django's query log would keep every
            # piece as SQL text (a 40 MB upload held three times over).
            raw = cursor.cursor
            while data := file.read(CHUNK_BYTES):
                raw.execute(
                    f"INSERT INTO {table} (job_id, position, data) VALUES (%s, %s, %s)",  # noqa: S608
                    [job.pk, position, fernet.encrypt(data)],
                )
                size += len(data)
                position += 1
        job.file_size = size
        job.save(update_fields=["file_size"])
        transaction.on_commit(lambda: tasks.import_job_analyse_task.delay(job.pk))
    return job


def import_job_analyse(job_id: int) -> ImportJob | None:
    """Read an upload (the Celery task): find the header and map the columns, keep the
    first rows and each column's values for the wizard. Safe to run twice."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update(skip_locked=True).filter(pk=job_id).first()
        if job is None or job.status != ImportStatus.ANALYSING:
            return job
        spec = KINDS[job.kind]
        with translation.override(job.language):
            try:
                with _upload_file(job) as file:
                    sheet = sheet_open(file, name=job.file_name)
                    layout = spec.detect(sheet)
                    analysis = sheet_analyse(sheet, layout)
            except Exception as exc:
                return _failed(job, exc, _("The file could not be read on an unexpected error."))
        job.sheet_name = layout.sheet
        job.header_rows = layout.header_rows
        job.columns = layout.columns
        job.mapping = layout.mapping
        job.analysis = json.dumps(analysis, ensure_ascii=False)
        job.status = ImportStatus.UPLOADED
        job.save(
            update_fields=["sheet_name", "header_rows", "columns", "mapping", "analysis", "status"]
        )
    return job


def _options(job: ImportJob) -> Options:
    owner = job.options.get("owner", OWNER_SELF)
    mode = job.options.get("mode", Mode.FILL)
    values = job.options.get("values") or {}
    if owner == OWNER_POOL:
        return Options(pool=True, mode=mode, values=values)
    if owner in (OWNER_SELF, None, ""):
        return Options(owner=job.created_by, mode=mode, values=values)
    user = assignable_owners(job.created_by).filter(pk=owner).first()
    if user is None:
        raise SheetError(_("Choose an owner from the list."), "owner")
    return Options(owner=user, mode=mode, values=values)


def import_job_configure(
    *, actor: User, job: ImportJob, mapping: list[str], owner: str = "", mode: str = ""
) -> list[str]:
    """Save the column mapping and options; returns the problems (nothing saved then)."""
    spec = KINDS[job.kind]
    layout = import_job_layout(job)
    layout.mapping = mapping
    errors = spec.mapping_errors(layout)
    if not errors:
        job.mapping = mapping
        if spec.owner_options:
            job.options = {**job.options, "owner": owner, "mode": mode}
            try:
                _options(job)
            except SheetError as exc:
                return [exc.message]
        job.save(update_fields=["mapping", "options"])
    return errors


def import_job_values_step(job: ImportJob) -> bool:
    """Whether the wizard maps values: a customer import with a choice column mapped."""
    return KINDS[job.kind].value_mapping and bool(choice_columns(import_job_layout(job)))


def import_job_examples(job: ImportJob, count: int = 3) -> list[list[str]]:
    """A few values of each column, most frequent first, for the mapping page."""
    analysis = analysis_of(job)
    examples = []
    for index in range(len(job.columns)):
        found = analysis["values"].get(str(index))
        if found is None:  # too many distinct values: the first rows show some
            column = str(index + 1)
            found = [
                (cell_text(cell_load(cells[column])), 1)
                for __, cells in analysis["rows"]
                if column in cells
            ]
        examples.append([text for text, __ in found[:count]])
    return examples


def import_job_values_save(
    *, job: ImportJob, decisions: dict[str, dict[str, str]], texts: dict[str, dict[str, str]]
) -> None:
    """The steward's value mapping ({key: {value_key: target}}), and each value's text
    as the file wrote it (remembered with the decision when the import is done)."""
    job.options = {**job.options, "values": decisions, "value_texts": texts}
    job.save(update_fields=["options"])


def import_job_preview(*, job: ImportJob) -> ImportResult:
    """The first rows as the import would treat them, from what the worker kept of
    them (the web process never opens the file); nothing is written."""
    sheet = StoredSheet(analysis_of(job)["rows"])
    return KINDS[job.kind].run(
        job, sheet=sheet, layout=import_job_layout(job), preview=PREVIEW_ROWS
    )


def _customer_targets() -> list[tuple[str, str]]:
    notes = (NOTES, _("Keep in the notes, under its heading"))
    return [notes, *((column.key, column.label) for column in COLUMNS)]


def _customers_run(job: ImportJob, **arguments) -> ImportResult:
    options = _options(job)
    result = customers_import(actor=job.created_by, options=options, **arguments)
    if not arguments.get("preview"):
        mappings_remember(
            actor=job.created_by,
            decisions=options.values,
            originals=job.options.get("value_texts") or {},
            sources=SourceLookup(),
        )
    return result


import_kind_register(
    ImportKind.CUSTOMERS,
    JobKind(
        permission="customers.add_customer",
        refused=lambda: _("You may not import customers."),
        detect=layout_detect,
        mapping_errors=mapping_errors,
        run=_customers_run,
        targets=_customer_targets,
        counts_line=counts_line,
        owner_options=True,
        value_mapping=True,
    ),
)


def import_job_rows(job: ImportJob) -> int:
    return sum(job.counts.get(outcome, 0) for outcome in Outcome.ALL)


def import_job_start(*, actor: User, job: ImportJob) -> ImportJob:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportStatus.UPLOADED:
            return job  # already started (a double click)
        job.status = ImportStatus.QUEUED
        job.save(update_fields=["status"])
        _progress_set(job.pk, 0.0, 0)
        transaction.on_commit(lambda: tasks.import_job_run_task.delay(job.pk))
    return job


def _progress_key(job_id: int) -> str:
    return f"import-progress:{job_id}"


def _progress_set(job_id: int, fraction: float, rows: int) -> None:
    cache.set(_progress_key(job_id), json.dumps([round(fraction, 3), rows]), PROGRESS_TTL)


def import_job_progress(job: ImportJob) -> tuple[int, int]:
    """(percent, rows read) of a queued or running job."""
    if job.status == ImportStatus.SUCCEEDED:
        return 100, import_job_rows(job)
    raw = cache.get(_progress_key(job.pk))
    if not raw:
        return 0, 0
    fraction, rows = json.loads(raw)
    return int(fraction * 100), rows


def import_job_run(job_id: int) -> ImportJob | None:
    """Run a queued job (the Celery task). Safe to call twice: a job that is
    finished, or running under another worker's lock, is left alone."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update(skip_locked=True).filter(pk=job_id).first()
        if job is None or job.is_finished or job.status == ImportStatus.UPLOADED:
            return job
        job.status, job.started_at, job.error = ImportStatus.RUNNING, timezone.now(), ""
        job.save(update_fields=["status", "started_at", "error"])
    with connection.cursor() as cursor:  # one run at a time per job, across workers
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [4004, job_id])
        (locked,) = cursor.fetchone()
    if not locked:
        return job
    try:
        with translation.override(job.language):
            try:
                # The customers, the rejected rows and "finished" commit together: a
                # worker that dies in between leaves the job to run again from scratch.
                with transaction.atomic(), _upload_file(job) as file:
                    result = KINDS[job.kind].run(
                        job,
                        sheet=sheet_open(file, name=job.file_name),
                        layout=import_job_layout(job),
                        progress=lambda fraction, rows: _progress_set(job.pk, fraction, rows),
                        source=f"{job.file_name} (#{job.pk})",
                    )
                    ImportRejectedRow.objects.filter(job=job).delete()
                    _rows_keep(job, result.kept_rows())
                    return _finish(job, status=ImportStatus.SUCCEEDED, counts=result.counts)
            except Exception as exc:
                return _failed(
                    job, exc, _("The import stopped on an unexpected error; nothing was imported.")
                )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [4004, job_id])


def _rows_keep(job: ImportJob, rows: Iterator) -> None:
    """The rejected rows and those with warnings, for their workbooks: a few
    thousand at a time (bulk_create would build every row's object at once)."""
    width = len(job.columns)
    while batch := list(itertools.islice(rows, 2000)):
        ImportRejectedRow.objects.bulk_create(
            ImportRejectedRow(
                job=job,
                row_number=row.row_number,
                outcome=row.outcome,
                cells=json.dumps(row.texts(width), ensure_ascii=False),
                reason=row.reason,
                warnings=json.dumps(warnings_json(row.warnings), ensure_ascii=False)
                if row.warnings
                else "",
                number=row.number,
            )
            for row in batch
        )


def _failed(job: ImportJob, exc: Exception, unexpected: str) -> ImportJob:
    """The job failed: a file's problem in its own words, anything else logged and
    said as `unexpected`."""
    if isinstance(exc, SheetError):
        return _finish(job, status=ImportStatus.FAILED, error=exc.message)
    logger.error("import job %s failed", job.pk, exc_info=exc)
    return _finish(job, status=ImportStatus.FAILED, error=unexpected)


def _finish(job: ImportJob, *, status: str, error: str = "", counts=None) -> ImportJob:
    job.status = status
    job.error = error
    job.counts = counts or {}
    job.finished_at = timezone.now()
    # The upload and what was read of it held personal data; the outcome is what stays.
    ImportUploadChunk.objects.filter(job=job).delete()
    job.analysis = ""
    job.save(update_fields=["status", "error", "counts", "finished_at", "analysis"])
    _progress_set(job.pk, 1.0, import_job_rows(job))
    return job


def import_job_rejected(job: ImportJob):
    """(cells, reason) of each rejected row, in sheet order."""
    for row in job.rejected.filter(outcome=Outcome.REJECTED).iterator(chunk_size=2000):
        yield json.loads(row.cells) if row.cells else [], row.reason


def import_job_warned(job: ImportJob):
    """(cells, [[key, label, message]], customer number) of each row imported with
    warnings, in sheet order."""
    rows = job.rejected.exclude(outcome=Outcome.REJECTED)
    for row in rows.iterator(chunk_size=2000):
        cells = json.loads(row.cells) if row.cells else []
        yield cells, json.loads(row.warnings) if row.warnings else [], row.number


ABANDONED_AFTER = datetime.timedelta(hours=24)
REJECTED_KEPT = datetime.timedelta(days=30)


def import_jobs_purge(*, now: datetime.datetime) -> int:
    """Housekeeping (nightly): uploads never imported go after a day, rejected rows
    of finished imports after 30 days; both hold personal data. Returns rows removed."""
    abandoned, _detail = ImportJob.objects.filter(
        status__in=(ImportStatus.ANALYSING, ImportStatus.UPLOADED),
        created_at__lt=now - ABANDONED_AFTER,
    ).delete()
    old_rows, _detail = ImportRejectedRow.objects.filter(
        job__finished_at__lt=now - REJECTED_KEPT
    ).delete()
    return abandoned + old_rows
