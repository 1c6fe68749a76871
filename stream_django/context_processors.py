"""Template context processor exposing ``STREAM_API_KEY`` and ``STREAM_APP_ID``."""

from __future__ import annotations

from typing import Any

from stream_django.client import stream_client


def stream(request: Any) -> dict[str, Any]:
    """Add ``STREAM_API_KEY`` and ``STREAM_APP_ID`` (``None`` for local backends)."""
    return {
        "STREAM_API_KEY": getattr(stream_client, "api_key", None),
        "STREAM_APP_ID": getattr(stream_client, "app_id", None),
    }
