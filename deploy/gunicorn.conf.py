"""Gunicorn for Kehu (`make serve`, deploy/systemd/kehu-web.service).

Threaded workers (gthread): a process per core and then one, each with a few
threads, since a request spends much of its time waiting on PostgreSQL. Each
thread holds one database connection: WEB_CONCURRENCY × GUNICORN_THREADS
connections, plus the worker's. Every value can be changed from the environment.
"""

import multiprocessing
import os

bind = os.environ.get("KEHU_BIND", f"127.0.0.1:{os.environ.get('KEHU_PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# A worker process whose main loop is silent this long (stuck) is killed and
# replaced. With threads, a request itself may take longer (a large export
# streams for minutes); nginx cuts one that sends nothing for 90 s.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (and a random few more, so they
# do not all restart at once): whatever memory a long life gathers is let go.
max_requests = 2000
max_requests_jitter = 200
# nginx on this machine sets X-Forwarded-Proto; nobody else may.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# No control socket: it would live in $HOME, shared by every gunicorn of the user.
control_socket_disable = True
proc_name = "kehu-web"

# Logs to standard error and out (journald or honcho). The access log is one JSON
# object per line, without the query string (searches hold names and phones),
# with the id Kehu gave the request (crm.logs, also in its own lines).
accesslog = "-"
errorlog = "-"
access_log_format = (
    '{"time": "%(t)s", "request_id": "%({x-request-id}o)s", "method": "%(m)s", '
    '"path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", "ms": %(M)s, '
    '"forwarded_for": "%({x-forwarded-for}i)s", "agent": "%(a)s"}'
)
