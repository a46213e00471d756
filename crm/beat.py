"""Beat: its scheduler, and the default schedule data migrations write into
django-celery-beat (editable in admin afterwards): a job of crm.jobs at a time of
day, in the site's time zone (TIME_ZONE, Asia/Shanghai by default)."""

from __future__ import annotations

import time

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

from crm import health


class Scheduler(DatabaseScheduler):
    """django-celery-beat's scheduler that also stamps beat's heartbeat (read by
    /healthz), at most every HEARTBEAT_SECONDS: beat ticks every few seconds."""

    _stamped_at = 0.0

    def tick(self, *args, **kwargs):
        now = time.monotonic()
        if now - self._stamped_at >= health.HEARTBEAT_SECONDS:
            health.stamp("beat")
            self._stamped_at = now
        return super().tick(*args, **kwargs)


def job_entry(name: str, job: str, *, hour: str, minute: str):
    """RunPython's (forward, backward) for the entry `name` running crm.job_run(job)
    at hour:minute every day (crontab fields: "*/1" and lists work too); forward
    leaves an entry an admin already made or edited as it is."""

    def forward(apps, schema_editor):
        crontabs = apps.get_model("django_celery_beat", "CrontabSchedule").objects
        crontab, _created = crontabs.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*",
            timezone=settings.TIME_ZONE,
        )  # fmt: skip
        apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
            name=name, defaults={"task": "crm.job_run", "args": f'["{job}"]', "crontab": crontab}
        )

    def backward(apps, schema_editor):
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name).delete()

    return forward, backward
