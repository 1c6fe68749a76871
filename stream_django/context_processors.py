"""Template context processor exposing ``STREAM_API_KEY`` and ``STREAM_APP_ID``."""

from __future__ import annotations

from typing import Any

from stream_django.client import stream_client


def stream(request: Any) -> dict[str, Any]:
    """Add ``STREAM_API_KEY`` and ``STREAM_APP_ID`` (``None`` for local backends)."""
    return {
        "STREAM_API_KEY": stream_client.api_key,
        "STREAM_APP_ID": stream_client.app_id,
    }
