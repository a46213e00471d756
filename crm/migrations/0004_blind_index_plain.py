"""Users' mobile blind index: one plain index, without the LIKE twin (see
customers 0006_blind_index_plain for why)."""

from django.db import migrations, models

import crm.fields

OLD = "crm_user_mobile_index_68364580"
NEW = "crm_user_mobile_index_idx"


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_imports")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {OLD}_like; ALTER INDEX {OLD} RENAME TO {NEW};",
                    f"ALTER INDEX {NEW} RENAME TO {OLD}; "
                    f"CREATE INDEX {OLD}_like ON crm_user (mobile_index varchar_pattern_ops);",
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="user",
                    name="mobile_index",
                    field=crm.fields.BlindIndexField(
                        blank=True,
                        default="",
                        editable=False,
                        max_length=64,
                        verbose_name="mobile phone index",
                    ),
                ),
                migrations.AddIndex(
                    model_name="user",
                    index=models.Index(fields=["mobile_index"], name="crm_user_mobile_index_idx"),
                ),
            ],
        ),
    ]
