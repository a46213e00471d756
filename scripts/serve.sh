#!/usr/bin/env bash
# `make serve`: Kehu in production mode on this machine, in one command.
#   1. kehu.env: the production settings with secrets of this site, written once
#      (mode 600) and kept across runs; refused when others may read it.
#   2. The bootstrap (packages, PostgreSQL and Redis, the database, migrations,
#      catalogues) with those settings, Django's deployment check, collectstatic.
#   3. gunicorn, a Celery worker and beat under honcho (Procfile.serve); the
#      address is printed once /healthz says every part is healthy.
# KEHU_ENV_FILE chooses another settings file; KEHU_PORT another port. On the
# first run DATABASE_URL, REDIS_URL and CELERY_QUEUE (also the cache's key
# prefix), when set, go into the new file instead of the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
ENV_FILE=${KEHU_ENV_FILE:-kehu.env}

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31mkehu:\033[0m %s\n' "$*" >&2; exit 1; }

write_env_file() {
  say "Writing $ENV_FILE with new secrets (kept across runs; back up the keys apart from the database)"
  local host
  host=$(hostname 2>/dev/null || echo localhost)
  (
    umask 077
    python3 - "$ENV_FILE" "$host" "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kehu_production}" \
      "${REDIS_URL:-redis://127.0.0.1:6379/0}" "${CELERY_QUEUE:-kehu-production}" <<'PY'
import base64, os, secrets, sys

path, host, database_url, redis_url, queue = sys.argv[1:]
hosts = ",".join(dict.fromkeys(["127.0.0.1", "localhost", host]))
values = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
    "BACKUP_KEY": secrets.token_urlsafe(32),
    "ALLOWED_HOSTS": hosts,
    "DATABASE_URL": database_url,
    "REDIS_URL": redis_url,
    # Its own keys and queue on a Redis it may share with a development copy.
    "CACHE_KEY_PREFIX": queue,
    "CELERY_QUEUE": queue,
    # nginx in front (deploy/nginx/kehu.conf) ends TLS, redirects plain HTTP and
    # adds the client's address.
    "BEHIND_HTTPS_PROXY": "true",
    "TRUSTED_PROXY_COUNT": "1",
    "SECURE_SSL_REDIRECT": "false",
    "LOG_FORMAT": "json",
}
with open(path, "x", encoding="utf-8") as out:
    out.write(
        "# Kehu CRM's production settings, written once by `make serve` (README,\n"
        "# 'Configuration'; the systemd units read it too). Readable by its owner only.\n"
        "# Keep a copy of the three keys and BACKUP_KEY somewhere safe and apart from\n"
        "# the backups: without them the personal fields and the backups cannot be read.\n"
    )
    for name, value in values.items():
        out.write(f"{name}={value}\n")
PY
  )
}

if [ -e "$ENV_FILE" ]; then
  mode=$(stat -c %a "$ENV_FILE")
  if (( 8#$mode & 8#077 )); then
    die "$ENV_FILE holds the site's secrets but others may read it (mode $mode). Run: chmod 600 $ENV_FILE"
  fi
  [ "$(stat -c %u "$ENV_FILE")" = "$(id -u)" ] \
    || die "$ENV_FILE belongs to another user; run make serve as its owner."
else
  write_env_file
fi

case $ENV_FILE in /*) source_path=$ENV_FILE ;; *) source_path=./$ENV_FILE ;; esac
set -a
# shellcheck disable=SC1090
. "$source_path"
set +a

bash scripts/bootstrap.sh
say "Django's deployment check"
"$VENV/bin/python" manage.py check --deploy --fail-level WARNING
say "Collecting static files"
"$VENV/bin/python" manage.py collectstatic --no-input -v 0
if ! "$VENV/bin/python" manage.py shell -c \
    'from django.contrib.auth import get_user_model; import sys; sys.exit(not get_user_model().objects.filter(is_superuser=True, is_active=True).exists())' \
    >/dev/null 2>&1; then
  say "No administrator yet. In another terminal: set -a; . $source_path; set +a; $VENV/bin/python manage.py createsuperuser"
fi

KEHU_PROCFILE=Procfile.serve KEHU_PROBE_PATH=/healthz exec bash scripts/run.sh
