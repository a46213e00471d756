"""Moving segmentation's models out of customers keeps every row: a database at
the migration head before the move (customers 0027, no segmentation app), filled
by seed_demo, migrated to the head after it has the same rows in every table and
the same bytes in every customer's columns, encrypted and plain."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# The apps' heads before the move; segmentation had no migrations.
BEFORE = [
    ("contenttypes", None),
    ("auth", None),
    ("admin", None),
    ("sessions", None),
    ("django_celery_beat", None),
    ("crm", None),
    ("sales", None),
    ("interactions", None),
    ("feedback", None),
    ("dashboards", None),
    ("customers", "0027_workbench_key_accounts_index"),
]
MOVED = ("metricschange", "metricsrun", "segmentationrules", "churnepisode")
# What the move changes on purpose: the migrations applied, and the app label of
# the moved models' content types (compared below on their own).
NOT_COMPARED = {"django_migrations", "django_content_type"}
# A table's rows: how many, and a checksum of them all in a stable order.
_CHECKSUM = "count(*), md5(coalesce(string_agg(t::text, chr(10) ORDER BY t::text), ''))"
# Permissions are compared without the moved models' (made once per app label
# before the move, kept once after it; compared on their own).
_PERMISSIONS = """
SELECT {checksum}
FROM auth_permission t JOIN django_content_type ct ON ct.id = t.content_type_id
WHERE NOT ct.model = ANY(%(moved)s)
""".replace("{checksum}", _CHECKSUM)
_MOVED_PERMISSIONS = """
SELECT ct.id, ct.app_label, p.codename
FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
WHERE ct.model = ANY(%(moved)s)
"""


def _manage(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "kehu.settings"}
    subprocess.run(  # our own interpreter and arguments
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _snapshot(dsn: dict) -> dict:
    """Every table's row count and a checksum of its rows in a stable order; the
    moved models' content types by id."""
    with psycopg2.connect(**dsn) as db, db.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
        )
        tables = [name for (name,) in cursor.fetchall() if name not in NOT_COMPARED]
        shot = {}
        for table in tables:
            if table == "auth_permission":
                cursor.execute(_PERMISSIONS, {"moved": list(MOVED)})
                shot[table] = cursor.fetchone()
                continue
            cursor.execute(f'SELECT {_CHECKSUM} FROM "{table}" t')  # noqa: S608 - names from the catalogue
            shot[table] = cursor.fetchone()
        cursor.execute(_MOVED_PERMISSIONS, {"moved": list(MOVED)})
        shot["moved"] = sorted(cursor.fetchall())
    return shot


@pytest.fixture
def scratch_database(db):
    settings = connection.settings_dict
    name = f"kehu_move_{uuid.uuid4().hex[:8]}"
    dsn = {"host": settings["HOST"], "port": settings["PORT"], "user": settings["USER"]}
    admin = psycopg2.connect(dbname="postgres", **dsn)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{name}",
            {
                **dsn,
                "dbname": name,
            },
        )
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_moving_the_models_keeps_every_row_and_every_customer_byte(scratch_database):
    url, dsn = scratch_database
    for app, migration in BEFORE:
        _manage(url, "migrate", app, *([migration] if migration else []), "--verbosity=0")
    _manage(url, "seed_demo", "--customers=120", "--verbosity=0")
    before = _snapshot(dsn)
    assert before["customers_customer"][0] > 0 and before["customers_metricsrun"][0] > 0
    # The permissions of the moved models as customers' (content type id, codename).
    kept = {(pk, code) for pk, app, code in before.pop("moved") if app == "customers"}
    assert len(kept) == 4 * len(MOVED)

    _manage(url, "migrate", "--verbosity=0")
    after = _snapshot(dsn)
    # The same content types and permissions, now the segmentation app's: what
    # roles and people were given stays given, the audit events stay attached.
    assert after.pop("moved") == sorted((pk, "segmentation", code) for pk, code in kept)
    assert after == before
