"""Back up now (crm.backup): `backup [--to DIR]`. The database from one snapshot
and the private files, in one encrypted file; its path is the last line."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crm.backup.archive import backup_create
from crm.models import BackupRun


class Command(BaseCommand):
    help = (
        "Write an encrypted backup of the database and the private files (into "
        "BACKUP_DIR, pruning the old ones there, or into --to DIR); prints its path last."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--to", type=Path, dest="directory", help="the folder to write to (not pruned)"
        )

    def handle(self, *args, directory: Path | None = None, **options):
        try:
            run = backup_create(trigger=BackupRun.Trigger.HAND, directory=directory)
        except Exception as error:
            raise CommandError(f"The backup failed: {error}") from error
        seconds = (run.finished_at - run.started_at).total_seconds()
        self.stdout.write(
            f"{run.table_count} tables, {run.row_count} rows, {run.file_count} private files, "
            f"{run.size} bytes in {seconds:.1f} s."
        )
        if run.pruned:
            self.stdout.write(f"Old backups deleted: {', '.join(run.pruned)}.")
        if run.error:
            self.stdout.write(self.style.WARNING(run.error))
        self.stdout.write(run.path)
