"""Checks of model tracking: its switches, failures, the feed manager class."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from stream_django.checks.base import error
from stream_django.conf import stream_settings


@checks.register()
def check_tracking(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``STREAM_ON_FAILURE`` (E009) and the tracking switches (E011)."""
    messages: list[checks.CheckMessage] = []
    if stream_settings.ON_FAILURE not in ("record", "raise"):
        messages.append(
            error(
                _("STREAM_ON_FAILURE must be 'record' or 'raise', got %(value)r.")
                % {"value": stream_settings.ON_FAILURE},
                None,
                "E009",
            )
        )
    for name in ("STREAM_DISABLE_MODEL_TRACKING", "STREAM_PUBLISH_ON_COMMIT", "STREAM_TRACK_UPDATES"):
        if not isinstance(getattr(stream_settings, name), bool):
            messages.append(
                error(
                    _("%(name)s must be True or False, got %(value)r.")
                    % {"name": name, "value": getattr(stream_settings, name)},
                    None,
                    "E011",
                )
            )
    return messages


FEED_MANAGER_HINT = (
    "Name a subclass of stream_django.managers.FeedManager by its dotted path, or remove "
    "the setting to use stream_django.managers.FeedManager itself."
)


@checks.register()
def check_feed_manager(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``STREAM_FEED_MANAGER_CLASS`` imports (E013) and is a ``FeedManager`` subclass (E019)."""
    from stream_django.feed_manager import feed_manager_class

    try:
        feed_manager_class()
    except ImproperlyConfigured as e:
        return [error(str(e), FEED_MANAGER_HINT, "E013" if isinstance(e.__cause__, ImportError) else "E019")]
    return []
