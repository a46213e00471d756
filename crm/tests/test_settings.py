"""Settings refuse development keys in production, and a production environment
passes Django's deployment checks without a warning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
# The environment of the test run itself (a developer's shell, the browser tests'
# async switch) must not leak into the process whose settings are under test.
INHERITED_BUT_NOT_WANTED = {
    "DEBUG",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "BLIND_INDEX_KEY",
    "BACKUP_KEY",
    "ALLOWED_HOSTS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {
        key: value for key, value in os.environ.items() if key not in INHERITED_BUT_NOT_WANTED
    }
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        "DEBUG": "false",
        "SECRET_KEY": "k" * 10 + "Zq8#vR2!pL5@wX9$mN3%bT6^cY1&dF4*gH7(jK0)sA" + "e" * 10,
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "BLIND_INDEX_KEY": "production-blind-index-key-3f9a1c",
        "BACKUP_KEY": "production-backup-key-7d2e9b4c1a6f3e8d5b0c",
        "ALLOWED_HOSTS": "crm.example.com",
    }
    env.update(overrides)
    return env


def test_debug_off_with_development_keys_refuses_to_start_in_one_sentence():
    result = _manage("check", DEBUG="false", ALLOWED_HOSTS="crm.example.com")
    assert result.returncode != 0
    assert "development value" in result.stderr
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_off_refuses_a_development_encryption_key_alone():
    from django.conf import settings

    env = production_env(FIELD_ENCRYPTION_KEYS=settings.DEV_FIELD_ENCRYPTION_KEY)
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_debug_off_refuses_the_development_backup_key_and_a_short_one():
    from django.conf import settings

    result = _manage("check", **production_env(BACKUP_KEY=settings.DEV_BACKUP_KEY))
    assert result.returncode != 0
    assert "BACKUP_KEY still holds the development value" in result.stderr
    result = _manage("check", **production_env(BACKUP_KEY="short"))
    assert result.returncode != 0
    assert "BACKUP_KEY must be at least 32 characters" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_encryption_key_is_named_with_the_fix():
    result = _manage("check", FIELD_ENCRYPTION_KEYS="not-a-key")
    assert result.returncode != 0
    assert "Fernet.generate_key" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_off_without_allowed_hosts_says_what_to_set():
    env = production_env()
    env.pop("ALLOWED_HOSTS")
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_check_deploy_is_clean_in_the_documented_production_environment():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
