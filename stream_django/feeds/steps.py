"""
The I/O of a feeds-API call, as steps: what ``Feed`` and ``AsyncFeed`` share.

Each method of ``Client`` and ``Feed`` is written once, as a generator
that validates its arguments, plans, yields the I/O it needs (a ``Store``
call on the storage backend, or a ``Fanout`` write through
``stream_django.fanout``), receives each result, and shapes the response.
``run`` drives such a generator with the sync calls; the async API
(``stream_django.feeds.aio``) drives the same generator with awaited
ones, so the two differ only in how a step is carried out, and code that
follows a write (after its ``yield``) runs on both paths.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from stream_django import fanout
from stream_django.backends.base import BaseStorageBackend

T = TypeVar("T")


@dataclass(frozen=True)
class Store:
    """Call ``backend.<method>(*args)``: a storage read, or a write that
    involves no fan-out (``replace_activities``)."""

    method: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Fanout:
    """Call ``stream_django.fanout.<operation>(backend, *args)``: a write
    that fans out inline or through task workers."""

    operation: str
    args: tuple[Any, ...]


Step = Store | Fanout
#: A feeds-API call: yields steps, receives their results, returns the response.
Steps = Generator[Step, Any, T]


def execute(backend: BaseStorageBackend, step: Step) -> Any:
    """Carry out one step with the sync API."""
    if isinstance(step, Store):
        return getattr(backend, step.method)(*step.args)
    return getattr(fanout, step.operation)(backend, *step.args)


def run(backend: BaseStorageBackend, steps: Steps[T]) -> T:
    """Drive ``steps`` to its end with the sync API; return its result."""
    try:
        step = next(steps)
        while True:
            step = steps.send(execute(backend, step))
    except StopIteration as done:
        return done.value
