"""Outages of PostgreSQL or Redis, told in one sentence.

Kept free of model imports: Django's logging set-up loads the exception
reporter before the app registry is ready.
"""

from __future__ import annotations

from django.db import OperationalError
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.debug import ExceptionReporter
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# What PostgreSQL says when every connection slot is taken (its own wording, in
# English whatever lc_messages says for the rest: these come from the postmaster).
FULL = ("too many clients", "connection slots are reserved", "too many connections")


def service_down_message(exc: BaseException | None) -> str | None:
    if isinstance(exc, OperationalError):
        if any(words in str(exc).lower() for words in FULL):
            return _(
                "The database has no free connections: it is running, but busy with "
                "more connections than it allows. Please try again in a minute; if it "
                "lasts, ask your administrator to look at what holds the connections "
                "(pg_stat_activity) or raise max_connections."
            )
        return _(
            "The database is not answering. Please try again in a minute; if it lasts, "
            "ask your administrator to start PostgreSQL."
        )
    if isinstance(exc, RedisConnectionError | RedisTimeoutError | BrokerError):
        return _(
            "The cache and job queue (Redis) is not answering. Please try again in a "
            "minute; if it lasts, ask your administrator to start Redis."
        )
    return None


class KehuExceptionReporter(ExceptionReporter):
    """With DEBUG on, a database or Redis outage still shows the one-sentence page:
    that is a machine to fix, not code to debug. Real bugs keep Django's report."""

    def get_traceback_html(self):
        message = service_down_message(self.exc_value)
        if message:
            return render_to_string("503.html", {"message": message})
        return super().get_traceback_html()
