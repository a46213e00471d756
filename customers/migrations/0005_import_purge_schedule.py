"""The nightly purge of abandoned uploads and old rejected rows, in the beat schedule."""

from django.db import migrations


def schedule_forward(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # 03:40 every night, Asia/Shanghai (after the core app's 03:30 housekeeping).
    nightly, _created = CrontabSchedule.objects.get_or_create(
        minute="40", hour="3", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="Asia/Shanghai",
    )  # fmt: skip
    PeriodicTask.objects.get_or_create(
        name="customers.import_jobs_purge",
        defaults={"task": "customers.import_jobs_purge", "crontab": nightly},
    )


def schedule_backward(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name="customers.import_jobs_purge").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_merges"),
        ("crm", "0003_imports"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_forward, schedule_backward)]
