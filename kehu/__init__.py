"""The project: settings, the root URLs, the Celery app and the WSGI entry point.
It sits above every app (it wires them together); no app imports it."""

from kehu.celery import app as celery_app

__all__ = ["celery_app"]
