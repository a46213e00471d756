"""The nightly loyalty run as a job of crm.jobs (its lock, its JobRun record and
retries) like every other periodic job: the beat entry migration 0003 made runs
`crm.job_run("loyalty_nightly")` from now on, at the same time; an entry an
admin already pointed elsewhere is left as it is. django-celery-beat's change
marker is bumped, so a running beat reloads its schedule instead of sending the
old task name, which no worker knows any more."""

from django.db import migrations
from django.utils import timezone


def _schedule_changed(apps) -> None:
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def forward(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name="feedback.loyalty_nightly", task="feedback.loyalty_nightly"
    ).update(task="crm.job_run", args='["loyalty_nightly"]')
    _schedule_changed(apps)


def backward(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name="feedback.loyalty_nightly", task="crm.job_run"
    ).update(task="feedback.loyalty_nightly", args="[]")
    _schedule_changed(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0003_surveys_and_loyalty_rules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
