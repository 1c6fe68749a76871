"""
Feed groups and feed ids.

A feed is named ``"<slug>:<user_id>"``. Its group (the slug) has a type:

- ``flat``: a reverse-chronological list; the only type that can be followed;
- ``aggregated``: activities grouped by an aggregation format;
- ``notification``: aggregated, with seen/read state per group.

Groups come from ``STREAM_FEEDS``; without it, from stream-django's feed
settings (``STREAM_USER_FEED``, ``STREAM_NEWS_FEEDS``,
``STREAM_NOTIFICATION_FEED``), which by default give ``user`` (flat),
``timeline`` (flat), ``timeline_aggregated`` (aggregated) and
``notification`` (notification).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from stream_django.exceptions import FeedConfigException, InputException
from stream_django.signals import resets_on_setting_changed

FLAT = "flat"
AGGREGATED = "aggregated"
NOTIFICATION = "notification"
FEED_TYPES = (FLAT, AGGREGATED, NOTIFICATION)

DEFAULT_AGGREGATION_FORMAT = '{{ verb }}_{{ time.strftime("%Y-%m-%d") }}'
DEFAULT_MAX_LENGTH = {FLAT: 1000, AGGREGATED: 500, NOTIFICATION: 500}
DEFAULT_ACTIVITIES_PER_GROUP = 15

#: Matched with ``fullmatch``: ``$`` would also accept a trailing newline.
SLUG_RE = re.compile(r"\w{1,64}")
USER_ID_RE = re.compile(r"[\w-]{1,255}")
FEED_OPTIONS = {"type", "max_length", "aggregation_format", "activities_per_group"}


@dataclass(frozen=True)
class FeedGroup:
    """One feed group: its slug, type and limits.

    ``max_length`` bounds a flat feed's entries (an aggregated feed's
    groups); ``activities_per_group`` bounds what each group of an
    aggregated or notification feed keeps (its newest activities: older ones
    are dropped when written) and returns, while the group's
    ``activity_count`` and ``actor_count`` keep counting all it received.
    """

    slug: str
    type: str = FLAT
    max_length: int | None = 1000
    aggregation_format: str | Callable[..., str] = DEFAULT_AGGREGATION_FORMAT
    activities_per_group: int = DEFAULT_ACTIVITIES_PER_GROUP

    @property
    def is_flat(self) -> bool:
        return self.type == FLAT

    @property
    def is_aggregated(self) -> bool:
        """Whether the feed groups activities (aggregated and notification)."""
        return self.type != FLAT

    @property
    def is_notification(self) -> bool:
        return self.type == NOTIFICATION

    def group_key(self, activity: dict[str, Any]) -> str:
        """Return the aggregation group of ``activity`` (a decoded activity)."""
        from stream_django.engine.aggregation import load_format, render_group

        return render_group(load_format(self.aggregation_format), activity)


def default_feed_config(
    user_feed: str, news_feeds: dict[str, str], notification_feed: str
) -> dict[str, dict[str, Any]]:
    """Return the ``STREAM_FEEDS`` equivalent of stream-django's feed settings."""
    config: dict[str, dict[str, Any]] = {user_feed: {"type": FLAT}}
    for name, slug in news_feeds.items():
        aggregated = "aggregated" in name or "aggregated" in slug
        config.setdefault(slug, {"type": AGGREGATED if aggregated else FLAT})
    config.setdefault(notification_feed, {"type": NOTIFICATION})
    return config


def parse_feed_groups(config: Any) -> dict[str, FeedGroup]:
    """Validate a ``STREAM_FEEDS`` value and return its groups by slug.

    Raises ``ImproperlyConfigured`` naming the first bad entry.
    """
    from stream_django.engine.aggregation import load_format

    if not isinstance(config, dict) or not config:
        raise ImproperlyConfigured(f"STREAM_FEEDS must be a non-empty dict of slug -> options, got {config!r}")
    groups = {}
    for slug, options in config.items():
        if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
            raise ImproperlyConfigured(f"STREAM_FEEDS: feed group slug {slug!r} must be 1-64 letters, digits or _")
        if isinstance(options, str):
            options = {"type": options}
        if not isinstance(options, dict):
            raise ImproperlyConfigured(
                f"STREAM_FEEDS[{slug!r}] must be a dict of options or a type name, got {options!r}"
            )
        unknown = set(options) - FEED_OPTIONS
        if unknown:
            raise ImproperlyConfigured(
                f"STREAM_FEEDS[{slug!r}] has unknown option(s) {sorted(unknown)}; "
                f"valid options are {sorted(FEED_OPTIONS)}"
            )
        kind = options.get("type", FLAT)
        if kind not in FEED_TYPES:
            raise ImproperlyConfigured(f"STREAM_FEEDS[{slug!r}]['type'] must be one of {FEED_TYPES}, got {kind!r}")
        max_length = options.get("max_length", DEFAULT_MAX_LENGTH[kind])
        if max_length is not None and (
            not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1
        ):
            raise ImproperlyConfigured(
                f"STREAM_FEEDS[{slug!r}]['max_length'] must be a positive int or None, got {max_length!r}"
            )
        per_group = options.get("activities_per_group", DEFAULT_ACTIVITIES_PER_GROUP)
        if not isinstance(per_group, int) or isinstance(per_group, bool) or not 1 <= per_group <= 100:
            raise ImproperlyConfigured(
                f"STREAM_FEEDS[{slug!r}]['activities_per_group'] must be an int from 1 to 100, got {per_group!r}"
            )
        fmt = options.get("aggregation_format", DEFAULT_AGGREGATION_FORMAT)
        try:
            fmt = load_format(fmt)
        except (ImportError, ValueError, TypeError) as e:
            raise ImproperlyConfigured(f"STREAM_FEEDS[{slug!r}]['aggregation_format'] is invalid: {e}") from e
        groups[slug] = FeedGroup(
            slug=slug,
            type=kind,
            max_length=max_length,
            aggregation_format=fmt,
            activities_per_group=per_group,
        )
    return groups


_groups_cache: dict[str, FeedGroup] | None = None


def feed_groups() -> dict[str, FeedGroup]:
    """Return the configured feed groups (cached until settings change)."""
    global _groups_cache
    if _groups_cache is None:
        from stream_django.conf import stream_settings as s

        config = s.FEEDS
        if config is None:
            config = default_feed_config(s.USER_FEED, s.NEWS_FEEDS, s.NOTIFICATION_FEED)
        groups = parse_feed_groups(config)
        # The django-user-streams API keeps its items in a flat group of its
        # own, unbounded unless STREAM_FEEDS configures it.
        slug = s.USER_STREAMS_FEED
        if isinstance(slug, str) and SLUG_RE.fullmatch(slug) and slug not in groups:
            groups[slug] = FeedGroup(slug=slug, type=FLAT, max_length=None)
        _groups_cache = groups
    return _groups_cache


@resets_on_setting_changed
def reset_feed_groups() -> None:
    global _groups_cache
    _groups_cache = None


def get_group(slug: str) -> FeedGroup:
    """Return the group ``slug`` or raise ``FeedConfigException``."""
    try:
        return feed_groups()[slug]
    except KeyError:
        raise FeedConfigException(
            f"feed group {slug!r} does not exist; configured groups are {sorted(feed_groups())} (see STREAM_FEEDS)"
        ) from None


def _name(value: Any, what: str) -> str:
    """Return ``value`` as text; ``None`` and booleans are no feed names
    (``str()`` would make ``"None"`` and ``"True"`` of them)."""
    if value is None or isinstance(value, bool):
        raise InputException(f"{what} {value!r} is invalid: it must be a string or an integer")
    return str(value)


def validate_slug(slug: Any) -> str:
    value = _name(slug, "feed slug")
    if not SLUG_RE.fullmatch(value):
        raise InputException(f"feed slug {slug!r} is invalid: use 1-64 letters, digits or _")
    return value


def validate_user_id(user_id: Any) -> str:
    value = _name(user_id, "feed user id")
    if not USER_ID_RE.fullmatch(value):
        raise InputException(f"feed user id {user_id!r} is invalid: use 1-255 letters, digits, _ or -")
    return value


def feed_id(slug: Any, user_id: Any) -> str:
    return f"{validate_slug(slug)}:{validate_user_id(user_id)}"


def parse_feed_id(value: Any, *, what: str = "feed id") -> str:
    """Validate ``"slug:user_id"`` (a trailing ``" <token>"`` is dropped)."""
    if not isinstance(value, str):
        raise InputException(f"{what} must be a 'slug:user_id' string, got {value!r}")
    text = value.split(" ", 1)[0]
    parts = text.split(":")
    if len(parts) != 2:
        raise InputException(f"{what} {value!r} is not of the form 'slug:user_id'")
    try:
        return feed_id(*parts)
    except InputException as e:
        raise InputException(f"{what} {value!r} is invalid: {e}") from None


def slug_of(feed: str) -> str:
    return feed.split(":", 1)[0]
