"""Restoring a backup into a new database and a new folder, then checking both
(`manage.py restore_backup`, docs/operations.md "Restoring").

The file is read once, whole, before anything is created: decrypted and
authenticated chunk by chunk, unpacked into a hidden folder beside the target
(the dump and the private files, each file's SHA-256 taken as it is written).
Only a file that authenticates to its end and agrees with its manifest goes on
to CREATE DATABASE and pg_restore; a wrong key or a damaged file creates
nothing. Then the checks, on the new database: migrations at the code's head,
the rows of every table as the manifest counted them at backup time, the
private files' SHA-256, and a sample of every encrypted column decrypting with
FIELD_ENCRYPTION_KEYS. A failure after the database is made keeps it (and the
files) for inspection.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import tarfile
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import DatabaseError
from django.db.migrations.executor import MigrationExecutor
from psycopg2 import sql

from crm.backup import postgres
from crm.backup.archive import (
    COPY_SIZE,
    DUMP_NAME,
    FILES_PREFIX,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    keys_fingerprints,
    public_table_counts,
)
from crm.backup.stream import BackupUnreadable, DecryptingReader
from crm.fields import decrypt_text, encrypted_fields

SAMPLE_SIZE = 20  # values per encrypted column
MANIFEST_MAX_BYTES = 64 * 1024 * 1024


class RestoreRefused(Exception):
    """Nothing was created: the message says why, in one sentence."""


class RestoreFailed(Exception):
    """The database (and files) were made but do not check out; they are kept."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"[{'ok' if self.ok else 'FAILED'}] {self.name}: {self.detail}"


@dataclass
class Unpacked:
    manifest: dict
    dump: Path
    files: dict[str, str]  # relative path → SHA-256


def files_folder_default(database: str) -> Path:
    """A folder beside PRIVATE_FILES_ROOT named after the new database."""
    live = Path(settings.PRIVATE_FILES_ROOT)
    return live.parent / f"{live.name}-{database}"


def _member_path(name: str) -> str:
    """A private file's path inside the archive, refused when it would leave its folder."""
    relative = PurePosixPath(name[len(FILES_PREFIX) :])
    if relative.is_absolute() or not relative.parts or ".." in relative.parts:
        raise BackupUnreadable(f"The backup holds a file with an unsafe name: {name!r}.")
    return relative.as_posix()


def _copy(source, target: Path) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with target.open("xb") as out:
        while data := source.read(COPY_SIZE):
            digest.update(data)
            out.write(data)
    return digest.hexdigest()


def backup_unpack(path: Path, staging: Path) -> Unpacked:
    """Decrypt and unpack the backup at `path` into `staging` (dump + files/),
    checking it against its manifest; BackupUnreadable when it does not hold."""
    manifest = None
    dump_sha = None
    files: dict[str, str] = {}
    if not path.is_file():
        raise BackupUnreadable(f"There is no backup file {str(path)!r}.")
    try:
        with path.open("rb") as source:
            reader = DecryptingReader(source, settings.BACKUP_KEY)
            with (
                gzip.GzipFile(fileobj=reader, mode="rb") as unpacked,
                tarfile.open(fileobj=unpacked, mode="r|") as tar,
            ):
                for member in tar:
                    if not member.isfile():
                        raise BackupUnreadable(f"The backup holds an unexpected {member.name!r}.")
                    content = tar.extractfile(member)
                    if member.name == MANIFEST_NAME:
                        if member.size > MANIFEST_MAX_BYTES:
                            raise BackupUnreadable("The backup's manifest is too large to be one.")
                        manifest = json.loads(content.read())
                    elif member.name == DUMP_NAME:
                        dump_sha = _copy(content, staging / DUMP_NAME)
                    elif member.name.startswith(FILES_PREFIX):
                        relative = _member_path(member.name)
                        files[relative] = _copy(content, staging / "files" / relative)
                    else:
                        raise BackupUnreadable(f"The backup holds an unexpected {member.name!r}.")
                while unpacked.read(COPY_SIZE):  # gzip's end and its checksum
                    pass
            reader.drain()
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, ValueError) as error:
        # The chunks authenticated, so this is a file made wrong, not one damaged since.
        raise BackupUnreadable(f"The backup's content cannot be unpacked ({error}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise BackupUnreadable("The backup has no manifest this version of Kehu can read.")
    if dump_sha is None or dump_sha != manifest.get("dump", {}).get("sha256"):
        raise BackupUnreadable(
            "The backup's database dump is missing or differs from its manifest."
        )
    listed = {entry["path"]: entry["sha256"] for entry in manifest.get("files", [])}
    if listed != files:
        raise BackupUnreadable("The backup's private files differ from its manifest.")
    return Unpacked(manifest, staging / DUMP_NAME, files)


def _refusals(database: str, files_to: Path) -> None:
    if not postgres.DATABASE_NAME.match(database):
        raise RestoreRefused(
            f"{database!r} is not a database name to restore into: use letters, digits and _, "
            "starting with a letter."
        )
    if postgres.database_exists(database):
        raise RestoreRefused(
            f"The database {database} exists already; restore into a new name "
            "(never over a database)."
        )
    live = Path(settings.PRIVATE_FILES_ROOT).resolve()
    target = files_to.resolve()
    if target == live or target.is_relative_to(live) or live.is_relative_to(target):
        raise RestoreRefused(
            f"{files_to} is or holds the live PRIVATE_FILES_ROOT; restore the files elsewhere."
        )
    if files_to.exists() and (not files_to.is_dir() or any(files_to.iterdir())):
        raise RestoreRefused(f"{files_to} exists and is not an empty folder.")


def _create_database(database: str) -> None:
    connection = postgres.raw_connection()
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                    sql.Identifier(database)
                )
            )
    finally:
        connection.close()


def backup_restore(
    path: Path,
    *,
    database: str,
    files_to: Path | None = None,
    jobs: int = 1,
    say: Callable[[str], None] = lambda line: None,
) -> list[Check]:
    """Restore the backup at `path` into the new database `database` and the new
    folder `files_to`, then check them; the checks, all passed. RestoreRefused
    when nothing was created, RestoreFailed (with the checks' lines) when the
    database was made and is kept."""
    files_to = Path(files_to or files_folder_default(database))
    _refusals(database, files_to)
    pg_restore = postgres.tool("pg_restore")
    staging = files_to.parent / f".{files_to.name}.partial-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True, mode=0o700)
    try:
        say(f"Reading {path} …")
        try:
            unpacked = backup_unpack(path, staging)
        except BackupUnreadable as error:
            raise RestoreRefused(str(error)) from None
        manifest = unpacked.manifest
        say(
            f"The backup of {manifest['database']} taken {manifest['created_at']} authenticates "
            f"and agrees with its manifest ({len(manifest['tables'])} tables, "
            f"{len(unpacked.files)} private files)."
        )
        _create_database(database)
        say(f"Created the database {database}; pg_restore …")
        kept = f"the database {database} is kept for inspection (drop it with `dropdb {database}`)"
        try:
            postgres.tool_run(
                [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error",
                 f"--jobs={max(jobs, 1)}", "--no-password", "--dbname", database,
                 str(unpacked.dump)]
            )  # fmt: skip
        except postgres.PostgresToolError as error:
            raise RestoreFailed(f"{error}; {kept}.") from None
        (staging / "files").mkdir(exist_ok=True)
        if files_to.exists():
            files_to.rmdir()  # empty (checked above)
        (staging / "files").rename(files_to)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    say(f"Private files restored into {files_to}.")
    checks = restored_verify(database, manifest, files_to)
    for check in checks:
        say(check.line())
    failed = [check.name for check in checks if not check.ok]
    if failed:
        raise RestoreFailed(
            f"Verification failed ({', '.join(failed)}); {kept}, and the files in {files_to}."
        )
    return checks


def restored_verify(database: str, manifest: dict, files_to: Path) -> list[Check]:
    """The checks of a restored database and its files against the manifest."""
    with postgres.database_connection(database) as connection:
        return [
            _migrations_check(connection),
            _tables_check(connection, manifest["tables"]),
            _files_check(files_to, manifest.get("files", [])),
            _keys_check(manifest.get("keys", {})),
            _encrypted_check(connection),
        ]


def _migrations_check(connection) -> Check:
    name = "migrations at head"
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        return Check(name, False, f"cannot be read: {error}")
    if plan:
        missing = ", ".join(f"{m.app_label}.{m.name}" for m, __ in plan[:5])
        more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
        return Check(name, False, f"{len(plan)} to apply ({missing}{more})")
    applied = len(executor.loader.applied_migrations)
    return Check(name, True, f"{applied} applied, none missing")


def _tables_check(connection, expected: dict[str, int]) -> Check:
    name = "rows of every table"
    with connection.cursor() as cursor:
        counts = public_table_counts(cursor)
    differ = [
        f"{table} {expected.get(table, 'absent')} → {counts.get(table, 'absent')}"
        for table in sorted(set(expected) | set(counts))
        if expected.get(table) != counts.get(table)
    ]
    if differ:
        shown = "; ".join(differ[:5]) + (f" and {len(differ) - 5} more" if len(differ) > 5 else "")
        return Check(name, False, f"{len(differ)} differ from the backup's counts: {shown}")
    return Check(name, True, f"{len(counts)} tables, {sum(counts.values())} rows, as counted")


def _files_check(root: Path, listed: list[dict]) -> Check:
    name = "private files"
    expected = {entry["path"]: entry["sha256"] for entry in listed}
    found = {}
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as source:
                while data := source.read(COPY_SIZE):
                    digest.update(data)
            found[path.relative_to(root).as_posix()] = digest.hexdigest()
    differ = sorted(p for p in set(expected) | set(found) if expected.get(p) != found.get(p))
    if differ:
        return Check(name, False, f"{len(differ)} missing or changed, e.g. {differ[0]}")
    return Check(name, True, f"{len(found)} files, SHA-256 as recorded")


def _keys_check(fingerprints: dict) -> Check:
    name = "keys"
    now = keys_fingerprints()
    notes = []
    current = (fingerprints.get("field_encryption") or [None])[0]
    if current and current not in now["field_encryption"]:
        notes.append("the backup's current field key is not in FIELD_ENCRYPTION_KEYS")
    if fingerprints.get("blind_index") and fingerprints["blind_index"] != now["blind_index"]:
        notes.append(
            "BLIND_INDEX_KEY differs from the backup's (exact searches would find nothing)"
        )
    if notes:
        return Check(name, False, "; ".join(notes))
    return Check(name, True, "FIELD_ENCRYPTION_KEYS and BLIND_INDEX_KEY match the backup's")


def _encrypted_check(connection) -> Check:
    name = "encrypted fields decrypt"
    tried = failed = 0
    problems = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model, fields in encrypted_fields():
            table = model._meta.db_table
            for field in fields:
                column = field.column
                try:
                    cursor.execute(
                        f"SELECT {quote(column)} FROM {quote(table)} "  # noqa: S608 - names from model metadata
                        f"WHERE {quote(column)} IS NOT NULL AND {quote(column)} <> '' LIMIT %s",
                        [SAMPLE_SIZE],
                    )
                except DatabaseError as error:
                    problems.append(f"{table}.{column}: {error}".splitlines()[0])
                    failed += 1
                    continue
                for (token,) in cursor.fetchall():
                    tried += 1
                    try:
                        decrypt_text(token)
                    except (ValueError, UnicodeDecodeError):
                        failed += 1
                        if len(problems) < 5:
                            problems.append(f"{table}.{column}")
    if failed:
        return Check(
            name, False, f"{failed} of {tried} sampled values do not: {', '.join(problems)}"
        )
    return Check(name, True, f"{tried} sampled values decrypt")
