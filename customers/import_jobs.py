"""The import wizard's job: upload → mapping → preview → commit in Celery.

The upload is stored encrypted in the job row (so any worker on any machine can
run it) and dropped when the job ends. The commit is all-or-nothing (see
`customers.imports`): a failed job has imported nothing and says why; a worker
killed mid-run leaves the job to be redelivered (acks_late) and run again from
the start, which is safe because nothing of the first attempt was kept.
Progress lives in the cache (Redis) while the job runs, so the page can poll it.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.fields import field_cipher, primary_fernet
from crm.models import ImportJob, ImportKind, ImportRejectedRow, ImportStatus, User
from crm.sheets.reader import Sheet, SheetError, sheet_open
from customers.imports import (
    PREVIEW_ROWS,
    ImportResult,
    Layout,
    Mode,
    Options,
    Outcome,
    counts_line,
    customers_import,
    layout_detect,
    mapping_errors,
    warnings_json,
)
from customers.selectors import assignable_owners

logger = logging.getLogger(__name__)
PROGRESS_TTL = 24 * 3600
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


KINDS: dict[str, JobKind] = {}


def import_kind_register(kind: str, spec: JobKind) -> None:
    KINDS[kind] = spec


def import_kinds_for(user: User) -> list[str]:
    return [kind for kind, spec in KINDS.items() if user.has_perm(spec.permission)]


def import_jobs_visible(user: User):
    jobs = ImportJob.objects.select_related("created_by")
    return jobs if user.is_superuser else jobs.filter(created_by=user)


def _sheet(job: ImportJob) -> Sheet:
    if job.content is None:
        raise SheetError(_("The upload of this import is no longer kept."), "gone")
    return sheet_open(field_cipher().decrypt(bytes(job.content)), name=job.file_name)


def _layout(job: ImportJob) -> Layout:
    return Layout(
        sheet=job.sheet_name,
        header_rows=list(job.header_rows),
        columns=list(job.columns),
        mapping=list(job.mapping),
    )


def import_job_create(
    *, actor: User, name: str, data: bytes, kind: str = ImportKind.CUSTOMERS
) -> ImportJob:
    """Check the upload and find its header; raises SheetError with what is wrong."""
    spec = KINDS.get(kind)
    if spec is None or not actor.has_perm(spec.permission):
        raise SheetError(spec.refused() if spec else _("Choose what to import."), "forbidden")
    sheet = sheet_open(data, name=name)
    layout = spec.detect(sheet)
    return ImportJob.objects.create(
        kind=kind,
        created_by=actor,
        language=translation.get_language() or "zh-hans",
        file_name=name[:255],
        file_size=len(data),
        content=primary_fernet().encrypt(data),
        sheet_name=layout.sheet,
        header_rows=layout.header_rows,
        columns=layout.columns,
        mapping=layout.mapping,
        options={"owner": OWNER_SELF, "mode": Mode.FILL} if spec.owner_options else {},
    )


def _options(job: ImportJob) -> Options:
    owner = job.options.get("owner", OWNER_SELF)
    mode = job.options.get("mode", Mode.FILL)
    if owner == OWNER_POOL:
        return Options(pool=True, mode=mode)
    if owner in (OWNER_SELF, None, ""):
        return Options(owner=job.created_by, mode=mode)
    user = assignable_owners(job.created_by).filter(pk=owner).first()
    if user is None:
        raise SheetError(_("Choose an owner from the list."), "owner")
    return Options(owner=user, mode=mode)


def import_job_configure(
    *, actor: User, job: ImportJob, mapping: list[str], owner: str = "", mode: str = ""
) -> list[str]:
    """Save the column mapping and options; returns the problems (nothing saved then)."""
    spec = KINDS[job.kind]
    layout = _layout(job)
    layout.mapping = mapping
    errors = spec.mapping_errors(layout)
    if not errors:
        job.mapping = mapping
        if spec.owner_options:
            job.options = {"owner": owner, "mode": mode}
            try:
                _options(job)
            except SheetError as exc:
                return [exc.message]
        job.save(update_fields=["mapping", "options"])
    return errors


def import_job_preview(*, job: ImportJob) -> ImportResult:
    """The first rows as the import would treat them; nothing is written."""
    return KINDS[job.kind].run(job, sheet=_sheet(job), layout=_layout(job), preview=PREVIEW_ROWS)


def _customer_targets() -> list[tuple[str, str]]:
    from customers.columns import COLUMNS, NOTES

    notes = (NOTES, _("Keep in the notes, under its heading"))
    return [notes, *((column.key, column.label) for column in COLUMNS)]


def _customers_run(job: ImportJob, **arguments) -> ImportResult:
    return customers_import(actor=job.created_by, options=_options(job), **arguments)


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
    ),
)


def import_job_rows(job: ImportJob) -> int:
    return sum(job.counts.get(outcome, 0) for outcome in Outcome.ALL)


def import_job_start(*, actor: User, job: ImportJob) -> ImportJob:
    from customers.tasks import import_job_run_task

    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportStatus.UPLOADED:
            return job  # already started (a double click)
        job.status = ImportStatus.QUEUED
        job.save(update_fields=["status"])
        _progress_set(job.pk, 0.0, 0)
        transaction.on_commit(lambda: import_job_run_task.delay(job.pk))
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
                with transaction.atomic():
                    result = KINDS[job.kind].run(
                        job,
                        sheet=_sheet(job),
                        layout=_layout(job),
                        progress=lambda fraction, rows: _progress_set(job.pk, fraction, rows),
                        source=f"{job.file_name} (#{job.pk})",
                    )
                    ImportRejectedRow.objects.filter(job=job).delete()
                    ImportRejectedRow.objects.bulk_create(
                        (
                            ImportRejectedRow(
                                job=job,
                                row_number=row.row_number,
                                outcome=row.outcome,
                                cells=json.dumps(row.cells, ensure_ascii=False),
                                reason=row.reason,
                                warnings=json.dumps(warnings_json(row.warnings), ensure_ascii=False)
                                if row.warnings
                                else "",
                                number=row.number,
                            )
                            for row in sorted(
                                [*result.rejected, *result.warned], key=lambda r: r.row_number
                            )
                        ),
                        batch_size=2000,
                    )
                    return _finish(job, status=ImportStatus.SUCCEEDED, counts=result.counts)
            except SheetError as exc:
                return _finish(job, status=ImportStatus.FAILED, error=exc.message)
            except Exception:
                logger.exception("import job %s failed", job.pk)
                return _finish(
                    job,
                    status=ImportStatus.FAILED,
                    error=_("The import stopped on an unexpected error; nothing was imported."),
                )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [4004, job_id])


def _finish(job: ImportJob, *, status: str, error: str = "", counts=None) -> ImportJob:
    job.status = status
    job.error = error
    job.counts = counts or {}
    job.finished_at = timezone.now()
    job.content = None  # the upload held personal data; the outcome is what stays
    job.save(update_fields=["status", "error", "counts", "finished_at", "content"])
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
        status=ImportStatus.UPLOADED, created_at__lt=now - ABANDONED_AFTER
    ).delete()
    old_rows, _detail = ImportRejectedRow.objects.filter(
        job__finished_at__lt=now - REJECTED_KEPT
    ).delete()
    return abandoned + old_rows
