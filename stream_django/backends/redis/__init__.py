"""The Redis backend: feeds in one Redis server or a Redis Cluster (docs/redis.md)."""

from stream_django.backends.redis.backend import RedisBackend

__all__ = ["RedisBackend"]
