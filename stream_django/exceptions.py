"""
Exceptions raised by stream_django.

The feed errors carry stream-python's class names, ``code`` and
``status_code``. Where stream-python is installed each class also subclasses
its ``stream.exceptions`` namesake, so ``except`` clauses written for
stream-django keep working whichever backend is configured. Errors about bad
input also subclass ``ValueError``.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

try:  # pragma: no branch
    from stream import exceptions as _stream_exceptions
except ImportError:  # stream-python is an optional extra
    _stream_exceptions = None


def _theirs(name: str) -> tuple[type, ...]:
    cls = getattr(_stream_exceptions, name, None)
    return (cls,) if cls is not None else ()


class StreamApiException(*_theirs("StreamApiException"), Exception):  # type: ignore[misc]
    """Base class of the feed errors. Do not raise directly."""

    code = 1
    status_code = 500

    def __init__(self, detail: str, status_code: int | None = None) -> None:
        Exception.__init__(self, detail)
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code

    def __repr__(self) -> str:
        return f"{self.__class__.__name__} ({self.detail})"


class ApiKeyException(StreamApiException, *_theirs("ApiKeyException")):  # type: ignore[misc]
    """The getstream.io API key was rejected."""

    code = 2
    status_code = 401


class SignatureException(StreamApiException, *_theirs("SignatureException")):  # type: ignore[misc]
    """The getstream.io request signature was rejected."""

    code = 3
    status_code = 401


class InputException(StreamApiException, ValueError, *_theirs("InputException")):  # type: ignore[misc]
    """Bad input: an invalid feed id, activity, cursor, limit or target."""

    code = 4
    status_code = 400


class CustomFieldException(InputException, *_theirs("CustomFieldException")):  # type: ignore[misc]
    """A custom activity field uses a reserved name or cannot be stored."""

    code = 5
    status_code = 400


class FeedConfigException(StreamApiException, *_theirs("FeedConfigException")):  # type: ignore[misc]
    """An unknown feed group, or an operation its type does not allow."""

    code = 6
    status_code = 400


class RateLimitReached(StreamApiException, *_theirs("RateLimitReached")):  # type: ignore[misc]
    """getstream.io's rate limit was reached."""

    code = 9
    status_code = 429


class DoesNotExistException(StreamApiException, *_theirs("DoesNotExistException")):  # type: ignore[misc]
    """The activity or resource asked for does not exist."""

    code = 16
    status_code = 404


class NotAllowedException(StreamApiException, *_theirs("NotAllowedException")):  # type: ignore[misc]
    """The operation is not allowed."""

    code = 17
    status_code = 403


class BackendUnavailable(StreamApiException):
    """The feed store cannot be reached; the message names backend and address."""

    code = 1
    status_code = 503


class TransactionConflict(BackendUnavailable):
    """The database chose a write inside the caller's transaction as the
    victim of a deadlock; that transaction is lost: roll it back and retry."""


class InvalidStreamBackend(ImproperlyConfigured):
    """``STREAM_BACKEND`` names a class that cannot be imported or used."""


class MaintenanceUnsupported(NotImplementedError):
    """The configured backend lacks a capability a maintenance operation needs
    (the message names the backend and the ``supports_*`` flag)."""


class MissingDataException(Exception):
    """``render_activity`` met an activity whose references could not be loaded."""


EXCEPTIONS_BY_CODE: dict[int, type[StreamApiException]] = {
    cls.code: cls
    for cls in (
        ApiKeyException,
        SignatureException,
        InputException,
        CustomFieldException,
        FeedConfigException,
        RateLimitReached,
        DoesNotExistException,
        NotAllowedException,
    )
}
