"""Check of ``STREAM_ENDPOINT_KEYS``, the keys of the Stream API endpoint."""

from __future__ import annotations

from typing import Any

from django.core import checks

from stream_django.checks.base import error
from stream_django.conf import stream_settings


@checks.register()
def check_endpoint_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``STREAM_ENDPOINT_KEYS`` is a dict of non-empty API key -> secret strings (E060)."""
    keys = stream_settings.ENDPOINT_KEYS
    hint = 'For example STREAM_ENDPOINT_KEYS = {"my-api-key": env("STREAM_ENDPOINT_SECRET")}; see docs/stream-api.md.'
    if not isinstance(keys, dict):
        return [
            error(f"STREAM_ENDPOINT_KEYS must be a dict of API key -> secret, got {type(keys).__name__}.", hint, "E060")
        ]
    bad = [repr(k) for k, v in keys.items() if not (isinstance(k, str) and k and isinstance(v, str) and v)]
    if bad:
        return [
            error(
                f"STREAM_ENDPOINT_KEYS: the entries {', '.join(bad)} are not a non-empty API key string with a "
                "non-empty secret string.",
                hint,
                "E060",
            )
        ]
    return []
