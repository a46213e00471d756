"""The shipped nginx site (deploy/nginx/kehu.conf) rendered for a run of its own:
other ports and folders, a self-signed certificate, a main nginx.conf that keeps
every path in one folder, for nginx started in the foreground (`nginx -c … -g
"daemon off;"`). Used by tests/test_nginx.py and bench/load.py."""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]
TEMP_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def certificate(folder: Path, host: str) -> tuple[Path, Path]:
    """A self-signed certificate for `host` and 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(host), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def site_render(
    folder: Path,
    *,
    host: str,
    https: int,
    plain: int,
    upstream: int,
    static: Path,
    cert: Path,
    key: Path,
    worker_processes: int = 1,
    worker_connections: int = 256,
) -> str:
    """The shipped site file with these ports, certificate and folders, each marked
    value replaced exactly where the file says to change it, inside the frame
    Debian's /etc/nginx/nginx.conf gives a site. Returns the main file's path."""
    site = (ROOT / "deploy" / "nginx" / "kehu.conf").read_text()
    replacements = [
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};"),
        ("listen 80;", f"listen 127.0.0.1:{plain};"),
        ("listen [::]:80;", ""),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("server_name crm.example.com;", f"server_name {host};"),
        ("/etc/ssl/kehu/fullchain.pem", str(cert)),
        ("/etc/ssl/kehu/privkey.pem", str(key)),
        ("/opt/kehu/staticfiles/", f"{static}/"),
    ]
    for old, new in replacements:
        if old not in site:
            raise AssertionError(f"the site file no longer has {old!r}")
        site = site.replace(old, new)
    (folder / "kehu.conf").write_text(site)
    for kind in TEMP_KINDS:
        (folder / kind).mkdir(exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""
    temp = "\n".join(f"{kind}_temp_path {folder / kind};" for kind in TEMP_KINDS)
    main = f"""
{user}
worker_processes {worker_processes};
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{ worker_connections {worker_connections}; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {folder / "access.log"};
    {temp}
    include {folder / "kehu.conf"};
}}
"""
    (folder / "nginx.conf").write_text(main)
    return str(folder / "nginx.conf")
