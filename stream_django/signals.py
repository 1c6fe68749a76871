"""
Cached state and the settings it comes from.

The package caches what it builds from settings (the settings object, the
feed groups, the backend instance, the fan-out tasks, a custom user-streams
backend). One receiver of Django's ``setting_changed`` resets all of it when
a ``STREAM_*``, ``USER_STREAMS_*`` or ``TASKS`` setting changes, so
``override_settings`` applies at once. Each cache registers its reset with
``resets_on_setting_changed`` where it is defined, so this module, at the
bottom of the layers, imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import Signal

from stream_django.conf import stream_settings

#: Sent in the process after a write's transaction commits, once per feed
#: it changed, with ``event`` (a ``stream_django.events.FeedEvent``):
#: ``feed_changed.connect(receiver)``; ``receiver(sender, event, **kwargs)``.
feed_changed = Signal()

_resets: list[Callable[[], None]] = []


def resets_on_setting_changed(reset: Callable[[], None]) -> Callable[[], None]:
    """Register ``reset`` to run when a setting of the package changes (a decorator)."""
    if reset not in _resets:
        _resets.append(reset)
    return reset


def is_package_setting(setting: str) -> bool:
    """Return whether changing ``setting`` can change what the package built."""
    return setting.startswith(("STREAM_", "USER_STREAMS_")) or setting == "TASKS"


def reset_cached_state() -> None:
    """Reload the settings and forget everything built from them."""
    stream_settings.reload()
    for reset in list(_resets):
        reset()


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if is_package_setting(setting):
        reset_cached_state()


setting_changed.connect(_setting_changed, dispatch_uid="stream_django.signals.setting_changed")
