"""
``feed_manager``: the instance of ``STREAM_FEED_MANAGER_CLASS`` (as in stream-django).

The instance is created on first use; ``stream_django``'s app config binds
every ``Activity`` model to it when Django starts.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import SimpleLazyObject
from django.utils.module_loading import import_string

from stream_django.conf import stream_settings
from stream_django.managers import FeedManager


def feed_manager_class() -> type[FeedManager]:
    """Return the class ``STREAM_FEED_MANAGER_CLASS`` names.

    Raise ``ImproperlyConfigured`` naming the setting when it cannot be
    imported or is not a ``FeedManager`` subclass (checks E013, E019).
    """
    path = stream_settings.FEED_MANAGER_CLASS
    try:
        cls = import_string(path) if isinstance(path, str) else path
    except ImportError as e:
        raise ImproperlyConfigured(f"STREAM_FEED_MANAGER_CLASS {path!r} cannot be imported: {e}") from e
    if not (isinstance(cls, type) and issubclass(cls, FeedManager)):
        raise ImproperlyConfigured(
            f"STREAM_FEED_MANAGER_CLASS {path!r} is not a subclass of stream_django.managers.FeedManager"
        )
    return cls


def _create() -> FeedManager:
    return feed_manager_class()()


#: Typed as the class it stands for; it is built on first use.
feed_manager: FeedManager = cast(FeedManager, SimpleLazyObject(_create))


def disable_model_tracking(sender: Any = None, **kwargs: Any) -> None:
    """Disable tracking of every model (stream-django's signal receiver)."""
    feed_manager.disable_model_tracking()
