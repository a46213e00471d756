"""`make serve`: production mode on this machine in one command, with secrets of
its own written once, and refused while others may read them."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import psycopg2
from django.db import connection

from crm.tests.realserver import ROOT, free_port
from crm.tests.test_settings import INHERITED_BUT_NOT_WANTED

PARTS = ("database", "redis", "worker", "beat")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_BUT_NOT_WANTED}
    env.update(extra)
    return env


def test_an_env_file_others_may_read_is_refused(tmp_path):
    env_file = tmp_path / "kehu.env"
    env_file.write_text("DEBUG=false\n")
    env_file.chmod(0o644)
    result = subprocess.run(
        ["bash", "scripts/serve.sh"], cwd=ROOT, env=_env(KEHU_ENV_FILE=str(env_file)),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "others may read it (mode 644)" in result.stderr
    assert f"chmod 600 {env_file}" in result.stderr
    assert env_file.read_text() == "DEBUG=false\n"


def _healthz(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _serve_until_healthy(env: dict[str, str], port: int, log) -> subprocess.Popen:
    process = subprocess.Popen(
        ["bash", "scripts/serve.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 420
    while True:
        assert process.poll() is None, f"make serve ended with {process.returncode}"
        try:
            status, body = _healthz(port)
            if status == 200:
                assert body["checks"] == dict.fromkeys(
                    ("database", "redis", "worker", "beat"), "ok"
                )
                return process
        except (OSError, ValueError):
            pass
        assert time.monotonic() < deadline, "make serve did not become healthy"
        time.sleep(1)


def _stop(process: subprocess.Popen) -> None:
    """As systemd or a supervisor stops it: a TERM to the script, which stops the
    three processes in order (a TERM to the whole group would cut the worker's
    pool processes off mid-task)."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_make_serve_writes_its_secrets_once_and_serves_in_production_mode(tmp_path):
    name = f"test_serve_{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    port = free_port()
    env_file = tmp_path / "kehu.env"
    env = _env(
        KEHU_ENV_FILE=str(env_file),
        KEHU_PORT=str(port),
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}",
        CELERY_QUEUE=f"kehu-serve-{uuid.uuid4().hex[:8]}",
        STATIC_ROOT=str(tmp_path / "static"),
        WEB_CONCURRENCY="2",
    )
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 (closed below)
    try:
        process = _serve_until_healthy(env, port, log)
        try:
            written = env_file.read_text()
            assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
            values = dict(line.split("=", 1) for line in written.splitlines() if "=" in line)
            assert values["DEBUG"] == "false"
            assert len(values["SECRET_KEY"]) >= 50
            assert values["BACKUP_KEY"] not in (values["SECRET_KEY"], values["BLIND_INDEX_KEY"])
            # Production mode: no debug page for an unknown address, static files
            # under their hashed names.
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=10)
            except urllib.error.HTTPError as exc:
                assert exc.code == 404
                assert b"URLconf" not in exc.read()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=10) as page:
                assert page.headers["X-Request-ID"]
                assert b"/static/css/kehu." in page.read()
            # Nothing went wrong while it started and served (stopping may cut a
            # task under way: honcho's TERM reaches the worker's pool processes).
            log.flush()
            started = (tmp_path / "serve.log").read_text(errors="replace")
            assert "Traceback" not in started, started[-3000:]
        finally:
            _stop(process)

        # A second start keeps the secrets it wrote (the data is encrypted with them).
        process = _serve_until_healthy(env, port, log)
        _stop(process)
        assert env_file.read_text() == written
    finally:
        log.close()
        admin = psycopg2.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres"
        )
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
