"""Check of the getstream.io credentials when ``STREAM_BACKEND`` is unset."""

from __future__ import annotations

import os
from typing import Any

from django.core import checks
from django.utils.translation import gettext as _

from stream_django.conf import stream_settings


@checks.register()
def check_credentials(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Only one of ``STREAM_API_KEY`` and ``STREAM_API_SECRET`` is set (W004).

    Both select the getstream backend; one alone selects the database
    backend without a word, so a site that forgot the secret would write
    its feeds locally.
    """
    if stream_settings.BACKEND or os.environ.get("STREAM_URL"):
        return []
    key, secret = bool(stream_settings.API_KEY), bool(stream_settings.API_SECRET)
    if key == secret:
        return []
    present, missing = ("STREAM_API_KEY", "STREAM_API_SECRET") if key else ("STREAM_API_SECRET", "STREAM_API_KEY")
    return [
        checks.Warning(
            _(
                "%(present)s is set but %(missing)s is not, so the feeds are stored by the database backend, not on getstream.io."
            )
            % {"present": present, "missing": missing},
            hint=_(
                "To use getstream.io, set %(missing)s too. To keep the feeds in your own store, remove %(present)s, or set STREAM_BACKEND to say which backend you mean."
            )
            % {"missing": missing, "present": present},
            id="stream_django.W004",
        )
    ]
