"""
Settings of the example site.

Environment variables:

- ``DEMO_REDIS_URL``: store the feeds in Redis at this URL (e.g.
  ``redis://127.0.0.1:6379/15``, a database of its own) instead of the
  Django database; every key starts with ``demo:``;
- ``DEMO_DB``: path of the SQLite database (default
  ``example_project/db.sqlite3``, or ``db-redis.sqlite3`` with Redis, so
  that the two never mix their data);
- ``DEMO_MODE``: ``1`` (default) makes the sign-in page a password-free
  list of users to sign in as; ``0`` makes it a username/password form;
- ``DEMO_DEBUG``: ``1`` runs with ``DEBUG = True`` (default ``0``);
- ``DEMO_SERVE_STATIC``: ``1`` (default) makes the ASGI application serve
  the static files (``example_project/asgi.py``), ``DEBUG`` or not.
"""

import os
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent
REPO_DIR = BASE_DIR.parent

SECRET_KEY = os.environ.get("DEMO_SECRET_KEY", "example-project-not-for-production")
DEBUG = os.environ.get("DEMO_DEBUG", "0") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

#: Password-free sign-in as any user. Never turn it on in production.
DEMO_MODE = os.environ.get("DEMO_MODE", "1") == "1"

DEMO_REDIS_URL = os.environ.get("DEMO_REDIS_URL", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "stream_django",
    "example_project.social",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"
ASGI_APPLICATION = "example_project.asgi.application"
#: The ASGI application serves the static files itself (example_project/asgi.py).
DEMO_SERVE_STATIC = os.environ.get("DEMO_SERVE_STATIC", "1") == "1"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The per-verb activity templates (activity/<verb>.html) live at the
        # top of the repository, shared with the test suite.
        "DIRS": [REPO_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "example_project.social.context_processors.site",
            ]
        },
    }
]

_default_db = "db-redis.sqlite3" if DEMO_REDIS_URL else "db.sqlite3"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DEMO_DB", str(BASE_DIR / _default_db)),
        # Immediate transactions: a second writer (the web server and a task
        # worker, say) waits for the lock instead of failing at once with
        # "database is locked" (stream_django.W010, docs/database.md).
        "OPTIONS": {"transaction_mode": "IMMEDIATE"},
    }
}
if django.VERSION >= (5, 1):
    # Write-ahead logging: readers do not block the writer, and each commit
    # is one append rather than a journal rewrite (seeding commits often).
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"

STATIC_URL = "static/"

LOGIN_URL = "sign-in"
LOGIN_REDIRECT_URL = "timeline"

# Feeds: stream-django's default groups, with aggregation formats chosen for
# a social site. The timeline groups likes by post ("Ann and 3 others liked
# Bob's post") and posts and follows by actor; notifications group by post
# (likes) or by followed user (follows), one group per day.
STREAM_FEEDS = {
    "user": {"type": "flat"},
    "timeline": {"type": "flat"},
    "timeline_aggregated": {
        "type": "aggregated",
        "aggregation_format": "example_project.social.aggregation.timeline_group",
    },
    "notification": {
        "type": "notification",
        "aggregation_format": '{{ verb }}_{{ object }}_{{ time.strftime("%Y-%m-%d") }}',
    },
}

if DEMO_REDIS_URL:
    STREAM_BACKEND = "stream_django.backends.redis.RedisBackend"
    STREAM_REDIS_URL = DEMO_REDIS_URL
    # The demo's keys, and only they, start with "demo:" (docs/example.md
    # deletes them by this prefix to start over).
    STREAM_BACKEND_OPTIONS = {"key_prefix": "demo:"}


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"stream_django": {"handlers": ["console"], "level": "WARNING"}},
}
