"""The default backend: feeds stored in the Django database."""

from stream_django.backends.database.backend import DatabaseBackend

__all__ = ["DatabaseBackend"]
