#!/bin/sh
# Set up and run the example site: create the virtualenv if missing, install
# the package, migrate the SQLite database, seed the demo data (a second run
# adds nothing) and serve on http://$HOST:$PORT/.
#
# Variables: PYTHON (default python3, 3.10 or newer), VENV (default .venv),
# HOST (default 127.0.0.1), PORT (default 8000), DEMO_REDIS_URL (store the
# feeds in Redis; see docs/example.md).
set -eu

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}

step() { printf '\n==> %s\n' "$*"; }

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "The demo needs Python 3.10 or newer; '$PYTHON' is not. Try: make demo PYTHON=python3.12" >&2
    exit 1
fi

# Fail now rather than after seeding when the port is taken.
if ! "$PYTHON" - "$HOST" "$PORT" <<'PY'
import socket, sys
with socket.socket() as s:
    try:
        s.bind((sys.argv[1], int(sys.argv[2])))
    except OSError:
        sys.exit(1)
PY
then
    echo "Port $PORT on $HOST is in use. Pick another one, e.g.: make demo PORT=$((PORT + 11))" >&2
    exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
    step "Creating the virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

if [ -n "${DEMO_REDIS_URL:-}" ]; then
    step "Installing django-activity-feeds with Redis support and the REST API"
    "$PY" -m pip install --quiet --disable-pip-version-check -e ".[redis,api]"
    echo "Feeds are stored in Redis at $DEMO_REDIS_URL"
else
    step "Installing django-activity-feeds with the REST API"
    "$PY" -m pip install --quiet --disable-pip-version-check -e ".[api]"
fi

step "Migrating the database"
"$PY" example_project/manage.py migrate --noinput

step "Seeding demo data"
"$PY" example_project/manage.py seed_demo

step "The demo is running at http://$HOST:$PORT/  (Ctrl-C stops it)"
exec "$PY" example_project/manage.py runserver "$HOST:$PORT" --insecure
