#!/usr/bin/env bash
# `make run`: web, worker and beat under honcho (Procfile). The address is printed
# once the web server answers; Ctrl-C stops all three and ends quietly.
# `make serve` (scripts/serve.sh) runs it with Procfile.serve, and waits for
# /healthz rather than the log-in page.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PORT=${KEHU_PORT:-8000}
export KEHU_PORT=$PORT
PROCFILE=${KEHU_PROCFILE:-Procfile}
PROBE_PATH=${KEHU_PROBE_PATH:-/login/}

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

if [ "$(id -u)" = 0 ]; then
  say "Running as root: Celery will warn about superuser privileges. That is about"
  say "production (run the worker as an unprivileged user there); here it is harmless."
fi

"$VENV/bin/honcho" start -f "$PROCFILE" &
honcho=$!
stopping=0
stop() {
  stopping=1
  kill -TERM "$honcho" 2>/dev/null
}
trap stop INT TERM

for _ in $(seq 1 240); do
  kill -0 "$honcho" 2>/dev/null || break
  if "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' \
       "http://127.0.0.1:$PORT$PROBE_PATH" 2>/dev/null; then
    say "Kehu CRM on http://127.0.0.1:$PORT (Ctrl-C stops web, worker and beat)"
    break
  fi
  sleep 0.5
done

wait "$honcho"
status=$?
if [ "$stopping" = 1 ]; then
  wait "$honcho" 2>/dev/null
  status=130
fi
# A Ctrl-C (honcho ends 130 on SIGINT, 143 on SIGTERM) is how one stops it: not
# an error for make to report.
case "$status" in
  130 | 143) say "Stopped."; exit 0 ;;
  *) exit "$status" ;;
esac
