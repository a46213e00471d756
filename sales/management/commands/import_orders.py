from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from crm.selectors import command_actor
from crm.sheets.reader import sheet_open
from crm.sheets.sheet import SheetError
from customers.imports import result_files_write
from sales.imports import orders_counts_line, orders_import
from sales.imports.layout import orders_layout_detect
from sales.models import OrderStatus


class Command(BaseCommand):
    help = (
        "Import orders (.xlsx or .csv, UTF-8 or GBK): one row per line or per order; rows "
        "with the same order number form one order. Prints the counts; rejected rows go "
        "to FILE.rejected.xlsx with the reason for each."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument("--as", dest="actor", help="import as this user (default: an admin)")
        parser.add_argument(
            "--status",
            choices=[s for s in OrderStatus.values if s != OrderStatus.REFUNDED],
            default=OrderStatus.COMPLETED,
            help="status of orders whose row gives none (default: completed)",
        )
        parser.add_argument("--sheet", default="", help="the sheet to read (default: the first)")
        parser.add_argument("--lang", default="zh-hans", help="language of the messages")

    def handle(self, *args, file, dry_run, actor, status, sheet, lang, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file.")
        importer = command_actor(actor)
        if importer is None:
            raise CommandError("No such active user to import as; pass --as USERNAME.")
        with translation.override(lang):
            try:
                upload = sheet_open(path.read_bytes(), name=path.name, server_file=True)
                layout = orders_layout_detect(upload, sheet_name=sheet)
                result = orders_import(
                    actor=importer,
                    sheet=upload,
                    layout=layout,
                    dry_run=dry_run,
                    source=path.name,
                    default_status=status,
                )
            except SheetError as exc:
                raise CommandError(f"{path.name}: {exc.message}") from None
            for out in result_files_write(path, result):
                self.stdout.write(f"Rejected rows: {out}")
            prefix = "[dry run] " if dry_run else ""
            self.stdout.write(prefix + orders_counts_line(result.counts))
