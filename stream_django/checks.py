"""
System checks for the ``STREAM_*`` settings (``manage.py check``).

Ids: ``stream_django.E001``-``E0xx`` for errors, ``W0xx`` for warnings; see
docs/settings.md for the list. No check does network I/O.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from stream_django.conf import RENAMED, stream_settings


def _error(msg: str, hint: str | None, id: str) -> checks.Error:
    return checks.Error(msg, hint=hint, id=f"stream_django.{id}")


@checks.register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from stream_django.backends import load_backend_class
    from stream_django.engine.feeds import default_feed_config, parse_feed_groups

    stream_settings.reload()
    messages: list[checks.CheckMessage] = []

    backend_cls = None
    try:
        backend_cls = load_backend_class(stream_settings.backend_path)
    except ImproperlyConfigured as e:
        messages.append(
            _error(
                str(e),
                "STREAM_BACKEND must be the dotted path of a backend class, e.g. "
                "'stream_django.backends.database.DatabaseBackend'.",
                "E001",
            )
        )

    for name in ("STREAM_USER_FEED", "STREAM_NOTIFICATION_FEED"):
        if not isinstance(getattr(stream_settings, name), str):
            messages.append(_error(f"{name} must be a feed group slug (a string).", None, "E002"))
    news = stream_settings.NEWS_FEEDS
    if not isinstance(news, dict) or not all(isinstance(v, str) for v in news.values()):
        messages.append(
            _error(
                "STREAM_NEWS_FEEDS must be a dict of name -> feed group slug.",
                "e.g. {'timeline': 'timeline', 'timeline_aggregated': 'timeline_aggregated'}",
                "E003",
            )
        )
        news = {}

    groups = None
    config = stream_settings.FEEDS
    try:
        if config is None:
            config = default_feed_config(stream_settings.USER_FEED, news, stream_settings.NOTIFICATION_FEED)
        groups = parse_feed_groups(config)
    except (ImproperlyConfigured, TypeError) as e:
        messages.append(_error(str(e), "See the STREAM_FEEDS section of docs/settings.md.", "E004"))

    if groups is not None and not (backend_cls and backend_cls.is_remote):
        user_feed = stream_settings.USER_FEED
        if user_feed in groups and not groups[user_feed].is_flat:
            messages.append(
                _error(
                    f"STREAM_USER_FEED {user_feed!r} must be a flat feed group (news feeds follow it).", None, "E005"
                )
            )
        wanted = {
            "STREAM_USER_FEED": [user_feed],
            "STREAM_NEWS_FEEDS": list(news.values()),
            "STREAM_NOTIFICATION_FEED": [stream_settings.NOTIFICATION_FEED],
        }
        for setting, slugs in wanted.items():
            for slug in slugs:
                if isinstance(slug, str) and slug not in groups:
                    messages.append(
                        _error(
                            f"{setting} names feed group {slug!r}, which STREAM_FEEDS does not define.",
                            f"Add {slug!r} to STREAM_FEEDS.",
                            "E006",
                        )
                    )

    copy_limit = stream_settings.ACTIVITY_COPY_LIMIT
    if not isinstance(copy_limit, int) or isinstance(copy_limit, bool) or not 0 <= copy_limit <= 1000:
        messages.append(
            _error(f"STREAM_ACTIVITY_COPY_LIMIT must be an int from 0 to 1000, got {copy_limit!r}.", None, "E007")
        )
    chunk = stream_settings.FANOUT_CHUNK_SIZE
    if not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1:
        messages.append(_error(f"STREAM_FANOUT_CHUNK_SIZE must be a positive int, got {chunk!r}.", None, "E008"))
    if stream_settings.ON_FAILURE not in ("record", "raise"):
        messages.append(
            _error(f"STREAM_ON_FAILURE must be 'record' or 'raise', got {stream_settings.ON_FAILURE!r}.", None, "E009")
        )
    for name in ("STREAM_DISABLE_MODEL_TRACKING", "STREAM_PUBLISH_ON_COMMIT", "STREAM_TRACK_UPDATES"):
        if not isinstance(getattr(stream_settings, name), bool):
            messages.append(
                _error(f"{name} must be True or False, got {getattr(stream_settings, name)!r}.", None, "E011")
            )
    if not isinstance(stream_settings.BACKEND_OPTIONS, dict):
        messages.append(_error("STREAM_BACKEND_OPTIONS must be a dict.", None, "E012"))
    try:
        import_string(stream_settings.FEED_MANAGER_CLASS)
    except ImportError as e:
        messages.append(
            _error(
                f"STREAM_FEED_MANAGER_CLASS {stream_settings.FEED_MANAGER_CLASS!r} cannot be imported: {e}",
                None,
                "E013",
            )
        )

    if not isinstance(stream_settings.USER_STREAMS_USE_UTC, bool):
        messages.append(_error("USER_STREAMS_USE_UTC must be True or False.", None, "E030"))
    path = stream_settings.USER_STREAMS_BACKEND
    if path is not None:
        hint = "Name a class with add_stream_item() and get_stream_items()."
        if isinstance(path, str) and path.startswith("user_streams."):
            hint = (
                "This is a django-user-streams backend: remove the setting to keep the items "
                "in STREAM_BACKEND (see docs/user-streams.md)."
            )
        try:
            cls = import_string(path)
        except ImportError as e:
            messages.append(_error(f"USER_STREAMS_BACKEND {path!r} cannot be imported: {e}", hint, "E031"))
        else:
            missing = [m for m in ("add_stream_item", "get_stream_items") if not callable(getattr(cls, m, None))]
            if missing:
                messages.append(
                    _error(f"USER_STREAMS_BACKEND {path!r} has no {' or '.join(missing)} method.", hint, "E031")
                )
    slug = stream_settings.USER_STREAMS_FEED
    from stream_django.engine.feeds import SLUG_RE

    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        messages.append(_error(f"USER_STREAMS_FEED must be a feed group slug, got {slug!r}.", None, "E032"))
    elif groups is not None and slug in groups and not groups[slug].is_flat:
        messages.append(
            _error(
                f"USER_STREAMS_FEED {slug!r} names a feed group of type {groups[slug].type!r} "
                "in STREAM_FEEDS; user streams need a flat one.",
                f"Declare {slug!r} as flat or leave it out.",
                "E035",
            )
        )
    args = stream_settings.USER_STREAMS_REDIS_CLIENT_ARGUMENTS
    if args is not None and not isinstance(args, dict):
        messages.append(_error("USER_STREAMS_REDIS_CLIENT_ARGUMENTS must be a dict.", None, "E033"))
    prefix = stream_settings.USER_STREAMS_REDIS_KEY_PREFIX
    if prefix is not None and not isinstance(prefix, str):
        messages.append(_error("USER_STREAMS_REDIS_KEY_PREFIX must be a string.", None, "E034"))
    messages.extend(_check_fanout(backend_cls))

    for old, new in RENAMED.items():
        if hasattr(settings, old):
            messages.append(
                checks.Warning(f"{old} is the old name of {new}.", hint=f"Rename it to {new}.", id="stream_django.W001")
            )

    if backend_cls is not None and not messages:
        try:
            from stream_django.backends import get_backend

            messages.extend(get_backend().check())
        except ImproperlyConfigured as e:
            messages.append(_error(str(e), None, "E001"))
    return messages


def _positive_int(value: Any, *, zero: bool = False) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and (value >= 0 if zero else value > 0)


def _check_fanout(backend_cls: Any) -> list[checks.CheckMessage]:
    """Check the settings of fan-out through task workers (docs/scale-out.md)."""
    from stream_django.tasks import framework, task_backend

    messages: list[checks.CheckMessage] = []
    limit = stream_settings.FANOUT_INLINE_LIMIT
    if not _positive_int(limit, zero=True):
        messages.append(
            _error(
                f"STREAM_FANOUT_INLINE_LIMIT must be an int >= 0, got {limit!r}.",
                "0 sends every fan-out to the task workers.",
                "E015",
            )
        )
    queues = {}
    for name in ("STREAM_FANOUT_QUEUE", "STREAM_FANOUT_BULK_QUEUE"):
        value = getattr(stream_settings, name)
        if isinstance(value, str) and value:
            queues[name] = value
        else:
            messages.append(_error(f"{name} must be a queue name (a non-empty string), got {value!r}.", None, "E016"))
    retry = stream_settings.FANOUT_RETRY_AFTER
    if isinstance(retry, bool) or not isinstance(retry, (int, float)) or not retry > 0:
        messages.append(
            _error(f"STREAM_FANOUT_RETRY_AFTER must be a positive number of seconds, got {retry!r}.", None, "E018")
        )

    alias = stream_settings.FANOUT_TASK_BACKEND
    if alias is None or framework() is None:
        return messages
    if not isinstance(alias, str):
        messages.append(
            _error(f"STREAM_FANOUT_TASK_BACKEND must be a TASKS alias or None, got {alias!r}.", None, "E014")
        )
        return messages
    try:
        backend = task_backend(alias)
    except ImproperlyConfigured as e:
        messages.append(
            _error(
                f"STREAM_FANOUT_TASK_BACKEND {alias!r} is not a usable task backend: {e}",
                "Name an alias of TASKS, or set it to None to fan out inline.",
                "E014",
            )
        )
        return messages
    from stream_django.tasks import is_immediate

    if is_immediate(backend):
        return messages
    for name, queue in queues.items():
        if backend.queues and queue not in backend.queues:
            messages.append(
                _error(
                    f"{name} {queue!r} is not among the QUEUES of task backend {alias!r} ({sorted(backend.queues)}).",
                    f"Add {queue!r} to TASKS[{alias!r}]['QUEUES'].",
                    "E017",
                )
            )
    if (
        backend_cls is not None
        and not getattr(backend_cls, "supports_fanout_chunks", False)
        and not backend_cls.is_remote
    ):
        messages.append(
            checks.Warning(
                f"Task backend {alias!r} queues tasks, but the {backend_cls.__name__} storage backend cannot split "
                "fan-out into chunks: every fan-out runs in the request.",
                hint="Set STREAM_FANOUT_TASK_BACKEND = None to say so, or use a backend that supports it.",
                id="stream_django.W002",
            )
        )
    if len(set(queues.values())) == 1 and len(queues) == 2 and not backend.supports_priority:
        messages.append(
            checks.Warning(
                "STREAM_FANOUT_QUEUE and STREAM_FANOUT_BULK_QUEUE are the same queue and the task backend "
                f"{alias!r} has no priorities: small fan-outs can wait behind large ones.",
                hint="Give the bulk chunks a queue of their own.",
                id="stream_django.W003",
            )
        )
    return messages
