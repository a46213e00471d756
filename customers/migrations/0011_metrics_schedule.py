"""The segmentation rules' one row (the documented defaults, editable in admin)
and the nightly recompute of the customer metrics in the beat schedule."""

from django.db import migrations


def schedule_forward(apps, schema_editor):
    apps.get_model("customers", "SegmentationRules").objects.get_or_create(pk=1)
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # 02:15 every night, Asia/Shanghai: yesterday's orders are in, and it is done
    # before the 03:30 housekeeping and the working day.
    nightly, _created = CrontabSchedule.objects.get_or_create(
        minute="15", hour="2", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="Asia/Shanghai",
    )  # fmt: skip
    PeriodicTask.objects.get_or_create(
        name="customers.metrics_recompute",
        defaults={"task": "customers.metrics_recompute", "crontab": nightly},
    )


def schedule_backward(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name="customers.metrics_recompute").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0010_segmentation"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_forward, schedule_backward)]
