"""Checks of the feed settings: the group names and ``STREAM_FEEDS``."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from stream_django.checks.base import backend_class, error, feed_groups, news_feeds
from stream_django.conf import stream_settings


@checks.register()
def check_feed_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The feed group settings name groups (E002, E003); the copy limit (E007)."""
    messages: list[checks.CheckMessage] = []
    for name in ("STREAM_USER_FEED", "STREAM_NOTIFICATION_FEED"):
        if not isinstance(getattr(stream_settings, name), str):
            messages.append(error(_("%(name)s must be a feed group slug (a string).") % {"name": name}, None, "E002"))
    if news_feeds() is None:
        messages.append(
            error(
                _("STREAM_NEWS_FEEDS must be a dict of name -> feed group slug."),
                _("e.g. {'timeline': 'timeline', 'timeline_aggregated': 'timeline_aggregated'}"),
                "E003",
            )
        )
    copy_limit = stream_settings.ACTIVITY_COPY_LIMIT
    if not isinstance(copy_limit, int) or isinstance(copy_limit, bool) or not 0 <= copy_limit <= 1000:
        messages.append(
            error(
                _("STREAM_ACTIVITY_COPY_LIMIT must be an int from 0 to 1000, got %(copy_limit)r.")
                % {"copy_limit": copy_limit},
                None,
                "E007",
            )
        )
    return messages


@checks.register()
def check_feed_groups(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``STREAM_FEEDS`` is valid (E004) and defines the groups the settings name (E005, E006).

    A remote backend (getstream.io) keeps its groups in its own dashboard,
    so only the syntax is checked then.
    """
    try:
        groups = feed_groups()
    except (ImproperlyConfigured, TypeError) as e:
        return [error(str(e), _("See the STREAM_FEEDS section of docs/settings.md."), "E004")]
    backend_cls = backend_class()
    if backend_cls and backend_cls.is_remote:
        return []
    messages: list[checks.CheckMessage] = []
    user_feed = stream_settings.USER_FEED
    if user_feed in groups and not groups[user_feed].is_flat:
        messages.append(
            error(
                _("STREAM_USER_FEED %(user_feed)r must be a flat feed group (news feeds follow it).")
                % {"user_feed": user_feed},
                None,
                "E005",
            )
        )
    wanted = {
        "STREAM_USER_FEED": [user_feed],
        "STREAM_NEWS_FEEDS": list((news_feeds() or {}).values()),
        "STREAM_NOTIFICATION_FEED": [stream_settings.NOTIFICATION_FEED],
    }
    for setting, slugs in wanted.items():
        for slug in slugs:
            if isinstance(slug, str) and slug not in groups:
                messages.append(
                    error(
                        _("%(setting)s names feed group %(slug)r, which STREAM_FEEDS does not define.")
                        % {"setting": setting, "slug": slug},
                        _("Add %(slug)r to STREAM_FEEDS.") % {"slug": slug},
                        "E006",
                    )
                )
    return messages
