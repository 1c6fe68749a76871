"""
The fan-out queue, on Django's tasks framework.

``django.tasks`` on Django 6 and later, the ``django-tasks`` backport before
it. The task takes JSON only: a ledger id and the chunk's steps
(``stream_django.fanout.messages``).

``run_fanout_chunk`` is built on first use rather than at import: building a
task validates it against the configured task backend and queue, which reads
``TASKS`` and ``STREAM_FANOUT_*`` (settings must not be read at import time,
and ``override_settings`` must apply). Workers find it by its dotted path,
``stream_django.fanout.queue.run_fanout_chunk``, through the module
``__getattr__`` (tasks queued under the old path,
``stream_django.tasks.run_fanout_chunk``, are found there too).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import threading
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from stream_django.conf import stream_settings
from stream_django.events import store as events
from stream_django.fanout import ledger, worker
from stream_django.fanout.ledger import Chunk
from stream_django.signals import resets_on_setting_changed

logger = logging.getLogger("stream_django")

_lock = threading.Lock()
_tasks: dict[tuple[str, bool], Any] = {}

#: Priorities of first chunks and bulk chunks where the backend supports them
#: (``-100`` to ``100``, larger first; ``0`` is the framework's default).
FIRST_PRIORITY = 0
BULK_PRIORITY = -10


def framework() -> Any:
    """Return the tasks framework module in use, or ``None`` if there is none.

    ``django.tasks`` wins over the backport when both are installed.
    """
    for name in ("django.tasks", "django_tasks"):
        if importlib.util.find_spec(name) is not None:
            return importlib.import_module(name)
    return None


def task_backend(alias: str) -> Any:
    """Return the task backend ``alias`` of ``TASKS``.

    Raises ``ImproperlyConfigured`` (the framework's ``InvalidTaskBackend``)
    when the alias is not configured, and ``ImportError`` when no tasks
    framework is installed.
    """
    tasks_module = framework()
    if tasks_module is None:
        raise ImportError("no tasks framework: use Django 6 or install the django-tasks backport")
    return tasks_module.task_backends[alias]


def is_immediate(backend: Any) -> bool:
    """Return whether ``backend`` runs tasks at once, in the caller."""
    from importlib import import_module

    for path in ("django.tasks.backends.immediate", "django_tasks.backends.immediate"):
        try:
            cls = import_module(path).ImmediateBackend
        except ImportError:
            continue
        if isinstance(backend, cls):
            return True
    return False


def run_chunk(chunk_id: int, steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run the ledger's chunk ``chunk_id`` (what the fan-out task does); the
    chunks it plans are recorded and enqueued here."""
    return worker.run_chunk(chunk_id, steps, submit=submit)


def _run_fanout_chunk(chunk_id: int, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return run_chunk(chunk_id, steps)


# The function workers call; its name and module are the task's dotted path.
_run_fanout_chunk.__name__ = _run_fanout_chunk.__qualname__ = "run_fanout_chunk"


def get_fanout_task(*, bulk: bool = False) -> Any:
    """Return the fan-out task for the first chunk of a fan-out or for bulk chunks.

    It is bound to ``STREAM_FANOUT_TASK_BACKEND`` and enqueued on
    ``STREAM_FANOUT_QUEUE`` or ``STREAM_FANOUT_BULK_QUEUE``. Where the backend
    supports priorities, bulk chunks also get a lower priority, so a worker
    serving both queues runs first chunks first.
    """
    alias = stream_settings.FANOUT_TASK_BACKEND
    key = (alias, bulk)
    task = _tasks.get(key)
    if task is not None:
        return task
    with _lock:
        task = _tasks.get(key)
        if task is None:
            backend = task_backend(alias)
            queue = stream_settings.FANOUT_BULK_QUEUE if bulk else stream_settings.FANOUT_QUEUE
            options: dict[str, Any] = {"queue_name": queue, "backend": alias}
            if backend.supports_priority:
                options["priority"] = BULK_PRIORITY if bulk else FIRST_PRIORITY
            task = framework().task(**options)(_run_fanout_chunk)
            _tasks[key] = task
    return task


#: Priorities of first chunks and bulk chunks where the backend supports them


@resets_on_setting_changed
def reset_tasks() -> None:
    """Forget the built tasks (``TASKS`` or a ``STREAM_*`` setting changed)."""
    with _lock:
        _tasks.clear()


def submit(steps: list[dict[str, Any]], *, bulk: bool = False) -> list[int]:
    """Record fan-out work in the ledger and enqueue it when the transaction commits.

    The first chunk of a fan-out (``bulk=False``) holds all ``steps``; bulk
    chunks hold one step each. Return the ledger ids.
    """
    if events.is_quiet():  # their chunks record no feed events either
        steps = [{**step, "quiet": True} for step in steps]
    chunks = ledger.record(steps, bulk=bulk)
    transaction.on_commit(lambda: enqueue(chunks), using=ledger.ledger_database())
    return [chunk[0] for chunk in chunks]


def enqueue(chunks: Sequence[Chunk]) -> int:
    """Enqueue ledger rows, given as ``(id, bulk, steps JSON)``; return how many were.

    A chunk that cannot be enqueued is logged and stays in the ledger, where
    ``stream_fanout_status --requeue --include-unstarted`` finds it.
    """
    done = 0
    for chunk_id, bulk, steps in chunks:
        try:
            get_fanout_task(bulk=bulk).enqueue(chunk_id, json.loads(steps))
        except Exception:
            logger.exception(
                "stream_django: fan-out chunk %s is recorded but could not be enqueued; "
                "'manage.py stream_fanout_status --requeue --include-unstarted' enqueues it again",
                chunk_id,
            )
        else:
            done += 1
    return done


def requeue(*, older_than: float, include_unstarted: bool = False) -> list[int]:
    """Enqueue again the chunks that failed, or were claimed more than
    ``older_than`` seconds ago and have not finished (their worker died).

    With ``include_unstarted``, also those created more than ``older_than``
    seconds ago and never started (their task was lost). Return their ids.
    """
    db = ledger.ledger_database()
    with transaction.atomic(using=db):
        rows = ledger.take_due(older_than=older_than, include_unstarted=include_unstarted)
        transaction.on_commit(lambda: enqueue(rows), using=db)
    return [row[0] for row in rows]


def requeue_chunks(chunk_ids: Sequence[int]) -> list[int]:
    """Enqueue again the chunks among ``chunk_ids`` that no worker is running
    (the admin's "requeue" action); return their ids."""
    db = ledger.ledger_database()
    with transaction.atomic(using=db):
        rows = ledger.take(chunk_ids)
        transaction.on_commit(lambda: enqueue(rows), using=db)
    return [row[0] for row in rows]


def __getattr__(name: str) -> Any:
    if name == "run_fanout_chunk":
        return get_fanout_task()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
