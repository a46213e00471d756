"""Helpers for scripts/bootstrap.sh that need the same URLs as the settings.

services.py endpoints          print DB_HOST=… DB_PORT=… REDIS_HOST=… REDIS_PORT=…
services.py answers HOST PORT  exit 0 when something accepts TCP there
services.py createdb           create the database of DATABASE_URL if it is missing
"""

from __future__ import annotations

import os
import shlex
import socket
import sys
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kehu"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _urls():
    database = urlsplit(os.environ.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL)
    redis = urlsplit(os.environ.get("REDIS_URL", "").strip() or DEFAULT_REDIS_URL)
    return database, redis


def endpoints() -> None:
    database, redis = _urls()
    values = {
        "DB_HOST": database.hostname or "127.0.0.1",
        "DB_PORT": database.port or 5432,
        "REDIS_HOST": redis.hostname or "127.0.0.1",
        "REDIS_PORT": redis.port or 6379,
    }
    for name, value in values.items():
        print(f"{name}={shlex.quote(str(value))}")


def answers(host: str, port: str) -> int:
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return 0
    except OSError:
        return 1


def createdb() -> int:
    import psycopg2
    from psycopg2 import sql

    database, _redis = _urls()
    name = database.path.lstrip("/")
    params = {
        "host": database.hostname or "127.0.0.1",
        "port": database.port or 5432,
        "user": database.username or "postgres",
        "password": database.password or None,
        "dbname": "postgres",
        "connect_timeout": 5,
    }
    try:
        connection = psycopg2.connect(**params)
    except psycopg2.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0]
        print(
            f"kehu: cannot connect to PostgreSQL to create '{name}': {first_line}", file=sys.stderr
        )
        return 1
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"==> Created database {name}")
    connection.close()
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "endpoints":
        endpoints()
    elif command == "answers":
        sys.exit(answers(sys.argv[2], sys.argv[3]))
    elif command == "createdb":
        sys.exit(createdb())
    else:
        sys.exit(__doc__)
