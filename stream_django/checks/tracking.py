"""Checks of model tracking: its switches, failures, the feed manager class."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.utils.module_loading import import_string

from stream_django.checks.base import error
from stream_django.conf import stream_settings


@checks.register()
def check_tracking(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``STREAM_ON_FAILURE`` (E009), the tracking switches (E011), the feed manager (E013)."""
    messages: list[checks.CheckMessage] = []
    if stream_settings.ON_FAILURE not in ("record", "raise"):
        messages.append(
            error(f"STREAM_ON_FAILURE must be 'record' or 'raise', got {stream_settings.ON_FAILURE!r}.", None, "E009")
        )
    for name in ("STREAM_DISABLE_MODEL_TRACKING", "STREAM_PUBLISH_ON_COMMIT", "STREAM_TRACK_UPDATES"):
        if not isinstance(getattr(stream_settings, name), bool):
            messages.append(
                error(f"{name} must be True or False, got {getattr(stream_settings, name)!r}.", None, "E011")
            )
    try:
        import_string(stream_settings.FEED_MANAGER_CLASS)
    except ImportError as e:
        messages.append(
            error(
                f"STREAM_FEED_MANAGER_CLASS {stream_settings.FEED_MANAGER_CLASS!r} cannot be imported: {e}",
                None,
                "E013",
            )
        )
    return messages
