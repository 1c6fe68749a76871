"""
Settings of the benchmark site: both feed engines on one PostgreSQL database.

The database (``BENCH_DB_NAME``, default ``bench_stream_django``) is dropped
and created again by every run; Redis keys live in their own database
(``BENCH_REDIS_URL``, default db 12) under the ``sdbench:`` prefix, and only
those keys are ever deleted.
"""

import os

SECRET_KEY = "bench-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DB_NAME", "bench_stream_django"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
    }
}
# The statistics trap case (bench/cases_trap.py) builds a database of its own.
DATABASES["trap"] = {**DATABASES["default"], "NAME": DATABASES["default"]["NAME"] + "_trap"}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "stream_django",
    "actstream",
    "bench",
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
MIDDLEWARE: list = []
# The REST API case (bench/cases_api.py) requests the API through Django's
# test client.
ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["testserver"]

STREAM_FEEDS = {
    "user": {"type": "flat"},
    "timeline": {"type": "flat"},
    "timeline_aggregated": {"type": "aggregated"},
    "notification": {"type": "notification"},
}
# The data is loaded in bulk; nothing is published by saving models.
STREAM_DISABLE_MODEL_TRACKING = True
STREAM_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
REDIS_BACKEND = "stream_django.backends.redis.RedisBackend"
REDIS_KEY_PREFIX = "sdbench:"

ACTSTREAM_SETTINGS = {"FETCH_RELATIONS": True}
