from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from crm.models import User
from crm.selectors import command_actor
from crm.sheets.reader import SheetError, sheet_open
from customers.imports import (
    Mode,
    Options,
    counts_line,
    customers_import,
    layout_detect,
    result_files_write,
)


class Command(BaseCommand):
    help = (
        "Import a customer register (.xlsx or .csv, UTF-8 or GBK). Prints the counts; "
        "rejected rows go to FILE.rejected.xlsx with the reason for each, rows imported "
        "with warnings to FILE.warnings.xlsx."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument(
            "--owner", help="username who owns the new customers (default: the shared pool)"
        )
        parser.add_argument("--as", dest="actor", help="import as this user (default: an admin)")
        parser.add_argument("--mode", choices=[Mode.FILL, Mode.OVERWRITE], default=Mode.FILL)
        parser.add_argument("--sheet", default="", help="the sheet to read (default: the first)")
        parser.add_argument("--lang", default="zh-hans", help="language of the messages")

    def handle(self, *args, file, dry_run, owner, actor, mode, sheet, lang, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file.")
        importer = command_actor(actor)
        if importer is None:
            raise CommandError("No such active user to import as; pass --as USERNAME.")
        owner_user = None
        if owner:
            owner_user = User.objects.filter(is_active=True, username=owner).first()
            if owner_user is None:
                raise CommandError(f"No active user named {owner}.")
        with translation.override(lang):
            try:
                upload = sheet_open(path.read_bytes(), name=path.name, server_file=True)
                layout = layout_detect(upload, sheet_name=sheet)
                result = customers_import(
                    actor=importer,
                    sheet=upload,
                    layout=layout,
                    options=Options(owner=owner_user, pool=owner_user is None, mode=mode),
                    dry_run=dry_run,
                    source=path.name,
                )
            except SheetError as exc:
                raise CommandError(f"{path.name}: {exc.message}") from None
            for out in result_files_write(path, result):
                kind = "Warnings" if out.name.endswith(".warnings.xlsx") else "Rejected rows"
                self.stdout.write(f"{kind}: {out}")
            prefix = "[dry run] " if dry_run else ""
            self.stdout.write(prefix + counts_line(result.counts))
