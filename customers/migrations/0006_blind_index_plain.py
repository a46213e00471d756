"""Phones and e-mails: one plain index on each blind index, without the LIKE twin.

`db_index=True` on a CharField gives PostgreSQL two indexes, the second with
`varchar_pattern_ops` for LIKE; nobody runs LIKE on a hash, and that second
index doubled the cost of inserting phones and e-mails. The plain index is kept
under a stable name (renamed, not rebuilt); the LIKE one is dropped.
"""

from django.db import migrations, models

import crm.fields

INDEXES = [
    # table, column, Django's generated name (0001_initial), the new name
    ("customers_customerphone", "number_index", "customers_customerphone_number_index_dce87644",
     "customers_phone_index_idx"),
    ("customers_customeremail", "address_index", "customers_customeremail_address_index_416e8658",
     "customers_email_index_idx"),
]  # fmt: skip

FORWARD = [
    f"DROP INDEX IF EXISTS {old}_like; ALTER INDEX {old} RENAME TO {new};"
    for _table, _column, old, new in INDEXES
]
BACKWARD = [
    f"ALTER INDEX {new} RENAME TO {old}; "
    f"CREATE INDEX {old}_like ON {table} ({column} varchar_pattern_ops);"
    for table, column, old, new in INDEXES
]


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_import_purge_schedule")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(forward, backward)
                for forward, backward in zip(FORWARD, BACKWARD, strict=True)
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="customerphone",
                    name="number_index",
                    field=crm.fields.BlindIndexField(
                        blank=True,
                        default="",
                        editable=False,
                        max_length=64,
                        verbose_name="phone index",
                    ),
                ),
                migrations.AlterField(
                    model_name="customeremail",
                    name="address_index",
                    field=crm.fields.BlindIndexField(
                        blank=True,
                        default="",
                        editable=False,
                        max_length=64,
                        verbose_name="e-mail index",
                    ),
                ),
                migrations.AddIndex(
                    model_name="customerphone",
                    index=models.Index(fields=["number_index"], name="customers_phone_index_idx"),
                ),
                migrations.AddIndex(
                    model_name="customeremail",
                    index=models.Index(fields=["address_index"], name="customers_email_index_idx"),
                ),
            ],
        ),
    ]
