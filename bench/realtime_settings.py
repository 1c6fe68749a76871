"""
Settings of the realtime benchmark's site (``python -m bench.realtime``):
the REST API and its events endpoint on a PostgreSQL database of its own,
signed in with sessions.

``BENCH_REALTIME_DB`` (default ``bench_stream_django_realtime``; it must
start with ``bench_``) is dropped and created again by every run;
``BENCH_REALTIME_TRANSPORT`` (``database`` or ``redis``) says how the feed
events travel from the writing process to the server's; with ``redis``
they go through ``BENCH_REDIS_URL`` (default db 12).
"""

import os

from bench.settings import DATABASES as _BENCH_DATABASES
from bench.settings import STREAM_FEEDS as STREAM_FEEDS
from bench.settings import STREAM_REDIS_URL as STREAM_REDIS_URL

SECRET_KEY = "bench-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"

DATABASES = {
    "default": {
        **_BENCH_DATABASES["default"],
        "NAME": os.environ.get("BENCH_REALTIME_DB", "bench_stream_django_realtime"),
    }
}
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "stream_django",
]
MIDDLEWARE = [
    # An open event stream holds no database connection (bench/realtime_site.py).
    "bench.realtime_site.release_database_when_streaming",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STREAM_DISABLE_MODEL_TRACKING = True

TRANSPORT = os.environ.get("BENCH_REALTIME_TRANSPORT", "database")
if TRANSPORT not in ("database", "redis"):
    raise ValueError(f"BENCH_REALTIME_TRANSPORT must be 'database' or 'redis', got {TRANSPORT!r}")
STREAM_EVENTS = {"transport": TRANSPORT}
if TRANSPORT == "redis":
    # The benchmark's keys, and only they, start with "sdbench:".
    STREAM_EVENTS.update(redis_url=STREAM_REDIS_URL, key="sdbench:{realtime-events}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}
