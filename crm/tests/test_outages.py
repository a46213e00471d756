"""A database that is down gives one clear sentence, never a traceback, both in
development (DEBUG on) and in production."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from crm.tests.test_settings import production_env

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, cookie: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.parametrize("mode", ["development", "production"])
def test_database_down_shows_one_sentence_not_a_traceback(mode, tmp_path):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": "postgres://postgres@127.0.0.1:1/kehu"}
    if mode == "production":
        env.update(production_env(ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="false"))
        env["STATIC_ROOT"] = str(tmp_path / "static")
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=180,
        )
    # A plain WSGI server, as in production (runserver itself refuses to start
    # without a database).
    serve = (
        "from wsgiref.simple_server import make_server; from kehu.wsgi import application; "
        f"make_server('127.0.0.1', {port}, application).serve_forever()"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", serve],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        # A session cookie makes the request read the session from PostgreSQL.
        status, body = _get(
            f"http://127.0.0.1:{port}/", "sessionid=abcdefghijklmnopqrstuvwxyz012345"
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert status in {500, 503}
    assert "PostgreSQL" in body
    assert "Traceback" not in body
    if mode == "production":
        assert status == 503


def test_database_down_at_start_says_what_to_do_in_one_sentence():
    env = {**os.environ, "DATABASE_URL": "postgres://postgres@127.0.0.1:1/kehu"}
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "cannot reach PostgreSQL" in result.stderr
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
