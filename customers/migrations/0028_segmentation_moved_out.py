"""The segmentation app's models leave customers (their tables and rows stay:
the state only; segmentation 0001 takes them with the same tables)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0027_workbench_key_accounts_index"),
        ("segmentation", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="churnepisode",
                    name="customer",
                ),
                migrations.RemoveField(
                    model_name="churnepisode",
                    name="ended_by",
                ),
                migrations.RemoveField(
                    model_name="churnepisode",
                    name="owner",
                ),
                migrations.RemoveField(
                    model_name="churnepisode",
                    name="task",
                ),
                migrations.DeleteModel(
                    name="MetricsChange",
                ),
                migrations.DeleteModel(
                    name="MetricsRun",
                ),
                migrations.DeleteModel(
                    name="SegmentationRules",
                ),
                migrations.DeleteModel(
                    name="ChurnEpisode",
                ),
            ],
            database_operations=[],
        ),
    ]
