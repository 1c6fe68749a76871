"""Activity feeds for Django with the stream-django API and a feed engine you own."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("django-activity-feeds")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
