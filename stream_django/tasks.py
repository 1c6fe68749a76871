"""
The fan-out task's old import path, kept for tasks already queued under it.

The task and its helpers live in ``stream_django.fanout.queue``;
``stream_django.tasks.run_fanout_chunk`` still resolves to the task.
"""

from typing import Any

from stream_django.fanout.queue import (
    BULK_PRIORITY,
    FIRST_PRIORITY,
    framework,
    get_fanout_task,
    is_immediate,
    reset_tasks,
    task_backend,
)

__all__ = [
    "BULK_PRIORITY",
    "FIRST_PRIORITY",
    "framework",
    "get_fanout_task",
    "is_immediate",
    "reset_tasks",
    "task_backend",
]


def __getattr__(name: str) -> Any:
    if name == "run_fanout_chunk":
        return get_fanout_task()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
