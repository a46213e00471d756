"""The nightly recompute runs through the job framework (crm.jobs: advisory lock,
JobRun record): its beat entry calls `crm.job_run` with the job's name, keeping
whatever schedule an admin gave it."""

from django.db import migrations


def forward(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name="customers.metrics_recompute", task="customers.metrics_recompute"
    ).update(task="crm.job_run", args='["recompute_metrics"]')


def backward(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name="customers.metrics_recompute", task="crm.job_run"
    ).update(task="customers.metrics_recompute", args="[]")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0017_figures_log"),
        ("crm", "0006_job_runs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
