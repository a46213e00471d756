"""Memory stays bounded whatever the file: a real web server takes
the upload and a real worker reads it, each in its own process, and their peak
memory is read from the kernel (VmHWM). The web process stores the upload a piece
at a time and never parses it: at most +50 MB; the worker under 512 MB."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from crm import roles
from crm.models import ImportJob, ImportStatus
from crm.tests.realserver import RealServer

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MB = 1024 * 1024


def _peak_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


class _Server(RealServer):
    """The server of crm.tests.realserver with the import page's upload."""

    def __init__(self, queue: str):
        super().__init__({"CELERY_QUEUE": queue})

    def upload(self, path: Path) -> int:
        """POST the file to the import page, streamed from disk like a browser sends it."""
        token = self.csrf("/customers/import/")
        boundary = "----kehu-memory-test"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
            f'{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n'
            f'customers\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        size = len(head) + path.stat().st_size + len(tail)

        def parts():
            yield head
            with path.open("rb") as file:
                while chunk := file.read(MB):
                    yield chunk
            yield tail

        response, __ = self._send(
            "POST",
            "/customers/import/",
            {
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(size),
            },
            parts=parts(),
        )
        return response.status


def _until_read(worker) -> ImportJob:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job = ImportJob.objects.order_by("-pk").first()
        if job is not None and job.status != ImportStatus.ANALYSING:
            return job
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.5)
    raise AssertionError("the worker did not read the upload")


def _upload_and_read(make_user, worker, path: Path) -> tuple[ImportJob, float, float]:
    make_user("steward", roles.DATA_STEWARD, language="en")
    server = _Server(worker.queue)
    try:
        server.login("steward")
        server.get("/customers/import/")  # warm: every module the upload needs is loaded
        before = _peak_mb(server.process.pid)
        assert server.upload(path) == 302
        web = _peak_mb(server.process.pid) - before
    finally:
        server.stop()
    job = _until_read(worker)
    return job, web, _peak_mb(worker.pid)


def test_a_workbook_with_120_mb_of_text_reads_in_bounded_memory(
    make_user, celery_worker_queue, tmp_path
):
    from crm.tests.rawxlsx import xlsx_text_heavy

    path = tmp_path / "heavy.xlsx"
    xlsx_text_heavy(
        path, rows=[["姓名", "手机", "性别"], ["张三", "13800138000", "男"]], shared_bytes=120 * MB
    )
    assert path.stat().st_size > 15 * MB
    job, web, worker = _upload_and_read(make_user, celery_worker_queue, path)
    assert job.status == ImportStatus.UPLOADED, job.error
    assert job.mapping == ["name", "phones", "gender"]
    assert web < 50, f"the web process grew by {web:.0f} MB"
    assert worker < 512, f"the worker peaked at {worker:.0f} MB"


def test_a_csv_with_one_huge_cell_is_refused_in_bounded_memory(
    make_user, celery_worker_queue, tmp_path
):
    path = tmp_path / "huge-cell.csv"
    with path.open("w", encoding="utf-8") as file:
        file.write("姓名,手机,备注\n张三,13800138000,")
        for __ in range(40):
            file.write("很长的备注" * (MB // 15))
        file.write("\n")
    assert path.stat().st_size > 39 * MB
    job, web, worker = _upload_and_read(make_user, celery_worker_queue, path)
    assert job.status == ImportStatus.FAILED and "32,767" in job.error
    assert not job.chunks.exists()
    assert web < 50, f"the web process grew by {web:.0f} MB"
    assert worker < 512, f"the worker peaked at {worker:.0f} MB"
