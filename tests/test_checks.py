"""System checks report misconfiguration with stable ids."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from stream_django.backends import get_backend
from stream_django.checks import check_settings
from stream_django.conf import DATABASE_BACKEND, stream_settings
from stream_django.exceptions import InvalidStreamBackend
from stream_django.feed_manager import feed_manager_class
from stream_django.tasks import framework
from tests import settings as test_settings


def ids(**_):
    return [m.id for m in check_settings()]


def test_the_test_settings_pass():
    assert check_settings() == []


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("STREAM_BACKEND", "nowhere.Backend", "stream_django.E001"),
        ("STREAM_BACKEND", "stream_django.conf.StreamSettings", "stream_django.E001"),
        ("STREAM_USER_FEED", 3, "stream_django.E002"),
        ("STREAM_NEWS_FEEDS", ["timeline"], "stream_django.E003"),
        ("STREAM_FEEDS", {"user": {"type": "ranked"}}, "stream_django.E004"),
        ("STREAM_FEEDS", {"user": {"max_length": 0}}, "stream_django.E004"),
        ("STREAM_FEEDS", {"user": {"colour": 1}}, "stream_django.E004"),
        ("STREAM_FEEDS", {"user": {"aggregation_format": "no.such.function"}}, "stream_django.E004"),
        ("STREAM_FEEDS", {"user": {"aggregation_format": "{{ verb | upper }}"}}, "stream_django.E004"),
        ("STREAM_FEEDS", {"bad slug": "flat"}, "stream_django.E004"),
        ("STREAM_FEEDS", [], "stream_django.E004"),
        (
            "STREAM_FEEDS",
            {
                "user": "aggregated",
                "timeline": "flat",
                "timeline_aggregated": "aggregated",
                "notification": "notification",
            },
            "stream_django.E005",
        ),
        ("STREAM_FEEDS", {"user": "flat"}, "stream_django.E006"),
        ("STREAM_ACTIVITY_COPY_LIMIT", 5000, "stream_django.E007"),
        ("STREAM_FANOUT_CHUNK_SIZE", 0, "stream_django.E008"),
        ("STREAM_ON_FAILURE", "ignore", "stream_django.E009"),
        ("STREAM_BACKEND_OPTIONS", {"using": "nope"}, "stream_django.E010"),
        ("STREAM_PUBLISH_ON_COMMIT", "yes", "stream_django.E011"),
        ("STREAM_BACKEND_OPTIONS", "using=x", "stream_django.E012"),
        ("STREAM_FEED_MANAGER_CLASS", "nowhere.Manager", "stream_django.E013"),
        ("STREAM_FEED_MANAGER_CLASS", "stream_django.conf.StreamSettings", "stream_django.E019"),
        ("STREAM_FEED_MANAGER_CLASS", 3, "stream_django.E019"),
        ("STREAM_PERSONAL_FEED", "notification", "stream_django.W001"),
        ("STREAM_ENDPOINT_KEYS", [("key", "secret")], "stream_django.E060"),
        ("STREAM_ENDPOINT_KEYS", {"key": ""}, "stream_django.E060"),
        ("STREAM_ENDPOINT_KEYS", {"key": None}, "stream_django.E060"),
        ("USER_STREAMS_USE_UTC", "yes", "stream_django.E030"),
        ("USER_STREAMS_BACKEND", "nowhere.Backend", "stream_django.E031"),
        ("USER_STREAMS_BACKEND", "stream_django.conf.StreamSettings", "stream_django.E031"),
        ("USER_STREAMS_FEED", "bad slug", "stream_django.E032"),
        ("USER_STREAMS_REDIS_CLIENT_ARGUMENTS", "host=x", "stream_django.E033"),
        ("USER_STREAMS_REDIS_KEY_PREFIX", 3, "stream_django.E034"),
        ("STREAM_FEEDS", {**test_settings.STREAM_FEEDS, "user_stream": "aggregated"}, "stream_django.E035"),
        ("STREAM_FANOUT_TASK_BACKEND", "nowhere", "stream_django.E014"),
        ("STREAM_FANOUT_TASK_BACKEND", 3, "stream_django.E014"),
        ("STREAM_FANOUT_INLINE_LIMIT", -1, "stream_django.E015"),
        ("STREAM_FANOUT_INLINE_LIMIT", "100", "stream_django.E015"),
        ("STREAM_FANOUT_QUEUE", "", "stream_django.E016"),
        ("STREAM_FANOUT_BULK_QUEUE", None, "stream_django.E016"),
        ("STREAM_FANOUT_RETRY_AFTER", 0, "stream_django.E018"),
    ],
)
def test_each_bad_setting_has_its_own_id(settings, name, value, expected):
    setattr(settings, name, value)
    assert expected in ids()


def test_an_old_user_streams_backend_path_gets_a_migration_hint(settings):
    settings.USER_STREAMS_BACKEND = "user_streams.backends.user_streams_redis_backend.RedisBackend"
    (message,) = check_settings()
    assert message.id == "stream_django.E031"
    assert "django-user-streams" in message.hint


def test_check_messages_name_the_problem(settings):
    settings.STREAM_FEEDS = {"user": {"type": "ranked"}}
    (message,) = check_settings()
    assert "STREAM_FEEDS['user']['type']" in message.msg
    assert message.hint


def test_each_concern_is_a_registered_check():
    from django.core.checks import registry

    from stream_django.checks import ALL_CHECKS

    assert set(ALL_CHECKS) <= set(registry.registry.get_checks())


def test_the_backends_own_check_waits_for_the_other_errors(settings):
    settings.STREAM_BACKEND_OPTIONS = {"using": "nope"}
    settings.STREAM_PERSONAL_FEED = "notification"
    assert sorted(ids()) == ["stream_django.E010", "stream_django.W001"]
    settings.STREAM_USER_FEED = 3
    assert "stream_django.E010" not in ids()


def test_a_bad_feed_manager_class_gets_a_hint(settings):
    settings.STREAM_FEED_MANAGER_CLASS = "nope.Manager"
    (message,) = check_settings()
    assert message.id == "stream_django.E013"
    assert message.msg.startswith("STREAM_FEED_MANAGER_CLASS 'nope.Manager' cannot be imported: ")
    assert "subclass of stream_django.managers.FeedManager" in message.hint
    with pytest.raises(ImproperlyConfigured, match="STREAM_FEED_MANAGER_CLASS 'nope.Manager' cannot be imported"):
        feed_manager_class()


@pytest.mark.parametrize(
    "path, expected",
    [("nope.Manager", "stream_django.E013"), ("stream_django.conf.StreamSettings", "stream_django.E019")],
)
def test_django_starts_with_a_bad_feed_manager_class_and_check_reports_it(path, expected):
    """``ready()`` does not crash: ``manage.py check`` runs and names the problem."""
    script = (
        "import sys; from django.conf import settings; "
        "settings.STREAM_FEED_MANAGER_CLASS = sys.argv[1]; "
        "from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, path],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert expected in result.stderr
    assert "HINT: Name a subclass of stream_django.managers.FeedManager" in result.stderr


@pytest.mark.parametrize(
    "present, missing", [("STREAM_API_KEY", "STREAM_API_SECRET"), ("STREAM_API_SECRET", "STREAM_API_KEY")]
)
def test_half_of_the_getstream_credentials_warns(settings, monkeypatch, present, missing):
    monkeypatch.delenv("STREAM_URL", raising=False)
    setattr(settings, present, "forgotten-half")
    (message,) = check_settings()
    assert message.id == "stream_django.W004"
    assert message.msg == (
        f"{present} is set but {missing} is not, so the feeds are stored by the database backend, not on getstream.io."
    )
    assert f"set {missing} too" in message.hint
    assert stream_settings.backend_path == DATABASE_BACKEND


def test_half_of_the_credentials_is_fine_with_an_explicit_backend(settings, monkeypatch):
    monkeypatch.delenv("STREAM_URL", raising=False)
    settings.STREAM_API_KEY = "left-over"
    settings.STREAM_BACKEND = DATABASE_BACKEND
    assert check_settings() == []


def test_manage_check_fails_on_errors(settings):
    settings.STREAM_BACKEND = "nowhere.Backend"
    with pytest.raises(SystemCheckError, match="stream_django.E001"):
        call_command("check")


def test_a_bad_backend_path_raises_invalid_stream_backend(settings):
    settings.STREAM_BACKEND = "nowhere.Backend"
    with pytest.raises(InvalidStreamBackend, match="nowhere.Backend"):
        get_backend()


def test_the_default_backend_is_the_database():
    from stream_django.backends.database import DatabaseBackend

    assert isinstance(get_backend(), DatabaseBackend)


def test_old_notification_setting_defines_the_default_group(settings):
    del settings.STREAM_FEEDS
    settings.STREAM_PERSONAL_FEED = "alerts"
    from stream_django.engine.feeds import feed_groups

    assert feed_groups()["alerts"].is_notification
    assert feed_groups()["timeline_aggregated"].is_aggregated
    assert feed_groups()["timeline"].is_flat


def test_fan_out_queues_must_be_among_the_task_backends_queues(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "stream_fanout"]}}
    (message,) = check_settings()
    assert message.id == "stream_django.E017"
    assert "STREAM_FANOUT_BULK_QUEUE 'stream_fanout_bulk'" in message.msg
    assert message.hint == "Add 'stream_fanout_bulk' to TASKS['default']['QUEUES']."
    settings.TASKS["default"]["QUEUES"].append("stream_fanout_bulk")
    settings.TASKS = dict(settings.TASKS)
    assert check_settings() == []


def test_a_queuing_task_backend_with_a_store_that_cannot_chunk_warns(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
    settings.STREAM_BACKEND = "tests.test_fanout.UnchunkedBackend"
    assert ids() == ["stream_django.W002"]


def test_one_queue_for_both_kinds_of_chunk_warns_without_priorities(settings):
    settings.TASKS = {"default": {"BACKEND": "tests.test_checks.NoPriorityBackend", "QUEUES": []}}
    settings.STREAM_FANOUT_BULK_QUEUE = "stream_fanout"
    assert ids() == ["stream_django.W003"]


def test_the_immediate_backend_needs_no_queue_names(settings):
    settings.TASKS = {
        "default": {"BACKEND": f"{framework().__name__}.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
    }
    assert check_settings() == []


def _dummy_backend():
    from importlib import import_module

    return import_module(f"{framework().__name__}.backends.dummy").DummyBackend


class NoPriorityBackend(_dummy_backend()):
    supports_priority = False


@pytest.mark.parametrize(
    "options, warned",
    [({}, True), ({"transaction_mode": "DEFERRED"}, True), ({"transaction_mode": "IMMEDIATE"}, False)],
)
def test_feeds_in_an_sqlite_file_without_immediate_transactions_warn(settings, tmp_path, options, warned):
    """Concurrent writers of deferred SQLite transactions fail at once with
    'database is locked'; the check says so and names the fix (W010)."""
    settings.DATABASES = {
        **settings.DATABASES,
        "feeds": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "feeds.sqlite3"), "OPTIONS": options},
    }
    settings.STREAM_BACKEND_OPTIONS = {"using": "feeds"}
    messages = check_settings()
    assert [m.id for m in messages] == (["stream_django.W010"] if warned else [])
    if warned:
        assert messages[0].msg.startswith("The feed tables are in SQLite database 'feeds' without immediate")
        assert '"transaction_mode": "IMMEDIATE"' in messages[0].hint


def test_the_package_tables_in_an_sqlite_file_warn_too(settings, tmp_path):
    """Whatever the backend, the failure ledger and the fan-out backlog are
    written to the default database (W010 when it is such an SQLite file)."""
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "site.sqlite3")}
    settings.DATABASES = {**settings.DATABASES, "default": sqlite}
    (message,) = check_settings()
    assert message.id == "stream_django.W010"
    assert message.msg.startswith(
        "The feed tables and the package's own tables (failure ledger, fan-out backlog) are in SQLite database 'default'"
    )
    settings.DATABASES = {
        **settings.DATABASES,
        "default": {**sqlite, "OPTIONS": {"transaction_mode": "IMMEDIATE"}},
        "feeds": sqlite,
    }
    settings.STREAM_BACKEND_OPTIONS = {"using": "feeds"}
    (message,) = check_settings()
    assert message.msg.startswith("The feed tables are in SQLite database 'feeds'")
