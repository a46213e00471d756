"""Log lines an operator can follow: the request's id on every line, in the
response and on the error page; one JSON object per line in production."""

from __future__ import annotations

import json
import logging
import re
import sys

from django.test import RequestFactory
from django.utils import translation

from crm import logs
from crm.views import error_500


def test_the_proxy_s_request_id_is_kept_and_junk_replaced(client, db):
    response = client.get("/login/", HTTP_X_REQUEST_ID="0f3a9c1e5b7d4f2a8c6e0b1d3f5a7c9e")
    assert response["X-Request-ID"] == "0f3a9c1e5b7d4f2a8c6e0b1d3f5a7c9e"
    # Anything else a client sends is not written to the logs.
    response = client.get("/login/", HTTP_X_REQUEST_ID='x"><script>alert(1)</script>')
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/login/")["X-Request-ID"])


def test_a_log_line_is_one_json_object_with_the_request_id():
    token = logs.request_id.set("req-1234abcd")
    try:
        args = ("kehu.test", logging.ERROR, __file__, 1, "导入 %s 失败", ("A",), None)
        record = logging.LogRecord(*args)
        assert logs.RequestIdFilter().filter(record)
        try:
            raise ValueError("boom")
        except ValueError:
            record.exc_info = sys.exc_info()
        line = logs.JsonFormatter().format(record)
    finally:
        logs.request_id.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "导入 A 失败"
    assert entry["request_id"] == "req-1234abcd"
    assert entry["level"] == "ERROR"
    assert "ValueError: boom" in entry["exception"]
    assert entry["time"].endswith("+00:00")


def test_the_error_page_gives_the_reference_to_quote(db):
    request = RequestFactory().get("/customers/")
    request.request_id = "5d41402abc4b2a76b9719d911017c592"
    with translation.override("en"):
        try:
            raise RuntimeError("a bug")
        except RuntimeError:
            response = error_500(request)
    assert response.status_code == 500
    page = response.content.decode()
    assert "Reference for the administrator: 5d41402abc4b2a76b9719d911017c592" in page
    assert "a bug" not in page and "Traceback" not in page
