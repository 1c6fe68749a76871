"""Checks of the ``USER_STREAMS_*`` settings (docs/user-streams.md)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from stream_django.checks.base import error, valid_feed_groups
from stream_django.conf import stream_settings


def _check_backend_path() -> list[checks.CheckMessage]:
    path = stream_settings.USER_STREAMS_BACKEND
    if path is None:
        return []
    hint = "Name a class with add_stream_item() and get_stream_items()."
    if isinstance(path, str) and path.startswith("user_streams."):
        hint = (
            "This is a django-user-streams backend: remove the setting to keep the items "
            "in STREAM_BACKEND (see docs/user-streams.md)."
        )
    try:
        cls = import_string(path)
    except ImportError as e:
        return [
            error(_("USER_STREAMS_BACKEND %(path)r cannot be imported: %(e)s") % {"path": path, "e": e}, hint, "E031")
        ]
    missing = [m for m in ("add_stream_item", "get_stream_items") if not callable(getattr(cls, m, None))]
    if missing:
        return [
            error(
                _("USER_STREAMS_BACKEND %(path)r has no %(value)s method.")
                % {"path": path, "value": " or ".join(missing)},
                hint,
                "E031",
            )
        ]
    return []


def _check_feed() -> list[checks.CheckMessage]:
    from stream_django.engine.feeds import SLUG_RE

    slug = stream_settings.USER_STREAMS_FEED
    if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
        return [error(_("USER_STREAMS_FEED must be a feed group slug, got %(slug)r.") % {"slug": slug}, None, "E032")]
    groups = valid_feed_groups()
    if groups is not None and slug in groups and not groups[slug].is_flat:
        return [
            error(
                _(
                    "USER_STREAMS_FEED %(slug)r names a feed group of type %(value)r in STREAM_FEEDS; user streams need a flat one."
                )
                % {"slug": slug, "value": groups[slug].type},
                _("Declare %(slug)r as flat or leave it out.") % {"slug": slug},
                "E035",
            )
        ]
    return []


@checks.register()
def check_user_streams(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The user-streams settings (E030-E035)."""
    messages: list[checks.CheckMessage] = []
    if not isinstance(stream_settings.USER_STREAMS_USE_UTC, bool):
        messages.append(error(_("USER_STREAMS_USE_UTC must be True or False."), None, "E030"))
    messages.extend(_check_backend_path())
    messages.extend(_check_feed())
    args = stream_settings.USER_STREAMS_REDIS_CLIENT_ARGUMENTS
    if args is not None and not isinstance(args, dict):
        messages.append(error(_("USER_STREAMS_REDIS_CLIENT_ARGUMENTS must be a dict."), None, "E033"))
    prefix = stream_settings.USER_STREAMS_REDIS_KEY_PREFIX
    if prefix is not None and not isinstance(prefix, str):
        messages.append(error(_("USER_STREAMS_REDIS_KEY_PREFIX must be a string."), None, "E034"))
    return messages
