"""Checks of the ``STREAM_API_*`` settings of the REST API (docs/api.md)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.utils.module_loading import import_string

from stream_django.checks.base import error
from stream_django.conf import stream_settings

MISSING_POLICIES = ("omit", "mark")


def _importable(setting: str, path: Any, id: str) -> list[checks.CheckMessage]:
    if not isinstance(path, str):
        return [error(f"{setting} must be a dotted path, got {path!r}.", None, id)]
    try:
        import_string(path)
    except ImportError as e:
        hint = (
            "Install the api extra: pip install 'django-activity-feeds[api]'." if "rest_framework" in str(e) else None
        )
        return [error(f"{setting} {path!r} cannot be imported: {e}", hint, id)]
    return []


@checks.register()
def check_api(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The REST API settings that the site sets (E050-E053)."""
    messages: list[checks.CheckMessage] = []
    policy = stream_settings.API_MISSING_REFERENCES
    if policy not in MISSING_POLICIES:
        messages.append(error(f"STREAM_API_MISSING_REFERENCES must be 'omit' or 'mark', got {policy!r}.", None, "E050"))
    serializers = stream_settings.API_SERIALIZERS
    if not isinstance(serializers, dict):
        messages.append(error(f"STREAM_API_SERIALIZERS must be a dict, got {serializers!r}.", None, "E051"))
    else:
        for label, path in serializers.items():
            if not isinstance(label, str) or label.count(".") != 1:
                messages.append(
                    error(f"STREAM_API_SERIALIZERS key {label!r} is not a model label 'app.Model'.", None, "E051")
                )
            messages.extend(_importable(f"STREAM_API_SERIALIZERS[{label!r}]", path, "E051"))
    if stream_settings.is_set("STREAM_API_DEFAULT_SERIALIZER"):
        messages.extend(_importable("STREAM_API_DEFAULT_SERIALIZER", stream_settings.API_DEFAULT_SERIALIZER, "E051"))
    if stream_settings.is_set("STREAM_API_PERMISSION_CLASS"):
        messages.extend(_importable("STREAM_API_PERMISSION_CLASS", stream_settings.API_PERMISSION_CLASS, "E052"))
    throttles = stream_settings.API_THROTTLE_CLASSES
    if throttles is not None:
        if not isinstance(throttles, (list, tuple)):
            messages.append(
                error(f"STREAM_API_THROTTLE_CLASSES must be a list of dotted paths, got {throttles!r}.", None, "E053")
            )
        else:
            for path in throttles:
                messages.extend(_importable("STREAM_API_THROTTLE_CLASSES entry", path, "E053"))
    return messages
