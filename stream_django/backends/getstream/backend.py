"""
The getstream.io backend: feeds stored by the hosted service, through stream-python.

There is no local engine here: ``client`` is a real stream-python client
(``stream.connect(...)``), so every call reaches the hosted API exactly as
stream-django 1.8 sent it. The only differences are in failures (see
``stream_django.backends.getstream.client``).

Configuration (stream-django's settings):

- ``STREAM_API_KEY`` + ``STREAM_API_SECRET`` (+ ``STREAM_LOCATION``,
  ``STREAM_TIMEOUT``, ``STREAM_APP_ID``), or
- the ``STREAM_URL`` environment variable
  (``https://key:secret@location.stream-io-api.com/?app_id=42``).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from django.core import checks
from django.utils.translation import gettext as _

from stream_django.backends.base import BaseRemoteBackend
from stream_django.exceptions import InvalidStreamBackend

if TYPE_CHECKING:
    from stream_django.backends.getstream.client import HostedClient

INSTALL_HINT = 'pip install "django-activity-feeds[getstream]"'
DEFAULT_ADDRESS = "https://api.stream-io-api.com/api/v1.0/"


def stream_python_missing() -> str | None:
    """Return why stream-python cannot be imported, or ``None`` if it can."""
    try:
        import stream
        import stream.client  # noqa: F401
    except ImportError as e:
        return str(e)
    return None


class GetStreamBackend(BaseRemoteBackend):
    """Feeds on getstream.io; ``client`` is stream-python's client."""

    name = "getstream"
    is_remote = True

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        if self.options:
            raise InvalidStreamBackend(
                f"The getstream backend takes no STREAM_BACKEND_OPTIONS, got {sorted(self.options)}; "
                "configure it with STREAM_API_KEY, STREAM_API_SECRET, STREAM_LOCATION, "
                "STREAM_TIMEOUT and STREAM_APP_ID"
            )
        self._client: HostedClient | None = None
        self._lock = threading.Lock()

    # -- configuration ---------------------------------------------------

    @staticmethod
    def credentials() -> dict[str, Any]:
        """Return the ``stream.connect`` arguments taken from the settings."""
        from stream_django.conf import stream_settings

        return {
            "api_key": stream_settings.API_KEY or None,
            "api_secret": stream_settings.API_SECRET or None,
            "location": stream_settings.LOCATION or None,
            "timeout": stream_settings.TIMEOUT,
        }

    @classmethod
    def configuration_error(cls, creds: dict[str, Any] | None = None) -> str | None:
        """Return what is missing from ``creds`` (default: the settings), or ``None``."""
        creds = cls.credentials() if creds is None else creds
        if creds["api_key"] and creds["api_secret"]:
            return None
        if os.environ.get("STREAM_URL") and not creds["api_key"]:
            return None
        if creds["api_key"] or creds["api_secret"]:
            present, missing = (
                ("STREAM_API_KEY", "STREAM_API_SECRET") if creds["api_key"] else ("STREAM_API_SECRET", "STREAM_API_KEY")
            )
            return f"the getstream backend has {present} but no {missing}"
        return (
            "the getstream backend needs STREAM_API_KEY and STREAM_API_SECRET (or the STREAM_URL environment variable)"
        )

    @classmethod
    def build_client(cls, creds: dict[str, Any] | None = None) -> HostedClient:
        """Return a new stream-python client for ``creds`` (default: the settings).

        Raise ``InvalidStreamBackend`` when stream-python is missing, the
        credentials are incomplete or ``STREAM_URL`` cannot be parsed.
        """
        missing = stream_python_missing()
        if missing is not None:
            raise InvalidStreamBackend(
                f"The getstream backend needs stream-python, which cannot be imported ({missing}); "
                f"install it with: {INSTALL_HINT}"
            )
        creds = cls.credentials() if creds is None else creds
        problem = cls.configuration_error(creds)
        if problem is not None:
            raise InvalidStreamBackend(f"STREAM_BACKEND: {problem}")
        from stream_django.backends.getstream.client import connect
        from stream_django.conf import stream_settings

        try:
            client = connect(**creds)
        except ValueError as e:  # a STREAM_URL stream-python cannot parse
            raise InvalidStreamBackend(
                f"The getstream backend could not use the STREAM_URL environment variable: {e}"
            ) from e
        if stream_settings.APP_ID:
            client.app_id = stream_settings.APP_ID
        client.backend_name = cls.name
        return client

    # -- BaseBackend -----------------------------------------------------

    @property
    def client(self) -> HostedClient:
        """stream-python's client, built once per backend instance."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self.build_client()
                client = self._client
        return client

    @property
    def address(self) -> str:
        if self._client is not None:
            return f"getstream.io ({self._client.api_address})"
        return f"getstream.io ({DEFAULT_ADDRESS})"

    @property
    def app_id(self) -> Any:
        """The getstream.io app id (``STREAM_APP_ID``, or from ``STREAM_URL``)."""
        return self.client.app_id

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        """Report a missing stream-python or missing credentials (no network I/O)."""
        missing = stream_python_missing()
        if missing is not None:
            return [
                checks.Error(
                    _("The getstream backend needs stream-python, which cannot be imported (%(missing)s).")
                    % {"missing": missing},
                    hint=_("Install it: %(INSTALL_HINT)s") % {"INSTALL_HINT": INSTALL_HINT},
                    id="stream_django.E040",
                )
            ]
        problem = self.configuration_error()
        if problem is not None:
            return [
                checks.Error(
                    _("STREAM_BACKEND: %(problem)s.") % {"problem": problem},
                    hint=_(
                        "Set STREAM_API_KEY and STREAM_API_SECRET from your getstream.io dashboard, or set STREAM_BACKEND to a local backend such as 'stream_django.backends.database.DatabaseBackend'."
                    ),
                    id="stream_django.E041",
                )
            ]
        try:
            _client = self.client  # building it parses STREAM_URL (no request is sent)
        except InvalidStreamBackend as e:
            return [
                checks.Error(
                    str(e),
                    hint=_("STREAM_URL looks like https://<key>:<secret>@<location>.stream-io-api.com/?app_id=<id>"),
                    id="stream_django.E042",
                )
            ]
        return []

    def close(self) -> None:
        """Close the HTTP session; a later call opens a new one."""
        client = self._client
        if client is not None:
            client.session.close()
