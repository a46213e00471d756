"""Backups that restore: the whole drill with the real pg_dump and pg_restore
(seed, back up, restore into a new database, verify, serve a page from it), a
damaged file or a wrong key creating nothing, the file format, retention, and
the jobs with their alerts."""

from __future__ import annotations

import datetime
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from crm.backup import stream
from crm.backup.alerts import backup_check
from crm.backup.postgres import database_exists, raw_connection
from crm.backup.retention import backup_name, backups_prune, retention_keep
from crm.jobs import job_run
from crm.models import BackupRun, JobRun, Notification
from crm.tests.realserver import ROOT, RealServer

transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHONE = "13912340987"
EMAIL = "ouyang.backup@example.com"
NAME = "欧阳备份"
CONTRACT = b"%PDF-1.7\n% signed contract of the backup drill\n%%EOF\n"


@pytest.fixture
def private_root(settings, tmp_path):
    settings.PRIVATE_FILES_ROOT = tmp_path / "private"
    (settings.PRIVATE_FILES_ROOT / "contracts" / "2026").mkdir(parents=True)
    (settings.PRIVATE_FILES_ROOT / "contracts" / "2026" / "c-1.pdf").write_bytes(CONTRACT)
    return settings.PRIVATE_FILES_ROOT


@pytest.fixture
def new_database():
    """A unique name for a restored database, dropped afterwards."""
    name = f"test_restored_{uuid.uuid4().hex[:10]}"
    yield name
    raw = raw_connection()
    try:
        raw.autocommit = True
        with raw.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        raw.close()


def backup_to(directory: Path) -> Path:
    out = io.StringIO()
    call_command("backup", "--to", str(directory), stdout=out)
    return Path(out.getvalue().splitlines()[-1])


def restore(path: Path, database: str, files_to: Path) -> str:
    out = io.StringIO()
    call_command(
        "restore_backup", str(path), "--database", database, "--files-to", str(files_to),
        stdout=out,
    )  # fmt: skip
    return out.getvalue()


def database_url(name: str) -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}"


def restore_as_an_operator(
    path: Path, database: str, files_to: Path, private_root: Path, **env: str
) -> subprocess.CompletedProcess:
    """`manage.py restore_backup` in a process of its own, as the runbook runs it
    (its checks open the new database under a connection alias of their own,
    which a test's own process refuses)."""
    return subprocess.run(
        [sys.executable, "manage.py", "restore_backup", str(path), "--database", database,
         "--files-to", str(files_to)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "DATABASE_URL": database_url(connection.settings_dict["NAME"]),
             "PRIVATE_FILES_ROOT": str(private_root), **env},
    )  # fmt: skip


# --- the drill --------------------------------------------------------------


@transactional
def test_a_backup_restores_into_a_new_database_that_checks_out_and_serves_pages(
    customer_make, rep, private_root, tmp_path, new_database
):
    customer_make(rep, name=NAME, phones=PHONE, emails=EMAIL)
    customer_make(None, name="王芳", phones="13912345678")

    path = backup_to(tmp_path / "out")

    assert path.is_file() and path.parent == tmp_path / "out"
    assert path.name.startswith("kehu-") and path.suffix == ".kehubackup"
    assert list(path.parent.iterdir()) == [path]  # no temporary left beside it
    data = path.read_bytes()
    for plain in (PHONE.encode(), EMAIL.encode(), NAME.encode(), b"signed contract", b"PGDMP"):
        assert plain not in data
    run = BackupRun.objects.get()
    assert (run.status, run.trigger, run.path, run.size) == ("ok", "hand", str(path), len(data))
    assert run.counts["customers_customer"] == 2 and run.file_count == 1
    assert run.table_count == len(run.counts) and "django_migrations" in run.counts
    assert run.pruned == []  # --to: a folder of its own, never pruned

    files_to = tmp_path / "restored-files"
    result = restore_as_an_operator(path, new_database, files_to, private_root)

    output = result.stdout
    assert result.returncode == 0, output + result.stderr
    lines = output.splitlines()
    assert lines[-1] == f"OK: {new_database} restored and verified (5 checks passed)."
    for check in ("migrations at head", "rows of every table", "private files", "keys"):
        assert any(line.startswith(f"[ok] {check}:") for line in lines), output
    assert "[ok] encrypted fields decrypt: " in output and " 0 sampled" not in output
    assert (files_to / "contracts" / "2026" / "c-1.pdf").read_bytes() == CONTRACT
    assert (private_root / "contracts" / "2026" / "c-1.pdf").read_bytes() == CONTRACT

    server = RealServer(env_extra={"DATABASE_URL": database_url(new_database)})
    try:
        server.login(rep.username)
        page = server.get("/customers/").decode()
    finally:
        server.stop()
    assert NAME in page


@transactional
def test_a_damaged_file_a_wrong_key_or_an_existing_database_create_nothing(
    customer_make, rep, private_root, tmp_path, new_database, settings
):
    customer_make(rep, name=NAME, phones=PHONE)
    path = backup_to(tmp_path / "out")
    files_to = tmp_path / "restored-files"

    damaged = tmp_path / "damaged.kehubackup"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged.write_bytes(bytes(data))
    with pytest.raises(CommandError, match=r"damaged or was changed .* Nothing was created\.$"):
        restore(damaged, new_database, files_to)
    assert not database_exists(new_database)
    assert not files_to.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.kehubackup", "out", "private"]

    cut = tmp_path / "cut.kehubackup"
    cut.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CommandError, match="Nothing was created"):
        restore(cut, new_database, files_to)
    assert not database_exists(new_database)

    settings.BACKUP_KEY = "another-backup-key-of-at-least-32-characters"
    with pytest.raises(CommandError, match="encrypted with another BACKUP_KEY"):
        restore(path, new_database, files_to)
    assert not database_exists(new_database)

    with pytest.raises(CommandError, match="exists already"):
        restore(path, connection.settings_dict["NAME"], files_to)
    with pytest.raises(CommandError, match="live PRIVATE_FILES_ROOT"):
        restore(path, new_database, private_root)
    assert not files_to.exists()


@transactional
def test_the_counts_are_the_dumps_even_when_rows_are_written_during_the_backup(
    monkeypatch, private_root, tmp_path
):
    """Rows committed between the counting and pg_dump are in neither: both read
    the one exported snapshot."""
    from crm.backup import postgres
    from crm.backup.restore import backup_unpack
    from crm.models import Team

    Team.objects.create(name="甲队")
    real_run = postgres.tool_run

    def write_meanwhile(arguments):
        Team.objects.create(name="乙队")  # committed now (autocommit), after the counting
        real_run(arguments)

    monkeypatch.setattr(postgres, "tool_run", write_meanwhile)
    path = backup_to(tmp_path / "out")

    staging = tmp_path / "unpacked"
    staging.mkdir()
    unpacked = backup_unpack(path, staging)
    assert unpacked.manifest["tables"]["crm_team"] == 1
    data = subprocess.run(
        [postgres.tool("pg_restore"), "--data-only", "--table=crm_team", "--file=-",
         str(unpacked.dump)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "甲队" in data and "乙队" not in data
    assert Team.objects.count() == 2


@transactional
def test_a_restore_whose_checks_fail_says_which_and_keeps_the_database(
    customer_make, rep, private_root, tmp_path, new_database
):
    from cryptography.fernet import Fernet

    customer_make(rep, name=NAME, phones=PHONE)
    path = backup_to(tmp_path / "out")

    result = restore_as_an_operator(
        path, new_database, tmp_path / "restored-files", private_root,
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )  # fmt: skip

    assert result.returncode == 1
    assert "[FAILED] encrypted fields decrypt: " in result.stdout
    assert "[ok] rows of every table: " in result.stdout
    assert "Verification failed (keys, encrypted fields decrypt)" in result.stderr
    assert f"the database {new_database} is kept for inspection" in result.stderr
    assert "Traceback" not in result.stderr
    assert database_exists(new_database)


# --- the file format --------------------------------------------------------


def sealed(plain: bytes, key: str = "k" * 40, chunk_size: int = 64) -> tuple[bytes, int]:
    out = io.BytesIO()
    writer = stream.EncryptingWriter(out, key, chunk_size=chunk_size)
    for start in range(0, len(plain), 50):
        writer.write(plain[start : start + 50])
    writer.close()
    return out.getvalue(), len(writer.header)


def opened(data: bytes, key: str = "k" * 40) -> bytes:
    reader = stream.DecryptingReader(io.BytesIO(data), key)
    parts = []
    while part := reader.read(37):
        parts.append(part)
    assert reader.finished
    return b"".join(parts)


@pytest.mark.parametrize("length", [0, 1, 63, 64, 65, 640, 1000])
def test_the_stream_reads_back_what_was_written_across_chunks(length):
    plain = bytes(range(256)) * 4
    data, __ = sealed(plain[:length])
    assert opened(data) == plain[:length]


def test_a_changed_moved_dropped_or_cut_chunk_is_refused_in_one_sentence():
    data, header = sealed(bytes(1000))
    chunk = 64 + stream.TAG_SIZE
    first, second = slice(header, header + chunk), slice(header + chunk, header + 2 * chunk)
    changed = bytearray(data)
    changed[header + 5] ^= 0x80
    swapped = data[:header] + data[second] + data[first] + data[header + 2 * chunk :]
    dropped = data[:header] + data[second.start :]
    cut_at_a_chunk = data[: header + 3 * chunk]
    for bad, message in [
        (bytes(changed), "damaged or was changed"),
        (swapped, "damaged or was changed"),
        (dropped, "damaged or was changed"),
        (cut_at_a_chunk, "cut short"),
        (data[:header], "cut short"),
        (b"PK\x03\x04 a zip, say", "not a Kehu backup"),
    ]:
        with pytest.raises(stream.BackupUnreadable, match=message):
            opened(bad)
    with pytest.raises(stream.BackupUnreadable, match="another BACKUP_KEY"):
        opened(data, key="x" * 40)


# --- retention ----------------------------------------------------------------


def names(*moments: str) -> list[str]:
    return [backup_name(datetime.datetime.fromisoformat(m)) for m in moments]


def test_retention_keeps_the_newest_of_each_recent_day_week_and_month():
    # Two a day for sixty days, from 2026-01-01 (a Thursday) to 2026-03-01.
    start = datetime.datetime(2026, 1, 1, 2, 45)  # noqa: DTZ001
    every = [
        backup_name(start + datetime.timedelta(days=day, hours=hours))
        for day in range(60)
        for hours in (0, 12)
    ]
    keep = retention_keep([*every, "notes.txt"], daily=3, weekly=2, monthly=3)
    assert sorted(keep) == names(
        "2026-01-31 14:45",  # January's newest
        "2026-02-22 14:45",  # the newest of ISO week 8 (Sunday)
        "2026-02-27 14:45",
        "2026-02-28 14:45",  # February's newest, and a day's
        "2026-03-01 14:45",  # the newest: a day's, week 9's and March's
    )
    # Days, weeks and months without a backup are not counted: after a gap, the
    # last backups before it are kept, never all deleted.
    gap = names("2025-06-01 02:45", "2025-06-02 02:45", "2026-03-01 02:45")
    assert retention_keep(gap, daily=2, weekly=0, monthly=0) == set(gap[1:])
    assert retention_keep(gap, daily=0, weekly=0, monthly=0) == set(gap[2:])


def test_pruning_deletes_only_backups_retention_does_not_keep(tmp_path):
    kept = names("2026-03-01 02:45", "2026-03-02 02:45")
    for name in [*names("2026-02-27 02:45", "2026-03-01 01:00"), *kept, "notes.txt"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "kehu-20260101-000000.kehubackup.partial").write_bytes(b"x")

    deleted = backups_prune(tmp_path, daily=2, weekly=0, monthly=0)

    assert deleted == names("2026-02-27 02:45", "2026-03-01 01:00")
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {*kept, "kehu-20260101-000000.kehubackup.partial", "notes.txt"}


# --- the jobs and their alerts ----------------------------------------------


@transactional
def test_the_backup_job_records_its_run_and_prunes_the_backup_folder(
    settings, tmp_path, private_root
):
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_DIR.mkdir()
    settings.BACKUP_KEEP_DAILY, settings.BACKUP_KEEP_WEEKLY = 1, 0
    settings.BACKUP_KEEP_MONTHLY = 0
    old = names("2025-01-01 02:45")[0]
    (settings.BACKUP_DIR / old).write_bytes(b"an old backup")

    job = job_run("backup")

    run = BackupRun.objects.get()
    assert (job.status, run.status, run.trigger) == ("done", "ok", "schedule")
    assert job.counts == {
        "tables": run.table_count, "rows": run.row_count, "files": 1, "bytes": run.size,
        "pruned": 1,
    }  # fmt: skip
    assert run.pruned == [old]
    assert [p.name for p in settings.BACKUP_DIR.iterdir()] == [Path(run.path).name]


@pytest.mark.django_db
def test_a_failed_backup_tells_the_active_admins_once_a_day(
    settings, tmp_path, admin_user, make_user, rep
):
    make_user("gone", is_superuser=True, is_active=False)
    settings.BACKUP_DIR = tmp_path / "a-file"
    settings.BACKUP_DIR.write_bytes(b"not a folder")

    with pytest.raises(FileExistsError):
        job_run("backup")

    run = BackupRun.objects.get()
    assert run.status == "failed" and run.error.startswith("FileExistsError")
    assert JobRun.objects.get().status == "failed"
    alert = Notification.objects.get()
    assert (alert.recipient, alert.kind) == (admin_user, "alert")
    assert alert.link == "/admin/crm/backuprun/"
    # The hourly check finds the same failure: no second alert that day.
    assert backup_check(timezone.localdate()) == {"alerted": 0}
    assert Notification.objects.count() == 1


@pytest.mark.django_db
def test_the_check_alerts_when_the_last_good_backup_is_more_than_a_day_old(admin_user):
    now = timezone.now()
    assert backup_check(now.date()) == {"alerted": 1}  # none yet
    Notification.objects.all().delete()
    BackupRun.objects.create(status="ok", started_at=now - datetime.timedelta(hours=25))
    assert backup_check(now.date()) == {"alerted": 0}

    BackupRun.objects.update(started_at=now - datetime.timedelta(hours=27))

    assert backup_check(now.date()) == {"alerted": 1}
    assert backup_check(now.date()) == {"alerted": 0}
    alert = Notification.objects.get()
    assert alert.recipient == admin_user and alert.key.startswith("backup:")
    assert "2" in alert.text  # the moment of the last good backup, in the admin's language
    assert JobRun.objects.count() == 0  # run directly, not through job_run
