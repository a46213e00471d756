"""Backups (crm.backup): the record of each run, and the two jobs in the beat
schedule: the backup at 02:45 Asia/Shanghai (after the nightly figures of 02:15
have started; the snapshot makes the moment irrelevant to consistency) and the
check that alerts the admins, every hour at :50."""

import django.utils.timezone
from django.db import migrations, models

from crm.beat import job_entry

backup = job_entry("crm.backup", "backup", hour="2", minute="45")
check = job_entry("crm.backup_check", "backup_check", hour="*", minute="50")


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0013_audit_truncate_guard"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="BackupRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("trigger", models.CharField(choices=[("schedule", "Schedule"), ("hand", "By hand")], default="schedule", max_length=10, verbose_name="started by")),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="started")),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="finished")),
                ("status", models.CharField(choices=[("running", "Running"), ("ok", "Succeeded"), ("failed", "Failed")], default="running", max_length=10, verbose_name="status")),
                ("path", models.CharField(blank=True, default="", max_length=500, verbose_name="file")),
                ("size", models.PositiveBigIntegerField(blank=True, null=True, verbose_name="size (bytes)")),
                ("table_count", models.PositiveIntegerField(blank=True, null=True, verbose_name="tables")),
                ("row_count", models.PositiveBigIntegerField(blank=True, null=True, verbose_name="rows")),
                ("file_count", models.PositiveIntegerField(blank=True, null=True, verbose_name="private files")),
                ("counts", models.JSONField(blank=True, default=dict, verbose_name="rows per table")),
                ("pruned", models.JSONField(blank=True, default=list, verbose_name="old backups deleted")),
                ("error", models.TextField(blank=True, default="", verbose_name="error")),
            ],
            options={
                "verbose_name": "backup run",
                "verbose_name_plural": "backup runs",
                "ordering": ["-started_at", "-id"],
                "indexes": [models.Index(fields=["status", "-started_at"], name="crm_backuprun_status_idx")],
            },
        ),
        migrations.RunPython(*backup),
        migrations.RunPython(*check),
    ]
