"""
Partial updates of a stored activity: ``set`` and ``unset`` by dotted path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stream_django.exceptions import InputException

_IMMUTABLE = {"id", "time", "foreign_id", "to", "origin"}


def required_field(item: Any, name: str, index: int) -> Any:
    """Return ``item[name]`` of a batch item, or raise naming the item."""
    if not isinstance(item, dict) or name not in item:
        raise InputException(f"item {index} needs {name!r}")
    return item[name]


def apply_changes(data: dict[str, Any], set_: dict[str, Any], unset: Sequence[str], index: int) -> None:
    """Apply the ``set`` and ``unset`` of change ``index`` to ``data`` in place."""
    if not isinstance(set_, dict):
        raise InputException(f"changes[{index}].set must be a dict")
    for path, value in set_.items():
        _check_path(path, index)
        *parents, leaf = path.split(".")
        node = data
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[leaf] = value
    for path in unset:
        _check_path(path, index)
        *parents, leaf = path.split(".")
        found: Any = data
        for part in parents:
            found = found.get(part) if isinstance(found, dict) else None
        if isinstance(found, dict):
            found.pop(leaf, None)


def _check_path(path: Any, index: int) -> None:
    if not isinstance(path, str) or not path or path.split(".")[0] in _IMMUTABLE:
        raise InputException(
            f"changes[{index}]: field {path!r} cannot be set or unset ({', '.join(sorted(_IMMUTABLE))} are fixed)"
        )
