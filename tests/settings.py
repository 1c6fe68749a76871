"""
Settings for the test suite.

``STREAM_TEST_DB`` chooses the database: ``sqlite`` (default, in memory),
``postgres`` (127.0.0.1:5432, database ``test``) or ``mysql``
(127.0.0.1:3306, database ``test``). ``PGHOST``/``PGPORT``/``PGUSER`` and
``MYSQL_HOST``/``MYSQL_PORT``/``MYSQL_USER`` override the addresses;
``STREAM_TEST_DB_NAME`` names the test database (default: one per process).
"""

import importlib.util
import os

#: The test database on PostgreSQL and MariaDB: one per test process, so
#: that two runs on one server (a developer's and CI's) never drop each
#: other's database; STREAM_TEST_DB_NAME fixes it.
TEST_DB_NAME = os.environ.get("STREAM_TEST_DB_NAME", f"test_stream_django_{os.getpid()}")

SECRET_KEY = "tests-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"

DB = os.environ.get("STREAM_TEST_DB", "sqlite")
if DB == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "test"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "TEST": {"NAME": TEST_DB_NAME},
        }
    }
elif DB == "mysql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": "test",
            "USER": os.environ.get("MYSQL_USER", "root"),
            "HOST": os.environ.get("MYSQL_HOST", "127.0.0.1"),
            "PORT": os.environ.get("MYSQL_PORT", "3306"),
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"NAME": TEST_DB_NAME, "CHARSET": "utf8mb4", "COLLATION": "utf8mb4_bin"},
        }
    }
elif DB == "sqlite":
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
else:
    raise RuntimeError(f"STREAM_TEST_DB must be sqlite, postgres or mysql, not {DB!r}")

# A database nothing listens on, for the "store unreachable" tests; no test
# database is ever created for it. It needs psycopg (the test group has it;
# the no-extras nox session does not, and does not run those tests).
if importlib.util.find_spec("psycopg") is not None:
    DATABASES["unreachable"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "nothing",
        "USER": "nobody",
        "HOST": "127.0.0.1",
        "PORT": "1",
        "OPTIONS": {"connect_timeout": 2},
    }

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "stream_django",
    "tests.testapp",
]
# Django's tasks framework: the backport (the tasks extra) before Django 6,
# and the ORM task backend whose worker the fan-out tests run. TASKS is left
# unset, so the immediate backend runs fan-out inline as it always did.
# Without either framework (the package installed without extras) fan-out
# is inline anyway.
if importlib.util.find_spec("django.tasks") is None and importlib.util.find_spec("django_tasks") is not None:
    INSTALLED_APPS.append("django_tasks")
if importlib.util.find_spec("django_tasks_db") is not None:
    INSTALLED_APPS.append("django_tasks_db")

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(os.path.dirname(os.path.dirname(__file__)), "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "stream_django.context_processors.stream",
            ]
        },
    }
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "tests.urls"
# The live server (pytest-django's live_server) serves static files under it.
STATIC_URL = "/static/"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

STREAM_FEEDS = {
    "user": {"type": "flat"},
    "timeline": {"type": "flat"},
    "timeline_aggregated": {"type": "aggregated"},
    "notification": {"type": "notification"},
    # Extra groups the contract suite uses.
    "topic": {"type": "flat"},
    "tiny": {"type": "flat", "max_length": 5},
    "tinyagg": {"type": "aggregated", "max_length": 3, "activities_per_group": 2},
    "byactor": {"type": "aggregated", "aggregation_format": "{{ actor }}"},
    "custom": {"type": "aggregated", "aggregation_format": "tests.testapp.aggregation.by_object_type"},
}
