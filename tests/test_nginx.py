"""The shipped nginx site (deploy/nginx/kehu.conf) in front of gunicorn, as an
install on Debian runs them: Debian's own nginx, a certificate made here.

Clients connect from other loopback addresses (127.0.0.2 …) so that the address
nginx sees is not the 127.0.0.1 gunicorn sees nginx from."""

from __future__ import annotations

import gzip
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest

from crm.models import AuditAction, AuditEvent
from crm.tests.nginx_site import TEMP_KINDS, certificate, site_render
from crm.tests.realserver import ROOT, Gunicorn, free_port, port_wait, process_stop
from crm.tests.test_settings import production_env
from kehu.tests.fixtures import PASSWORD

HOST = "kehu.test"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _certificate(folder: Path) -> tuple[Path, Path]:
    return certificate(folder, HOST)


def _site(folder: Path, *, https: int, plain: int, upstream: int, static: Path, cert, key) -> str:
    """The shipped site file with this test's ports, certificate and folders."""
    return site_render(
        folder, host=HOST, https=https, plain=plain, upstream=upstream, static=static,
        cert=cert, key=key,
    )  # fmt: skip


@dataclass
class Stack:
    https: int
    plain: int
    context: ssl.SSLContext
    gunicorn: Gunicorn
    folder: Path

    def request(
        self, method: str, path: str, *, source: str = "127.0.0.2", headers=None, body=None
    ) -> tuple[http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.https, context=self.context, timeout=60, source_address=(source, 0)
        )
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": f"{HOST}:{self.https}", **(headers or {})}.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response, data


# gunicorn reads what the test wrote, so the test commits; the role groups the
# migrations made come back after each test's TRUNCATE.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _production_env(static: Path) -> dict[str, str]:
    from django.db import connection

    db = connection.settings_dict
    return production_env(
        ALLOWED_HOSTS=HOST,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        STATIC_ROOT=str(static),
        BEHIND_HTTPS_PROXY="true",
        TRUSTED_PROXY_COUNT="1",
        SECURE_SSL_REDIRECT="false",
        LOG_FORMAT="json",
    )


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    """The static files as `make serve` collects them (hashed names, .gz beside)."""
    static = tmp_path_factory.mktemp("static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT, env={**os.environ, **_production_env(static)}, check=True, timeout=300,
    )  # fmt: skip
    return static


@pytest.fixture
def stack(tmp_path, static_root):
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: `scripts/bootstrap.sh --test` installs it")
    for kind in TEMP_KINDS:
        (tmp_path / kind).mkdir()
    cert, key = _certificate(tmp_path)
    web = Gunicorn(_production_env(static_root), tmp_path / "gunicorn.log")
    https, plain = free_port(), free_port()
    ports = {"https": https, "plain": plain, "upstream": web.port}
    conf = _site(tmp_path, **ports, static=static_root, cert=cert, key=key)
    with open(tmp_path / "nginx.out", "wb") as out:
        nginx = subprocess.Popen([NGINX, "-c", conf, "-g", "daemon off;"], stdout=out, stderr=out)
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False  # connected by address; the certificate is checked
    try:
        port_wait(https, nginx, "nginx")
        yield Stack(https, plain, context, web, tmp_path)
    finally:
        process_stop(nginx)
        web.stop()


def _cookies(response) -> dict[str, str]:
    return {
        header.split("=", 1)[0]: header for header in response.headers.get_all("Set-Cookie") or []
    }


def _log_in(stack: Stack, username: str, password: str, *, source: str, forged: str) -> int:
    response, page = stack.request("GET", "/login/", source=source)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    csrf_cookie = _cookies(response)["csrftoken"].split(";", 1)[0]
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": username, "password": password}
    ).encode()
    response, __ = stack.request(
        "POST",
        "/login/",
        source=source,
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body)),
            "Cookie": csrf_cookie,
            "Origin": f"https://{HOST}:{stack.https}",
            "Referer": f"https://{HOST}:{stack.https}/login/",
            "X-Forwarded-For": forged,
        },
    )
    if response.status == 302:
        session = _cookies(response)["sessionid"]
        assert "; Secure" in session and "HttpOnly" in session, session
    return response.status


def test_pages_over_https_with_hsts_secure_cookies_and_http2(stack):
    response, page = stack.request("GET", "/login/")
    assert response.status == 200
    assert "客户" in page.decode()
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "; Secure" in _cookies(response)["csrftoken"]
    # nginx's request id is the one Kehu logs and answers with.
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
    assert "nginx/" not in (response.headers["Server"] or "")  # server_tokens off

    # HTTP/2 is offered to browsers (ALPN).
    with socket.create_connection(("127.0.0.1", stack.https)) as raw:
        context = ssl.create_default_context(cafile=str(stack.folder / "cert.pem"))
        context.check_hostname = False
        context.set_alpn_protocols(["h2", "http/1.1"])
        with context.wrap_socket(raw, server_hostname=HOST) as tls:
            assert tls.selected_alpn_protocol() == "h2"

    # Plain HTTP only redirects.
    conn = http.client.HTTPConnection("127.0.0.1", stack.plain, timeout=30)
    conn.request("GET", "/customers/?q=1", headers={"Host": HOST})
    redirect = conn.getresponse()
    assert redirect.status == 301
    assert redirect.headers["Location"] == f"https://{HOST}/customers/?q=1"


def test_the_audit_log_and_the_throttle_see_the_address_nginx_saw(stack, rep, settings):
    assert _log_in(stack, "rep1", PASSWORD, source="127.0.0.2", forged="203.0.113.9") == 302
    login = AuditEvent.objects.filter(action=AuditAction.LOGIN, actor=rep).get()
    assert login.ip_address == "127.0.0.2"

    # Wrong passwords from 127.0.0.3, each claiming another address: the pair
    # rep1 + 127.0.0.3 is locked all the same …
    for attempt in range(settings.LOGIN_FAILURES_PER_PAIR):
        forged = f"198.51.100.{attempt}"
        assert _log_in(stack, "rep1", "wrong-pw", source="127.0.0.3", forged=forged) == 200
    assert _log_in(stack, "rep1", PASSWORD, source="127.0.0.3", forged="192.0.2.77") == 200
    failures = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED)
    assert set(failures.values_list("ip_address", flat=True)) == {"127.0.0.3"}
    # … while rep1 still gets in from another place.
    assert _log_in(stack, "rep1", PASSWORD, source="127.0.0.4", forged="127.0.0.3") == 302


def test_static_files_are_cached_by_their_hash_and_compressed(stack):
    __, page = stack.request("GET", "/login/")
    css = re.search(rb'href="(/static/css/kehu\.[0-9a-f]{12}\.css)"', page).group(1).decode()
    response, data = stack.request("GET", css, headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Encoding"] == "gzip"
    __, plain = stack.request("GET", css)
    assert gzip.decompress(data) == plain and len(data) < len(plain)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    # A name without a hash may change with the next release: an hour only.
    response, __ = stack.request("GET", "/static/favicon.svg")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=3600"


def test_uploads_past_the_import_limit_stop_at_nginx(stack):
    response, __ = stack.request(
        "POST",
        "/imports/",
        headers={"Content-Type": "application/octet-stream", "Content-Length": str(60 * 1024**2)},
        body=b"",
    )
    assert response.status == 413


def test_health_through_nginx_and_a_page_in_both_languages_while_gunicorn_is_down(stack):
    response, data = stack.request("GET", "/healthz")
    # No worker or beat runs in this test: the poll names them.
    assert response.status == 503
    assert b'"failing": ["worker", "beat"]' in data
    stack.gunicorn.stop()
    response, data = stack.request("GET", "/customers/")
    assert response.status == 502
    assert "客户 CRM 暂时无法访问" in data.decode()
    assert "Kehu CRM is unavailable for a moment" in data.decode()
