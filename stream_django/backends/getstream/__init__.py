"""The getstream.io backend (stream-python's client) and the importer off it."""

from stream_django.backends.getstream.backend import GetStreamBackend

__all__ = ["GetStreamBackend"]
