"""Django's own server in a child process against the test database, and a client
that keeps its cookies: for tests that measure the process itself (its memory,
its database connections)."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from kehu.tests.fixtures import PASSWORD, process_stop

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RealServer:
    """Django's own server (runserver: one thread unless `threading`, no reloader)
    against the test database, in a child process; a client that keeps its cookies
    (a new TCP connection per request)."""

    def __init__(self, env_extra: dict[str, str] | None = None, *, threading: bool = False):
        from django.db import connection

        db = connection.settings_dict
        self.port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            **(env_extra or {}),
        }
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload",
             *([] if threading else ["--nothreading"])],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.cookies: dict[str, str] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)

    def _send(self, method: str, path: str, headers: dict, body=None, parts=()):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        conn.putrequest(method, path, skip_host=True)
        headers = {"Host": f"127.0.0.1:{self.port}", **headers}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        for part in parts or ([body] if body else []):
            conn.send(part)
        response = conn.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, __, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return response, data

    def get(self, path: str) -> bytes:
        response, data = self._send("GET", path, {})
        assert response.status == 200, (path, response.status)
        return data

    def csrf(self, path: str) -> str:
        page = self.get(path).decode()
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def login(self, username: str) -> None:
        token = self.csrf("/login/")
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD}
        ).encode()
        response, __ = self._send(
            "POST",
            "/login/",
            {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(body))},
            body,
        )
        assert response.status == 302


def port_wait(port: int, process: subprocess.Popen, what: str, seconds: float = 60) -> None:
    """Until something accepts TCP on `port`; fails naming `what` when the process
    ends first or the time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} ended with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{what} did not start within {seconds} s")


class Gunicorn:
    """The production web server as `make serve` runs it (deploy/gunicorn.conf.py),
    two threaded workers, in a child process with the environment given (merged
    over this one's); its output in the file `log`."""

    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 2):
        self.port = free_port()
        self.log = log
        full_env = {
            **os.environ,
            **env,
            "KEHU_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
        }
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).with_name("gunicorn")), "-c", "deploy/gunicorn.conf.py",
                 "kehu.wsgi:application"],
                cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        port_wait(self.port, self.process, "gunicorn")

    def stop(self) -> None:
        process_stop(self.process)
