"""A notification's key (what it is about, for the jobs that tell someone once)
and the reminders in the beat schedule: every half hour from 08:00 to 20:30
Asia/Shanghai, so a task due at 14:00 or a ticket near its deadline is reminded
in time, and nobody at night."""

from django.db import migrations, models

from crm.beat import job_entry

reminders_schedule = job_entry("crm.reminders", "reminders", hour="8-20", minute="0,30")


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0006_job_runs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="key",
            field=models.CharField(
                blank=True, db_default="", default="", max_length=100, verbose_name="key"
            ),
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(
                condition=models.Q(("key", ""), _negated=True),
                fields=("recipient", "key"),
                name="crm_notification_once_per_key",
            ),
        ),
        migrations.RunPython(*reminders_schedule),
    ]
