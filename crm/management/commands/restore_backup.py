"""Restore a backup into a new database and check it (crm.backup.restore):
`restore_backup FILE --database NEW_NAME [--files-to DIR] [--jobs N]`.
The last line is OK, or the command fails saying what did not check out."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crm.backup.postgres import PostgresToolError
from crm.backup.restore import RestoreFailed, RestoreRefused, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup file into a new database (and its private files into a new "
        "folder), then verify both against the backup's manifest."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the .kehubackup file")
        parser.add_argument(
            "--database", required=True, help="the new database's name (must not exist)"
        )
        parser.add_argument(
            "--files-to", type=Path, dest="files_to",
            help="where the private files go (default: beside PRIVATE_FILES_ROOT, "
            "named after the database; never the live folder)",
        )  # fmt: skip
        parser.add_argument("--jobs", type=int, default=1, help="pg_restore's parallel jobs")

    def handle(self, *args, file: Path, database: str, files_to=None, jobs: int = 1, **options):
        try:
            checks = backup_restore(
                file, database=database, files_to=files_to, jobs=jobs, say=self.stdout.write
            )
        except RestoreRefused as error:
            raise CommandError(f"{error} Nothing was created.") from None
        except (RestoreFailed, PostgresToolError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"OK: {database} restored and verified ({len(checks)} checks passed)."
            )
        )
