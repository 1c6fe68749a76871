"""
``feed_manager``: the instance of ``STREAM_FEED_MANAGER_CLASS`` (as in stream-django).

The instance is created on first use; ``stream_django``'s app config binds
every ``Activity`` model to it when Django starts.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import SimpleLazyObject
from django.utils.module_loading import import_string

from stream_django.conf import stream_settings
from stream_django.managers import FeedManager


def _create() -> FeedManager:
    return import_string(stream_settings.FEED_MANAGER_CLASS)()


feed_manager: Any = SimpleLazyObject(_create)


def disable_model_tracking(sender: Any = None, **kwargs: Any) -> None:
    """Disable tracking of every model (stream-django's signal receiver)."""
    feed_manager.disable_model_tracking()
