"""/healthz, what a load balancer polls: 200 when the database, Redis, a worker
and beat are alive; 503 naming each part that is not."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest
from django.db import connection

from crm import health
from crm.tests.realserver import ROOT, Gunicorn, process_stop
from crm.tests.test_settings import production_env
from kehu.tests.fixtures import celery_worker_start, celery_worker_stop


def _poll(client, **headers) -> tuple[int, dict]:
    response = client.get("/healthz", **headers)
    return response.status_code, json.loads(response.content)


@pytest.fixture
def own_queue(settings):
    """Heartbeats are kept per queue: this test's worker and beat are its own."""
    settings.CELERY_TASK_DEFAULT_QUEUE = f"kehu-test-{uuid.uuid4().hex[:8]}"
    return settings.CELERY_TASK_DEFAULT_QUEUE


def test_without_a_worker_or_beat_the_poll_fails_naming_both(client, db, own_queue):
    # A load balancer polls by address, not by the site's name.
    status, body = _poll(client, HTTP_HOST="10.20.30.40")
    assert status == 503
    assert body["status"] == "failing"
    assert body["failing"] == ["worker", "beat"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == "ok"
    assert body["checks"]["worker"] == "no heartbeat"
    assert client.get("/healthz")["Cache-Control"] == "no-store"


def _wait_healthy(client, seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        status, body = _poll(client)
        if status == 200:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(1)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_running_worker_and_beat_make_it_healthy_and_a_dead_worker_is_named(
    client, own_queue, monkeypatch, settings
):
    # The heartbeats go to this process's cache keys.
    prefix = {"CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"]}
    worker = celery_worker_start(own_queue, **prefix)
    db = connection.settings_dict
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kehu", "beat", "--loglevel=INFO"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_QUEUE": own_queue,
            **prefix,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = _wait_healthy(client)
        assert body == {
            "status": "ok",
            "failing": [],
            "checks": {"database": "ok", "redis": "ok", "worker": "ok", "beat": "ok"},
        }
        # Killed outright: no goodbye, only the heartbeat stops.
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=20)
        monkeypatch.setattr(health, "WORKER_SILENT_AFTER", 2)
        time.sleep(3)
        status, body = _poll(client)
        assert status == 503
        assert body["failing"] == ["worker"]
        assert body["checks"]["worker"].startswith("last heartbeat ")
        assert body["checks"]["beat"] == "ok"
    finally:
        celery_worker_stop(worker)
        process_stop(beat)


def _http_get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize(
    ("outage", "failing"),
    [
        ({"DATABASE_URL": "postgres://postgres@127.0.0.1:1/kehu"}, "database"),
        ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "redis"),
    ],
)
def test_an_outage_is_named_by_the_production_server(outage, failing, tmp_path):
    env = production_env(ALLOWED_HOSTS="crm.example.com", SECURE_SSL_REDIRECT="false", **outage)
    server = Gunicorn(env, tmp_path / "gunicorn.log")
    try:
        status, body = _http_get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        server.stop()
    assert status == 503
    assert failing in body["failing"]
    assert body["checks"][failing] != "ok"
    if failing == "redis":
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["worker"] == "unknown: Redis does not answer"
    else:
        assert body["checks"]["redis"] == "ok"
    # The log names the failing part in one line, as JSON.
    lines = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines()
             if line.startswith('{"time"') and '"logger"' in line]  # fmt: skip
    assert any(
        line["logger"] == "crm.middleware" and f"{failing}:" in line["message"] for line in lines
    )
