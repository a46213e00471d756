"""Writing a backup: `backup_create` (the command `backup`, the job `backup`).

One snapshot: a REPEATABLE READ, read-only transaction exports its snapshot,
counts the rows of every table of the public schema in it and stays open while
`pg_dump --snapshot` dumps from the same snapshot, so the counts the manifest
records are those of the dump, whatever is written meanwhile.

One file: a gzip'd tar of `database.dump` (pg_dump's custom format, compressed
by pg_dump), `files/…` (the private files, copied after the snapshot: a file
added meanwhile is in, one deleted meanwhile may be missing) and
`manifest.json` (last, as it holds the SHA-256 of all before it), encrypted as
it is written (crm.backup.stream). It is written under a hidden temporary name
and renamed when complete: a backup's name never holds half a file, and a
failed run leaves nothing behind.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import json
import logging
import os
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.utils import timezone
from psycopg2 import sql

from crm.backup import postgres
from crm.backup.alerts import backup_failed_alert
from crm.backup.retention import backup_name, backups_prune
from crm.backup.stream import EncryptingWriter, key_fingerprint
from crm.models import BackupRun

log = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
DUMP_NAME = "database.dump"
MANIFEST_NAME = "manifest.json"
FILES_PREFIX = "files/"
COPY_SIZE = 1 << 20
INTERRUPTED = "Interrupted: the process stopped before the end."


@dataclass
class Snapshot:
    snapshot_id: str
    tables: dict[str, int]
    migrations: dict[str, str]
    server_version: str


@dataclass
class Written:
    path: Path
    size: int
    manifest: dict
    files: list[dict] = field(default_factory=list)


def keys_fingerprints() -> dict:
    """The fingerprints of the keys a restore needs (never the keys)."""
    return {
        "backup": key_fingerprint(settings.BACKUP_KEY),
        "field_encryption": [key_fingerprint(key) for key in settings.FIELD_ENCRYPTION_KEYS],
        "blind_index": key_fingerprint(settings.BLIND_INDEX_KEY),
    }


def public_table_counts(cursor) -> dict[str, int]:
    """Rows of every table of the public schema (Django's own included)."""
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    tables = [row[0] for row in cursor.fetchall()]
    counts = {}
    for table in tables:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("public", table)))
        counts[table] = cursor.fetchone()[0]
    return counts


def _snapshot_take(cursor) -> Snapshot:
    cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
    snapshot_id, server_version = cursor.fetchone()
    counts = public_table_counts(cursor)
    migrations = {}
    if "django_migrations" in counts:
        cursor.execute("SELECT app, max(name) FROM django_migrations GROUP BY app ORDER BY app")
        migrations = dict(cursor.fetchall())
    return Snapshot(snapshot_id, counts, migrations, server_version)


class _Hashing:
    """A file read through: its SHA-256 and size as tar copies it."""

    def __init__(self, source: BinaryIO):
        self._source, self.sha256, self.size = source, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> dict:
    with path.open("rb") as source:
        info = tarfile.TarInfo(name)
        info.size = os.fstat(source.fileno()).st_size
        info.mode = 0o600
        info.mtime = int(path.stat().st_mtime)
        reader = _Hashing(source)
        tar.addfile(info, reader)
    return {"size": reader.size, "sha256": reader.sha256.hexdigest()}


def private_files(root: Path, *, skip: Path | None = None) -> list[tuple[str, Path]]:
    """Every regular file under `root` (no links followed), as (relative POSIX
    path, path), sorted; nothing under `skip` (a backup folder put inside it)."""
    if not root.is_dir():
        return []
    found = []
    skip = skip.resolve() if skip else None
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        if skip and Path(folder).resolve().is_relative_to(skip):
            dirs.clear()
            continue
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            found.append((path.relative_to(root).as_posix(), path))
    return sorted(found)


def _final_path(directory: Path, moment: datetime.datetime) -> Path:
    number = 0
    while (directory / backup_name(moment, number)).exists():
        number += 1
    return directory / backup_name(moment, number)


def backup_write(directory: Path, *, moment: datetime.datetime) -> Written:
    """Dump the database and copy the private files into one new encrypted file
    in `directory`; returns it with its manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    pg_dump = postgres.tool("pg_dump")
    database = postgres.default_settings()["NAME"]
    with tempfile.TemporaryDirectory(dir=directory, prefix=".kehu-backup-") as work:
        work = Path(work)
        dump = work / DUMP_NAME
        connection = postgres.raw_connection()
        try:
            connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
            with connection.cursor() as cursor:
                snapshot = _snapshot_take(cursor)
                # The transaction stays open until pg_dump is done with its snapshot.
                postgres.tool_run(
                    [pg_dump, "--format=custom", f"--snapshot={snapshot.snapshot_id}",
                     "--no-password", f"--file={dump}", "--dbname", database]
                )  # fmt: skip
            connection.rollback()
        finally:
            connection.close()
        partial = work / "backup.partial"
        manifest = {
            "format": MANIFEST_FORMAT,
            "created_at": moment.isoformat(),
            "database": database,
            "server_version": snapshot.server_version,
            "migrations": snapshot.migrations,
            "tables": snapshot.tables,
            "keys": keys_fingerprints(),
        }
        with partial.open("xb") as out:
            os.chmod(partial, 0o600)
            sealed = EncryptingWriter(out, settings.BACKUP_KEY)
            with (
                gzip.GzipFile(fileobj=sealed, mode="wb", compresslevel=1, mtime=0) as packed,
                tarfile.open(fileobj=packed, mode="w|", format=tarfile.PAX_FORMAT) as tar,
            ):
                manifest["dump"] = {"name": DUMP_NAME, **_add_file(tar, DUMP_NAME, dump)}
                dump.unlink()
                files = []
                root = Path(settings.PRIVATE_FILES_ROOT)
                for relative, path in private_files(root, skip=directory):
                    files.append(
                        {"path": relative, **_add_file(tar, FILES_PREFIX + relative, path)}
                    )
                manifest["files"] = files
                data = json.dumps(manifest, indent=1, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST_NAME)
                info.size, info.mode, info.mtime = len(data), 0o600, int(moment.timestamp())
                tar.addfile(info, io.BytesIO(data))
            sealed.close()
            os.fsync(out.fileno())
        final = _final_path(directory, moment)
        os.link(partial, final)  # refuses to replace a file of the same name
        _fsync_folder(directory)
        return Written(final, sealed.size, manifest, files)


def _fsync_folder(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def backup_create(
    *, trigger: str = BackupRun.Trigger.HAND, directory: Path | None = None
) -> BackupRun:
    """Write a backup to `directory` (BACKUP_DIR by default) and record the run.
    Into BACKUP_DIR, a successful run then prunes the old backups there
    (retention); a folder given for one run is never pruned. A failure is
    recorded, told to the admins (crm.backup.alerts) and raised."""
    target = Path(directory or settings.BACKUP_DIR)
    prune = directory is None or target.resolve() == Path(settings.BACKUP_DIR).resolve()
    BackupRun.objects.filter(
        status=BackupRun.Status.RUNNING, started_at__lt=timezone.now() - datetime.timedelta(days=1)
    ).update(status=BackupRun.Status.FAILED, error=INTERRUPTED, finished_at=timezone.now())
    run = BackupRun.objects.create(trigger=trigger)
    try:
        written = backup_write(target, moment=timezone.localtime(run.started_at))
    except Exception as error:
        run.status, run.finished_at = BackupRun.Status.FAILED, timezone.now()
        run.error = f"{type(error).__name__}: {error}"[:4000]
        run.save(update_fields=["status", "finished_at", "error"])
        log.exception("backup failed")
        backup_failed_alert(run)
        raise
    if prune:
        try:
            run.pruned = backups_prune(
                target, daily=settings.BACKUP_KEEP_DAILY, weekly=settings.BACKUP_KEEP_WEEKLY,
                monthly=settings.BACKUP_KEEP_MONTHLY,
            )  # fmt: skip
        except OSError as error:  # the backup is written: it stands, the next run prunes
            log.exception("backup pruning failed")
            run.error = f"Pruning the old backups failed: {error}"[:4000]
    tables = written.manifest["tables"]
    run.status, run.finished_at = BackupRun.Status.OK, timezone.now()
    run.path, run.size = str(written.path), written.size
    run.table_count, run.row_count = len(tables), sum(tables.values())
    run.file_count, run.counts = len(written.files), tables
    run.save()
    log.info("backup written: %s (%s bytes)", run.path, run.size)
    return run


def backup_scheduled(as_of: datetime.date) -> dict[str, int]:
    """The job `backup`: a backup into BACKUP_DIR, then the old ones pruned."""
    run = backup_create(trigger=BackupRun.Trigger.SCHEDULE)
    return {
        "tables": run.table_count,
        "rows": run.row_count,
        "files": run.file_count,
        "bytes": run.size,
        "pruned": len(run.pruned),
    }
