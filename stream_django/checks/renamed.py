"""Check for settings still spelt with their old names."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from stream_django.conf import RENAMED


@checks.register()
def check_renamed_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """An old setting name is in use (W001)."""
    return [
        checks.Warning(f"{old} is the old name of {new}.", hint=f"Rename it to {new}.", id="stream_django.W001")
        for old, new in RENAMED.items()
        if hasattr(settings, old)
    ]
