#!/usr/bin/env bash
# Makes this machine ready to run Kehu CRM, idempotently:
#   Python virtualenv + pinned packages, gettext, PostgreSQL and Redis answering,
#   the database created and migrated, the message catalogues compiled.
# With --test it also makes sure Chromium (the browser tests) and nginx (the
# serving tests) are there.
# Run as root it installs what is missing with apt; otherwise it says what to run.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
WANT_BROWSER=0
[ "${1:-}" = "--test" ] && WANT_BROWSER=1

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31mkehu:\033[0m %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

APT_UPDATED=0
apt_install() {
  is_root || return 1
  command -v apt-get >/dev/null || return 1
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || return 1
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- Python ----------------------------------------------------------------
command -v "$PYTHON" >/dev/null || die "No $PYTHON found. Install Python 3.11 or newer (sudo apt-get install python3 python3-venv)."
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "Python 3.11 or newer is needed; $PYTHON is $("$PYTHON" -V 2>&1). Set PYTHON=/path/to/python3.11."
if [ ! -x "$VENV/bin/python" ]; then
  say "Creating $VENV"
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    apt_install python3-venv && "$PYTHON" -m venv "$VENV" \
      || die "Cannot create a virtualenv. Run: sudo apt-get install python3-venv"
  fi
fi
if [ ! -f "$VENV/.requirements.installed" ] || ! cmp -s requirements.txt "$VENV/.requirements.installed"; then
  say "Installing requirements.txt"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r requirements.txt
  cp requirements.txt "$VENV/.requirements.installed"
fi

# --- system tools ----------------------------------------------------------
if ! command -v msgfmt >/dev/null; then
  apt_install gettext || die "msgfmt (GNU gettext) is missing. Run: sudo apt-get install gettext"
fi

# --- services --------------------------------------------------------------
eval "$("$VENV/bin/python" scripts/services.py endpoints)"   # sets DB_HOST DB_PORT REDIS_HOST REDIS_PORT
is_local() { case "$1" in 127.0.0.1|localhost|::1|"") return 0 ;; *) return 1 ;; esac; }
answers() { "$VENV/bin/python" scripts/services.py answers "$1" "$2"; }

if ! answers "$DB_HOST" "$DB_PORT"; then
  is_local "$DB_HOST" || die "PostgreSQL at $DB_HOST:$DB_PORT does not answer; start it or fix DATABASE_URL."
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql || die "PostgreSQL is not installed. Run: sudo apt-get install postgresql"
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "Starting PostgreSQL $version"
  if is_root; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  else
    die "PostgreSQL is not running. Run: sudo pg_ctlcluster $version main start"
  fi
  for _ in $(seq 1 30); do answers "$DB_HOST" "$DB_PORT" && break; sleep 1; done
  answers "$DB_HOST" "$DB_PORT" || die "PostgreSQL did not start; see /var/log/postgresql/."
fi

if ! answers "$REDIS_HOST" "$REDIS_PORT"; then
  is_local "$REDIS_HOST" || die "Redis at $REDIS_HOST:$REDIS_PORT does not answer; start it or fix REDIS_URL."
  if ! command -v redis-server >/dev/null; then
    apt_install redis-server || die "Redis is not installed. Run: sudo apt-get install redis-server"
  fi
  say "Starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null \
    || die "Redis did not start. Run: redis-server --daemonize yes --bind 127.0.0.1 --port $REDIS_PORT"
  for _ in $(seq 1 30); do answers "$REDIS_HOST" "$REDIS_PORT" && break; sleep 0.5; done
  answers "$REDIS_HOST" "$REDIS_PORT" || die "Redis did not start on port $REDIS_PORT."
fi

"$VENV/bin/python" scripts/services.py createdb

# --- browser for tests ------------------------------------------------------
if [ "$WANT_BROWSER" = 1 ] && [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  apt_install chromium || die "Chromium is needed for the browser tests. Run: sudo apt-get install chromium"
fi
# Debian's nginx, for the test of the shipped site file (tests/test_nginx.py).
if [ "$WANT_BROWSER" = 1 ] && ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  apt_install nginx || die "nginx is needed for the serving tests. Run: sudo apt-get install nginx"
fi
# A Chinese font, so the screenshots of the browser tests show text, not boxes.
if [ "$WANT_BROWSER" = 1 ] && ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  apt_install fonts-wqy-microhei || say "No Chinese font: screenshots will show boxes (apt-get install fonts-wqy-microhei)."
fi

# --- Django ----------------------------------------------------------------
say "Migrating the database"
"$VENV/bin/python" manage.py migrate --no-input -v 0
say "Compiling the message catalogues"
"$VENV/bin/python" manage.py compilemessages -v 0 --ignore "$VENV" --ignore node_modules
