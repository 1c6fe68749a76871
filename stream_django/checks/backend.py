"""Checks of the storage backend: which one, its options, its own check()."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from stream_django.checks.base import error
from stream_django.conf import stream_settings


@checks.register()
def check_backend(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``STREAM_BACKEND`` loads a backend class (E001); its options are a dict (E012)."""
    from stream_django.backends import load_backend_class

    messages: list[checks.CheckMessage] = []
    try:
        load_backend_class(stream_settings.backend_path)
    except ImproperlyConfigured as e:
        messages.append(
            error(
                str(e),
                _(
                    "STREAM_BACKEND must be the dotted path of a backend class, e.g. 'stream_django.backends.database.DatabaseBackend'."
                ),
                "E001",
            )
        )
    if not isinstance(stream_settings.BACKEND_OPTIONS, dict):
        messages.append(error(_("STREAM_BACKEND_OPTIONS must be a dict."), None, "E012"))
    return messages
