"""Re-encrypt every encrypted field with the first key of FIELD_ENCRYPTION_KEYS.

Put the new key first, keep the old ones after it, run this, then drop the old
keys. Rows go in primary-key batches, each in its own transaction; a value
already under the new key is left alone, so an interrupted run resumes where it
stopped (or from --after PK). Each row is written only if it did not change
meanwhile, so a concurrent edit is never overwritten.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from crm.fields import encrypted_fields, is_current_token, rotate_token


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the first key of FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--after", type=int, default=0, help="Start after this primary key (to resume)."
        )
        parser.add_argument("--model", help="Only this model, as app_label.ModelName.")

    def handle(self, *args, batch_size: int, after: int, model: str | None, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        targets = encrypted_fields()
        if model:
            targets = [(m, f) for m, f in targets if m._meta.label_lower == model.lower()]
            if not targets:
                raise CommandError(f"{model} is not a model with encrypted fields.")
        total = 0
        for target_model, fields in targets:
            rotated = self._rotate_model(target_model, fields, batch_size, after)
            total += rotated
            self.stdout.write(f"{target_model._meta.label}: {rotated} value(s) re-encrypted.")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} value(s) re-encrypted."))

    def _rotate_model(self, model, fields, batch_size: int, after: int) -> int:
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        pk = quote(model._meta.pk.column)
        columns = [f.column for f in fields]
        # Identifiers come from model metadata through quote_name; values are parameters.
        select = (
            f"SELECT {pk}, {', '.join(quote(c) for c in columns)} FROM {table} "
            f"WHERE {pk} > %s ORDER BY {pk} LIMIT %s"
        )
        rotated = 0
        last = after
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(select, [last, batch_size])
                rows = cursor.fetchall()
                for row in rows:
                    row_pk, tokens = row[0], row[1:]
                    for column, token in zip(columns, tokens, strict=True):
                        if token is None or is_current_token(token):
                            continue
                        cursor.execute(
                            f"UPDATE {table} SET {quote(column)} = %s "
                            f"WHERE {pk} = %s AND {quote(column)} = %s",
                            [rotate_token(token), row_pk, token],
                        )
                        rotated += cursor.rowcount
            if not rows:
                return rotated
            last = rows[-1][0]
            self.stdout.write(f"{model._meta.label}: up to id {last}", ending="\n")
