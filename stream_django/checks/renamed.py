"""Check for settings still spelt with their old names."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.utils.translation import gettext as _

from stream_django.conf import RENAMED


@checks.register()
def check_renamed_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """An old setting name is in use (W001)."""
    return [
        checks.Warning(
            _("%(old)s is the old name of %(new)s.") % {"old": old, "new": new},
            hint=_("Rename it to %(new)s.") % {"new": new},
            id="stream_django.W001",
        )
        for old, new in RENAMED.items()
        if hasattr(settings, old)
    ]
