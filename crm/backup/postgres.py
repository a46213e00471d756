"""PostgreSQL's own tools and connections for backups: pg_dump and pg_restore of
the server's major version (Debian keeps each in /usr/lib/postgresql/N/bin; the
`pg_dump` on PATH may be another version's wrapper), with the host, port, user
and password of DATABASES["default"] in their environment, never on their
command line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connections

DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresToolError(RuntimeError):
    pass


def default_settings() -> dict[str, Any]:
    return connections["default"].settings_dict


def raw_connection(name: str | None = None):
    """A psycopg connection of its own (outside Django's transactions), to the
    default database or to the database `name` on the same server."""
    wrapper = connections["default"]
    params = wrapper.get_connection_params()
    if name is not None:
        params["dbname"] = name
    return wrapper.get_new_connection(params)


@contextmanager
def database_connection(name: str):
    """A Django connection to the database `name` on the default's server, under
    an alias added for the while (django.contrib.postgres looks connections up
    by alias as they open), removed and closed afterwards."""
    alias = f"restored_{name}"
    connections.settings[alias] = {**default_settings(), "NAME": name}
    try:
        yield connections[alias]
    finally:
        try:
            connections[alias].close()
            del connections[alias]
        finally:
            del connections.settings[alias]


def database_exists(name: str) -> bool:
    connection = raw_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return cursor.fetchone() is not None
    finally:
        connection.close()


def server_major_version() -> int:
    connection = raw_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version_num")
            return int(cursor.fetchone()[0]) // 10000
    finally:
        connection.close()


def tool(name: str) -> str:
    """The path of pg_dump or pg_restore for the server's major version."""
    candidate = Path(f"/usr/lib/postgresql/{server_major_version()}/bin") / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise PostgresToolError(
            f"{name} is not installed: install PostgreSQL's client tools "
            "(postgresql-client) of the server's version."
        )
    return found


def tool_env() -> dict[str, str]:
    """The environment pg_dump and pg_restore connect with (libpq's PG* values)."""
    settings_dict = default_settings()
    env = {**os.environ, "PGAPPNAME": "kehu-backup", "PGCONNECT_TIMEOUT": "10"}
    for key, variable in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if settings_dict.get(key):
            env[variable] = str(settings_dict[key])
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    sslmode = (settings_dict.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = sslmode
    return env


def tool_run(arguments: list[str]) -> None:
    """Run pg_dump or pg_restore; a failure raises with its last lines of errors."""
    result = subprocess.run(  # noqa: S603 - a fixed program, arguments made here
        arguments, env=tool_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        detail = " ".join(lines[-5:]) or f"exit status {result.returncode}"
        program = Path(arguments[0]).name
        raise PostgresToolError(f"{program} failed: {detail}")
