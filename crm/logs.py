"""Logs an operator can follow: each line knows the request (or the Celery task)
it belongs to, and production writes them as one JSON object per line.

The request id comes from the proxy (nginx's `$request_id`, sent as
X-Request-ID) when it is a plain token, so nginx's access log and Kehu's lines
share it; otherwise Kehu makes one. The response carries it back, and the error
pages show it, so a person can quote it to whoever reads the logs.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import uuid
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("kehu_request_id", default="")

_TOKEN = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id_from(header: str | None) -> str:
    """The proxy's id when it is a plain token, else a new one (a client may send
    anything in a header; a log line must not carry it)."""
    if header and _TOKEN.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Puts the current request's (or task's) id on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message,
    request_id, and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", ""),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
