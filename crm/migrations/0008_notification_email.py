"""Notifications by e-mail (crm.mail): each person's choice (a daily digest by
default), the stamp of what went out, and the two jobs in the beat schedule:
the immediate e-mails every minute, the digest at 08:15 Asia/Shanghai (after
the morning's audit, churn alerts and first reminders)."""

from django.db import migrations, models

from crm.beat import job_entry

immediately = job_entry("crm.email_notifications", "email_notifications", hour="*", minute="*")
digest = job_entry("crm.email_digest", "email_digest", hour="8", minute="15")


def stamp_before(apps, schema_editor):
    """The notifications from before e-mail existed are not e-mailed now: the first
    digest would otherwise carry two days of them to people who never chose it."""
    from django.db.models import F

    apps.get_model("crm", "Notification").objects.update(emailed_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0007_notification_key"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="emailed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="e-mailed at"),
        ),
        migrations.AddField(
            model_name="user",
            name="notify_by",
            field=models.CharField(
                choices=[
                    ("in_app", "In the app only"),
                    ("digest", "By e-mail, a daily digest"),
                    ("immediate", "By e-mail, immediately"),
                ],
                db_default="digest",
                default="digest",
                help_text="Besides the bell: the day's notifications in one e-mail each morning, each one by e-mail as it comes, or none by e-mail.",
                max_length=10,
                verbose_name="notifications",
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("emailed_at__isnull", True)),
                fields=["created_at"],
                name="crm_notif_unsent_idx",
            ),
        ),
        migrations.RunPython(stamp_before, migrations.RunPython.noop),
        migrations.RunPython(*immediately),
        migrations.RunPython(*digest),
    ]
