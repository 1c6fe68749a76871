"""
Everything a local store holds, as text, to search for a value.

On the database backend: every row of the package's tables; on Redis: every
key under the test's prefix, with its value whatever its type. The erasure
tests look for a user's id and activity ids here rather than trusting the
code that deleted them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.apps import apps

from stream_django.backends import get_backend


def _rows() -> Iterator[str]:
    for model in apps.get_app_config("stream_django").get_models():
        for row in model.objects.values_list():
            yield f"{model._meta.db_table}: " + " | ".join(map(str, row))


def _redis_keys(backend: object) -> Iterator[str]:
    client = backend.redis  # type: ignore[attr-defined]
    for name in client.scan_iter(match=backend.prefix + "*", count=1000):  # type: ignore[attr-defined]
        kind = client.type(name)
        if kind == "string":
            value: object = client.get(name)
        elif kind == "zset":
            value = client.zrange(name, 0, -1)
        elif kind == "hash":
            value = client.hgetall(name)
        elif kind == "set":
            value = sorted(client.smembers(name))
        else:
            value = kind
        yield f"{name}: {value}"


def store_text() -> list[str]:
    """One line per row or key of the configured store (and the package's tables)."""
    from stream_django.backends.redis import RedisBackend

    backend = get_backend()
    lines = list(_rows())
    if isinstance(backend, RedisBackend):
        lines += list(_redis_keys(backend))
    return lines


def mentions(needles: Iterable[str]) -> list[str]:
    """The lines of the store that contain one of ``needles``."""
    wanted = [n for n in needles if n]
    return [line for line in store_text() if any(n in line for n in wanted)]
