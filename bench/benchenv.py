"""The benchmark's environment, shared by generate.py, run.py and server.py.

Everything runs against its own database (`kehu_bench`) with DEBUG off and
production-style settings. The secrets below are fixed so that the generator
and the server agree on the blind-index and encryption keys; they are public and
protect nothing but demo data, which is the point of keeping them here.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DB_NAME = os.environ.get("BENCH_DATABASE", "kehu_bench")
PG_SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DATABASE_URL = f"{PG_SERVER}/{DB_NAME}"
DEMO_PASSWORD = "kehu-demo"  # noqa: S105 - the documented demo password


def _secret(label: str) -> str:
    return hashlib.sha256(f"kehu-bench {label}".encode()).hexdigest()


BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "kehu.settings",
    "DATABASE_URL": DATABASE_URL,
    "DEBUG": "false",
    "SECRET_KEY": _secret("secret key") + _secret("secret key 2"),
    "BLIND_INDEX_KEY": _secret("blind index key"),
    "BACKUP_KEY": _secret("backup key"),
    "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(
        hashlib.sha256(b"kehu-bench field key").digest()
    ).decode(),
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
    # Sessions and the log-in throttle share Redis with development: keep apart.
    "CACHE_KEY_PREFIX": "kehu-bench",
    # DEBUG off serves hashed static names from the manifest: collected here.
    "STATIC_ROOT": str(BENCH_DIR / "staticfiles"),
    "LOG_LEVEL": "WARNING",
}


def database_name_check() -> None:
    if DB_NAME == "kehu" or DB_NAME.startswith("test_kehu"):
        sys.exit(f"Refusing to use the database {DB_NAME!r}: the benchmark needs its own.")


def bench_env_apply() -> None:
    """Set the environment before django.setup(); child processes inherit it."""
    database_name_check()
    os.environ.update(BENCH_ENV)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
