"""What the checks share: the message helper and the settings they read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from stream_django.conf import stream_settings

if TYPE_CHECKING:
    from stream_django.backends.base import BaseBackend
    from stream_django.engine.feeds import FeedGroup


def error(msg: str, hint: str | None, id: str) -> checks.Error:
    """Return an error of id ``stream_django.<id>``."""
    return checks.Error(msg, hint=hint, id=f"stream_django.{id}")


def positive_int(value: Any, *, zero: bool = False) -> bool:
    """Return whether ``value`` is an int (not a bool) > 0, or >= 0 with ``zero``."""
    return isinstance(value, int) and not isinstance(value, bool) and (value >= 0 if zero else value > 0)


def backend_class() -> type[BaseBackend] | None:
    """Return the configured backend class, or ``None`` if it cannot be loaded."""
    from stream_django.backends import load_backend_class

    try:
        return load_backend_class(stream_settings.backend_path)
    except ImproperlyConfigured:
        return None


def news_feeds() -> dict[str, Any] | None:
    """Return ``STREAM_NEWS_FEEDS`` if it is a dict of strings, else ``None``."""
    news = stream_settings.NEWS_FEEDS
    if not isinstance(news, dict) or not all(isinstance(v, str) for v in news.values()):
        return None
    return news


def feed_groups() -> dict[str, FeedGroup]:
    """Return the feed groups of ``STREAM_FEEDS`` (or of the defaults).

    Raises ``ImproperlyConfigured`` or ``TypeError`` for a bad configuration.
    """
    from stream_django.engine.feeds import default_feed_config, parse_feed_groups

    config = stream_settings.FEEDS
    if config is None:
        config = default_feed_config(stream_settings.USER_FEED, news_feeds() or {}, stream_settings.NOTIFICATION_FEED)
    return parse_feed_groups(config)


def valid_feed_groups() -> dict[str, FeedGroup] | None:
    """Return the feed groups, or ``None`` when the configuration is bad."""
    try:
        return feed_groups()
    except (ImproperlyConfigured, TypeError):
        return None
