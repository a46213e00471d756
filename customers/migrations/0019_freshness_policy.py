"""The data-freshness policy's one row (the documented defaults, editable in
admin) and the daily freshness audit in the beat schedule (06:00 Asia/Shanghai:
the verification tasks are there when the working day starts)."""

import django.core.validators
from django.db import migrations, models


def forward(apps, schema_editor):
    apps.get_model("customers", "FreshnessPolicy").objects.get_or_create(pk=1)
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    morning, _created = CrontabSchedule.objects.get_or_create(
        minute="0", hour="6", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="Asia/Shanghai",
    )  # fmt: skip
    apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name="customers.freshness_audit",
        defaults={"task": "crm.job_run", "args": '["freshness_audit"]', "crontab": morning},
    )


def backward(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name="customers.freshness_audit"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0018_recompute_through_jobs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="FreshnessPolicy",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "key_account_days",
                    models.PositiveSmallIntegerField(
                        default=92,
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="key accounts: verified within (days)",
                    ),
                ),
                (
                    "other_days",
                    models.PositiveSmallIntegerField(
                        default=365,
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="other customers: verified within (days)",
                    ),
                ),
                (
                    "min_quality",
                    models.PositiveSmallIntegerField(
                        default=60,
                        validators=[django.core.validators.MaxValueValidator(100)],
                        verbose_name="minimum data quality (0–100)",
                    ),
                ),
                (
                    "task_due_days",
                    models.PositiveSmallIntegerField(
                        default=7,
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="verification task due in (days)",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
            ],
            options={
                "verbose_name": "data freshness policy",
                "verbose_name_plural": "data freshness policy",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("id", 1)), name="customers_freshness_policy_one_row"
                    )
                ],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
