from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crm.models import User
from crm.sheets.writer import csv_stream, xlsx_stream
from customers.exports import EXPORT_COLUMNS, customers_export_rows
from customers.models import Customer


class Command(BaseCommand):
    help = (
        "Export every live customer to FILE.xlsx (or .csv) with full values, as an "
        "admin; the export is audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--lang", choices=["en", "zh-hans"], default="zh-hans")
        parser.add_argument("--as", dest="actor", help="an admin's username (default: the first)")

    def handle(self, *args, file, lang, actor, **options):
        admins = User.objects.filter(is_active=True, is_superuser=True).order_by("pk")
        admin = admins.filter(username=actor).first() if actor else admins.first()
        if admin is None:
            raise CommandError("An active admin (superuser) is needed; create one first.")
        path = Path(file)
        file_format = "csv" if path.suffix.lower() == ".csv" else "xlsx"
        rows = customers_export_rows(
            actor=admin,
            queryset=Customer.objects.alive().order_by("id"),
            language=lang,
            full_values=True,
            file_format=file_format,
            filters={"command": "export_customers"},
        )
        count = -1  # the header is not a customer

        def counted():
            nonlocal count
            for row in rows:
                count += 1
                yield row

        with path.open("wb") as out:
            chunks = (
                csv_stream(counted())
                if file_format == "csv"
                else xlsx_stream(
                    counted(), sheet_name="Customers", widths=[c.width for c in EXPORT_COLUMNS]
                )
            )
            for chunk in chunks:
                out.write(chunk)
        self.stdout.write(f"{count} customers written to {path}.")
