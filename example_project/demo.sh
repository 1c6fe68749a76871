#!/bin/sh
# Set up and run the example site: create the virtualenv if missing, install
# the package, migrate the SQLite database, seed the demo data (a second run
# adds nothing) and serve on http://$HOST:$PORT/ with uvicorn.
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

# uvicorn (the demo dependency group) serves the site: the live updates are
# Server-Sent Events, which need an ASGI server. Dependency groups need pip
# 25.1 or newer.
if ! "$PY" -c 'import sys; from importlib.metadata import version; sys.exit(tuple(int(p) for p in version("pip").split(".")[:2]) < (25, 1))' 2>/dev/null; then
    step "Upgrading pip in $VENV (dependency groups need pip 25.1 or newer)"
    "$PY" -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
fi
if [ -n "${DEMO_REDIS_URL:-}" ]; then
    step "Installing django-activity-feeds with Redis support and the REST API, and uvicorn"
    "$PY" -m pip install --quiet --disable-pip-version-check -e ".[redis,api]" --group demo
    echo "Feeds are stored in Redis at $DEMO_REDIS_URL"
else
    step "Installing django-activity-feeds with the REST API, and uvicorn"
    "$PY" -m pip install --quiet --disable-pip-version-check -e ".[api]" --group demo
fi

step "Migrating the database"
"$PY" example_project/manage.py migrate --noinput

step "Seeding demo data"
"$PY" example_project/manage.py seed_demo

step "The demo is running at http://$HOST:$PORT/  (Ctrl-C stops it)"
# One worker process is enough for the demo. A page's event stream still
# open when Ctrl-C is pressed is closed after a second.
exec "$PY" -m uvicorn example_project.asgi:application --host "$HOST" --port "$PORT" \
    --workers 1 --lifespan off --timeout-graceful-shutdown 1 --no-access-log
