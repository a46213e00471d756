"""The Celery app: Redis broker, settings from Django (CELERY_*), tasks found in every app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")

app = Celery("kehu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
