"""
Fan-out: inline in the request, or in chunks on task workers.

The request side (``request``) decides where each write's fan-out runs; the
queue (``queue``) records chunks in the ledger (``ledger``) and enqueues
them on Django's tasks framework; a worker (``worker``) runs one chunk and
plans the rest. See docs/scale-out.md.
"""

from stream_django.fanout.ledger import backlog, ledger_database, state_of
from stream_django.fanout.messages import InvalidFanoutMessage, validate_step
from stream_django.fanout.queue import (
    enqueue,
    get_fanout_task,
    requeue,
    requeue_chunks,
    reset_tasks,
    run_chunk,
    submit,
)
from stream_django.fanout.request import (
    add_activities,
    add_to_many,
    change_targets,
    follow_many,
    remove_activities,
    task_backend_for,
    unfollow_many,
)
from stream_django.fanout.worker import plan, run_step

__all__ = [
    "InvalidFanoutMessage",
    "add_activities",
    "add_to_many",
    "backlog",
    "change_targets",
    "enqueue",
    "follow_many",
    "get_fanout_task",
    "ledger_database",
    "plan",
    "remove_activities",
    "requeue",
    "requeue_chunks",
    "reset_tasks",
    "run_chunk",
    "run_step",
    "state_of",
    "submit",
    "task_backend_for",
    "unfollow_many",
    "validate_step",
]
