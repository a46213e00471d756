"""The development server keeps its database connections bounded:
`make run` serves through runserver, which starts a thread per browser connection;
connections kept per thread piled up until PostgreSQL refused more. And when that
happens, the page says so instead of blaming a stopped database."""

from __future__ import annotations

import http.client
import threading
import time

import pytest
from django.db import OperationalError, connection
from django.utils import translation

from crm.errors import service_down_message
from crm.tests.realserver import RealServer

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

APP = "kehu-connection-test"
BROWSERS = 6  # a browser keeps about six connections open to one site
REQUESTS = 50  # each: 300 in all


def _held() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APP])
        return cursor.fetchone()[0]


def test_hundreds_of_requests_through_runserver_leave_no_connection_open(make_user):
    make_user("rep1")
    server = RealServer({"DATABASE_APPLICATION_NAME": APP}, threading=True)
    try:
        server.login("rep1")
        cookie = "; ".join(f"{k}={v}" for k, v in server.cookies.items())
        statuses, lock, idle = [], threading.Lock(), threading.Event()

        def browse():
            # One kept-alive connection, as a browser holds it between clicks.
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            for __ in range(REQUESTS):
                conn.request("GET", "/", headers={"Cookie": cookie})
                response = conn.getresponse()
                response.read()
                with lock:
                    statuses.append(response.status)
            idle.wait(timeout=60)  # still connected while the count is taken
            conn.close()

        threads = [threading.Thread(target=browse) for __ in range(BROWSERS)]
        for thread in threads:
            thread.start()
        peak, deadline = 0, time.monotonic() + 120
        while len(statuses) < BROWSERS * REQUESTS and time.monotonic() < deadline:
            peak = max(peak, _held())
            time.sleep(0.05)
        assert statuses.count(200) == BROWSERS * REQUESTS
        time.sleep(0.5)
        held_while_connected = _held()
        idle.set()
        for thread in threads:
            thread.join()
    finally:
        server.stop()
    # Six browsers connected and idle hold no database connection between clicks.
    assert held_while_connected == 0, held_while_connected
    assert peak <= BROWSERS, peak


@translation.override("zh-hans")  # whatever an earlier test in this thread left active
def test_too_many_connections_is_told_apart_from_a_stopped_database():
    full = service_down_message(OperationalError("FATAL:  sorry, too many clients already"))
    reserved = service_down_message(
        OperationalError("FATAL:  remaining connection slots are reserved for superusers")
    )
    down = service_down_message(
        OperationalError(
            'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
        )
    )
    assert "没有空闲连接" in full and full == reserved
    assert "没有响应" in down and "没有空闲连接" not in down
