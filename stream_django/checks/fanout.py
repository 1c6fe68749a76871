"""Checks of fan-out through task workers (docs/scale-out.md)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from stream_django.checks.base import backend_class, error, positive_int
from stream_django.conf import stream_settings

QUEUE_SETTINGS = ("STREAM_FANOUT_QUEUE", "STREAM_FANOUT_BULK_QUEUE")


def _queues() -> dict[str, str]:
    """Return the fan-out queue settings that are valid: setting -> queue."""
    queues = {}
    for name in QUEUE_SETTINGS:
        value = getattr(stream_settings, name)
        if isinstance(value, str) and value:
            queues[name] = value
    return queues


@checks.register()
def check_fanout_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The chunk size (E008), inline limit (E015), queue names (E016) and retry delay (E018)."""
    messages: list[checks.CheckMessage] = []
    chunk = stream_settings.FANOUT_CHUNK_SIZE
    if not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1:
        messages.append(
            error(_("STREAM_FANOUT_CHUNK_SIZE must be a positive int, got %(chunk)r.") % {"chunk": chunk}, None, "E008")
        )
    limit = stream_settings.FANOUT_INLINE_LIMIT
    if not positive_int(limit, zero=True):
        messages.append(
            error(
                _("STREAM_FANOUT_INLINE_LIMIT must be an int >= 0, got %(limit)r.") % {"limit": limit},
                _("0 sends every fan-out to the task workers."),
                "E015",
            )
        )
    queues = _queues()
    for name in QUEUE_SETTINGS:
        if name not in queues:
            value = getattr(stream_settings, name)
            messages.append(
                error(
                    _("%(name)s must be a queue name (a non-empty string), got %(value)r.")
                    % {"name": name, "value": value},
                    None,
                    "E016",
                )
            )
    retry = stream_settings.FANOUT_RETRY_AFTER
    if isinstance(retry, bool) or not isinstance(retry, (int, float)) or not retry > 0:
        messages.append(
            error(
                _("STREAM_FANOUT_RETRY_AFTER must be a positive number of seconds, got %(retry)r.") % {"retry": retry},
                None,
                "E018",
            )
        )
    return messages


@checks.register()
def check_fanout_tasks(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The task backend (E014), its queues (E017), chunking (W002) and priorities (W003)."""
    from stream_django.tasks import framework, is_immediate, task_backend

    alias = stream_settings.FANOUT_TASK_BACKEND
    if alias is None or framework() is None:
        return []
    if not isinstance(alias, str):
        return [
            error(
                _("STREAM_FANOUT_TASK_BACKEND must be a TASKS alias or None, got %(alias)r.") % {"alias": alias},
                None,
                "E014",
            )
        ]
    try:
        backend = task_backend(alias)
    except ImproperlyConfigured as e:
        return [
            error(
                _("STREAM_FANOUT_TASK_BACKEND %(alias)r is not a usable task backend: %(e)s")
                % {"alias": alias, "e": e},
                _("Name an alias of TASKS, or set it to None to fan out inline."),
                "E014",
            )
        ]
    if is_immediate(backend):
        return []
    messages: list[checks.CheckMessage] = []
    queues = _queues()
    for name, queue in queues.items():
        if backend.queues and queue not in backend.queues:
            messages.append(
                error(
                    _("%(name)s %(queue)r is not among the QUEUES of task backend %(alias)r (%(value)s).")
                    % {"name": name, "queue": queue, "alias": alias, "value": sorted(backend.queues)},
                    _("Add %(queue)r to TASKS[%(alias)r]['QUEUES'].") % {"queue": queue, "alias": alias},
                    "E017",
                )
            )
    backend_cls = backend_class()
    if (
        backend_cls is not None
        and not getattr(backend_cls, "supports_fanout_chunks", False)
        and not backend_cls.is_remote
    ):
        messages.append(
            checks.Warning(
                _(
                    "Task backend %(alias)r queues tasks, but the %(value)s storage backend cannot split fan-out into chunks: every fan-out runs in the request."
                )
                % {"alias": alias, "value": backend_cls.__name__},
                hint=_("Set STREAM_FANOUT_TASK_BACKEND = None to say so, or use a backend that supports it."),
                id="stream_django.W002",
            )
        )
    if len(set(queues.values())) == 1 and len(queues) == 2 and not backend.supports_priority:
        messages.append(
            checks.Warning(
                _(
                    "STREAM_FANOUT_QUEUE and STREAM_FANOUT_BULK_QUEUE are the same queue and the task backend %(alias)r has no priorities: small fan-outs can wait behind large ones."
                )
                % {"alias": alias},
                hint=_("Give the bulk chunks a queue of their own."),
                id="stream_django.W003",
            )
        )
    return messages
