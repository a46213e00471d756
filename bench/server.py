"""The benchmark's HTTP server: Django's own WSGI server (the one `runserver`
runs), without autoreload, around `kehu.wsgi.application`, with DEBUG off.

    .venv/bin/python bench/server.py --port 8765

Each response carries `X-Query-Count` (SQL statements the request ran) and
`X-Query-Ms` (their time inside the app). `GET /__bench__/queries` answers, as
JSON, the statements of the previous request exactly as psycopg2 sent them
(parameters bound), so run.py can time the same SQL without Django.

Single-threaded, like one synchronous production worker: the database
connection is kept between requests (CONN_MAX_AGE), the benchmark sends one
request at a time, and a thread per request would open a connection per request.
"""

# ruff: noqa: T201

from __future__ import annotations

import argparse
import json
import logging
import time

from benchenv import bench_env_apply

QUERIES_PATH = "/__bench__/queries"


class QueryRecorder:
    """An execute wrapper: keeps each statement's final SQL text and its time."""

    def __init__(self):
        self.statements: list[dict] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            ms = (time.perf_counter() - started) * 1000
            sent = getattr(context["cursor"].cursor, "query", None)
            text = sent.decode() if isinstance(sent, bytes) else sql
            self.statements.append({"sql": text, "ms": round(ms, 3), "many": many})


def counting(application):
    from django.db import connection

    previous: list[dict] = []

    def app(environ, start_response):
        if environ.get("PATH_INFO") == QUERIES_PATH:
            body = json.dumps(previous, ensure_ascii=False).encode()
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        recorder = QueryRecorder()

        def start(status, headers, exc_info=None):
            # Django calls this once the response is built: every query has run.
            spent = sum(s["ms"] for s in recorder.statements)
            headers = [
                *headers,
                ("X-Query-Count", str(len(recorder.statements))),
                ("X-Query-Ms", f"{spent:.2f}"),
            ]
            return start_response(status, headers, exc_info)

        with connection.execute_wrapper(recorder):
            result = application(environ, start)
        previous[:] = recorder.statements
        return result

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Kehu on Django's WSGI server, for bench/.")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    bench_env_apply()
    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    logging.getLogger("django.server").setLevel(logging.WARNING)  # no line per request
    print(f"bench server on http://127.0.0.1:{args.port}/", flush=True)
    run("127.0.0.1", args.port, counting(application), threading=False)


if __name__ == "__main__":
    main()
