"""
System checks for the ``STREAM_*`` settings (``manage.py check``).

Each concern is one registered check in a module of its own:

- ``backend``: ``STREAM_BACKEND``, ``STREAM_BACKEND_OPTIONS`` and the
  backend's own ``check()``;
- ``credentials``: getstream.io credentials set by halves;
- ``database``: the databases the package writes to (SQLite's locking);
- ``feeds``: the feed group settings and ``STREAM_FEEDS``;
- ``tracking``: model tracking, ``STREAM_ON_FAILURE`` and
  ``STREAM_FEED_MANAGER_CLASS``;
- ``fanout``: fan-out in chunks through task workers;
- ``user_streams``: the ``USER_STREAMS_*`` settings;
- ``endpoint``: ``STREAM_ENDPOINT_KEYS`` of the Stream API endpoint;
- ``renamed``: old setting names;
- ``api``: the ``STREAM_API_*`` settings of the REST API.

Ids: ``stream_django.E001``-``E0xx`` for errors, ``W0xx`` for warnings; see
docs/settings.md for the list. No check does network I/O.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from stream_django.checks.api import check_api
from stream_django.checks.backend import check_backend
from stream_django.checks.base import error
from stream_django.checks.credentials import check_credentials
from stream_django.checks.database import check_sqlite_writers
from stream_django.checks.endpoint import check_endpoint_keys
from stream_django.checks.fanout import check_fanout_settings, check_fanout_tasks
from stream_django.checks.feeds import check_feed_groups, check_feed_settings
from stream_django.checks.renamed import check_renamed_settings
from stream_django.checks.tracking import check_feed_manager, check_tracking
from stream_django.checks.user_streams import check_user_streams
from stream_django.conf import stream_settings

__all__ = ["ALL_CHECKS", "check_settings"]


@checks.register()
def check_backend_instance(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The backend's own ``check()``, once it can be built (E001 if not).

    Skipped while another check of stream_django reports an error: the
    backend is built from those settings, and its check would only repeat
    them (in the words of a backend option).
    """
    others = (check for check in ALL_CHECKS if check is not check_backend_instance)
    if any(message.is_serious() for check in others for message in check(app_configs)):
        return []
    from stream_django.backends import get_backend

    try:
        return list(get_backend().check())
    except ImproperlyConfigured as e:
        return [error(str(e), None, "E001")]


#: Every check of stream_django, in the order ``check_settings()`` runs them.
ALL_CHECKS = (
    check_backend,
    check_credentials,
    check_feed_settings,
    check_feed_groups,
    check_tracking,
    check_feed_manager,
    check_user_streams,
    check_fanout_settings,
    check_fanout_tasks,
    check_endpoint_keys,
    check_renamed_settings,
    check_sqlite_writers,
    check_api,
    check_backend_instance,
)


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Return the messages of every check of stream_django, read afresh.

    ``manage.py check`` runs the registered checks one by one; this runs
    them all at once (for tests and scripts).
    """
    stream_settings.reload()
    return [message for check in ALL_CHECKS for message in check(app_configs, **kwargs)]
